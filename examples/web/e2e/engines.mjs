// The browser matrix: every engine the package promises, each as Debian installs it, opening a
// page that reports back by POST (see browser.mjs serve) rather than through a driver, so the
// same page runs unchanged everywhere. The processes' CPU time is read from /proc.
//  - chromium, chromium-webgpu: Debian's Chromium, headless (WebGPU on SwiftShader), fake camera
//    (--use-fake-device-for-media-stream, or a y4m file);
//  - firefox, firefox-webgpu: Firefox ESR, headless, fake camera (media.navigator.streams.fake),
//    WebGPU (dom.webgpu.enabled) on Mesa's lavapipe;
//  - webkit, webkit-mstp: WebKitGTK's MiniBrowser (the Safari engine) under Xvfb, through
//    WebKitWebDriver (only an automated MiniBrowser grants the camera), mock camera; -mstp with
//    MediaStreamTrackProcessor and VideoTrackGenerator in workers (as Safari 18+).
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ENGINES = {
  "chromium-webgpu": { browser: "chromium", webgpu: true },
  chromium: { browser: "chromium", webgpu: false },
  "firefox-webgpu": { browser: "firefox", webgpu: true },
  firefox: { browser: "firefox", webgpu: false },
  webkit: { browser: "webkit", webgpu: false },
  "webkit-mstp": { browser: "webkit", webgpu: false, features: "+MediaStreamTrackProcessing" },
};

const MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/** Opens `url` in `engine` (a key of ENGINES); `video`: a y4m file the fake camera plays
 *  (Chromium only). Returns { process, cpuSeconds(), close() }. Fails at once when the browser
 *  is not installed. */
export async function openIn(engine, url, { video } = {}) {
  const { browser, webgpu, features } = ENGINES[engine];
  const profile = await mkdtemp(join(tmpdir(), `silhouette-${engine}-`));
  const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? profile };
  let child, session = null;
  if (browser === "chromium") {
    const args = ["--headless=new", "--no-sandbox", "--disable-gpu-sandbox", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
      "--autoplay-policy=no-user-gesture-required"];
    if (video) args.push(`--use-file-for-fake-video-capture=${video}`);
    if (webgpu) args.push("--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
      "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-vulkan-fallback-to-gl-for-testing");
    else args.push("--disable-features=WebGPU,Vulkan", "--disable-gpu");
    child = spawn("/usr/lib/chromium/chromium", [...args, url], { env, stdio: "ignore" });
  } else if (browser === "firefox") {
    const prefs = {
      "dom.webgpu.enabled": webgpu, "gfx.webgpu.ignore-blocklist": webgpu,
      "media.navigator.streams.fake": true, "media.navigator.permission.disabled": true,
      "media.autoplay.default": 0, "browser.shell.checkDefaultBrowser": false,
      "datareporting.policy.dataSubmissionEnabled": false, "toolkit.telemetry.reportingpolicy.firstRun": false,
      "browser.startup.homepage_override.mstone": "ignore", "app.update.enabled": false,
      "network.captive-portal-service.enabled": false, "browser.safebrowsing.update.enabled": false,
    };
    await writeFile(join(profile, "user.js"), Object.entries(prefs).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(""));
    child = spawn("firefox-esr", ["--headless", "--no-remote", "--profile", profile, url], { env, stdio: "ignore" });
  } else {
    env.DISPLAY = await xvfb();
    const port = 20000 + Math.floor(Math.random() * 20000);
    child = spawn("WebKitWebDriver", [`--port=${port}`], { env, stdio: "ignore" });
    await started(child, engine);
    const args = ["--automation", "--enable-mock-capture-devices=true", "--enable-media-stream=true",
      "--enable-webrtc=true", "--autoplay-policy=allow"];
    if (features) args.push(`--features=${features}`);
    session = await webdriver(port, "POST", "/session", {
      capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { binary: MINIBROWSER, args } } },
    }, 30_000);
    await webdriver(port, "POST", `/session/${session.sessionId}/url`, { url }).catch(() => {});
    session.port = port;
  }
  const exited = new Promise((resolve) => child.once("exit", resolve));
  if (browser !== "webkit") await started(child, engine);
  return {
    engine,
    cpuSeconds: () => treeCpuSeconds(child.pid),
    residentMegabytes: () => treeResidentMegabytes(child.pid),
    async close() {
      if (session) await webdriver(session.port, "DELETE", `/session/${session.sessionId}`).catch(() => {});
      // The whole tree: WebKitWebDriver's MiniBrowser (or a browser's helper) would outlive it
      // and hold connections to the test server open, and this process with them.
      const table = await processTable();
      const helpers = inTree(child.pid, table).map((p) => [p, table.starts.get(p)]);
      // Only a process that is still the one listed (same start time): a pid that ended may
      // have been given to another process meanwhile.
      const signal = async (name) => {
        for (const [p, start] of helpers) {
          if ((await startOf(p)) !== start) continue;
          try {
            process.kill(p, name);
          } catch {
            // It ended meanwhile.
          }
        }
      };
      await signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      await signal("SIGKILL");
      await rm(profile, { recursive: true, force: true }).catch(() => {});
    },
  };
}

