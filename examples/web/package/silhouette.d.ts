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
  /** Blend with earlier frames' masks where nothing moves, against flicker. Default false. */
  smooth?: boolean;
}

export interface Engine {
  /** "webgpu" or "cpu". */
  readonly backend: "webgpu" | "cpu";
  /** The adapter, or the CPU engine. */
  readonly device: string;
  /** Why "auto" fell back to the CPU, if it did. */
  readonly notice: string | null;
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
}

export interface LoadOptions {
  /** "auto" (default): WebGPU when there is an adapter, else the CPU. */
  backend?: "auto" | "gpu" | "cpu";
}

export function load(options?: LoadOptions): Promise<Engine>;

/** The engine in a module Worker (the page never blocks); results are the caller's own copies.
 *  `lastMask` and `memoryBytes` are not offered; `dispose` ends the worker. */
export function loadInWorker(options?: LoadOptions): Promise<Omit<Engine, "lastMask" | "memoryBytes">>;

export interface TrackOptions extends LoadOptions {
  /** A loaded engine to run the frames on this page; otherwise they run in a Worker of their own
   *  (where the browser can move a track's frames there: Chromium), else on this page. */
  engine?: Engine;
  refine?: boolean;
}

/** A track's VideoFrames through `engine` (drawn into an OffscreenCanvas: on the GPU with WebGPU),
 *  each input frame closed and each output a new frame with its timestamp. */
export function frameTransform(engine: Engine, options?: CompositeOptions): TransformStream<VideoFrame, VideoFrame>;

/** One VideoFrame through `engine` into `canvas`, as a new VideoFrame with its timestamp (made in
 *  the task that drew it); `frame` is closed. */
export function drawFrame(engine: Engine, canvas: OffscreenCanvas, frame: VideoFrame, options?: CompositeOptions): Promise<VideoFrame>;

/** A new track: `track` with its background blurred, smoothed over frames. */
export function backgroundBlur(track: MediaStreamTrack, options?: TrackOptions & { radius?: number }): Promise<MediaStreamTrack>;

/** A new track: `track` with its background replaced by a colour or a picture. */
export function backgroundReplace(
  track: MediaStreamTrack,
  options: TrackOptions & ({ color: `#${string}`; image?: undefined } | { image: Drawable; color?: undefined }),
): Promise<MediaStreamTrack>;
