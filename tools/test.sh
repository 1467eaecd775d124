#!/usr/bin/env bash
# The project's test command (README "Set up"): installs what the tests need on a fresh Debian,
# then runs every test. GPU tests run on Mesa's lavapipe (software Vulkan) and FAIL, never skip,
# when no adapter is found (SILHOUETTE_REQUIRE_GPU=1).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
    echo "== installing Mesa's software Vulkan (lavapipe)"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi

export SILHOUETTE_REQUIRE_GPU=1
# Mesa warns on every device when this is unset (as in containers and CI).
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
echo "== cargo test (SILHOUETTE_REQUIRE_GPU=1, WGPU_BACKEND=$WGPU_BACKEND)"
cargo test --all-targets
cargo test --doc
