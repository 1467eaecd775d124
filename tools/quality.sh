#!/usr/bin/env bash
# The quality benchmark: halos, edges and stability of the finish on scenes whose truth is known
# (examples/quality/, every measure defined in examples/quality/README.md). Prints markdown
# tables and appends them to benches/RESULTS.md. The CPU finish, and the GPU finish where there is
# an adapter (a Vulkan driver: tools/lib.sh ensure_vulkan installs lavapipe if none).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh
ensure_vulkan
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
cargo run --release --example quality -- --append
