// Shared by the e2e tests and the race: a static server for examples/web and Debian's Chromium.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { chromium } from "playwright-core";

export const WEB = resolve(new URL("..", import.meta.url).pathname);
export const ROOT = resolve(WEB, "../..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".png": "image/png", ".onnx": "application/octet-stream", ".json": "application/json" };

/** Serves `root` (examples/web by default) on 127.0.0.1, plus tests/data under /data/,
 *  benches/*.onnx under /model/ and onnxruntime-web's dist under /vendor/ort/ (for the race);
 *  counts the bytes served per path. `post`: path -> async (body bytes, query) => the answer's
 *  bytes, for pages that report back or ask the test for something. */
export async function serve({ root = WEB, post = {} } = {}) {
  const served = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const path = decodeURIComponent(url.pathname);
    if (req.method === "POST") {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      try {
        const answer = await post[path](Buffer.concat(chunks), url.searchParams);
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(answer ?? "");
      } catch (error) {
        res.writeHead(post[path] ? 500 : 404, { "content-type": "text/plain" }).end(String(error?.stack ?? error));
      }
      return;
    }
    const file = path.startsWith("/data/") ? join(ROOT, "tests", normalize(path))
      // MediaPipe's own copy of the network, as tools/lib.sh ensure_mediapipe_model writes it.
      : path === "/model/mediapipe.tflite" ? join(ROOT, "target", "race", "selfie_segmentation.tflite")
      : path.startsWith("/model/") ? join(ROOT, "benches", normalize(path).slice("/model/".length))
      : path.startsWith("/vendor/ort/") ? join(WEB, "e2e", "node_modules", "onnxruntime-web", "dist", normalize(path).slice("/vendor/ort/".length))
      : path.startsWith("/vendor/mediapipe/") ? join(WEB, "e2e", "node_modules", "@mediapipe", "tasks-vision", normalize(path).slice("/vendor/mediapipe/".length))
      : join(root, normalize(path === "/" ? "/index.html" : path));
    try {
      const body = await readFile(file);
      served.set(path, body.length);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}`, served, close: () => {
    // And every connection a browser left open (keep-alive, a media request): an open one
    // keeps this process alive after the tests.
    server.close();
    server.closeAllConnections();
  } };
}

/** Headless Chromium as the project runs it; `webgpu: false` leaves WebGPU off; `extra`: more
 *  command-line switches (e.g. a fake camera). */
export async function launch({ webgpu = true, extra = [] } = {}) {
  const profile = await mkdtemp(join(tmpdir(), "silhouette-chromium-"));
  const args = ["--headless=new", "--no-sandbox", "--disable-gpu-sandbox", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"];
  // WebGPU on SwiftShader; its canvases need the GPU process on SwiftShader's Vulkan too (with
  // the default software GL, creating a WebGPU canvas's swap chain crashes the GPU process).
  if (webgpu) args.push("--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-vulkan-fallback-to-gl-for-testing");
  else args.push("--disable-features=WebGPU,Vulkan", "--disable-gpu");
  args.push(...extra);
  return chromium.launchPersistentContext(profile, { executablePath: "/usr/lib/chromium/chromium", headless: false, args });
}

/** Opens `url` in `page` and waits until the page's `window[name]` says it is "done" or
 *  failed ("error"); returns that report, having checked it is "done" (failing with its
 *  `error` otherwise). `polling`: Playwright's (every animation frame unless given). */
export async function pageReport(page, url, { name = "result", timeout = 300_000, polling } = {}) {
  await page.goto(url);
  const options = polling === undefined ? { timeout } : { timeout, polling };
  await page.waitForFunction((n) => ["done", "error"].includes(window[n]?.state), name, options);
  const report = await page.evaluate((n) => window[n], name);
  assert.equal(report.state, "done", report.error);
  return report;
}

export async function golden(name) {
  const bytes = await readFile(join(ROOT, "tests", "data", "golden", `${name}.f32`));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** The largest |a[i] - b[i]|; Infinity when the lengths differ (a short or empty mask never
 *  passes for a close one). */
export function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
