// The npm package as a web developer gets it: the packed tarball (tools/lib.sh pack_web)
// installed into an empty folder, and a video-call page that imports only "silhouette-web" and
// turns a camera track into a background-blurred one. Chromium's fake camera plays a video
// made here from a bundled frame. Each processed frame must equal the native CLI's `blur` of
// the same input frame (within 1/255 on average), with no transparent or faded borders, on the
// GPU path and on the CPU path.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { launch, golden, maxAbsDiff, pageReport, ROOT } from "./browser.mjs";
import { cli, installCall, writePage as writeAppPage } from "./call.mjs";

const RADIUS = 6;
let app; // the app folder the package is installed into (call.mjs)
let call; // its path
let server;

before(async () => {
  app = await installCall();
  ({ dir: call, server } = app);
});
after(async () => {
  await app?.close();
});

test("the tarball installs the entry point, its types and the wasm, and nothing else", async () => {
  const resolved = execFileSync("node", ["--input-type=module", "-e", "console.log(import.meta.resolve('silhouette-web'))"], { cwd: call }).toString().trim();
  assert.ok(resolved.endsWith("/node_modules/silhouette-web/pkg/silhouette.js"), resolved);
  const installed = join(call, "node_modules", "silhouette-web");
  const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8"));
  assert.equal(manifest.exports["."].types, "./silhouette.d.ts");
  const files = execFileSync("find", [".", "-type", "f"], { cwd: installed }).toString().trim().split("\n").sort();
  assert.deepEqual(files, ["./NOTICE", "./README.md", "./package.json", "./pkg/silhouette.js", "./pkg/silhouette_web_bg.wasm", "./pkg/worker.js", "./silhouette.d.ts"]);
  const size = async (file) => (await readFile(join(installed, "pkg", file))).length;
  const raw = (await size("silhouette_web_bg.wasm")) + (await size("silhouette.js"));
  // The size is a target, reported here and by the race (tools/web.sh race), not asserted.
  console.log(`download: ${raw} B raw (wasm + the bundled wrapper and glue); the Worker's bundle ${await size("worker.js")} B more when used`);
});

const writePage = (...args) => writeAppPage(call, ...args);

// RGBA of PNG bytes, decoded by the page's Chromium (Node has no PNG decoder).
async function decodePng(page, png) {
  return page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes]), { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const c = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d");
    c.drawImage(bitmap, 0, 0);
    return { rgba: Array.from(c.getImageData(0, 0, bitmap.width, bitmap.height).data), width: bitmap.width, height: bitmap.height };
  }, Buffer.from(png).toString("base64"));
}

// RGBA of a bundled frame, decoded by Chromium; then a 2-frame y4m (I420, BT.601 studio swing,
// which is what Chromium's fake camera reads).
async function cameraVideo(name) {
  const context = await launch({ webgpu: false });
  let rgba, width, height;
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/blank.html`);
    ({ rgba, width, height } = await decodePng(page, await readFile(join(ROOT, "tests", "data", "frames", `${name}.png`))));
  } finally {
    await context.close();
  }
  const y = Buffer.alloc(width * height), u = Buffer.alloc(width * height / 4), v = Buffer.alloc(width * height / 4);
  for (let j = 0; j < height; j++) for (let i = 0; i < width; i++) {
    const k = 4 * (j * width + i), [r, g, b] = [rgba[k], rgba[k + 1], rgba[k + 2]];
    y[j * width + i] = Math.round(16 + 0.2568 * r + 0.5041 * g + 0.0979 * b);
    if (j % 2 === 0 && i % 2 === 0) {
      const c = (j / 2) * (width / 2) + i / 2;
      u[c] = Math.round(128 - 0.1482 * r - 0.291 * g + 0.4392 * b);
      v[c] = Math.round(128 + 0.4392 * r - 0.3678 * g - 0.0714 * b);
    }
  }
  const frame = Buffer.concat([Buffer.from("FRAME\n"), y, u, v]);
  const file = join(call, `${name}.y4m`);
  await writeFile(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\n`), frame, frame]));
  return file;
}

