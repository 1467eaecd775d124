// Types of silhouette-web (silhouette.js).

/** Anything the engine can read pixels from. */
export type Drawable =
  | ImageData
  | VideoFrame
  | HTMLVideoElement
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | ImageBitmap;

/** What goes behind the person: "blur", "transparent", a colour "#rrggbb", or a picture. */
export type Background = "blur" | "transparent" | `#${string}` | Drawable;

export interface CompositeOptions {
  /** Default "blur". */
  background?: Background;
  /** The blur's strength (Gaussian sigma) in pixels of the source; default 1% of its long side. */
  radius?: number;
  /** Edges that follow the photo's own (guided filter). Default true. */
  refine?: boolean;
  /** The mask's probability that becomes half transparent, 0 to 1. Default 0.5. */
  threshold?: number;
  /** How wide the band of partial transparency is, in probability: 0 a hard cut, 1 the mask
   *  as it is. Default 0.5 (tools/quality.sh's choice). */
  softness?: number;
  /** Blend with earlier frames' masks where nothing moves, against flicker. Default false. */
  smooth?: boolean;
  /** A video's frames (tracks set it): on the CPU, while the network's 75th percentile time
   *  over the last 30 frames is above 25 ms, it runs on every other frame and the finish
   *  reuses the last mask. Default false. */
  cadence?: boolean;
}

export interface Engine {
  /** "webgpu" or "cpu": where the next frame runs (with `firstFramesOnCpu`, "cpu" until the
   *  WebGPU engine is made). */
  readonly backend: "webgpu" | "cpu";
  /** The adapter, or the CPU engine. */
  readonly device: string;
  /** Why "auto" fell back to the CPU, or why the WebGPU engine could not be made. */
  readonly notice: string | null;
  /** Resolves with the backend frames run on once the engine is made: at once, or with
   *  `firstFramesOnCpu` when the WebGPU engine is ready ("cpu" if it cannot be; never rejects). */
  ready(): Promise<"webgpu" | "cpu">;
  /** The mask's side: 256. */
  readonly maskSize: number;
  /** 256x256 person probabilities, row-major; reused (overwritten) by the next call. */
  segment(source: Drawable): Promise<Float32Array>;
  /** The source at its own size over the background; reused by the next call of that size. */
  composite(source: Drawable, options?: CompositeOptions): Promise<ImageData>;
  /** The last frame's 256x256 probabilities (before smoothing), in `segment`'s array; after a
   *  WebGPU `drawTo`, read back from the GPU only now. */
  lastMask(): Promise<Float32Array>;
  /** `composite`, drawn into `canvas` (resized to the source). On WebGPU the frame stays on the
   *  GPU and is written into the canvas's WebGPU context (pass a canvas without a 2-D context);
   *  on the CPU, or into a canvas with a 2-D context, `composite`'s ImageData is put into it. */
  drawTo<C extends HTMLCanvasElement | OffscreenCanvas>(canvas: C, source: Drawable, options?: CompositeOptions): Promise<C>;
  /** Bytes of the engine's WebAssembly memory (it can only grow): for watching a long call. */
  memoryBytes(): Promise<number>;
  /** Forget the smoothing's history. */
  resetSmoothing(): Promise<void>;
  /** Free the engine's memory. */
  dispose(): Promise<void>;
  /** Milliseconds the calls spent per stage since the caller last reset it (a track's stats
   *  sum it per frame). */
  timing: { in: number; network: number; finish: number; out: number };
}

export interface LoadOptions {
  /** "auto" (default): WebGPU when the browser has a hardware adapter, else the CPU (a
   *  software fallback adapter, such as SwiftShader, is slower than the CPU engine: `notice`
   *  says so); "gpu": WebGPU on whatever adapter there is; "cpu". */
  backend?: "auto" | "gpu" | "cpu";
  /** Resolve at once on the CPU engine while the WebGPU one is made (pipelines take from a
   *  fraction of a second on a GPU to seconds on a software adapter); frames move to it
   *  between two frames, the smoothing's history and the response carried over. Default: on
   *  with "auto" where the browser has WebGPU. */
  firstFramesOnCpu?: boolean;
}

