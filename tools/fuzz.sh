#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for a fixed budget each: tools/fuzz.sh [SECONDS] [TARGET...]
# (default 30 s, all targets; tools/test.sh runs this so regressions surface in CI). Installs a
# nightly toolchain and cargo-fuzz when missing. New inputs go to a temporary folder; the seeds
# in fuzz/seeds/ are only read. A crash, timeout or OOM fails the run and leaves its input in
# fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image_bytes weights_bytes resample_rgba segment_rgba)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz --version 0.13.2 --locked

cd fuzz
for target in "${targets[@]}"; do
    corpus=$(mktemp -d)
    echo "== fuzz: $target for ${seconds} s"
    # -rss_limit_mb: a decode may legitimately take ~1 GB; past 3 GB is a bug.
    set +e
    cargo +nightly fuzz run -O "$target" "$corpus" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=60 -rss_limit_mb=3072 -print_final_stats=1 2>&1 |
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY|panicked'
    status=${PIPESTATUS[0]}
    set -e
    rm -rf "$corpus"
    [ "$status" -eq 0 ] || { echo "fuzz: $target failed (input in fuzz/artifacts/$target/)"; exit 1; }
done