// The call page: imports only the package, blurs the camera track (on this page with a loaded
// engine, or, with ?mode=worker, in the package's own Worker), and reports one input frame (as
// PNG, for the CLI) and the last of ?frames processed frames, as RGBA. It counts the package's
// readbacks (GPUBuffer.mapAsync), canvas reads (getImageData) and frame reads (VideoFrame.copyTo)
// on this page after the first
// frame, and samples the JS heap and the wasm memory every 50 frames.
async function writeCallPage() {
  await writePage("index.html", "media-src 'self' blob: mediastream:; worker-src 'self'", "call.js", `import { backgroundBlur, load } from "silhouette-web";
const params = new URLSearchParams(location.search);
const frames = Number(params.get("frames") ?? 3);
window.call = { state: "starting" };
const reads = { mapAsync: 0, getImageData: 0, copyTo: 0 };
const ownGetImageData = OffscreenCanvasRenderingContext2D.prototype.getImageData; // the page's own reads
for (const proto of [globalThis.GPUBuffer?.prototype, CanvasRenderingContext2D.prototype, OffscreenCanvasRenderingContext2D.prototype, VideoFrame.prototype]) {
  for (const name of ["mapAsync", "getImageData", "copyTo"]) {
    const original = proto?.[name];
    if (original) proto[name] = function (...args) { reads[name]++; return original.apply(this, args); };
  }
}
async function rgbaOf(frame) {
  const canvas = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
  const c = canvas.getContext("2d");
  c.drawImage(frame, 0, 0);
  const png = new Uint8Array(await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer());
  return { data: Array.from(ownGetImageData.call(c, 0, 0, canvas.width, canvas.height).data), png: Array.from(png), width: canvas.width, height: canvas.height };
}
try {
  const camera = await navigator.mediaDevices.getUserMedia({ video: true });
  const track = camera.getVideoTracks()[0];
  const backend = params.get("backend");
  const engine = params.get("mode") === "worker" ? undefined : await load({ backend });
  const blurred = await backgroundBlur(track.clone(), { engine, backend, radius: ${RADIUS} });
  const input = new MediaStreamTrackProcessor({ track }).readable.getReader();
  const inputFrame = (await input.read()).value;
  const seen = await rgbaOf(inputFrame);
  inputFrame.close();
  const output = new MediaStreamTrackProcessor({ track: blurred }).readable.getReader();
  let last = null, before = null;
  const memory = [];
  for (let i = 1; i <= frames; i++) {
    const frame = (await output.read()).value;
    // Sampled before the page's own copy of the last frame (megabytes of JS numbers).
    if (engine && frames >= 100 && i % 50 === 0) {
      globalThis.gc?.();
      memory.push({ frame: i, heap: performance.memory.usedJSHeapSize, wasm: await engine.memoryBytes() });
    }
    if (i === frames) last = await rgbaOf(frame);
    frame.close();
    before ??= { ...reads }; // after the first frame: what steady frames read
  }
  const steady = Object.fromEntries(Object.keys(reads).map((k) => [k, reads[k] - before[k]]));
  window.call = { state: "done", backend: engine?.backend ?? backend, input: seen, output: last, steady, memory };
} catch (error) {
  window.call = { state: "error", error: String(error) };
}
`);
}