export function load(options?: LoadOptions): Promise<Engine>;

/** The engine in a module Worker (the page never blocks); results are the caller's own copies.
 *  `lastMask` and `memoryBytes` are not offered; `dispose` ends the worker. */
export function loadInWorker(options?: LoadOptions): Promise<Omit<Engine, "lastMask" | "memoryBytes">>;

export interface TrackOptions extends LoadOptions {
  /** A loaded engine to run the frames on this page (reused, not freed by `stop()`); otherwise
   *  the effect loads its own: in a Worker where the browser can move a track's frames there
   *  (Chromium, Safari 18+), else on this page. */
  engine?: Engine;
  refine?: boolean;
  threshold?: number;
  softness?: number;
}

export interface EffectOptions extends TrackOptions {
  /** Default "blur". */
  background?: Background;
  /** The blur's strength in pixels of the frame; default 1% of its long side. */
  radius?: number;
}

export interface EffectStats {
  frames: number;
  way: Effect["way"];
  /** Mean milliseconds a frame: pixels in, network, finish, the new frame out, and its wall
   *  time. On WebGPU `network` is the submit of network and finish (the GPU runs them after). */
  ms: { in: number; network: number; finish: number; out: number; total: number };
}

/** A track through the engine, live. Fires "error" (an ErrorEvent: the track then ends) and
 *  "ended". */
export interface Effect extends EventTarget {
  /** The processed track; its first frame is a processed one. It ends when the source track
   *  ends, on `stop()`, or after an "error". */
  readonly track: MediaStreamTrack;
  /** How the frames flow: MediaStreamTrackProcessor on the page, the track moved into a
   *  Worker, or a hidden <video> drawn into a captured canvas. */
  readonly way: "processor" | "worker-track" | "video";
  /** Resolves once the processed track has ended. */
  readonly ended: Promise<void>;
  /** Changes the background, radius or refinement from the next frame on: no new pipeline,
   *  and the smoothing goes on (no flash). */
  update(options: Pick<EffectOptions, "background" | "radius" | "refine" | "threshold" | "softness">): void;
  stats(): EffectStats;
  /** Ends the processed track and frees the engine the effect loaded (not an `engine` passed
   *  in). The source track keeps running. */
  stop(): Promise<void>;
}

/** `track` through the engine as a live Effect. Resolves once the first frame is out; rejects if
 *  the track cannot be processed in this browser. */
export function startEffect(track: MediaStreamTrack, options?: EffectOptions): Promise<Effect>;

/** A track's VideoFrames through `engine` (drawn into an OffscreenCanvas: on the GPU with WebGPU),
 *  each input frame closed and each output a new frame with its timestamp. `options` is read
 *  at every frame. */
export function frameTransform(engine: Engine, options?: CompositeOptions): TransformStream<VideoFrame, VideoFrame>;

/** One VideoFrame through `engine` into `canvas`, as a new VideoFrame with its timestamp (made in
 *  the task that drew it); `frame` is closed. */
export function drawFrame(engine: Engine, canvas: OffscreenCanvas, frame: VideoFrame, options?: CompositeOptions): Promise<VideoFrame>;

/** A new track: `track` with its background blurred, smoothed over frames (`startEffect`'s
 *  track). */
export function backgroundBlur(track: MediaStreamTrack, options?: TrackOptions & { radius?: number }): Promise<MediaStreamTrack>;

/** A new track: `track` with its background replaced by a colour or a picture. */
export function backgroundReplace(
  track: MediaStreamTrack,
  options: TrackOptions & ({ color: `#${string}`; image?: undefined } | { image: Drawable; color?: undefined }),
): Promise<MediaStreamTrack>;
