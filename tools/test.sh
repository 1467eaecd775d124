#!/usr/bin/env bash
# The project's test command (README "Set up"): installs what the tests need on a fresh Debian,
# then runs every test. GPU tests run on Mesa's lavapipe (software Vulkan) and FAIL, never skip,
# when no adapter is found (SILHOUETTE_REQUIRE_GPU=1).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh

ensure_vulkan
export SILHOUETTE_REQUIRE_GPU=1
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
echo "== cargo test (SILHOUETTE_REQUIRE_GPU=1, WGPU_BACKEND=$WGPU_BACKEND)"
cargo test --all-targets
cargo test --doc
