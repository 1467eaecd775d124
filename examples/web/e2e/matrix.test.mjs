// The browser matrix: the installed package (call.mjs) in every engine of engines.mjs, on the
// page matrix-page.js, with WebGPU where the engine has it and without. A row passes when the
// still and the Worker match MediaPipe, a track comes out as the native CLI blurs and replaces
// its frame (including its first frame: never blank), a live change of background lands without
// a new pipeline, the processed tracks end when their sources do, and nothing reaches the page
// uncaught. MATRIX=chromium,firefox-webgpu,... runs some rows only.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT } from "./browser.mjs";
import { installCall, writePage } from "./call.mjs";
import { ENGINES, closeDisplay, openIn } from "./engines.mjs";

let app;
let reports = null; // the open page's: { steps, done }

before(async () => {
  app = await installCall({
    post: {
      "/report": async (body) => {
        const message = JSON.parse(body);
        if (message.step) reports.steps.push(message.step);
        else reports.done(message);
      },
    },
  });
  await copyFile(join(ROOT, "tests", "data", "frames", "astronaut.png"), join(app.dir, "astronaut.png"));
  await writePage(app.dir, "matrix.html", "media-src 'self' blob: mediastream:; worker-src 'self'; img-src 'self' blob:",
    "matrix.js", await readFile(new URL("matrix-page.js", import.meta.url), "utf8"));
});
after(async () => {
  closeDisplay();
  await app?.close();
});

// The rows, with the backend each asks for: an engine with WebGPU asks for "gpu" (on these
// software adapters "auto" rightly takes the CPU).
const ROWS = Object.entries(ENGINES).map(([engine, { webgpu }]) => ({ engine, backend: webgpu ? "gpu" : "cpu", webgpu }));
const only = process.env.MATRIX ? process.env.MATRIX.split(",") : null;

for (const { engine, backend, webgpu } of ROWS.filter((r) => !only || only.includes(r.engine))) {
  test(`browser matrix: ${engine} (${backend})`, async () => {
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    reports = { steps: [], done };
    const browser = await openIn(engine, `${app.url}/matrix.html?engine=${engine}&backend=${backend}${process.env.PATIENCE ? `&patience=${process.env.PATIENCE}` : ""}`);
    let result, timer;
    try {
      // Generous: SwiftShader and lavapipe take seconds a WebGPU frame, more on a busy machine.
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${engine}: no report in 900 s; steps: ${reports.steps}`)), 900_000);
      });
      result = await Promise.race([finished, timeout]);
    } finally {
      // A pending timer kept this process alive for the rest of its 900 s after the last row
      // (what looked like the WebKit rows never ending).
      clearTimeout(timer);
      await browser.close();
    }
    console.log(`${engine}: ${JSON.stringify(result)}`);
    assert.equal(result.state, "done", result.error);
    assert.deepEqual(result.errors, [], "errors reached the page");
    assert.equal(result.backend, webgpu ? "webgpu" : "cpu");
    assert.ok(result.still <= 5e-4, `the still differs from MediaPipe by ${result.still}`);
    assert.ok(result.worker.diff <= 5e-4, `the Worker's mask differs from MediaPipe by ${result.worker.diff}`);
    // Where the browser has WebGPU, "auto" answers on the CPU at once while WebGPU is made.
    if (webgpu) assert.equal(result.auto.first, "cpu", "auto's first frames waited for WebGPU");
    if (webgpu && result.fallbackAdapter) {
      assert.equal(result.auto.backend, "cpu", "auto took a fallback (software) WebGPU adapter");
      assert.match(result.auto.notice, /software/);
    } else if (webgpu) {
      assert.equal(result.auto.backend, "webgpu", "auto refused a hardware WebGPU adapter");
    }
    // The frames as the CLI finishes them: the track's own colour conversions (the source's,
    // measured on the way in as sourceRoundTrip, again on the way out) are all that may differ.
    // Where the browser hands the processed frames on as 4:2:0 (Chromium makes NV12 of a WebGPU
    // canvas's VideoFrame), colour exists per 2x2 block only, and is compared there.
    const subsampled = ["NV12", "I420", "I420A"].includes(result.outputFormat);
    const bound = 1 + 2 * result.sourceRoundTrip;
    for (const [name, diff] of [["first frame", result.first.vsCli], ["blur", result.blur.vsCli], ["replace", result.replace.vsCli]]) {
      const mean = subsampled ? diff.blocks : diff.mean;
      assert.ok(mean <= bound, `${name}: the track differs from the CLI by ${mean.toFixed(2)} of 255 on average${subsampled ? " over 2x2 blocks" : ""} (bound ${bound.toFixed(2)})`);
    }
    assert.ok(result.blur.vsInput > 2, "the processed frame is the camera's: nothing was blurred");
    assert.notEqual(result.replace.framesToChange, null, "the background never changed to the colour");
    assert.ok(result.endedWithSource, "the processed track stayed live after its source ended");
    assert.equal(result.endedEvents, 1, "the effect fired no (or more than one) ended event");
    assert.equal(result.effectErrors, 0);
    assert.deepEqual(result.camera.size, [result.camera.settings.width, result.camera.settings.height]);
    assert.ok(result.camera.endedWithSource, "the camera's processed track stayed live after the camera stopped");
  });
}
