#!/usr/bin/env bash
# The project's test command (README "Set up"): installs what the tests need on a fresh Debian,
# then runs every test.
#  - native: GPU tests on Mesa's lavapipe (software Vulkan); they FAIL, never skip, without an
#    adapter (SILHOUETTE_REQUIRE_GPU=1);
#  - python: the wheel built by maturin, its functions against the CLI's outputs (pytest);
#  - docs: every relative link resolves, every block marked runnable exits 0 (tools/check_docs.py);
#  - fuzz: each cargo-fuzz target for 30 s from its seeds (tools/fuzz.sh);
#  - browser: the wasm engine in headless Chromium on WebGPU (SwiftShader), where a missing WebGPU
#    fails the tests, the demo page end to end, with and without WebGPU, and the installed package
#    in every engine (Chromium, Firefox ESR, WebKitGTK; with WebGPU where they have it).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh

ensure_vulkan
ensure_ffmpeg
ensure_gstreamer
export SILHOUETTE_REQUIRE_GPU=1
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
echo "== native: cargo test (SILHOUETTE_REQUIRE_GPU=1, WGPU_BACKEND=$WGPU_BACKEND)"
# The library, the CLI and the GStreamer element in one build (one feature resolution).
cargo test --all-targets -p silhouette -p silhouette-cli -p gst-plugin-silhouette
cargo test --doc -p silhouette
echo "== python: the abi3 wheel (maturin) and its tests against the CLI (pytest)"
ensure_python
target/py/bin/maturin build --release -m python/Cargo.toml -o target/wheels
target/py/bin/pip install -q --force-reinstall --no-deps target/wheels/silhouette-0.1.0-cp39-abi3-*.whl
SILHOUETTE_CLI=target/debug/silhouette target/py/bin/python -m pytest -q python/tests

echo "== docs: links resolve, runnable blocks run (README's quick start builds the release CLI)"
target/py/bin/python -m pytest -q tools/tests
target/py/bin/python tools/check_docs.py

echo "== fuzz: every target for 30 s (nightly + cargo-fuzz, installed if missing)"
tools/fuzz.sh 30

echo "== browser: building and packing examples/web/package"
ensure_browsers
build_web
pack_web
profile=$(mktemp -d)
cat > examples/web/webdriver.json <<JSON
{
  "goog:chromeOptions": {
    "binary": "/usr/lib/chromium/chromium",
    "args": ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-gpu-sandbox",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--disable-quic", "--disable-dev-shm-usage", "--user-data-dir=$profile"]
  }
}
JSON
echo "== browser: wasm tests in headless Chromium (WebGPU required)"
CHROMEDRIVER="$(command -v chromedriver)" WASM_BINDGEN_TEST_TIMEOUT=600 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p silhouette-web --target wasm32-unknown-unknown
echo "== browser: the demo page end to end (screenshots in target/e2e/), the package, Vite and webpack apps, the browser matrix"
# Every row of the matrix: Chromium and Firefox with WebGPU and without, WebKit with and without
# MediaStreamTrackProcessing (MATRIX=webkit,... runs some).
(cd examples/web/e2e && node --test demo.test.mjs package.test.mjs bundlers.test.mjs matrix.test.mjs)
