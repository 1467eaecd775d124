// One engine per page load, so "cold" covers download, compile, set-up and the first mask.
// engine=alternate-cpu instead loads ours on the CPU and onnxruntime-web wasm into one page and
// alternates them frame by frame, so the machine's drift hits both alike (a same-page ratio);
// engine=alternate-mediapipe does the same with MediaPipe's own web runtime on the CPU
// (@mediapipe/tasks-vision's ImageSegmenter, XNNPACK in wasm, one thread), and
// alternate-mediapipe-gpu ours on WebGPU with MediaPipe's WebGL delegate.
// The input is the same golden frame for all, as RGBA ImageData (ours, MediaPipe) or NCHW
// floats (ORT).
// Results land in window.race for e2e/race.mjs.
const params = new URLSearchParams(location.search);
const engineName = params.get("engine");
const frames = Number(params.get("frames") ?? 30);
const race = (window.race = { state: "running" });

async function inputImage() {
  const blob = await (await fetch("data/frames/grace_hopper.png")).blob();
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, bitmap.width, bitmap.height);
}

async function ours(backend) {
  const { load } = await import("./package/pkg/silhouette.js");
  const engine = await load({ backend });
  return { run: (image) => engine.segment(image), describe: `${engine.backend}` };
}

async function ort(provider) {
  const ort = await import(provider === "webgpu" ? "./vendor/ort/ort.webgpu.min.mjs" : "./vendor/ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("vendor/ort/", location.href).href;
  ort.env.wasm.numThreads = 1; // no cross-origin isolation here, as on most sites
  const session = await ort.InferenceSession.create("model/selfie_segmentation.onnx", { executionProviders: [provider] });
  const nchw = new Float32Array(3 * 256 * 256);
  const input = new ort.Tensor("float32", nchw, [1, 3, 256, 256]);
  return {
    describe: `onnxruntime-web ${ort.env.versions?.web ?? ""} ${provider}`,
    async run(image) {
      const d = image.data;
      for (let p = 0; p < 256 * 256; p++) {
        nchw[p] = d[4 * p] / 255;
        nchw[65536 + p] = d[4 * p + 1] / 255;
        nchw[131072 + p] = d[4 * p + 2] / 255;
      }
      const { mask } = await session.run({ image: input });
      return mask.getData ? await mask.getData() : mask.data;
    },
  };
}

async function mediapipe(delegate) {
  const { FilesetResolver, ImageSegmenter } = await import("./vendor/mediapipe/vision_bundle.mjs");
  const fileset = await FilesetResolver.forVisionTasks(new URL("vendor/mediapipe/wasm", location.href).href);
  const segmenter = await ImageSegmenter.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: "model/mediapipe.tflite", delegate },
    runningMode: "IMAGE",
    outputCategoryMask: false,
    outputConfidenceMasks: true,
  });
  return {
    describe: `@mediapipe/tasks-vision ${delegate === "GPU" ? "GPU (WebGL)" : "CPU (XNNPACK)"}`,
    async run(image) {
      let mask = null;
      segmenter.segment(image, (result) => {
        mask = result.confidenceMasks[0].getAsFloat32Array().slice();
        result.close?.();
      });
      return mask;
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Ours on `backend` and the engine `rival()` makes, in turns.
async function alternate(image, backend, rival) {
  const engines = [await ours(backend), await rival()];
  race.masks = [];
  for (const e of engines) race.masks.push(Array.from(await e.run(image)));
  for (let i = 0; i < 3; i++) for (const e of engines) await e.run(image);
  const turns = [];
  for (let i = 0; i < 2 * frames; i++) {
    const t = [];
    for (const e of engines) {
      const start = performance.now();
      await e.run(image);
      t.push(performance.now() - start);
    }
    turns.push(t);
  }
  race.alternate = { turns: turns.length, rival: engines[1].describe, ours: median(turns.map((t) => t[0])), theirs: median(turns.map((t) => t[1])), ratio: median(turns.map((t) => t[0] / t[1])) };
  race.state = "done";
}

async function single(image) {
  const engine = engineName.startsWith("ours-") ? await ours(engineName.replace("ours-", "")) : await ort(engineName.replace("ort-", ""));
  const first = await engine.run(image);
  race.coldMs = performance.now(); // since navigation start
  race.mask = Array.from(first);
  const times = [];
  for (let i = 0; i < frames; i++) {
    const start = performance.now();
    await engine.run(image);
    times.push(performance.now() - start);
  }
  race.warmMedianMs = median(times);
  race.describe = engine.describe;
  race.state = "done";
}

try {
  const image = await inputImage();
  if (engineName === "alternate-cpu") await alternate(image, "cpu", () => ort("wasm"));
  else if (engineName === "alternate-mediapipe") await alternate(image, "cpu", () => mediapipe("CPU"));
  else if (engineName === "alternate-mediapipe-gpu") await alternate(image, "gpu", () => mediapipe("GPU"));
  else await single(image);
} catch (error) {
  race.state = "error";
  race.error = String(error?.stack ?? error);
}
