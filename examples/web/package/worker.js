// The engine in a Worker (loadInWorker in silhouette.js, and the track functions): the page
// never blocks. Messages are
// { id, op, args } in, { id, result } or { id, error } out; pictures arrive as ImageBitmaps
// (transferred) and leave as ImageData or Float32Array copies (their buffers transferred).
import { load, drawFrame } from "./silhouette.js";

let engine = null;
let track = null; // the options and canvas of the track this worker serves

const ops = {
  async load({ backend }) {
    engine = await load({ backend });
    return { backend: engine.backend, device: engine.device, notice: engine.notice };
  },
  async segment({ source }) {
    const mask = (await engine.segment(source)).slice();
    source.close?.();
    return [mask, [mask.buffer]];
  },
  async composite({ source, options }) {
    const image = await engine.composite(source, options);
    source.close?.();
    const copy = new ImageData(new Uint8ClampedArray(image.data), image.width, image.height);
    return [copy, [copy.data.buffer]];
  },
  async resetSmoothing() {
    await engine.resetSmoothing();
  },
  // A track's frames, each transferred here and back: `track` sets the options (and forgets
  // the smoothing's history), `frame` draws one into a WebGPU (or 2-D) OffscreenCanvas and
  // returns a new VideoFrame of it, closing the one it got.
  async track({ options }) {
    await engine.resetSmoothing();
    track = { options, canvas: new OffscreenCanvas(1, 1) };
  },
  async frame({ frame }) {
    const out = await drawFrame(engine, track.canvas, frame, track.options);
    return [out, [out]];
  },
};

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    const out = await ops[op](args);
    const [result, transfer] = Array.isArray(out) ? out : [out, []];
    self.postMessage({ id, result }, transfer);
  } catch (error) {
    self.postMessage({ id, error: String(error?.message ?? error) });
  }
};
