// silhouette-web: person segmentation and background effects on this device (WebGPU, else
// WebAssembly on the CPU). Nothing is fetched but this package's own files; no pixel leaves
// the browser. API and examples: README.md; types: silhouette.d.ts.
import init, { Silhouette, MASK_SIZE } from "./pkg/silhouette_web.js";

let wasm = null; // one instance per page or worker

/** Loads the engine: `backend` "auto" (WebGPU when the browser has an adapter, else the CPU),
 *  "gpu" or "cpu". */
export async function load({ backend = "auto" } = {}) {
  await (wasm ??= init());
  return new Engine(await Silhouette.create(backend));
}

// The pixel size of any drawable source.
function sizeOf(source) {
  const width = source.displayWidth || source.videoWidth || source.naturalWidth || source.width;
  const height = source.displayHeight || source.videoHeight || source.naturalHeight || source.height;
  if (!width || !height) throw new Error("the source has no pixels yet");
  return { width, height };
}

// `image` into a 2-D canvas, resized to it.
function draw(canvas, image) {
  if (canvas.width !== image.width || canvas.height !== image.height) {
    canvas.width = image.width;
    canvas.height = image.height;
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
  return canvas;
}

class Engine {
  #engine;
  #size = MASK_SIZE();
  #mask = new Float32Array(this.#size * this.#size);
  #canvas = null; // reused to read any drawable's pixels
  #context = null;
  #out = null; // the last composite's ImageData, reused while the size stays
  #background = null; // the background the wasm holds, as a key
  #queue = Promise.resolve(); // frames run one at a time, in call order
  #contexts = new WeakMap(); // canvas -> whether drawTo renders into it with WebGPU

  constructor(engine) {
    this.#engine = engine;
    this.backend = engine.backend;
    this.device = engine.device;
    this.notice = engine.notice ?? null;
    this.maskSize = this.#size;
  }

  /** 256x256 person probabilities of `source`, row-major. The array is reused (overwritten)
   *  by the next call: copy it to keep it. */
  segment(source) {
    return this.#run(async () => {
      const image = this.#pixels(source);
      await this.#engine.segment(image.data, image.width, image.height, this.#mask);
      return this.#mask;
    });
  }

  /** `source` at its own size with the background replaced, as ImageData (reused by the next
   *  call of the same size). Options: `background` "blur" (default), "transparent", a CSS hex
   *  colour "#rrggbb", or a drawable picture; `radius` the blur's strength in pixels (default
   *  1% of the long side, as the CLI); `refine` edges along the photo's (default true);
   *  `smooth` blend with earlier frames where nothing moves (default false; on for tracks). */
  composite(source, { background = "blur", radius, refine = true, smooth = false } = {}) {
    return this.#run(async () => {
      const image = this.#pixels(source);
      this.#setBackground(background, radius ?? Math.max(image.width, image.height) / 100);
      if (this.#out?.width !== image.width || this.#out?.height !== image.height) {
        this.#out = new ImageData(image.width, image.height);
      }
      await this.#engine.composite(image.data, image.width, image.height, refine, smooth, this.#out.data);
      return this.#out;
    });
  }

  /** The 256x256 probabilities of the last frame `composite`, `segment` or `drawTo` ran
   *  (before smoothing), in the array `segment` returns. After a GPU `drawTo` this is the one
   *  readback, made only when asked. */
  lastMask() {
    return this.#run(async () => {
      await this.#engine.lastMask(this.#mask);
      return this.#mask;
    });
  }

  /** `composite`, drawn into a canvas (resized to the source). On WebGPU nothing leaves the
   *  GPU: the frame is copied into a texture, finished there and written into the canvas's
   *  WebGPU context (so give it a canvas without a 2-D context). On the CPU, or into a canvas
   *  that already has a 2-D context, the ImageData of `composite` is put into it. */
  drawTo(canvas, source, options = {}) {
    if (this.backend !== "webgpu" || !this.#webgpuCanvas(canvas)) {
      return this.composite(source, options).then((image) => draw(canvas, image));
    }
    const { background = "blur", radius, refine = true, smooth = false } = options;
    return this.#run(async () => {
      const { width, height } = source instanceof ImageData ? source : sizeOf(source);
      this.#setBackground(background, radius ?? Math.max(width, height) / 100);
      await this.#engine.drawTo(source, width, height, canvas, refine, smooth);
      return canvas;
    });
  }

  // Whether `canvas` takes a WebGPU context (not when it already has a 2-D one).
  #webgpuCanvas(canvas) {
    if (!this.#contexts.has(canvas)) this.#contexts.set(canvas, canvas.getContext("webgpu") !== null);
    return this.#contexts.get(canvas);
  }

  /** Bytes of the engine's WebAssembly memory (it can only grow): for watching a long call. */
  async memoryBytes() {
    return (await wasm).memory.buffer.byteLength;
  }

  /** Forget the smoothing's history (a new video, a cut). */
  resetSmoothing() {
    return this.#run(async () => this.#engine.resetSmoothing());
  }

  /** Frees the engine's memory; it cannot be used afterwards. */
  dispose() {
    return this.#run(async () => this.#engine.free());
  }

  #run(work) {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => {});
    return result;
  }

  #setBackground(background, radius) {
    const key = typeof background === "string" ? `${background}:${background === "blur" ? radius : ""}` : background;
    if (key === this.#background) return;
    if (background === "blur" || background === "transparent") {
      this.#engine.setBackground(background, radius, 0);
    } else if (typeof background === "string" && /^#[0-9a-f]{6}$/i.test(background)) {
      this.#engine.setBackground("color", 0, parseInt(background.slice(1), 16));
    } else if (typeof background === "string") {
      throw new Error(`background ${JSON.stringify(background)}: use "blur", "transparent", "#rrggbb" or a picture`);
    } else {
      const picture = this.#pixels(background);
      this.#engine.setBackgroundImage(picture.data, picture.width, picture.height);
    }
    this.#background = key;
  }

  // Pixels of any drawable source (ImageData, VideoFrame, video, image, bitmap, canvas),
  // through one reused canvas.
  #pixels(source) {
    if (source instanceof ImageData) return source;
    const { width, height } = sizeOf(source);
    if (!this.#canvas || this.#canvas.width !== width || this.#canvas.height !== height) {
      this.#canvas = new OffscreenCanvas(width, height);
      this.#context = this.#canvas.getContext("2d", { willReadFrequently: true });
    }
    this.#context.drawImage(source, 0, 0, width, height);
    return this.#context.getImageData(0, 0, width, height);
  }
}

