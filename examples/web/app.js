// The demo: pick or drop a photo, or start the camera; cut out, blur or replace the background.
// Tests read window.silhouetteDemo (state, backend, the last mask and its time).
import { load } from "./silhouette.js";

const $ = (id) => document.getElementById(id);
const demo = (window.silhouetteDemo = { state: "loading", backend: null, lastMask: null, lastMs: null, error: null });
const output = $("output");
const context = output.getContext("2d");
const maskCanvas = new OffscreenCanvas(256, 256);
const maskContext = maskCanvas.getContext("2d");
const maskPixels = new ImageData(256, 256);
const person = new OffscreenCanvas(1, 1);
const personContext = person.getContext("2d");
let engine = null;
let source = null; // the photo or video being shown
let running = false;

if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});

const requested = new URLSearchParams(location.search).get("backend") ?? "auto";
load({ backend: requested }).then((e) => {
  engine = e;
  demo.backend = e.backend;
  const status = $("status");
  status.textContent = e.backend === "webgpu"
    ? `Running on WebGPU (${e.device}).`
    : `Running on the CPU (WebAssembly): ${e.notice ? "this browser offers no WebGPU adapter" : "as requested"}.`;
  status.title = e.notice ?? "";
  status.className = e.backend;
  demo.state = "ready";
}).catch((error) => fail(error));

function fail(error) {
  demo.state = "error";
  demo.error = String(error);
  $("status").textContent = `Error: ${error}`;
}

// The mask as an alpha image, scaled to the picture by the canvas (bilinear).
function drawPerson(mask, width, height) {
  const data = maskPixels.data;
  for (let i = 0; i < mask.length; i++) data[4 * i + 3] = Math.round(mask[i] * 255);
  maskContext.putImageData(maskPixels, 0, 0);
  if (person.width !== width || person.height !== height) { person.width = width; person.height = height; }
  personContext.globalCompositeOperation = "copy";
  personContext.drawImage(source, 0, 0, width, height);
  personContext.globalCompositeOperation = "destination-in";
  personContext.drawImage(maskCanvas, 0, 0, width, height);
}

function composite(mask, width, height) {
  if (output.width !== width || output.height !== height) { output.width = width; output.height = height; }
  drawPerson(mask, width, height);
  const effect = $("effect").value;
  context.filter = "none";
  context.clearRect(0, 0, width, height);
  if (effect === "blur") {
    context.filter = `blur(${$("radius").value}px)`;
    context.drawImage(source, 0, 0, width, height);
    context.filter = "none";
  } else if (effect === "replace") {
    context.fillStyle = $("color").value;
    context.fillRect(0, 0, width, height);
  }
  context.drawImage(person, 0, 0);
}

async function process() {
  const width = source.videoWidth || source.width;
  const height = source.videoHeight || source.height;
  demo.state = "busy";
  const start = performance.now();
  const mask = await engine.segment(source);
  const ms = performance.now() - start;
  composite(mask, width, height);
  demo.lastMask = mask.slice();
  demo.lastMs = ms;
  $("timing").textContent = `${ms.toFixed(1)} ms per frame (${engine.backend})`;
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
for (const id of ["effect", "radius", "color"]) $(id).addEventListener("input", () => source && demo.lastMask && composite(demo.lastMask, output.width, output.height));
$("effect").addEventListener("change", () => {
  $("blur-label").classList.toggle("hidden", $("effect").value !== "blur");
  $("color-label").classList.toggle("hidden", $("effect").value !== "replace");
});
$("effect").dispatchEvent(new Event("change"));

$("download").addEventListener("click", () => output.toBlob((blob) => {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "silhouette.png";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}, "image/png"));

const video = $("video");
$("camera").addEventListener("click", async () => {
  if (running) return stopCamera();
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    await video.play();
    source = video;
    running = true;
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
