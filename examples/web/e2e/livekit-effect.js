// The call benchmark's second rival (calls.mjs, row livekit): @livekit/track-processors'
// background blur as a LiveKit app starts it (MediaPipe's tasks-vision underneath, its default
// GPU delegate, composited in WebGL), pointed at local copies of its wasm and of the same
// network as ours (its default model, fetched from Google's CDN, is another network). Bundled
// by calls.mjs with esbuild. The same effect shape as silhouette-web's startEffect.
import { BackgroundProcessor } from "@livekit/track-processors";

export async function livekitEffect(camera, { radius }) {
  const totals = { in: 0, network: 0, finish: 0, out: 0, total: 0 };
  let frames = 0;
  const processor = BackgroundProcessor({
    mode: "background-blur",
    blurRadius: radius,
    assetPaths: { tasksVisionFileSet: "./livekit/wasm", modelAssetPath: "./mediapipe/selfie_segmentation.tflite" },
    onFrameProcessed: ({ processingTimeMs, segmentationTimeMs, filterTimeMs }) => {
      totals.network += segmentationTimeMs;
      totals.finish += filterTimeMs;
      totals.total += processingTimeMs;
      frames++;
    },
  });
  const element = document.createElement("video");
  element.muted = true;
  element.srcObject = new MediaStream([camera]);
  await element.play();
  await processor.init({ kind: "video", track: camera, element });
  return {
    track: processor.processedTrack,
    way: "track-processors",
    stats: () => ({ frames, ms: Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v / Math.max(frames, 1)])) }),
    async stop() {
      await processor.destroy();
    },
  };
}
