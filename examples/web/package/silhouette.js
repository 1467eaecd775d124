// silhouette-web: person segmentation and background effects on this device (WebGPU, else
// WebAssembly on the CPU). Nothing is fetched but this package's own files; no pixel leaves
// the browser. API and examples: README.md; types: silhouette.d.ts.
import init, { Silhouette, MASK_SIZE } from "./pkg/silhouette_web.js";
import { draw } from "./canvas.js";

let wasm = null; // one instance per page or worker

/** Loads the engine: `backend` "auto" (WebGPU when the browser has an adapter, else the CPU),
 *  "gpu" or "cpu". `firstFramesOnCpu` (default: with "auto" where the browser has WebGPU):
 *  resolve at once on the CPU engine while the WebGPU one is made; frames move to it between
 *  two frames (`ready()` resolves then), smoothing included. */
export async function load({ backend = "auto", firstFramesOnCpu = backend === "auto" && "gpu" in navigator } = {}) {
  await (wasm ??= init());
  return new Engine(await Silhouette.create(backend, firstFramesOnCpu));
}

// The pixel size of any drawable source.
function sizeOf(source) {
  const width = source.displayWidth || source.videoWidth || source.naturalWidth || source.width;
  const height = source.displayHeight || source.videoHeight || source.naturalHeight || source.height;
  if (!width || !height) throw new Error("the source has no pixels yet");
  return { width, height };
}

// Whether VideoFrame.copyTo converts to RGBA here: tried once on a known colour, since WebKit
// (2.50) accepts the format and copies BGRA anyway. False if it throws or takes over a second,
// or once a frame's copy is refused.
let rgbaCopies = null;
async function copiesRgba() {
  try {
    const canvas = new OffscreenCanvas(2, 2);
    const context = canvas.getContext("2d");
    context.fillStyle = "#ff8000";
    context.fillRect(0, 0, 2, 2);
    const frame = new VideoFrame(canvas, { timestamp: 0 });
    const pixels = new Uint8Array(16);
    const late = new Promise((resolve) => setTimeout(resolve, 1000, "late"));
    const copied = await Promise.race([frame.copyTo(pixels, { format: "RGBA", colorSpace: "srgb" }), late]);
    frame.close();
    return copied !== "late" && pixels[0] > 250 && Math.abs(pixels[1] - 128) < 4 && pixels[2] < 5 && pixels[3] === 255;
  } catch {
    return false;
  }
}

class Engine {
  #engine;
  #size = MASK_SIZE();
  #mask = new Float32Array(this.#size * this.#size);
  #canvas = null; // reused to read any drawable's pixels
  #context = null;
  #frameImage = null; // reused for VideoFrames' pixels
  #staging = null; // { canvas, context }: a 2-D canvas for sources the GPU copy refuses
  #out = null; // the last composite's ImageData, reused while the size stays
  #background = null; // the background the wasm holds, as a key
  #queue = Promise.resolve(); // frames run one at a time, in call order
  #contexts = new WeakMap(); // canvas -> whether drawTo renders into it with WebGPU
  #refusedSources = new Set(); // kinds of source copyExternalImageToTexture refused here
  #networkMs = []; // the last 30 network times of a call's frames (its cadence)
  #cadenceFrame = 0;
  /** Milliseconds the calls since it was last reset spent per stage (in, network, finish, out);
   *  a track's stats add them up per frame. */
  timing = { in: 0, network: 0, finish: 0, out: 0 };

  constructor(engine) {
    this.#engine = engine;
    this.maskSize = this.#size;
  }

  /** "webgpu" or "cpu": where the next frame runs (it changes once, with `firstFramesOnCpu`). */
  get backend() {
    return this.#engine.backend;
  }

  get device() {
    return this.#engine.device;
  }

  /** Why "auto" chose the CPU, or why the WebGPU engine could not be made. */
  get notice() {
    return this.#engine.notice ?? null;
  }

  /** Resolves with the backend frames run on once the engine is made: at once, or with
   *  `firstFramesOnCpu` when the WebGPU one is (or "cpu" if it cannot be: see `notice`). */
  ready() {
    return this.#engine.ready();
  }

