// The call benchmark's page (calls.mjs): a 1280x720 camera through `startEffect` (or, with
// ?runner=mediapipe or livekit, the rivals of mediapipe-effect.js and livekit-effect.js, blurring
// as much: 1% of 1280) for ?seconds
// after a warm-up, as a video call runs it. Reports frames out per second, the effect's ms per
// frame by stage, and the main thread's busy time (how late a 10 ms timer chain ran). The test
// reads the browser's CPU time between the two marks it is sent.
import { startEffect } from "silhouette-web";

const params = new URLSearchParams(location.search);
const backend = params.get("backend") ?? "cpu";
const seconds = Number(params.get("seconds") ?? 10);
const post = (path, body) => fetch(path, { method: "POST", body: JSON.stringify(body) });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Milliseconds the main thread could not run a 10 ms timer on time, summed.
function busyProbe() {
  let busy = 0, running = true, last = performance.now();
  const tick = () => {
    const now = performance.now();
    busy += Math.max(0, now - last - 10);
    last = now;
    if (running) setTimeout(tick, 10);
  };
  setTimeout(tick, 10);
  return () => {
    running = false;
    return busy;
  };
}

// Counts the frames a <video> playing `track` presents (what a call's preview shows).
function presented(track) {
  const video = document.createElement("video");
  video.muted = true;
  video.srcObject = new MediaStream([track]);
  video.play();
  const counter = { frames: 0 };
  const count = () => {
    counter.frames++;
    video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
  return counter;
}

const result = { engine: params.get("engine"), backend, seconds };
try {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } });
  const camera = stream.getVideoTracks()[0];
  result.camera = camera.getSettings();
  const runner = params.get("runner");
  const effect = runner === "mediapipe"
    ? await (await import("./mediapipe-effect.js")).mediapipeEffect(camera, { delegate: backend, radius: 12.8 })
    : runner === "livekit"
      ? await (await import("./livekit-effect.js")).livekitEffect(camera, { radius: 12.8 })
      : await startEffect(camera, { backend });
  result.way = effect.way;
  const shown = presented(effect.track);
  await sleep(3000); // warm-up: the engine's first frames, the browser's caches
  const before = effect.stats(), shownBefore = shown.frames;
  await post("/mark", { mark: "start" });
  const busy = busyProbe();
  const start = performance.now();
  await sleep(seconds * 1000);
  const elapsed = performance.now() - start;
  const busyMs = busy();
  await post("/mark", { mark: "end" });
  const after = effect.stats();
  const frames = after.frames - before.frames;
  result.frames = frames;
  result.fps = frames / (elapsed / 1000);
  result.shownFps = (shown.frames - shownBefore) / (elapsed / 1000);
  // Stage means over the measured frames only (stats are running means since the start).
  result.ms = Object.fromEntries(Object.keys(after.ms).map((k) => [k, (after.ms[k] * after.frames - before.ms[k] * before.frames) / Math.max(frames, 1)]));
  result.mainBusyMsPerSecond = busyMs / (elapsed / 1000);
  await effect.stop();
  camera.stop();
  result.state = "done";
} catch (error) {
  result.state = "error";
  result.error = `${error?.message ?? error}`;
}
await post("/report", result);
