// Camera tracks through the engine: a new track with the background blurred or replaced, in
// every browser engine. The way is picked by what the browser has:
//  - "processor": MediaStreamTrackProcessor + MediaStreamTrackGenerator on the page (Chromium);
//    the frames run in a Worker of their own (each transferred there and back), or on the page
//    when the caller passes `engine`;
//  - "worker-track": the track itself moves into a Worker that has MediaStreamTrackProcessor and
//    VideoTrackGenerator (Safari 18+, WebKit's MediaStreamTrackProcessing): no frame visits the page;
//  - "video": elsewhere (Firefox, WebKit without it) a hidden <video> plays the track and each new
//    frame is drawn into a canvas whose capture is the new track.
// On every way the processed track ends when its source does, or when `stop()` is called, or on
// an error (after an "error" event); its first frame is a processed one.
import { draw } from "./canvas.js";
import { load } from "./silhouette.js";
import { loadInWorker, startWorker } from "./worker-client.js";

// Whether the CPU path makes its frames straight from the finished RGBA bytes (no canvas): yes,
// except where the standard VideoTrackGenerator is what the frames go to, which today is
// WebKit's worker: WebKit (2.50) accepts a frame made from bytes, but its track never shows it.
// (Chromium's workers and pages have no VideoTrackGenerator; its generator takes such frames.)
const BUFFER_FRAMES = typeof globalThis.VideoTrackGenerator !== "function";

/** One VideoFrame through `engine` into `canvas` (an OffscreenCanvas), as a new VideoFrame with
 *  its timestamp, made in the task that drew it; `frame` is closed. */
export async function drawFrame(engine, canvas, frame, options) {
  try {
    if (engine.backend !== "webgpu" && BUFFER_FRAMES) {
      // The finished pixels become the frame as they are: no canvas in between.
      const image = await engine.composite(frame, options);
      const start = performance.now();
      const init = { format: "RGBA", codedWidth: image.width, codedHeight: image.height, timestamp: frame.timestamp };
      const out = new VideoFrame(image.data, init);
      engine.timing.out += performance.now() - start;
      return out;
    }
    await engine.drawTo(canvas, frame, options);
    const start = performance.now();
    const out = new VideoFrame(canvas, { timestamp: frame.timestamp });
    engine.timing.out += performance.now() - start;
    return out;
  } finally {
    frame.close();
  }
}

/** The frames of a track through `engine`, as a TransformStream of VideoFrames (each input
 *  frame closed, each output a new frame with its timestamp). `options` is read at every frame:
 *  change its fields to change the effect. */
export function frameTransform(engine, options) {
  const canvas = new OffscreenCanvas(1, 1);
  return new TransformStream({
    transform: async (frame, controller) => controller.enqueue(await drawFrame(engine, canvas, frame, options)),
  });
}

/** A camera track with its background blurred, as a new track (the input keeps running; stop
 *  both when done). Options: those of `startEffect`. */
export async function backgroundBlur(track, { radius, ...options } = {}) {
  return (await startEffect(track, { ...options, background: "blur", radius })).track;
}

/** A camera track with its background replaced by `color` ("#rrggbb") or `image` (a drawable
 *  picture), as a new track. Other options as `startEffect`. */
export async function backgroundReplace(track, { color, image, ...options } = {}) {
  const background = image ?? color;
  if (!background) throw new Error("backgroundReplace needs a color or an image");
  return (await startEffect(track, { ...options, background })).track;
}

/** `track` through the engine as a live Effect: `effect.track` is the processed track,
 *  `update(options)` changes the background, radius, refinement or response from the next frame
 *  on (no new pipeline, no flash), `stop()` ends it and frees what it loaded. Options:
 *  `background`, `radius`, `refine`, `threshold`, `softness` (as `composite`), `backend` and
 *  `firstFramesOnCpu` (as `load`), or
 *  `engine` (a loaded engine to run the frames
 *  on this page; it is reused, not freed). Resolves once the first processed frame is out. */