  /** 256x256 person probabilities of `source`, row-major. The array is reused (overwritten)
   *  by the next call: copy it to keep it. */
  segment(source) {
    return this.#run(async () => {
      const image = await this.#pixels(source);
      await this.#engine.segment(image.data, image.width, image.height, this.#mask);
      return this.#mask;
    });
  }

  /** `source` at its own size with the background replaced, as ImageData (reused by the next
   *  call of the same size). Options: `background` "blur" (default), "transparent", a CSS hex
   *  colour "#rrggbb", or a drawable picture; `radius` the blur's strength in pixels (default
   *  1% of the long side, as the CLI); `refine` edges along the photo's (default true);
   *  `threshold` and `softness` the alpha's response to the mask (default 0.5 and 0.5, as the
   *  CLI); `smooth` blend with earlier frames where nothing moves (default false; on for
   *  tracks). */
  composite(source, { background = "blur", radius, refine = true, threshold = 0.5, softness = 0.5, smooth = false, cadence = false } = {}) {
    return this.#run(async () => {
      const start = performance.now();
      const image = await this.#pixels(source);
      await this.#setBackground(background, radius ?? Math.max(image.width, image.height) / 100);
      this.#engine.setResponse(threshold, softness);
      if (this.#out?.width !== image.width || this.#out?.height !== image.height) {
        this.#out = new ImageData(image.width, image.height);
      }
      this.timing.in += performance.now() - start;
      const reuse = this.#reuseMask(cadence);
      await this.#engine.composite(image.data, image.width, image.height, refine, smooth, this.#out.data, reuse);
      this.#addEngineTiming();
      if (!reuse) this.#networkMs = [...this.#networkMs.slice(-29), this.timing.network];
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
      return this.composite(source, options).then((image) => {
        const start = performance.now();
        draw(canvas, image);
        this.timing.out += performance.now() - start;
        return canvas;
      });
    }
    const { background = "blur", radius, refine = true, threshold = 0.5, softness = 0.5, smooth = false } = options;
    return this.#run(async () => {
      const { width, height } = source instanceof ImageData ? source : sizeOf(source);
      await this.#setBackground(background, radius ?? Math.max(width, height) / 100);
      this.#engine.setResponse(threshold, softness);
      await this.#drawOnGpu(source, width, height, canvas, refine, smooth);
      this.#addEngineTiming();
      return canvas;
    });
  }

  // The GPU takes a source through copyExternalImageToTexture, which not every browser allows
  // for every kind (Firefox refuses a VideoFrame and a <video>): a kind refused once is drawn
  // into a reused 2-D canvas from then on (not a new ImageBitmap per frame).
  async #drawOnGpu(source, width, height, canvas, refine, smooth) {
    const kind = source.constructor;
    if (!this.#refusedSources.has(kind)) {
      try {
        return await this.#engine.drawTo(source, width, height, canvas, refine, smooth);
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
        this.#refusedSources.add(kind);
      }
    }
    if (this.#staging?.canvas.width !== width || this.#staging?.canvas.height !== height) {
      const staging = new OffscreenCanvas(width, height);
      this.#staging = { canvas: staging, context: staging.getContext("2d") };
      // Each frame replaces the last, transparent pixels included (no ghost of the one before).
      this.#staging.context.globalCompositeOperation = "copy";
    }
    if (source instanceof ImageData) this.#staging.context.putImageData(source, 0, 0);
    else this.#staging.context.drawImage(source, 0, 0, width, height);
    await this.#engine.drawTo(this.#staging.canvas, width, height, canvas, refine, smooth);
  }

  // A call's cadence on the CPU: the network runs on every frame while its 75th percentile
  // over the last 30 stays within 25 ms (La Suite Meet's rule), else on every other frame,
  // the finish (at the frame's own rate) reusing the last mask.
  #reuseMask(cadence) {
    if (!cadence || this.backend !== "cpu" || this.#networkMs.length < 10) return false;
    this.#cadenceFrame++;
    const sorted = [...this.#networkMs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length * 0.75)] > 25 && this.#cadenceFrame % 2 === 0;
  }

  #addEngineTiming() {
    const [into, network, finish] = this.#engine.lastTimings();
    this.timing.in += into;
    this.timing.network += network;
    this.timing.finish += finish;
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

  async #setBackground(background, radius) {
    const key = typeof background === "string" ? `${background}:${background === "blur" ? radius : ""}` : background;
    if (key === this.#background) return;
    if (background === "blur" || background === "transparent") {
      this.#engine.setBackground(background, radius, 0);
    } else if (typeof background === "string" && /^#[0-9a-f]{6}$/i.test(background)) {
      this.#engine.setBackground("color", 0, parseInt(background.slice(1), 16));
    } else if (typeof background === "string") {
      throw new Error(`background ${JSON.stringify(background)}: use "blur", "transparent", "#rrggbb" or a picture`);
    } else {
      // Through the canvas (a fresh copy): the reused frame pixels may hold the source.
      const picture = await this.#pixels(background, { reused: false });
      this.#engine.setBackgroundImage(picture.data, picture.width, picture.height);
    }
    this.#background = key;
  }

  // Pixels of any drawable source (ImageData, VideoFrame, video, image, bitmap, canvas),
  // through one reused canvas; a VideoFrame's converted by the browser straight into reused
  // pixels where it can (no canvas, no new ImageData per frame).
  async #pixels(source, { reused = true } = {}) {
    if (source instanceof ImageData) return source;
    if (reused && globalThis.VideoFrame && source instanceof VideoFrame) {
      const image = await this.#copyFrame(source);
      if (image) return image;
    }
    const { width, height } = sizeOf(source);
    if (!this.#canvas || this.#canvas.width !== width || this.#canvas.height !== height) {
      this.#canvas = new OffscreenCanvas(width, height);
      this.#context = this.#canvas.getContext("2d", { willReadFrequently: true });
    }
    this.#context.drawImage(source, 0, 0, width, height);
    return this.#context.getImageData(0, 0, width, height);
  }

  // `frame` as RGBA by VideoFrame.copyTo, or null where that cannot give what drawImage would
  // (a frame shown at another size than it is stored, or rotated or flipped, which copyTo
  // ignores; a browser without the conversion, which is then not asked again).
  async #copyFrame(frame) {
    const { displayWidth: width, displayHeight: height, visibleRect } = frame;
    if (visibleRect?.width !== width || visibleRect?.height !== height) return null;
    if (frame.rotation || frame.flip) return null;
    if (!(await (rgbaCopies ??= copiesRgba()))) return null;
    if (this.#frameImage?.width !== width || this.#frameImage?.height !== height) {
      this.#frameImage = new ImageData(width, height);
    }
    try {
      await frame.copyTo(this.#frameImage.data, { format: "RGBA", colorSpace: "srgb" });
      return this.#frameImage;
    } catch (error) {
      if (error?.name === "InvalidStateError") throw error; // a closed frame: the caller's
      rgbaCopies = Promise.resolve(false);
      return null;
    }
  }
}

export { loadInWorker } from "./worker-client.js";
export { backgroundBlur, backgroundReplace, drawFrame, frameTransform, startEffect } from "./track.js";