/** The call page in Chromium with a fake camera playing `video`; resolves with window.call. */
async function runCall(video, { backend, mode = "page", frames = 3 }) {
  await writeCallPage();
  const context = await launch({
    webgpu: backend === "gpu",
    extra: ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${video}`,
      "--enable-precise-memory-info", "--js-flags=--expose-gc"],
  });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    // Generous: a WebGPU frame takes seconds on SwiftShader, more on a busy machine.
    const result = await pageReport(page, `${server.url}/?backend=${backend}&mode=${mode}&frames=${frames}`,
      { name: "call", timeout: Math.max(600_000, frames * 6_000), polling: 1000 });
    // A Worker's track does not say which backend ran; a "gpu" one fails without WebGPU.
    if (mode === "page") assert.equal(result.backend, backend === "gpu" ? "webgpu" : backend);
    assert.deepEqual(errors, []);
    if (result.input) result.expected = await cliBlur(page, result.input.png);
    return result;
  } finally {
    await context.close();
  }
}

// The native CLI's blur of `png` (bytes), as RGBA (decoded by the page).
async function cliBlur(page, png) {
  return (await decodePng(page, await cli(call, png, ["blur", "--radius", String(RADIUS)]))).rgba;
}

const luma = (d, k) => 0.299 * d[k] + 0.587 * d[k + 1] + 0.114 * d[k + 2];
function borderLuma(d, w, h) {
  let sum = 0, n = 0;
  for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) {
    if (i >= 3 && j >= 3 && i < w - 3 && j < h - 3) continue;
    sum += luma(d, 4 * (j * w + i));
    n++;
  }
  return sum / n;
}

// Each way a track runs: WebGPU and CPU on the page (the readback counters see the package
// there), and WebGPU in the package's Worker.
for (const [backend, mode] of [["gpu", "page"], ["cpu", "page"], ["gpu", "worker"]]) {
  test(`a camera track comes out background-blurred as the CLI blurs it (${backend}, ${mode})`, async () => {
    const result = await runCall(await cameraVideo("astronaut"), { backend, mode });
    const { input, output, expected } = result;
    assert.deepEqual([output.width, output.height], [input.width, input.height]);
    assert.equal(expected.length, output.data.length);
    let diff = 0, changed = 0, opaque = true;
    for (let k = 0; k < expected.length; k++) {
      if (k % 4 === 3) opaque &&= output.data[k] === 255;
      else {
        diff += Math.abs(expected[k] - output.data[k]);
        changed += Math.abs(input.data[k] - output.data[k]);
      }
    }
    const mean = diff / (expected.length * 3 / 4);
    assert.ok(changed / (expected.length * 3 / 4) > 2, "the processed frame is the camera's: nothing was blurred");
    const borders = [borderLuma(input.data, input.width, input.height), borderLuma(output.data, output.width, output.height)];
    console.log(`${backend} (${mode}): mean |track - CLI| = ${mean.toFixed(3)} of 255; border luma in ${borders[0].toFixed(1)}, out ${borders[1].toFixed(1)}; reads on the page over 2 steady frames: ${JSON.stringify(result.steady)}`);
    if (backend === "gpu" && mode === "page") {
      assert.deepEqual(result.steady, { mapAsync: 0, getImageData: 0, copyTo: 0 }, "a WebGPU track read pixels back");
    } else if (mode === "page") {
      // The counters see the CPU path's reads of each frame (copyTo, or a canvas's getImageData),
      // so they would see the GPU path's.
      assert.ok(result.steady.copyTo + result.steady.getImageData > 0, "the instrumented reads saw no CPU frame");
    }
    assert.ok(opaque, "the processed frame has transparent pixels");
    assert.ok(mean <= 1, `the processed frame differs from the CLI's blur by ${mean} on average`);
    assert.ok(Math.abs(borders[0] - borders[1]) < 8, `the borders faded: ${borders}`);
  });
}

// A long call: the wasm memory stops growing after the first frames and the JS heap has no
// per-frame leak. CI runs 600 frames on the CPU path (SwiftShader takes seconds a WebGPU
// frame); SOAK_BACKEND=gpu SOAK_FRAMES=N runs the WebGPU path (N >= 150, a multiple of 50).
const SOAK = { backend: process.env.SOAK_BACKEND ?? "cpu", frames: Number(process.env.SOAK_FRAMES ?? 600) };
test(`${SOAK.frames} frames of a track: wasm memory flat, JS heap without a per-frame leak (${SOAK.backend})`, async () => {
  const result = await runCall(await cameraVideo("astronaut"), SOAK);
  const samples = result.memory;
  assert.equal(samples.length, SOAK.frames / 50);
  // Least-squares slope of the heap over frames 100..600 (after warm-up), bytes per frame.
  const tail = samples.slice(1);
  const mx = tail.reduce((a, s) => a + s.frame, 0) / tail.length, my = tail.reduce((a, s) => a + s.heap, 0) / tail.length;
  const slope = tail.reduce((a, s) => a + (s.frame - mx) * (s.heap - my), 0) / tail.reduce((a, s) => a + (s.frame - mx) ** 2, 0);
  console.log(`${SOAK.frames} frames (${SOAK.backend}): JS heap ${samples.map((s) => (s.heap / 1e6).toFixed(2)).join(", ")} MB; slope ${slope.toFixed(1)} B/frame; wasm ${samples.map((s) => s.wasm / 1048576).join(", ")} MiB`);
  assert.ok(samples.slice(1).every((s) => s.wasm === samples[1].wasm), "the wasm memory grew after frame 100");
  // No per-frame readback either, on either path's own way of reading pixels back.
  if (SOAK.backend === "gpu") assert.deepEqual(result.steady, { mapAsync: 0, getImageData: 0, copyTo: 0 });
  // A leaked frame (256x256 RGBA here) would be 256 KB a frame. The heap after gc() still moves
  // by about a megabyte between samples (a slope of about +-1.3 KB a frame over these 11), so
  // the bound is an eighth of a frame: no noise reaches it, any per-frame leak of pixels does.
  assert.ok(slope < 32 * 1024, `the JS heap grows ${slope} bytes per frame`);
});

