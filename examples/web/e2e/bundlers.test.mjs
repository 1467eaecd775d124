// The package in the bundlers web apps are built with (Vite, webpack 5): an app that imports
// "silhouette-web" from the installed tarball is bundled, the bundle's folder alone is served,
// and the page must segment a bundled frame as MediaPipe does, on the page and in the package's
// Worker. The bundler has to find the wasm and the Worker itself, through the package's
// `new URL(..., import.meta.url)`: a bundle that misses either fails here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { launch, golden, maxAbsDiff, pageReport, serve, ROOT } from "./browser.mjs";
import { installCall } from "./call.mjs";

// The app's code, as a developer writes it (no top-level await: Vite's default targets lack it).
const MAIN = `import { load, loadInWorker } from "silhouette-web";

async function main() {
  const response = await fetch(new URL("astronaut.png", document.baseURI));
  const photo = await createImageBitmap(await response.blob(), { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const engine = await load({ backend: "cpu" });
  const mask = await engine.segment(photo);
  const worker = await loadInWorker({ backend: "cpu" });
  const workerMask = await worker.segment(photo);
  await worker.dispose();
  return { state: "done", mask: Array.from(mask), workerMask: Array.from(workerMask) };
}

window.result = { state: "running" };
main().then((r) => (window.result = r), (e) => (window.result = { state: "error", error: String(e?.stack ?? e) }));
`;

let app;
before(async () => {
  app = await installCall();
  await writeFile(join(app.dir, "main.js"), MAIN);
});
after(async () => {
  await app?.close();
});

const BUNDLERS = {
  async vite(dir) {
    const { build } = await import("vite");
    await writeFile(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script>`);
    await build({ root: dir, configFile: false, logLevel: "warn", base: "./", build: { outDir: "dist-vite", emptyOutDir: true } });
    return join(dir, "dist-vite");
  },
  async webpack(dir) {
    const { default: webpack } = await import("webpack");
    const out = join(dir, "dist-webpack");
    const config = { mode: "production", context: dir, entry: "./main.js", output: { path: out, filename: "main.js", clean: true }, performance: { hints: false } };
    await new Promise((resolve, reject) => webpack(config, (error, stats) => {
      if (error || stats.hasErrors()) reject(error ?? new Error(stats.toString("errors-only")));
      else resolve();
    }));
    await writeFile(join(out, "index.html"), `<!doctype html><meta charset="utf-8"><script src="main.js"></script>`);
    return out;
  },
};

for (const [name, bundle] of Object.entries(BUNDLERS)) {
  test(`a ${name} app bundles the package and segments as MediaPipe does, on the page and in its Worker`, async () => {
    const dist = await bundle(app.dir);
    const files = await readdir(dist, { recursive: true });
    assert.ok(files.some((f) => f.endsWith(".wasm")), `${name} did not emit the wasm: ${files.join(", ")}`);
    console.log(`${name} emitted: ${files.sort().join(", ")}`);
    await copyFile(join(ROOT, "tests", "data", "frames", "astronaut.png"), join(dist, "astronaut.png"));
    const server = await serve({ root: dist });
    const context = await launch({ webgpu: false });
    try {
      const result = await pageReport(await context.newPage(), `${server.url}/index.html`);
      const want = await golden("astronaut");
      for (const [where, mask] of [["page", result.mask], ["Worker", result.workerMask]]) {
        const diff = maxAbsDiff(mask, want);
        console.log(`${name}, ${where}: max |mask - MediaPipe| = ${diff.toExponential(2)}`);
        assert.ok(diff <= 5e-4, `${name}, ${where}: the mask differs from MediaPipe's by ${diff}`);
      }
    } finally {
      await context.close();
      server.close();
    }
  });
}
