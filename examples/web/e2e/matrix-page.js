// The page the browser matrix (matrix.test.mjs) opens in every engine: it imports only
// "silhouette-web" and reports each step to the test by POST /report. ?backend= as load's.
//  1. a still and the Worker against MediaPipe's golden mask, and what "auto" chose;
//  2. a track (a canvas playing a photo, so every frame is known) through `startEffect` as a
//     web developer calls it: its first frame, a steady frame against the native CLI's blur of
//     the frame as this browser delivered it, a live change to a colour against the CLI's
//     replace, and its end when the source ends;
//  3. the browser's own fake camera through `backgroundBlur`: frames flow, `stop()` ends it.
import { load, loadInWorker, startEffect, backgroundBlur } from "silhouette-web";

const params = new URLSearchParams(location.search);
const backend = params.get("backend") ?? "auto";
const RADIUS = 6;
const errors = []; // anything that reached the page uncaught
addEventListener("error", (e) => errors.push(`error: ${e.message}`));
addEventListener("unhandledrejection", (e) => errors.push(`unhandled rejection: ${e.reason?.message ?? e.reason}`));

const report = (body) => fetch("/report", { method: "POST", body: JSON.stringify(body) });
const step = (name) => report({ step: name });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function maxDiff(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

// Mean |a - b| over RGB, in levels of 255.
function meanDiff(a, b) {
  let sum = 0;
  for (let k = 0; k < a.length; k++) if (k % 4 !== 3) sum += Math.abs(a[k] - b[k]);
  return sum / (a.length * 3 / 4);
}

// RGB averaged over 2x2 blocks: the colour a 4:2:0 frame (NV12, I420) carries.
function blocks(data, width) {
  const height = data.length / 4 / width, out = [];
  for (let j = 0; j + 1 < height; j += 2) for (let i = 0; i + 1 < width; i += 2) {
    const at = (x, y, c) => data[4 * (y * width + x) + c];
    for (let c = 0; c < 3; c++) out.push((at(i, j, c) + at(i + 1, j, c) + at(i, j + 1, c) + at(i + 1, j + 1, c)) / 4);
    out.push(255);
  }
  return out;
}

// How a frame differs from the CLI's: mean |a - b| per channel, and the same over 2x2 blocks.
function versus(frame, expected) {
  return { mean: meanDiff(frame.data, expected), blocks: meanDiff(blocks(frame.data, frame.canvas.width), blocks(expected, frame.canvas.width)) };
}

// The pixel format of `track`'s next frame (Chromium, which has MediaStreamTrackProcessor here).
async function formatOf(track) {
  const probe = track.clone();
  const reader = new MediaStreamTrackProcessor({ track: probe }).readable.getReader();
  const { value } = await reader.read();
  const format = value.format;
  value.close();
  probe.stop();
  return format;
}

function rgbaOf(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(source, 0, 0, width, height);
  return { data: context.getImageData(0, 0, width, height).data, canvas };
}

const decode = async (blob) => createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });

// The frames of `track` as this page sees them: a <video> playing it, each new frame read.
function frameReader(track) {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  const playing = video.play();
  let waiting = null;
  const next = () => new Promise((resolve) => {
    waiting = resolve;
    video.requestVideoFrameCallback(() => resolve());
  });
  return {
    async frame(timeout = 120_000) {
      await playing;
      const timer = sleep(Number(params.get("patience") ?? timeout)).then(() => {
        throw new Error(`no frame from the track in ${timeout} ms (track ${track.readyState}; effect ${JSON.stringify(globalThis.effect?.stats())})`);
      });
      await Promise.race([next(), timer]);
      return rgbaOf(video, video.videoWidth, video.videoHeight);
    },
    close() {
      waiting?.();
      video.srcObject = null;
    },
  };
}

// The CLI's output for `canvas` (its PNG) with `args`, as RGBA.
async function cliOf(canvas, args) {
  const png = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const response = await fetch(`/cli?args=${encodeURIComponent(JSON.stringify(args))}`, { method: "POST", body: png });
  if (!response.ok) throw new Error(`the CLI: ${await response.text()}`);
  const image = await decode(await response.blob());
  return rgbaOf(image, image.width, image.height).data;
}

// Resolves true once `track` has ended (within `ms`).
async function endsWithin(track, ms) {
  for (const deadline = performance.now() + ms; performance.now() < deadline; await sleep(50)) {
    if (track.readyState === "ended") return true;
  }
  return false;
}