// Worker mode: the page that imports only the package composites a photo in a Worker; the result
// equals the main thread's, and the Worker's mask is MediaPipe's within 5e-4.
test("loadInWorker composites off the main thread as the main thread does", async () => {
  await writePage("worker.html", "worker-src 'self'", "worker-page.js", `import { load, loadInWorker } from "silhouette-web";
window.result = { state: "running" };
try {
  const photo = await createImageBitmap(await (await fetch("astronaut.png")).blob(), { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const worker = await loadInWorker({ backend: "cpu" });
  let ticks = 0;
  const ticking = setInterval(() => ticks++, 5);
  const off = await worker.composite(photo, { background: "#2e7d32" });
  const mask = await worker.segment(photo);
  clearInterval(ticking);
  // Failures reject the promise, through the Worker too, and a thing that is not a picture too.
  const outcome = (promise) => promise.then(() => "resolved", (e) => String(e));
  const workerRefused = await outcome(worker.composite(photo, { threshold: 2 }));
  const main = await load({ backend: "cpu" });
  const on = await main.composite(photo, { background: "#2e7d32" });
  let same = off.data.length === on.data.length;
  for (let i = 0; same && i < on.data.length; i++) same = off.data[i] === on.data[i];
  await worker.dispose();
  // The response options, as the CLI's flags: the default, and the mask as it is.
  const alphaOf = (image) => Array.from(image.data.filter((_, k) => k % 4 === 3));
  const curved = alphaOf(await main.composite(photo, { background: "transparent" }));
  const plain = alphaOf(await main.composite(photo, { background: "transparent", softness: 1 }));
  const refused = await outcome(main.composite(photo, { threshold: 2 }));
  const notAPicture = await outcome(main.composite({ width: 4, height: 4 }));
  window.result = { state: "done", backend: worker.backend, same, ticks, mask: Array.from(mask), size: [off.width, off.height], curved, plain, refused, workerRefused, notAPicture };
} catch (error) {
  window.result = { state: "error", error: String(error) };
}
`);
  await writeFile(join(call, "astronaut.png"), await readFile(join(ROOT, "tests", "data", "frames", "astronaut.png")));
  const context = await launch({ webgpu: false });
  try {
    const page = await context.newPage();
    const result = await pageReport(page, `${server.url}/worker.html`);
    assert.equal(result.backend, "cpu");
    assert.deepEqual(result.size, [256, 256]);
    assert.ok(result.same, "the Worker's composite differs from the main thread's");
    const diff = maxAbsDiff(result.mask, await golden("astronaut"));
    console.log(`worker: max |mask - MediaPipe| = ${diff.toExponential(2)}; the page ticked ${result.ticks} times meanwhile`);
    assert.ok(diff <= 5e-4, `the Worker's mask differs from MediaPipe by ${diff}`);
    assert.ok(result.ticks > 0, "the page did not run while the Worker worked");
    const png = await readFile(join(ROOT, "tests", "data", "frames", "astronaut.png"));
    for (const [name, alpha, flags] of [["default", result.curved, []], ["softness 1", result.plain, ["--softness", "1"]]]) {
      const want = (await decodePng(page, await cli(call, png, ["cut", ...flags]))).rgba.filter((_, k) => k % 4 === 3);
      assert.ok(maxAbsDiff(alpha, want) <= 1, `${name}: the composite's alpha differs from the CLI's cut by ${maxAbsDiff(alpha, want)}`);
    }
    assert.ok(maxAbsDiff(result.curved, result.plain) > 50, "threshold/softness changed nothing");
    assert.match(result.refused, /threshold 2 is outside/);
    assert.match(result.workerRefused, /threshold 2 is outside/);
    assert.notEqual(result.notAPicture, "resolved", "composite resolved for something that is not a picture");
  } finally {
    await context.close();
  }
});

