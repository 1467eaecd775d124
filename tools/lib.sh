# Shared by tools/test.sh and tools/bench.sh (sourced, not run).

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Mesa's lavapipe (software Vulkan) when no Vulkan driver is installed: correct, not fast.
ensure_vulkan() {
    if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
        echo "== installing Mesa's software Vulkan (lavapipe)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
    fi
    # Mesa warns on every device when this is unset (as in containers and CI).
    export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
}
