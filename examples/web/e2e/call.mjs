// A web developer's app folder: the packed tarball (tools/lib.sh pack_web) installed into an
// empty folder, pages that import only "silhouette-web" under a strict CSP, and a server for it
// that answers pages' POSTs (their reports, and the native CLI as the reference).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, ROOT } from "./browser.mjs";

/** The tarball installed into a new folder, served; `post` as browser.mjs serve's, plus
 *  POST /cli?args=[...] (the body a PNG: the CLI's output PNG back). */
export async function installCall({ post = {} } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "silhouette-call-"));
  const packed = (await readdir(join(ROOT, "target", "web"))).filter((f) => /^silhouette-web-.*\.tgz$/.test(f));
  assert.equal(packed.length, 1, "run tools/lib.sh pack_web first (tools/test.sh does)");
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "call", private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", join(ROOT, "target", "web", packed[0])], { cwd: dir, stdio: "pipe" });
  await writeFile(join(dir, "blank.html"), "<!doctype html><title>decoding</title>");
  await writeFile(join(dir, "favicon.ico"), "");
  let runs = 0;
  const server = await serve({
    root: dir,
    post: { ...post, "/cli": async (png, query) => cli(dir, png, JSON.parse(query.get("args")), runs++) },
  });
  return { dir, server, url: server.url, async close() {
    server.close();
    await rm(dir, { recursive: true, force: true });
  } };
}

/** The native CLI (`target/debug/silhouette`, built if missing) on `png` (bytes) with `args`
 *  (e.g. ["blur", "--radius", "6"]) on the CPU: its output PNG's bytes. */
export async function cli(dir, png, args, n = 0) {
  const binary = join(ROOT, "target", "debug", "silhouette");
  if (!existsSync(binary)) execFileSync("cargo", ["build", "--bin", "silhouette"], { cwd: ROOT, stdio: "inherit" });
  const input = join(dir, `cli-${n}.png`), output = join(dir, `cli-${n}-out.png`);
  await writeFile(input, Buffer.from(png));
  await rm(output, { force: true });
  execFileSync(binary, [...args, input, "-o", output, "--backend", "cpu"], { stdio: "pipe" });
  return readFile(output);
}

/** A page of the folder as a developer would write it: it imports only "silhouette-web"
 *  (through an import map the CSP allows by its hash), under a CSP that reaches this origin only
 *  (`csp`: its other sources), and runs `script` (saved as `scriptFile`). */
export async function writePage(dir, file, csp, scriptFile, script) {
  const importmap = JSON.stringify({ imports: { "silhouette-web": "./node_modules/silhouette-web/pkg/silhouette.js" } });
  const hash = createHash("sha256").update(importmap).digest("base64");
  await writeFile(join(dir, file), `<!doctype html><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-${hash}'; connect-src 'self'; ${csp}">
<script type="importmap">${importmap}</script>
<script type="module" src="${scriptFile}"></script>`);
  await writeFile(join(dir, scriptFile), script);
}
