#!/usr/bin/env bash
# The benchmark comparison against ONNX Runtime: prints a markdown table and appends it to
# benches/RESULTS.md. Installs what it needs: a Vulkan driver if none (lavapipe: context only,
# not a speed target) and ONNX Runtime's shared library from the pinned PyPI wheel.
#   tools/bench.sh               the report (BENCH_RUNS=30 by default)
#   tools/bench.sh --criterion   also the criterion benches (HTML: target/criterion/report/)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh

ensure_ort
ensure_vulkan
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

cargo run --release -p silhouette --features bench-ort --example bench_report
if [ "${1:-}" = "--criterion" ]; then
    cargo bench -p silhouette --features bench-ort --bench engine
fi
