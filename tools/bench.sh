#!/usr/bin/env bash
# The benchmark comparison against ONNX Runtime: prints a markdown table and appends it to
# benches/RESULTS.md. Installs what it needs: a Vulkan driver if none (lavapipe: context only,
# not a speed target) and ONNX Runtime's shared library from the pinned PyPI wheel.
#   tools/bench.sh               the report (BENCH_RUNS=30 by default)
#   tools/bench.sh --criterion   also the criterion benches (HTML: target/criterion/report/)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh

ORT_VERSION=1.31.1
ORT_DIR=target/onnxruntime-$ORT_VERSION
if ! ls "$ORT_DIR"/onnxruntime/capi/libonnxruntime.so.* >/dev/null 2>&1; then
    echo "== installing ONNX Runtime $ORT_VERSION (PyPI wheel, for its shared library)"
    python3 -m pip --version >/dev/null 2>&1 || as_root apt-get install -y -qq python3-pip >/dev/null
    python3 -m pip install -q --no-deps --target "$ORT_DIR" "onnxruntime==$ORT_VERSION"
fi
export ORT_DYLIB_PATH="$(ls "$PWD/$ORT_DIR"/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
ensure_vulkan
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

cargo run --release --features bench-ort --example bench_report
if [ "${1:-}" = "--criterion" ]; then
    cargo bench --features bench-ort --bench engine
fi