/** The engine in a module Worker (worker.js, from this package's own URL), so the page never
 *  blocks: the same `segment`, `composite`, `drawTo` and `resetSmoothing`, each resolving with
 *  its own copy of the result; `dispose()` ends the worker. Sources are sent as ImageBitmaps. */
export async function loadInWorker({ backend = "auto" } = {}) {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  const pending = new Map();
  let next = 0;
  worker.onmessage = ({ data: { id, result, error } }) => {
    const { resolve, reject } = pending.get(id);
    pending.delete(id);
    error === undefined ? resolve(result) : reject(new Error(error));
  };
  worker.onerror = (event) => {
    for (const { reject } of pending.values()) reject(new Error(event.message ?? "the worker failed"));
    pending.clear();
  };
  const call = (op, args = {}, transfer = []) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, args }, transfer);
  });
  // A copy to transfer, so the caller's source stays usable.
  const bitmap = (source) => createImageBitmap(source);
  const info = await call("load", { backend });
  return {
    ...info,
    maskSize: 256,
    async segment(source) {
      const image = await bitmap(source);
      return call("segment", { source: image }, [image]);
    },
    async composite(source, options = {}) {
      const image = await bitmap(source);
      const sent = { ...options };
      const transfer = [image];
      if (options.background && typeof options.background !== "string") {
        sent.background = await bitmap(options.background);
        transfer.push(sent.background);
      }
      return call("composite", { source: image, options: sent }, transfer);
    },
    async drawTo(canvas, source, options) {
      return draw(canvas, await this.composite(source, options));
    },
    resetSmoothing: () => call("resetSmoothing"),
    async dispose() {
      worker.terminate();
    },
    call, // for the track functions
  };
}

