// The page's side of worker.js: the engine in a module Worker (from this package's own URL), so
// the page never blocks. Messages are { id, op, args } out and { id, result } or { id, error }
// back; { event } messages (a track's frames, its end) go to `onEvent`.
import { draw } from "./canvas.js";

/** A Worker running worker.js, with `call(op, args, transfer)` resolving with its answer. */
export function startWorker() {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  const pending = new Map();
  let next = 0;
  const client = {
    onEvent: null,
    call: (op, args = {}, transfer = []) => new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, args }, transfer);
    }),
    dispose() {
      worker.terminate();
      for (const { reject } of pending.values()) reject(new Error("the worker was disposed"));
      pending.clear();
    },
  };
  worker.onmessage = ({ data }) => {
    if (data.event) return client.onEvent?.(data);
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    data.error === undefined ? resolve(data.result) : reject(new Error(data.error));
  };
  worker.onerror = (event) => {
    for (const { reject } of pending.values()) reject(new Error(event.message ?? "the worker failed"));
    pending.clear();
    client.onEvent?.({ event: "error", error: event.message ?? "the worker failed" });
  };
  return client;
}

/** The engine in a module Worker: the same `segment`, `composite`, `drawTo` and
 *  `resetSmoothing`, each resolving with its own copy of the result; `dispose()` ends the
 *  worker. Sources are sent as ImageBitmaps. */
export async function loadInWorker({ backend = "auto", firstFramesOnCpu } = {}) {
  const client = startWorker();
  // A copy to transfer, so the caller's source stays usable.
  const bitmap = (source) => createImageBitmap(source);
  let info;
  try {
    info = await client.call("load", { backend, firstFramesOnCpu });
  } catch (error) {
    client.dispose();
    throw error;
  }
  const engine = {
    ...info,
    maskSize: 256,
    // backend, device and notice as the worker's engine has them once it is made.
    async ready() {
      Object.assign(engine, await client.call("ready"));
      return engine.backend;
    },
    async segment(source) {
      const image = await bitmap(source);
      return client.call("segment", { source: image }, [image]);
    },
    async composite(source, options = {}) {
      const image = await bitmap(source);
      const sent = { ...options };
      const transfer = [image];
      if (options.background && typeof options.background !== "string") {
        sent.background = await bitmap(options.background);
        transfer.push(sent.background);
      }
      return client.call("composite", { source: image, options: sent }, transfer);
    },
    async drawTo(canvas, source, options) {
      return draw(canvas, await this.composite(source, options));
    },
    resetSmoothing: () => client.call("resetSmoothing"),
    async dispose() {
      client.dispose();
    },
    call: client.call, // for the track functions
    set onEvent(handler) {
      client.onEvent = handler;
    },
  };
  return engine;
}
