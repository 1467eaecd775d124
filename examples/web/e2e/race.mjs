// The race against onnxruntime-web: same page rules, same browser and adapter, same ONNX and input.
// Each engine runs in a fresh browser profile (cold cache): cold start = navigation to first
// mask; warm = median of the next frames; download = bytes the server sent for the engine
// (raw and gzip). Every engine's mask is checked against MediaPipe's first. Then ours on the CPU
// alternates frame by frame with ORT's wasm and with MediaPipe's own runtime (tasks-vision on the
// CPU: XNNPACK). Prints a markdown table and appends it to benches/RESULTS.md.
// Run: tools/web.sh race
import { readFile, appendFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { serve, launch, golden, maxAbsDiff, WEB, ROOT } from "./browser.mjs";

const FRAMES = Number(process.env.RACE_FRAMES ?? 30);
const ENGINES = ["ours-gpu", "ort-webgpu", "ort-wasm", "ours-cpu"];
const reference = await golden("grace_hopper");
const results = [];
let browserVersion = "";

for (const engine of ENGINES) {
  const server = await serve();
  const context = await launch({ webgpu: true });
  browserVersion = context.browser()?.version() ?? browserVersion;
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/race.html?engine=${engine}&frames=${FRAMES}`);
    await page.waitForFunction(() => ["done", "error"].includes(window.race?.state), null, { timeout: 600_000 });
    const race = await page.evaluate(() => window.race);
    if (race.state !== "done") throw new Error(`${engine}: ${race.error}`);
    const diff = maxAbsDiff(race.mask, reference);
    if (!(diff <= 5e-4)) throw new Error(`${engine}: mask differs from MediaPipe by ${diff}: not reporting its times`);
    // What this engine made the browser download (the harness page and the input frame aside).
    let raw = 0, gzip = 0;
    for (const [path] of server.served) {
      if (path.startsWith("/race.") || path.startsWith("/data/")) continue;
      const file = path.startsWith("/model/") ? join(ROOT, "benches", path.slice(7))
        : path.startsWith("/vendor/ort/") ? join(WEB, "e2e/node_modules/onnxruntime-web/dist", path.slice(12)) : join(WEB, path);
      const body = await readFile(file);
      raw += body.length;
      gzip += gzipSync(body, { level: 9 }).length;
    }
    results.push({ engine, describe: race.describe, warm: race.warmMedianMs, cold: race.coldMs, raw, gzip, diff, files: [...server.served.keys()].filter((p) => !p.startsWith("/race.") && !p.startsWith("/data/")) });
    console.error(`${engine}: warm ${race.warmMedianMs.toFixed(2)} ms, cold ${race.coldMs.toFixed(0)} ms, ${raw} B`);
  } finally {
    await context.close();
    server.close();
  }
}

// Ours on the CPU alternated frame by frame in one page with ORT wasm, then with MediaPipe's own
// runtime on the CPU (XNNPACK): the ratios least moved by the machine's drift.
// `rivalTolerance`: how far the rival's mask may be from the golden (MediaPipe's WebGL delegate
// computes in half floats: 0.018 on 2026-12-05); ours must always be within 5e-4.
async function alternated(engine, rivalTolerance = 5e-4) {
  const server = await serve();
  const context = await launch({ webgpu: true });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/race.html?engine=${engine}&frames=${FRAMES}`);
    await page.waitForFunction(() => ["done", "error"].includes(window.race?.state), null, { timeout: 600_000 });
    const race = await page.evaluate(() => window.race);
    if (race.state !== "done") throw new Error(`${engine}: ${race.error}`);
    const diffs = race.masks.map((mask) => maxAbsDiff(mask, reference));
    diffs.forEach((diff, i) => {
      if (!(diff <= (i === 0 ? 5e-4 : rivalTolerance))) throw new Error(`${engine}: a mask differs from MediaPipe's golden by ${diff}`);
    });
    const a = { ...race.alternate, diffs };
    console.error(`${engine}: ours ${a.ours.toFixed(2)} ms, ${a.rival} ${a.theirs.toFixed(2)} ms, ratio ${a.ratio.toFixed(2)}`);
    return a;
  } finally {
    await context.close();
    server.close();
  }
}
const withOrt = await alternated("alternate-cpu");
const withMediapipe = await alternated("alternate-mediapipe");
const withMediapipeGpu = await alternated("alternate-mediapipe-gpu", 0.05);

const ours = results[0];
const mb = (b) => (b / 1e6).toFixed(2);
const date = new Date().toISOString().slice(0, 16).replace("T", " ");
let md = `\n## ${date} UTC: \`tools/web.sh race\` (browser)\n\n`;
md += `- Browser: Chromium ${browserVersion}, headless, \`--enable-unsafe-webgpu\`; WebGPU adapter: SwiftShader (software) on this machine.\n`;
md += `- Input: tests/data/frames/grace_hopper.png (256x256); model: benches/selfie_segmentation.onnx for ONNX Runtime; warm = median of ${FRAMES} frames after the first; cold = navigation start to first mask, fresh profile; ORT-web single-threaded (no cross-origin isolation).\n`;
md += `- Every mask was checked against MediaPipe's golden before timing (max |delta| in the table).\n\n`;
md += `| engine | warm ms / frame | cold start ms | download raw MB | download gzip MB | max abs delta vs MediaPipe | warm: other / ours-gpu | cold: other / ours-gpu |\n|---|---|---|---|---|---|---|---|\n`;
for (const r of results) {
  md += `| ${r.engine} (${r.describe}) | ${r.warm.toFixed(2)} | ${r.cold.toFixed(0)} | ${mb(r.raw)} | ${mb(r.gzip)} | ${r.diff.toExponential(1)} | ${(r.warm / ours.warm).toFixed(2)} | ${(r.cold / ours.cold).toFixed(2)} |\n`;
}
md += `\nours-cpu and ort-wasm alternated frame by frame in one page (${withOrt.turns} turns): ours ${withOrt.ours.toFixed(2)} ms, ORT ${withOrt.theirs.toFixed(2)} ms; median of the per-turn ratios ours / ORT: **${withOrt.ratio.toFixed(2)}**.\n`;
md += `\nours-cpu and MediaPipe's own runtime on the CPU (${withMediapipe.rival}, pip mediapipe 0.10.14's tflite of the same network) alternated the same way (${withMediapipe.turns} turns): ours ${withMediapipe.ours.toFixed(2)} ms, MediaPipe ${withMediapipe.theirs.toFixed(2)} ms; median of the per-turn ratios ours / MediaPipe: **${withMediapipe.ratio.toFixed(2)}**.\n`;
md += `\nours-gpu (WebGPU) and MediaPipe's WebGL delegate (${withMediapipeGpu.rival}; both on SwiftShader) alternated the same way (${withMediapipeGpu.turns} turns; max |delta| vs the golden ${withMediapipeGpu.diffs.map((d) => d.toExponential(1)).join(" and ")}): ours ${withMediapipeGpu.ours.toFixed(2)} ms, MediaPipe ${withMediapipeGpu.theirs.toFixed(2)} ms; median of the per-turn ratios ours / MediaPipe: **${withMediapipeGpu.ratio.toFixed(2)}**.\n`;
md += `\nFiles downloaded per engine: ${results.map((r) => `${r.engine}: ${r.files.join(", ")}`).join("; ")}.\n`;
process.stdout.write(md);
await appendFile(join(ROOT, "benches", "RESULTS.md"), md);
console.error("appended to benches/RESULTS.md");
