// The engine in a Worker (worker-client.js is the page's side): the page never blocks.
// Messages are { id, op, args } in, { id, result } or { id, error } out; pictures arrive as
// ImageBitmaps (transferred) and leave as ImageData or Float32Array copies (their buffers
// transferred). A track moved here reports { event: "frame" | "error" | "ended" }.
import { load } from "./silhouette.js";
import { drawFrame } from "./track.js";

let engine = null;
let track = null; // the options and canvas of the track this worker serves
let moved = null; // a track moved here (pipeTrack), stopped by stopTrack

const ops = {
  // Whether a track moved here can be read and written (WebKit's MediaStreamTrackProcessing).
  capabilities() {
    return { tracks: Boolean(globalThis.MediaStreamTrackProcessor && globalThis.VideoTrackGenerator) };
  },
  async load({ backend, firstFramesOnCpu }) {
    engine = await load({ backend, firstFramesOnCpu });
    return ops.info();
  },
  info() {
    return { backend: engine.backend, device: engine.device, notice: engine.notice };
  },
  async ready() {
    await engine.ready();
    return ops.info();
  },
  async segment({ source }) {
    const mask = (await engine.segment(source)).slice();
    source.close?.();
    return [mask, [mask.buffer]];
  },
  // `reuse`: a buffer of an earlier answer, sent back to be filled again where the size fits.
  async composite({ source, options, reuse }) {
    const image = await engine.composite(source, options);
    source.close?.();
    const fits = reuse?.byteLength === image.data.length;
    const bytes = fits ? new Uint8ClampedArray(reuse) : new Uint8ClampedArray(image.data.length);
    bytes.set(image.data);
    const copy = new ImageData(bytes, image.width, image.height);
    return [copy, [copy.data.buffer]];
  },
  async resetSmoothing() {
    await engine.resetSmoothing();
  },
  // A track's frames, each transferred here and back: `track` sets the options (and forgets
  // the smoothing's history), `frame` draws one into a WebGPU (or 2-D) OffscreenCanvas and
  // returns a new VideoFrame of it with what each stage took, closing the one it got.
  async track({ options }) {
    await engine.resetSmoothing();
    track = { options, canvas: new OffscreenCanvas(1, 1) };
  },
  options({ options }) {
    track.options.background?.close?.();
    track.options = options;
  },
  // A track's frame as pixels (an ImageBitmap in, ImageData out), for pages that cannot move
  // VideoFrames here.
  async image({ source, reuse }) {
    engine.timing = { in: 0, network: 0, finish: 0, out: 0 };
    const [image, transfer] = await ops.composite({ source, options: track.options, reuse });
    return [{ image, timing: engine.timing }, transfer];
  },
  async frame({ frame }) {
    engine.timing = { in: 0, network: 0, finish: 0, out: 0 };
    const out = await drawFrame(engine, track.canvas, frame, track.options);
    return [{ frame: out, timing: engine.timing }, [out]];
  },
  // The track itself, moved here: its frames through the engine into a VideoTrackGenerator,
  // whose track goes back to the page.
  async pipeTrack({ track: source, options }) {
    await ops.track({ options });
    moved = source;
    const generator = new VideoTrackGenerator();
    const input = new MediaStreamTrackProcessor({ track: source }).readable;
    input.pipeThrough(new TransformStream({
      transform: async (frame, controller) => {
        const start = performance.now();
        const [{ frame: out, timing }] = await ops.frame({ frame });
        controller.enqueue(out);
        self.postMessage({ event: "frame", stats: { timing, total: performance.now() - start } });
      },
    })).pipeTo(generator.writable).then(
      () => self.postMessage({ event: "ended" }),
      (error) => self.postMessage({ event: moved ? "error" : "ended", error: String(error?.message ?? error) }),
    );
    return [generator.track, [generator.track]];
  },
  stopTrack() {
    const source = moved;
    moved = null;
    source?.stop();
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
