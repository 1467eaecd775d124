// The call benchmark's rival (calls.mjs, rows mediapipe-cpu and mediapipe-gpu): the same
// network run by MediaPipe's own web runtime (@mediapipe/tasks-vision ImageSegmenter, CPU
// delegate = XNNPACK in wasm, GPU delegate = WebGL), its mask composited as a web developer
// does it with a 2-D canvas: the frame blurred by the canvas filter behind the frame cut out
// by the mask. The same effect shape as silhouette-web's startEffect: { track, way, stats(),
// stop() }, frames through MediaStreamTrackProcessor and MediaStreamTrackGenerator.
import { FilesetResolver, ImageSegmenter } from "./mediapipe/vision_bundle.mjs";

export async function mediapipeEffect(camera, { delegate, radius }) {
  const fileset = await FilesetResolver.forVisionTasks("./mediapipe/wasm");
  const segmenter = await ImageSegmenter.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: "./mediapipe/selfie_segmentation.tflite", delegate },
    runningMode: "VIDEO",
    outputCategoryMask: false,
    outputConfidenceMasks: true,
  });
  const { width, height } = camera.getSettings();
  const out = new OffscreenCanvas(width, height), person = new OffscreenCanvas(width, height);
  const [outContext, personContext] = [out.getContext("2d"), person.getContext("2d")];
  let maskCanvas = null, maskContext = null, maskImage = null;
  const totals = { in: 0, network: 0, finish: 0, out: 0, total: 0 };
  let frames = 0;

  const transform = async (frame, controller) => {
    const start = performance.now();
    try {
      let mask = null, size = null;
      segmenter.segmentForVideo(frame, frame.timestamp / 1000, (result) => {
        const confidence = result.confidenceMasks[0];
        size = [confidence.width, confidence.height];
        mask = confidence.getAsFloat32Array().slice();
        result.close?.();
      });
      const segmented = performance.now();
      if (!maskCanvas || maskCanvas.width !== size[0] || maskCanvas.height !== size[1]) {
        maskCanvas = new OffscreenCanvas(size[0], size[1]);
        maskContext = maskCanvas.getContext("2d");
        maskImage = new ImageData(size[0], size[1]);
      }
      for (let i = 0; i < mask.length; i++) maskImage.data[4 * i + 3] = mask[i] * 255;
      maskContext.putImageData(maskImage, 0, 0);
      personContext.globalCompositeOperation = "copy";
      personContext.drawImage(maskCanvas, 0, 0, width, height);
      personContext.globalCompositeOperation = "source-in";
      personContext.drawImage(frame, 0, 0, width, height);
      outContext.filter = `blur(${radius}px)`;
      outContext.drawImage(frame, 0, 0, width, height);
      outContext.filter = "none";
      outContext.drawImage(person, 0, 0);
      const finished = performance.now();
      controller.enqueue(new VideoFrame(out, { timestamp: frame.timestamp }));
      const end = performance.now();
      totals.network += segmented - start;
      totals.finish += finished - segmented;
      totals.out += end - finished;
      totals.total += end - start;
      frames++;
    } finally {
      frame.close();
    }
  };
  const generator = new MediaStreamTrackGenerator({ kind: "video" });
  const processor = new MediaStreamTrackProcessor({ track: camera });
  processor.readable.pipeThrough(new TransformStream({ transform })).pipeTo(generator.writable).catch(() => {});
  return {
    track: generator,
    way: `tasks-vision ${delegate}`,
    stats: () => ({ frames, ms: Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v / Math.max(frames, 1)])) }),
    async stop() {
      generator.stop();
      segmenter.close();
    },
  };
}