// Resolves once `child` runs; fails at once if it cannot start (not installed).
function started(child, engine) {
  return new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (e) => reject(new Error(`${engine}: ${e.message} (is it installed? tools/lib.sh ensure_browsers)`)));
  });
}

// A W3C WebDriver call; retried until `patience` ms while the driver starts.
async function webdriver(port, method, path, body, patience = 0) {
  const deadline = Date.now() + patience;
  for (;;) {
    try {
      // Bounded: a MiniBrowser that never starts leaves WebKitWebDriver's answer pending.
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
      const { value } = await response.json();
      if (!response.ok) throw new Error(`WebKitWebDriver ${path}: ${JSON.stringify(value)}`);
      return value;
    } catch (error) {
      if (Date.now() > deadline || !/fetch failed|ECONNREFUSED/.test(String(error?.cause ?? error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

// One Xvfb for the run (MiniBrowser needs a display; the others are headless).
let display = null;
function xvfb() {
  if (display) return display;
  let server;
  display = new Promise((resolve, reject) => {
    server = spawn("Xvfb", ["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], { stdio: ["ignore", "pipe", "ignore"] });
    server.once("error", (e) => reject(new Error(`Xvfb: ${e.message} (is xvfb installed?)`)));
    // An Xvfb that ended is not reused: the next row starts another.
    server.once("exit", (code, signal) => {
      if (display?.server === server) display = null;
      reject(new Error(`Xvfb ended (${signal ?? code}) before it gave a display`));
    });
    // Xvfb writes the display number and the newline in two writes: closing the pipe after the
    // first chunk could kill it by SIGPIPE on the second (rows then hung with no display, on a
    // busy machine). So the pipe stays open and is read to its end; once the display is known,
    // neither it nor Xvfb keeps this process alive.
    let said = "";
    server.stdout.on("data", (d) => {
      said += d;
      if (!said.includes("\n")) return;
      server.stdout.unref();
      server.unref();
      resolve(`:${said.trim()}`);
    });
  });
  display.server = server;
  return display;
}

/** Ends the Xvfb the WebKit rows started, if any (call when done with the engines). */
export function closeDisplay() {
  display?.server?.kill();
  display = null;
}

// A process's /proc stat fields from the state on (field 3 is [0]), or null if it is gone.
async function statOf(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

// When `pid` started (clock ticks since boot), or null if it is gone.
async function startOf(pid) {
  return (await statOf(pid))?.[19] ?? null;
}

// Every process's parent, start time and user + system CPU ticks (from /proc).
async function processTable() {
  const parents = new Map(), starts = new Map(), times = new Map();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statOf(entry);
    if (!fields) continue; // it ended meanwhile
    parents.set(Number(entry), Number(fields[1]));
    starts.set(Number(entry), fields[19]);
    times.set(Number(entry), Number(fields[11]) + Number(fields[12]));
  }
  return { parents, starts, times };
}

// `pid` and every process under it.
function inTree(pid, { parents }) {
  const under = (p) => {
    for (let q = p; q > 1; q = parents.get(q)) if (q === pid) return true;
    return false;
  };
  return [...parents.keys()].filter(under);
}

// Resident memory of `pid` and every process under it, in MB (shared pages counted once per
// process: an upper bound, for watching growth).
async function treeResidentMegabytes(pid) {
  let pages = 0;
  for (const p of inTree(pid, await processTable())) {
    try {
      pages += Number((await readFile(`/proc/${p}/statm`, "utf8")).split(" ")[1]);
    } catch {
      // It ended meanwhile.
    }
  }
  return (pages * 4096) / 1e6;
}

// User + system CPU seconds of `pid` and every process under it.
async function treeCpuSeconds(pid) {
  const table = await processTable();
  const ticks = inTree(pid, table).reduce((sum, p) => sum + table.times.get(p), 0);
  return ticks / 100; // USER_HZ
}