/** A camera track with its background blurred, as a new track (the input keeps running; stop
 *  both when done). Options: those of `composite` (`radius`, `refine`), and `backend`, or
 *  `engine`: a loaded engine to run on this page (by default the frames run in a Worker of
 *  their own where the browser can move a track's frames there: Chromium). */
export function backgroundBlur(track, { radius, ...options } = {}) {
  return processTrack(track, { ...options, background: "blur", radius });
}

/** A camera track with its background replaced by `color` ("#rrggbb") or `image` (a drawable
 *  picture), as a new track. Other options as `backgroundBlur`. */
export function backgroundReplace(track, { color, image, ...options } = {}) {
  const background = image ?? color;
  if (!background) throw new Error("backgroundReplace needs a color or an image");
  return processTrack(track, { ...options, background });
}

/** The frames of a track through `engine`, as a TransformStream of VideoFrames (each input
 *  frame closed, each output a new frame with its timestamp): what a track on the page pipes
 *  through (a Worker's track calls `drawFrame` per transferred frame). */
export function frameTransform(engine, options) {
  const canvas = new OffscreenCanvas(1, 1);
  return new TransformStream({
    transform: async (frame, controller) => controller.enqueue(await drawFrame(engine, canvas, frame, options)),
  });
}

/** One VideoFrame through `engine` into `canvas` (an OffscreenCanvas), as a new VideoFrame with
 *  its timestamp, made in the task that drew it; `frame` is closed. */
export async function drawFrame(engine, canvas, frame, options) {
  try {
    await engine.drawTo(canvas, frame, options);
    return new VideoFrame(canvas, { timestamp: frame.timestamp });
  } finally {
    frame.close();
  }
}

async function processTrack(track, { engine, backend, ...options }) {
  const frameOptions = { ...options, smooth: true };
  // Chromium: frames in and out of the track, no <video> element (MediaStreamTrackGenerator
  // on the main thread; VideoTrackGenerator is the standard's name, in workers).
  const Generator = globalThis.MediaStreamTrackGenerator;
  if (globalThis.MediaStreamTrackProcessor && Generator) {
    const input = new MediaStreamTrackProcessor({ track }).readable;
    const output = new Generator({ kind: "video" });
    if (engine) {
      await engine.resetSmoothing();
      input.pipeThrough(frameTransform(engine, frameOptions)).pipeTo(output.writable).catch(() => {});
    } else {
      // A Worker of its own, so the page never blocks: each frame is transferred there and
      // back (a stream would copy it, leaving the camera's frame open here); the Worker ends
      // when the track does.
      const worker = await loadInWorker({ backend });
      const background = frameOptions.background;
      const sent = { ...frameOptions, background: typeof background === "string" ? background : await createImageBitmap(background) };
      await worker.call("track", { options: sent }, typeof background === "string" ? [] : [sent.background]);
      input.pipeThrough(new TransformStream({
        transform: async (frame, controller) => controller.enqueue(await worker.call("frame", { frame }, [frame])),
      })).pipeTo(output.writable).catch(() => {}).finally(() => worker.dispose());
    }
    return output;
  }
  // Elsewhere: play the track in a hidden video, draw each new frame, capture the canvas.
  engine ??= await load({ backend });
  await engine.resetSmoothing();
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  await video.play();
  const shown = document.createElement("canvas");
  const output = shown.captureStream().getVideoTracks()[0];
  const next = async () => {
    if (output.readyState === "ended" || track.readyState === "ended") return;
    await engine.drawTo(shown, video, frameOptions);
    video.requestVideoFrameCallback(next);
  };
  video.requestVideoFrameCallback(next);
  return output;
}