// firstFramesOnCpu: the first frames come from the CPU engine at once, then WebGPU takes over
// between two frames with the smoothing's history: its first frame equals the CPU engine's
// smoothed one (not a fresh start, which differs by more).
test("the first frames run on the CPU while WebGPU is made, which goes on with their smoothing", async () => {
  await writePage("warming.html", "", "warming-page.js", `import { load } from "silhouette-web";
window.result = { state: "running" };
try {
  const bitmap = await createImageBitmap(await (await fetch("astronaut.png")).blob(), { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const c = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d", { willReadFrequently: true });
  c.drawImage(bitmap, 0, 0);
  const photo = c.getImageData(0, 0, bitmap.width, bitmap.height);
  // A clip: the photo a little brighter each frame (no cut, but masks that move a little).
  const clip = [0, 1, 2, 3].map((step) => new ImageData(photo.data.map((v, k) => (k % 4 === 3 ? v : Math.min(255, v + 6 * step))), photo.width, photo.height));
  const options = { background: "#2e7d32", smooth: true };
  const start = performance.now();
  const engine = await load({ backend: "gpu", firstFramesOnCpu: true });
  const first = engine.backend;
  await engine.composite(clip[0], options);
  const firstMs = performance.now() - start;
  await engine.composite(clip[1], options);
  await engine.composite(clip[2], options);
  const ready = await engine.ready();
  const readyMs = performance.now() - start;
  const canvas = new OffscreenCanvas(1, 1);
  await engine.drawTo(canvas, clip[3], options);
  const frame = new VideoFrame(canvas, { timestamp: 0 });
  const read = new OffscreenCanvas(photo.width, photo.height).getContext("2d", { willReadFrequently: true });
  read.drawImage(frame, 0, 0);
  frame.close();
  const gpu = Array.from(read.getImageData(0, 0, photo.width, photo.height).data);
  const cpu = await load({ backend: "cpu" });
  for (const f of clip.slice(0, 3)) await cpu.composite(f, options);
  const smoothed = Array.from((await cpu.composite(clip[3], options)).data);
  await cpu.resetSmoothing();
  const fresh = Array.from((await cpu.composite(clip[3], { ...options, smooth: false })).data);
  window.result = { state: "done", first, ready, after: engine.backend, firstMs, readyMs, gpu, smoothed, fresh };
} catch (error) {
  window.result = { state: "error", error: String(error) };
}
`);
  await writeFile(join(call, "astronaut.png"), await readFile(join(ROOT, "tests", "data", "frames", "astronaut.png")));
  const context = await launch({ webgpu: true });
  try {
    const result = await pageReport(await context.newPage(), `${server.url}/warming.html`, { timeout: 600_000, polling: 1000 });
    console.log(`warming (SwiftShader): first frame ${result.firstMs.toFixed(0)} ms after load() began, WebGPU ready at ${result.readyMs.toFixed(0)} ms`);
    assert.equal(result.first, "cpu");
    assert.equal(result.ready, "webgpu");
    assert.equal(result.after, "webgpu");
    const jump = maxAbsDiff(result.gpu, result.smoothed);
    const restart = maxAbsDiff(result.fresh, result.smoothed);
    console.log(`warming: WebGPU's first frame vs the CPU's smoothed one ${jump}; a fresh start would differ by ${restart}`);
    assert.ok(jump <= 2, `WebGPU's first frame differs from the CPU engine's smoothed frame by ${jump}`);
    assert.ok(restart > 2, `the clip's smoothing history changes nothing (${restart}): the test cannot see a restart`);
  } finally {
    await context.close();
  }
});
