// The demo page end to end in headless Chromium: pick a golden frame, check the mask against
// MediaPipe's, save a screenshot (target/e2e/); then again with WebGPU off, proving the CPU
// fallback. Run by tools/test.sh after tools/web.sh has built examples/web/pkg.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { serve, launch, golden, maxAbsDiff, ROOT } from "./browser.mjs";

const server = await serve();
after(() => server.close());
const ARTEFACTS = join(ROOT, "target", "e2e");
await mkdir(ARTEFACTS, { recursive: true });

async function runDemo({ webgpu, backend = "auto", expectBackend, effect, status }) {
  const context = await launch({ webgpu });
  try {
    const page = await context.newPage();
    const violations = [];
    page.on("console", (m) => m.type() === "error" && violations.push(m.text()));
    await page.goto(`${server.url}/?backend=${backend}`);
    await page.waitForFunction(() => window.silhouetteDemo?.state === "error" || window.silhouetteDemo?.settled, null, { timeout: 120_000 });
    const demo = await page.evaluate(() => window.silhouetteDemo);
    assert.equal(demo.state, "ready", demo.error);
    assert.equal(demo.backend, expectBackend);
    assert.match(await page.textContent("#status"), status);
    assert.match(await page.textContent("#privacy"), /Processed on this device/);

    await page.selectOption("#effect", effect);
    await page.setInputFiles("#file", join(ROOT, "tests", "data", "frames", "astronaut.png"));
    await page.waitForFunction(() => window.silhouetteDemo.state === "done", null, { timeout: 120_000 });
    const { mask, ms } = await page.evaluate(() => ({ mask: Array.from(window.silhouetteDemo.lastMask), ms: window.silhouetteDemo.lastMs }));
    const diff = maxAbsDiff(mask, await golden("astronaut"));
    console.log(`demo on ${expectBackend}: max |page - MediaPipe| = ${diff.toExponential(2)}, ${ms.toFixed(1)} ms`);
    assert.ok(diff <= 5e-4, `mask differs from MediaPipe by ${diff}`);
    assert.ok(!(await page.isDisabled("#download")));
    // The download is the picture at its own size (read from the engine, not the canvas).
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    const png = await readFile(await download.path());
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [256, 256], "the PNG's size");
    await page.screenshot({ path: join(ARTEFACTS, `demo-${expectBackend}-${effect}.png`), fullPage: true });

    // The CSP is what makes "processed on this device" true: a request elsewhere is refused.
    const blocked = await page.evaluate(() => new Promise((ok) => {
      document.addEventListener("securitypolicyviolation", (e) => ok(e.effectiveDirective), { once: true });
      fetch("https://example.com/upload", { method: "POST", body: "pixels" }).catch(() => {});
    }));
    assert.equal(blocked, "connect-src");
    return page;
  } finally {
    await context.close();
  }
}

test("the demo segments a photo on WebGPU, matching MediaPipe", async () => {
  await runDemo({ webgpu: true, backend: "gpu", expectBackend: "webgpu", effect: "cut", status: /Running on WebGPU/ });
});

test("with WebGPU unavailable the demo falls back to the CPU and says so", async () => {
  await runDemo({ webgpu: false, expectBackend: "cpu", effect: "blur", status: /CPU \(WebAssembly\): this browser offers no WebGPU adapter/ });
});

test("on a software WebGPU adapter (SwiftShader) the demo takes the faster CPU and says why", async () => {
  await runDemo({ webgpu: true, expectBackend: "cpu", effect: "blur", status: /CPU \(WebAssembly\): this browser's only WebGPU adapter is a software one/ });
});

test("after the first visit the demo works offline", async () => {
  const context = await launch({ webgpu: true });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => window.silhouetteDemo?.state === "ready", null, { timeout: 120_000 });
    await context.setOffline(true);
    await page.reload();
    await page.waitForFunction(() => window.silhouetteDemo?.state === "error" || window.silhouetteDemo?.settled, null, { timeout: 120_000 });
    assert.equal(await page.evaluate(() => window.silhouetteDemo.state), "ready");
    await page.setInputFiles("#file", join(ROOT, "tests", "data", "frames", "grace_hopper.png"));
    await page.waitForFunction(() => window.silhouetteDemo.state === "done", null, { timeout: 120_000 });
    const mask = await page.evaluate(() => Array.from(window.silhouetteDemo.lastMask));
    assert.ok(maxAbsDiff(mask, await golden("grace_hopper")) <= 5e-4);
  } finally {
    await context.close();
  }
});