const result = { engine: params.get("engine"), userAgent: navigator.userAgent };
try {
  await step("still");
  const photo = await decode(await (await fetch("astronaut.png")).blob());
  const golden = new Float32Array(await (await fetch("/data/golden/astronaut.f32")).arrayBuffer());
  const engine = await load({ backend });
  result.backend = engine.backend;
  result.still = maxDiff(await engine.segment(photo), golden);
  await engine.dispose();
  const auto = await load();
  // The CPU answers at once; where frames run (and why) is known once ready() resolves.
  const autoFirst = auto.backend;
  await auto.ready();
  result.auto = { first: autoFirst, backend: auto.backend, notice: auto.notice };
  await auto.dispose();
  const adapter = await navigator.gpu?.requestAdapter();
  result.fallbackAdapter = adapter ? Boolean(adapter.isFallbackAdapter ?? adapter.info?.isFallbackAdapter) : null;

  await step("worker");
  const worker = await loadInWorker({ backend });
  result.worker = { backend: worker.backend, diff: maxDiff(await worker.segment(photo), golden) };
  await worker.dispose();

  await step("track");
  const camera = document.createElement("canvas");
  camera.width = photo.width;
  camera.height = photo.height;
  const paint = camera.getContext("2d");
  paint.drawImage(photo, 0, 0);
  const source = camera.captureStream(30).getVideoTracks()[0];
  const painting = setInterval(() => paint.drawImage(photo, 0, 0), 33); // a frame each repaint
  const seenReader = frameReader(source.clone());
  const seen = await seenReader.frame();
  seenReader.close();
  if (globalThis.MediaStreamTrackProcessor) result.sourceFormat = await formatOf(source);
  result.sourceRoundTrip = meanDiff(seen.data, rgbaOf(photo, photo.width, photo.height).data);
  const effect = await startEffect(source, { backend, radius: RADIUS });
  result.way = effect.way;
  globalThis.effect = effect;
  let effectErrors = 0, endedEvents = 0;
  effect.addEventListener("error", () => effectErrors++);
  effect.addEventListener("ended", () => endedEvents++);
  const output = frameReader(effect.track);
  const first = await output.frame();
  const blurred = await cliOf(seen.canvas, ["blur", "--radius", String(RADIUS)]);
  result.first = { vsCli: versus(first, blurred), vsInput: meanDiff(first.data, seen.data) };
  if (globalThis.MediaStreamTrackProcessor) result.outputFormat = await formatOf(effect.track);
  let steady;
  for (let i = 0; i < 4; i++) steady = await output.frame();
  result.blur = { vsCli: versus(steady, blurred), vsInput: meanDiff(steady.data, seen.data), size: [steady.canvas.width, steady.canvas.height] };

  await step("update");
  effect.update({ background: "#2e7d32" });
  const replaced = await cliOf(seen.canvas, ["replace", "--color", "#2e7d32"]);
  let changed = null;
  for (let i = 0; i < 30 && !changed; i++) {
    const frame = await output.frame();
    if (meanDiff(frame.data, replaced) < meanDiff(frame.data, blurred)) changed = i;
  }
  for (let i = 0; i < 3; i++) steady = await output.frame();
  result.replace = { vsCli: versus(steady, replaced), framesToChange: changed, way: effect.way };

  await step("end");
  source.stop();
  clearInterval(painting);
  result.endedWithSource = await endsWithin(effect.track, 5000);
  await Promise.race([effect.ended, sleep(1000)]);
  result.endedEvents = endedEvents;
  result.effectErrors = effectErrors;
  result.stats = effect.stats();
  output.close();

  await step("camera");
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  const cameraTrack = stream.getVideoTracks()[0];
  const blurredCamera = await backgroundBlur(cameraTrack, { backend });
  const cameraFrames = frameReader(blurredCamera);
  const frame = await cameraFrames.frame();
  result.camera = { size: [frame.canvas.width, frame.canvas.height], settings: cameraTrack.getSettings() };
  cameraTrack.stop();
  result.camera.endedWithSource = await endsWithin(blurredCamera, 5000);
  cameraFrames.close();

  await sleep(200); // an error from a frame in flight would land here
  result.errors = errors;
  result.state = "done";
} catch (error) {
  result.state = "error";
  result.error = `${error?.message ?? error}\n${error?.stack ?? ""}`;
  result.errors = errors;
}
await report(result);
