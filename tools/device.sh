#!/usr/bin/env bash
# Real-GPU figures for benches/RESULTS.md (issue 11) from the device machine, old and new engine
# side by side in one call (the device tool's README: "Headless rendering"; it reaches no
# registry, so everything is built here and carried):
#   tools/device.sh prepare [OLD]   here: examples/bench_report of this tree and of OLD (default
#                                   ea2fb1e, before 2026-12-05's kernels for software GPUs:
#                                   whether they cost a real GPU anything) into
#                                   device/, with ONNX Runtime's library, and the Vulkan loader's
#                                   .deb into .gl/; then run a short rehearsal on this machine
#   tools/device.sh measure         there, through the device tool:
#       run(command="bash tools/device.sh measure", carry=["device", ".gl"], timeout_s=540)
#                                   each report into $OUT: new.md, old.md (equivalence checked
#                                   against MediaPipe before timing; batches 1, 8, 64 and 256 for
#                                   the new), device.txt (GPU, driver, date)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh

OLD_BUILD_DIR=/tmp/silhouette-old

prepare() {
    local old=${1:-ea2fb1e}
    ensure_ort
    ensure_vulkan
    echo "== building bench_report of this tree"
    cargo build -q --release -p silhouette --features bench-ort --example bench_report
    echo "== building bench_report of $old in $OLD_BUILD_DIR"
    git worktree remove --force "$OLD_BUILD_DIR" 2>/dev/null || rm -rf "$OLD_BUILD_DIR"
    git worktree add -q --detach "$OLD_BUILD_DIR" "$old"
    (cd "$OLD_BUILD_DIR" && CARGO_TARGET_DIR="$PWD/target" \
        cargo build -q --release -p silhouette --features bench-ort --example bench_report)
    rm -rf device && mkdir -p device
    cp target/release/examples/bench_report device/bench_report_new
    cp "$OLD_BUILD_DIR"/target/release/examples/bench_report device/bench_report_old
    strip device/bench_report_new device/bench_report_old
    cp "$ORT_DYLIB_PATH" device/libonnxruntime.so
    # Where each build looks for the repository (its compile-time CARGO_MANIFEST_DIR): the
    # device links those paths to its copy of the tree.
    printf '%s\n' "$PWD" "$OLD_BUILD_DIR" > device/manifest_dirs
    echo "== the Vulkan loader for the device (its README's recipe)"
    mkdir -p .gl /tmp/amd64/partial
    local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    # shellcheck disable=SC2086
    as_root apt-get $o update -qq
    # shellcheck disable=SC2086
    (cd .gl && apt-get $o download libvulkan1 >/dev/null)
    du -sh device .gl
    # A run carries the tracked tree too, 64 MiB in all.
    local total
    total=$(( $(du -sbc device .gl | tail -1 | cut -f1) + $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) ))
    [ "$total" -le $((62 << 20)) ] || { echo "the tree, device/ and .gl/ are $total bytes: over what a run carries"; exit 1; }
    echo "a run carries $((total >> 20)) MiB"
    echo "== rehearsal here (BENCH_RUNS=3): both builds run and agree with MediaPipe"
    OUT=$(mktemp -d) BENCH_RUNS=3 BENCH_BATCHES=1,2 run_reports
    echo "prepared: device/ and .gl/ (carry both)"
}

# Both reports into $OUT.
run_reports() {
    export WGPU_BACKEND=vulkan ORT_DYLIB_PATH="$PWD/device/libonnxruntime.so"
    while read -r dir; do
        if [ "$dir" != "$PWD" ] && [ ! -e "$dir" ]; then
            mkdir -p "$(dirname "$dir")" && ln -s "$PWD" "$dir"
        fi
    done < device/manifest_dirs
    { date -u; nvidia-smi -L 2>/dev/null || true; nvidia-smi --query-gpu=driver_version --format=csv 2>/dev/null || true; } > "$OUT/device.txt"
    BENCH_BATCHES="${BENCH_BATCHES:-1,8,64,256}" BENCH_RESULTS="$OUT/new_results.md" \
        timeout 240 device/bench_report_new > "$OUT/new.md" 2> "$OUT/new.err" || echo "new: exit $?"
    timeout 240 device/bench_report_old > "$OUT/old.md" 2> "$OUT/old.err" || echo "old: exit $?"
    grep -h "^- GPU\|^- Device\|ours, GPU" "$OUT/new.md" "$OUT/old.md" || true
    echo "reports in $OUT"
}

measure() {
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [ -e "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
    run_reports
}

case "${1:-}" in
    prepare) prepare "${2:-}" ;;
    measure) measure ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
esac
