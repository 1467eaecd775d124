// The demo: pick or drop a photo, or start the camera; cut out, blur or replace the background.
// Tests read window.silhouetteDemo (state, backend, the last mask and its time).
import { load } from "silhouette-web";

const $ = (id) => document.getElementById(id);
// settled: where frames run is final (with WebGPU, the CPU answers first while it is made).
const demo = (window.silhouetteDemo = { state: "loading", settled: false, backend: null, lastMask: null, lastMs: null, error: null });
const output = $("output");
let engine = null;
let source = null; // the photo or video being shown
let running = false;

if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});

const requested = new URLSearchParams(location.search).get("backend") ?? "auto";
load({ backend: requested }).then((e) => {
  engine = e;
  showStatus(false);
  demo.state = "ready";
  e.ready().then(() => showStatus(true));
}).catch((error) => fail(error));

function showStatus(settled) {
  demo.backend = engine.backend;
  demo.settled = settled;
  const status = $("status");
  status.textContent = engine.backend === "webgpu"
    ? `Running on WebGPU (${engine.device}): frames stay on the GPU.`
    : !settled ? "Running on the CPU (WebAssembly) while WebGPU starts."
      : `Running on the CPU (WebAssembly): ${requested === "cpu" ? "as requested"
        : /software/.test(engine.notice) ? "this browser's only WebGPU adapter is a software one, slower than the CPU"
          : "this browser offers no WebGPU adapter"}.`;
  status.title = engine.notice ?? "";
  status.className = engine.backend;
}

function fail(error) {
  demo.state = "error";
  demo.error = String(error);
  $("status").textContent = `Error: ${error}`;
}

// The engine's own finish (the CLI's: guided-filter edges, a blur clamped at the borders),
// at the picture's size, drawn into the output canvas.
function options() {
  const effect = $("effect").value;
  const background = effect === "blur" ? "blur" : effect === "replace" ? $("color").value : "transparent";
  return { background, radius: Number($("radius").value), refine: true, smooth: source === $("video") };
}

// The original beside the result, at the same size, when asked.
function showBefore() {
  const before = $("before");
  before.classList.toggle("hidden", !$("compare").checked);
  if (!$("compare").checked || !source) return;
  before.width = source.videoWidth || source.width;
  before.height = source.videoHeight || source.height;
  before.getContext("2d").drawImage(source, 0, 0);
}

let lastFrame = null; // when the camera's previous frame was drawn

async function process() {
  demo.state = "busy";
  const start = performance.now();
  showBefore();
  await engine.drawTo(output, source, options());
  if (source === $("video")) {
    // A video's frames are never read back: the rate is what shows how it keeps up.
    const fps = lastFrame ? 1000 / (start - lastFrame) : 0;
    lastFrame = start;
    $("timing").textContent = fps ? `${fps.toFixed(1)} frames/s (${engine.backend})` : "";
  } else {
    // The mask is read back (the GPU has finished the frame then): network and finish timed.
    demo.lastMask = (await engine.lastMask()).slice();
    demo.lastMs = performance.now() - start;
    $("timing").textContent = `${demo.lastMs.toFixed(1)} ms for the picture, network and finish (${engine.backend})`;
  }
  $("download").disabled = false;
  demo.state = "done";
}

async function showPhoto(file) {
  if (!engine) return;
  try {
    stopCamera();
    source = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    await process();
  } catch (error) {
    fail(error);
  }
}

$("file").addEventListener("change", (e) => e.target.files[0] && showPhoto(e.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files[0]) showPhoto(e.dataTransfer.files[0]);
});
$("compare").addEventListener("change", showBefore);
for (const id of ["effect", "radius", "color"]) $(id).addEventListener("change", () => source && !running && demo.state === "done" && process().catch(fail));
$("effect").addEventListener("change", () => {
  $("blur-label").classList.toggle("hidden", $("effect").value !== "blur");
  $("color-label").classList.toggle("hidden", $("effect").value !== "replace");
});
$("effect").dispatchEvent(new Event("change"));

// The result at the picture's own size, made for the download (a WebGPU canvas is not read
// back: its frame is gone once shown).
$("download").addEventListener("click", async () => {
  const image = await engine.composite(source, options());
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [image.width, image.height];
  canvas.getContext("2d").putImageData(image, 0, 0);
  canvas.toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "silhouette.png";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }, "image/png");
});

const video = $("video");
$("camera").addEventListener("click", async () => {
  if (running) return stopCamera();
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    await video.play();
    source = video;
    running = true;
    lastFrame = null;
    $("camera").textContent = "Stop the camera";
    const frame = async () => {
      if (!running) return;
      await process();
      video.requestVideoFrameCallback(frame);
    };
    video.requestVideoFrameCallback(frame);
  } catch (error) {
    fail(error);
  }
});

function stopCamera() {
  running = false;
  $("camera").textContent = "Start the camera";
  video.srcObject?.getTracks().forEach((t) => t.stop());
  video.srcObject = null;
}
