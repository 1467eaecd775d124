// The call benchmark (tools/web.sh calls): the installed package's `startEffect` on a 1280x720
// camera in every engine of engines.mjs, then the same call in Chromium through MediaPipe's web
// runtime (rows mediapipe-cpu, mediapipe-gpu) and LiveKit's track processors (row livekit), on
// the same network. CALL_SECONDS (20: 600 frames at 30 fps) are measured after a warm-up:
// frames out per second, ms per frame by stage, the main thread's busy time, the browser's CPU
// time per frame and resident memory (all its processes, from /proc). Prints a Markdown table
// and appends it to benches/RESULTS.md. CALLS=chromium,mediapipe-cpu runs some rows only.
// Chromium's camera is a 30 fps y4m made here (its built-in fake camera gives 20 fps);
// Firefox's and WebKit's are their own fake cameras at 1280x720.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { appendFile, copyFile, cp, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { ROOT, WEB } from "./browser.mjs";
import { installCall, writePage } from "./call.mjs";
import { ENGINES, closeDisplay, openIn } from "./engines.mjs";

const SECONDS = Number(process.env.CALL_SECONDS ?? 20);
// Every engine with silhouette-web, then MediaPipe's web runtime on the same network in
// Chromium (its two delegates), the same camera, page rules and measurements.
const ROWS = [
  ...Object.entries(ENGINES).map(([engine, { webgpu }]) => ({ row: engine, engine, backend: webgpu ? "gpu" : "cpu" })),
  { row: "mediapipe-cpu", engine: "chromium", backend: "CPU", runner: "mediapipe" },
  { row: "mediapipe-gpu", engine: "chromium", backend: "GPU", runner: "mediapipe" },
  { row: "livekit", engine: "chromium", backend: "GPU", runner: "livekit" },
].filter(({ row }) => !process.env.CALLS || process.env.CALLS.split(",").includes(row));

let current = null; // the open row: { browser, marks, done }
const app = await installCall({
  post: {
    "/mark": async (body) => {
      const { mark } = JSON.parse(body);
      current.marks[mark] = await current.browser.cpuSeconds();
      current.memory[mark] = await current.browser.residentMegabytes();
    },
    "/report": async (body) => current.done(JSON.parse(body)),
  },
});
await writePage(app.dir, "calls.html", "media-src 'self' blob: mediastream:; worker-src 'self'", "calls.js",
  await readFile(new URL("calls-page.js", import.meta.url), "utf8"));
const video = await camera720(join(app.dir, "camera-720p.y4m"));

const results = [];
try {
  if (ROWS.some(({ runner }) => runner === "mediapipe" || runner === "livekit")) await installMediapipe(app.dir);
  if (ROWS.some(({ runner }) => runner === "livekit")) await installLivekit(app.dir);
  for (const { row, engine, backend, runner = "silhouette" } of ROWS) {
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    const browser = await openIn(engine, `${app.url}/calls.html?engine=${row}&backend=${backend}&runner=${runner}&seconds=${SECONDS}`, { video });
    current = { browser, marks: {}, memory: {}, done };
    let result;
    try {
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve({ state: "error", error: "no report in 300 s" }), 300_000);
      });
      result = await Promise.race([finished, timeout]);
      clearTimeout(timer);
    } finally {
      await browser.close();
    }
    result.cpuMsPerFrame = result.frames ? (1000 * (current.marks.end - current.marks.start)) / result.frames : null;
    result.cores = result.frames ? (current.marks.end - current.marks.start) / SECONDS : null;
    result.residentMb = [current.memory.start, current.memory.end];
    console.log(`${row} (${backend}): ${JSON.stringify(result)}`);
    results.push({ engine: row, backend, ...result });
  }
} finally {
  closeDisplay();
  await app.close();
}

