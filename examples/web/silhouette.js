// silhouette for web pages: person segmentation on this device (WebGPU, else WebAssembly CPU).
//
//   import { load } from "./silhouette.js";
//   const engine = await load();                 // { backend: "webgpu" | "cpu", device, notice }
//   const mask = await engine.segment(source);   // ImageData | HTMLVideoElement | ImageBitmap |
//                                                // HTMLImageElement | HTMLCanvasElement
//   // mask: Float32Array(256 * 256) of person probabilities, row-major. The same array is
//   // reused (and overwritten) by the next call: copy it if you keep it.
//
// Everything is loaded from this page's own origin; no pixel leaves the browser.
import init, { Silhouette, MASK_SIZE } from "./pkg/silhouette_web.js";

export async function load({ backend = "auto" } = {}) {
  await init();
  const engine = await Silhouette.create(backend);
  const size = MASK_SIZE();
  const mask = new Float32Array(size * size);
  let canvas = null;
  let context = null;

  // Pixels of any drawable source, through one reused canvas.
  function pixels(source) {
    if (source instanceof ImageData) return source;
    const width = source.videoWidth || source.naturalWidth || source.width;
    const height = source.videoHeight || source.naturalHeight || source.height;
    if (!width || !height) throw new Error("the source has no pixels yet");
    if (!canvas || canvas.width !== width || canvas.height !== height) {
      canvas = new OffscreenCanvas(width, height);
      context = canvas.getContext("2d", { willReadFrequently: true });
    }
    context.drawImage(source, 0, 0, width, height);
    return context.getImageData(0, 0, width, height);
  }

  return {
    backend: engine.backend,
    device: engine.device,
    notice: engine.notice ?? null,
    maskSize: size,
    async segment(source) {
      const image = pixels(source);
      await engine.segment(image.data, image.width, image.height, mask);
      return mask;
    },
  };
}