export async function startEffect(track, { engine, backend, firstFramesOnCpu, ...options } = {}) {
  if (track?.kind !== "video") throw new TypeError("startEffect needs a video MediaStreamTrack");
  if (track.readyState === "ended") throw new Error("the track has already ended");
  const effect = new Effect({ ...options, smooth: true, cadence: true });
  const way = engine ? (hasPageProcessor() ? "processor" : "video")
    : hasPageProcessor() ? "processor" : (await workerTakesTracks(backend)) ? "worker-track" : "video";
  try {
    await WAYS[way](effect, track, { engine, backend, firstFramesOnCpu });
  } catch (error) {
    effect.fail(error);
    throw error;
  }
  effect.way = way;
  return effect;
}

const hasPageProcessor = () => Boolean(globalThis.MediaStreamTrackProcessor && globalThis.MediaStreamTrackGenerator);

// Whether this browser moves a track into a Worker that can read and write its frames (asked
// once, of a throwaway worker).
let workerTracks = null;
function workerTakesTracks() {
  if (typeof MediaStreamTrack === "undefined" || typeof Worker === "undefined") return Promise.resolve(false);
  return (workerTracks ??= (async () => {
    const worker = startWorker();
    try {
      return Boolean((await worker.call("capabilities")).tracks);
    } catch {
      return false;
    } finally {
      worker.dispose();
    }
  })());
}

class Effect extends EventTarget {
  /** The processed track (set once the first frame is out). */
  track = null;
  #trackEnded = false; // whether it has fired "ended" itself
  /** "processor", "worker-track" or "video". */
  way = null;
  #options;
  #cleanups = [];
  #done = false;
  #frames = 0;
  #ms = { in: 0, network: 0, finish: 0, out: 0, total: 0 };
  /** Resolves when the processed track has ended (source ended, `stop()`, or an error). */
  ended;
  #resolveEnded;

  constructor(options) {
    super();
    this.#options = options;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
  }

  /** The options every next frame is drawn with (read at each frame). */
  get options() {
    return this.#options;
  }

