// The race against onnxruntime-web: same page rules, same browser and adapter, same ONNX and input.
// Each engine runs in a fresh browser profile (cold cache): cold start = navigation to first
// mask; warm = median of the next frames; download = bytes the server sent for the engine
// (raw and gzip). Every engine's mask is checked against MediaPipe's first. Prints a markdown
// table and appends it to benches/RESULTS.md.   Run: tools/web.sh race
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

// Ours on the CPU and ORT wasm alternated frame by frame in one page: the ratio least moved by
// the machine's drift between the engines' separate runs above.
let alternated = null;
{
  const server = await serve();
  const context = await launch({ webgpu: true });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/race.html?engine=alternate-cpu&frames=${FRAMES}`);
    await page.waitForFunction(() => ["done", "error"].includes(window.race?.state), null, { timeout: 600_000 });
    const race = await page.evaluate(() => window.race);
    if (race.state !== "done") throw new Error(`alternate-cpu: ${race.error}`);
    for (const mask of race.masks) {
      const diff = maxAbsDiff(mask, reference);
      if (!(diff <= 5e-4)) throw new Error(`alternate-cpu: a mask differs from MediaPipe by ${diff}`);
    }
    alternated = race.alternate;
    console.error(`alternated: ours-cpu ${alternated.ours.toFixed(2)} ms, ort-wasm ${alternated.ort.toFixed(2)} ms, ratio ${alternated.ratio.toFixed(2)}`);
  } finally {
    await context.close();
    server.close();
  }
}

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
md += `\nours-cpu and ort-wasm alternated frame by frame in one page (${alternated.turns} turns): ours ${alternated.ours.toFixed(2)} ms, ORT ${alternated.ort.toFixed(2)} ms; median of the per-turn ratios ours / ORT: **${alternated.ratio.toFixed(2)}**.\n`;
md += `\nFiles downloaded per engine: ${results.map((r) => `${r.engine}: ${r.files.join(", ")}`).join("; ")}.\n`;
process.stdout.write(md);
await appendFile(join(ROOT, "benches", "RESULTS.md"), md);
console.error("appended to benches/RESULTS.md");