const f = (x, digits = 1) => (x == null || Number.isNaN(x) ? "–" : x.toFixed(digits));
const version = (command) => {
  try {
    return execFileSync(command[0], command.slice(1), { stdio: ["ignore", "pipe", "ignore"] }).toString().trim().split("\n")[0];
  } catch {
    return "not installed";
  }
};
let md = `\n## ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC: a 1280x720 call through \`startEffect\` in every browser, and MediaPipe's web runtime (tools/web.sh calls)\n\n`;
md += `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, no GPU; WebGPU rows run on software adapters (SwiftShader in Chromium, lavapipe in Firefox): correctness, not speed.\n`;
md += `- Browsers: ${version(["chromium", "--version"])}; ${version(["firefox-esr", "--version"])}; WebKitGTK ${version(["dpkg-query", "-W", "-f=${Version}", "libwebkit2gtk-4.1-0"])}.\n`;
md += `- ${SECONDS} s measured per row after a 3 s warm-up; camera 1280x720 (Chromium: a 30 fps y4m; Firefox, WebKit: their fake cameras). CPU: all the browser's processes, per frame out and in cores; resident memory: theirs summed (shared pages once per process), at the start and the end of the measured seconds.\n`;
md += `- ms per frame by stage: in (pixels into the engine), network, finish (on WebGPU, network = the submit of both), out (the new frame); total is a frame's wall time.\n`;
md += `- mediapipe-cpu, mediapipe-gpu: the same network (pip mediapipe 0.10.14's tflite, every parameter equal to ours) in @mediapipe/tasks-vision ${packageVersion("@mediapipe", "tasks-vision")}'s ImageSegmenter (CPU delegate: XNNPACK wasm; GPU: WebGL, here on SwiftShader) on the page's thread, composited with a 2-D canvas (mediapipe-effect.js); network = segmentForVideo and its mask, finish = the composite.\n`;
md += `- livekit: @livekit/track-processors ${packageVersion("@livekit", "track-processors")}'s background blur (tasks-vision ${packageVersion("@livekit", "track-processors", "node_modules", "@mediapipe", "tasks-vision")} underneath, its GPU delegate, WebGL compositing; here on SwiftShader) on the same network; network and finish are its own segmentation and filter times, total its processing time.\n\n`;
md += "| browser | backend | way | frames/s out | shown/s | in | network | finish | out | total ms | main thread busy ms/s | CPU ms/frame | cores | resident MB, start → end |\n";
md += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
for (const r of results) {
  if (r.state !== "done") {
    md += `| ${r.engine} | ${r.backend} | failed: ${r.error} ||||||||||||\n`;
    continue;
  }
  md += `| ${r.engine} | ${r.backend} | ${r.way} | ${f(r.fps)} | ${f(r.shownFps)} | ${f(r.ms.in)} | ${f(r.ms.network)} | ${f(r.ms.finish)} | ${f(r.ms.out)} | ${f(r.ms.total)} | ${f(r.mainBusyMsPerSecond, 0)} | ${f(r.cpuMsPerFrame)} | ${f(r.cores, 2)} | ${f(r.residentMb?.[0], 0)} → ${f(r.residentMb?.[1], 0)} |\n`;
}
console.log(md);
await appendFile(join(ROOT, "benches", "RESULTS.md"), md);

// A 1280x720 y4m, 30 fps, 2 s: a figure against a moving background (the network's and the
// finish's cost does not depend on what the picture shows).
// MediaPipe's web runtime (this directory's pinned @mediapipe/tasks-vision), the model
// tools/lib.sh ensure_mediapipe_model checked equal to ours, and the rival's page module.
async function installMediapipe(dir) {
  const model = process.env.MEDIAPIPE_MODEL;
  if (!model) throw new Error("MEDIAPIPE_MODEL is not set: run the race through tools/web.sh calls");
  const from = join(WEB, "e2e", "node_modules", "@mediapipe", "tasks-vision");
  await cp(join(from, "wasm"), join(dir, "mediapipe", "wasm"), { recursive: true });
  await copyFile(join(from, "vision_bundle.mjs"), join(dir, "mediapipe", "vision_bundle.mjs"));
  await copyFile(model, join(dir, "mediapipe", "selfie_segmentation.tflite"));
  await copyFile(join(WEB, "e2e", "mediapipe-effect.js"), join(dir, "mediapipe-effect.js"));
}

// @livekit/track-processors bundled with its tasks-vision (its own pinned version, whose wasm
// goes beside it) and livekit-client.
async function installLivekit(dir) {
  const from = join(WEB, "e2e", "node_modules", "@livekit", "track-processors");
  await cp(join(from, "node_modules", "@mediapipe", "tasks-vision", "wasm"), join(dir, "livekit", "wasm"), { recursive: true });
  execFileSync(join(WEB, "e2e", "node_modules", ".bin", "esbuild"), ["--bundle", "--format=esm", "--log-level=warning",
    `--outfile=${join(dir, "livekit-effect.js")}`, join(WEB, "e2e", "livekit-effect.js")], { stdio: "inherit" });
}

function packageVersion(...path) {
  try {
    return JSON.parse(readFileSync(join(WEB, "e2e", "node_modules", ...path, "package.json"), "utf8")).version;
  } catch {
    return "(not installed)";
  }
}

async function camera720(file) {
  const [W, H, N] = [1280, 720, 60];
  const frames = [Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\n`)];
  for (let n = 0; n < N; n++) {
    const y = Buffer.alloc(W * H), u = Buffer.alloc(W * H / 4, 128), v = Buffer.alloc(W * H / 4, 128);
    for (let j = 0; j < H; j++) for (let i = 0; i < W; i++) {
      const inFigure = ((i - 640) / 220) ** 2 + ((j - 300) / 150) ** 2 < 1 || (Math.abs(i - 640) < 260 && j > 420);
      y[j * W + i] = inFigure ? 190 : 40 + (((i + 8 * n) >> 5) + (j >> 5)) % 2 * 90;
    }
    for (let j = 0; j < H / 2; j++) for (let i = 0; i < W / 2; i++) {
      u[j * W / 2 + i] = 128 + (((i * 2 + 8 * n) >> 6) % 2) * 40;
      v[j * W / 2 + i] = 128 - ((j >> 5) % 2) * 30;
    }
    frames.push(Buffer.from("FRAME\n"), y, u, v);
  }
  await writeFile(file, Buffer.concat(frames));
  return file;
}