  /** Changes `background`, `radius`, `refine`, `threshold` or `softness` from the next frame
   *  on. */
  update(options) {
    Object.assign(this.#options, options);
    this.onUpdate?.(this.#options);
  }

  /** Frames out so far, and the mean milliseconds a frame spent in each stage: `in` (the
   *  frame's pixels into the engine), `network`, `finish` (edges and background), `out` (the
   *  new frame made), `total` (the frame's wall time). On WebGPU, `network` is the submit of
   *  network and finish together: the GPU runs them after. */
  stats() {
    const n = Math.max(this.#frames, 1);
    return { frames: this.#frames, way: this.way, ms: Object.fromEntries(Object.entries(this.#ms).map(([k, v]) => [k, v / n])) };
  }

  count(timing, total) {
    this.#frames++;
    for (const k of ["in", "network", "finish", "out"]) this.#ms[k] += timing[k] ?? 0;
    this.#ms.total += total;
  }

  get isDone() {
    return this.#done;
  }

  /** Sets the processed track. */
  output(track) {
    this.track = track;
    track.addEventListener("ended", () => (this.#trackEnded = true), { once: true });
  }

  /** Runs `cleanup` when the effect ends. */
  onEnd(cleanup) {
    this.#cleanups.push(cleanup);
  }

  /** Ends the processed track and frees what the effect loaded (not an `engine` you passed). */
  async stop() {
    await this.end();
  }

  fail(error) {
    if (this.#done) return;
    this.dispatchEvent(new ErrorEvent("error", { error, message: String(error?.message ?? error) }));
    this.end();
  }

  async end() {
    if (this.#done) return;
    this.#done = true;
    for (const cleanup of this.#cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // Ending goes on: each part is freed even if another fails.
      }
    }
    if (this.track) {
      this.track.stop();
      // A track stopped here fires no "ended" of its own (and one ended by its writable's close
      // fires one in some browsers only); listeners of the source's end expect one. (Firefox
      // delivers no page-made "ended" on a track: the Effect's own "ended" is the sure one.)
      if (!this.#trackEnded) this.track.dispatchEvent(new Event("ended"));
    }
    this.dispatchEvent(new Event("ended"));
    this.#resolveEnded();
  }
}

// Calls `end` once `track` has ended: its "ended" event fires only when the browser ends it, not
// when the page calls stop(), so its state is also looked at four times a second.
function whenEnded(effect, track) {
  const end = () => effect.end();
  track.addEventListener("ended", end);
  const watch = setInterval(() => track.readyState === "ended" && end(), 250);
  effect.onEnd(() => {
    clearInterval(watch);
    track.removeEventListener("ended", end);
  });
}

// The first processed frame out of `readable`, then the rest piped into `writable`; the effect
// ends when the pipe does.
async function pipeFrames(effect, readable, transform, writable) {
  const frames = readable.pipeThrough(transform).getReader();
  effect.onEnd(() => frames.cancel());
  const first = await frames.read();
  if (first.done) throw new Error("the track ended before its first frame");
  const writer = writable.getWriter();
  await writer.write(first.value);
  (async () => {
    for (;;) {
      const { done, value } = await frames.read();
      if (done || effect.isDone) {
        value?.close();
        break;
      }
      await writer.write(value);
    }
    await writer.close();
  })().then(() => effect.end(), (error) => effect.isDone || effect.fail(error));
}

// Engine timing around one frame, counted into the effect's stats.
async function timed(effect, engine, draw) {
  const start = performance.now();
  engine.timing = { in: 0, network: 0, finish: 0, out: 0 };
  const out = await draw();
  effect.count(engine.timing, performance.now() - start);
  return out;
}

const WAYS = {
  // Chromium: frames in and out of the track on the page, run by `engine` here or in a Worker.
  async processor(effect, track, { engine, backend, firstFramesOnCpu }) {
    const input = new MediaStreamTrackProcessor({ track }).readable;
    const output = new MediaStreamTrackGenerator({ kind: "video" });
    let transform;
    if (engine) {
      await engine.resetSmoothing();
      const canvas = new OffscreenCanvas(1, 1);
      transform = new TransformStream({
        transform: async (frame, controller) =>
          controller.enqueue(await timed(effect, engine, () => drawFrame(engine, canvas, frame, effect.options))),
      });
    } else {
      // Each frame is transferred there and back (a stream would copy it, leaving the camera's
      // frame open here).
      const worker = await loadInWorker({ backend, firstFramesOnCpu });
      effect.onEnd(() => worker.dispose());
      await worker.call("track", { options: await sendable(effect.options) });
      followUpdates(effect, worker);
      transform = new TransformStream({
        transform: async (frame, controller) => {
          const start = performance.now();
          const { frame: out, timing } = await worker.call("frame", { frame }, [frame]);
          effect.count(timing, performance.now() - start);
          controller.enqueue(out);
        },
      });
    }
    effect.output(output);
    await pipeFrames(effect, input, transform, output.writable);
    whenEnded(effect, track);
  },

  // The track moved into a Worker with MediaStreamTrackProcessor and VideoTrackGenerator.
  async "worker-track"(effect, track, { backend, firstFramesOnCpu }) {
    const worker = await loadInWorker({ backend, firstFramesOnCpu });
    effect.onEnd(() => worker.dispose());
    worker.onEvent = ({ event, error, stats }) => {
      if (event === "frame") effect.count(stats.timing, stats.total);
      else if (event === "error") effect.fail(new Error(error));
      else if (event === "ended") effect.end();
    };
    followUpdates(effect, worker);
    // The worker gets its own clone: the caller's track stays here, and its end is seen here.
    const moved = track.clone();
    effect.output(await worker.call("pipeTrack", { track: moved, options: await sendable(effect.options) }, [moved]));
    whenEnded(effect, track);
    // Bounded: WebKit's worker at times never answers once the moved track is stopped (one run
    // in three here), and the Worker is terminated next in any case.
    const answered = () => worker.call("stopTrack").catch(() => {});
    effect.onEnd(() => Promise.race([answered(), new Promise((resolve) => setTimeout(resolve, 1000))]));
  },

  // Elsewhere: play the track in a hidden video, draw each new frame, capture the canvas. On
  // the CPU the engine runs in a Worker (each frame sent as an ImageBitmap, its ImageData
  // back), so the page's thread only moves pixels; on WebGPU it draws on the page, where the
  // frame stays on the GPU. Here the engines are made before the first frame: the way depends
  // on where frames run, and the captured canvas keeps the context its first frame gets.
  async video(effect, track, { engine, backend }) {
    let drawTo;
    if (engine) {
      drawTo = (canvas, source) => timed(effect, engine, () => engine.drawTo(canvas, source, effect.options));
    } else {
      const worker = backend === "gpu" ? null : await loadInWorker({ backend, firstFramesOnCpu: false });
      if (worker?.backend === "cpu") {
        effect.onEnd(() => worker.dispose());
        await worker.call("track", { options: await sendable(effect.options) });
        followUpdates(effect, worker);
        // The last frame's pixels go back with the next frame, for the worker to fill again:
        // no new 4-bytes-a-pixel buffer per frame for the garbage collector to catch up with.
        let spare = null;
        drawTo = async (canvas, source) => {
          const start = performance.now();
          const bitmap = await createImageBitmap(source);
          const sent = spare ? [bitmap, spare] : [bitmap];
          const { image, timing } = await worker.call("image", { source: bitmap, reuse: spare }, sent);
          const drawn = performance.now();
          draw(canvas, image);
          spare = image.data.buffer;
          effect.count({ ...timing, out: performance.now() - drawn }, performance.now() - start);
        };
      } else {
        worker?.dispose();
        const own = await load({ backend, firstFramesOnCpu: false });
        effect.onEnd(() => own.dispose());
        drawTo = (canvas, source) => timed(effect, own, () => own.drawTo(canvas, source, effect.options));
        await own.resetSmoothing();
      }
    }
    if (engine) await engine.resetSmoothing();
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([track]);
    effect.onEnd(() => {
      video.pause();
      video.srcObject = null;
    });
    await video.play();
    const shown = document.createElement("canvas");
    // Frames are captured when asked for (requestFrame), so nothing before the first processed
    // frame (a blank canvas) ever reaches the track.
    let capture = null, output = null;
    const next = async () => {
      await drawTo(shown, video);
      if (!output) {
        capture = shown.captureStream(0);
        output = capture.getVideoTracks()[0];
        effect.output(output);
      }
      // The track's method in the standard and Chromium and WebKit; the stream's in Firefox.
      if (output.requestFrame) output.requestFrame();
      else capture.requestFrame();
    };
    await next();
    whenEnded(effect, track);
    // The next frame when the video has one (requestVideoFrameCallback where the browser has
    // it, else at the display's rate).
    const nextFrame = video.requestVideoFrameCallback ? (f) => video.requestVideoFrameCallback(f) : (f) => requestAnimationFrame(f);
    const loop = async () => {
      if (effect.isDone) return;
      try {
        await next();
      } catch (error) {
        return effect.fail(error);
      }
      nextFrame(loop);
    };
    nextFrame(loop);
  },
};

// Sends the effect's option changes to the Worker that draws its frames.
function followUpdates(effect, worker) {
  effect.onUpdate = async (options) => worker.call("options", { options: await sendable(options) }).catch((e) => effect.fail(e));
}

// Options as a Worker takes them: a picture background as an ImageBitmap of its own.
async function sendable(options) {
  const { background } = options;
  return { ...options, background: background && typeof background !== "string" ? await createImageBitmap(background) : background };
}
