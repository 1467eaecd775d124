#!/usr/bin/env bash
# Frames per second of a 1280x720 clip through `silhouette blur` on the CPU engine, beside
# FFmpeg's own decode and encode of the same clip with the same codec settings (what the
# pipes cost us is in the ratio). Alternated, twice each; appends a table to benches/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh
ensure_ffmpeg
cargo build -q --release -p silhouette-cli
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
frames=300
ffmpeg -v error -nostdin -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 \
    -frames:v $frames -t 10 -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac "$dir/clip.mp4"
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
ffmpeg_run() { ffmpeg -v error -nostdin -y -i "$dir/clip.mp4" -c:v libx264 -preset veryfast -crf 18 \
    -pix_fmt yuv420p -c:a copy "$dir/ffmpeg.mp4"; }
ours_run() { rm -f "$dir/ours.mp4"; target/release/silhouette blur "$dir/clip.mp4" -o "$dir/ours.mp4" --backend cpu; }
rows=""
for round in 1 2; do
    f=$(seconds ffmpeg_run); o=$(seconds ours_run)
    rows+="| $round | $(printf %.1f "$(echo "$frames / $f" | bc -l)") | $(printf %.1f "$(echo "$frames / $o" | bc -l)") | $(printf %.2f "$(echo "$o / $f" | bc -l)") |"$'\n'
done
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M') UTC: a 1280x720 clip through the CLI (tools/video_bench.sh)"
    echo
    echo "$(nproc) cores ($cpu), $(ffmpeg -version | head -1 | cut -d' ' -f1-3). $frames frames of testsrc2 with AAC audio;"
    echo "both write H.264 (libx264 veryfast, CRF 18) with the audio copied. \`silhouette blur --backend cpu\`"
    echo "decodes, segments, smooths, finishes and encodes; FFmpeg only decodes and encodes."
    echo
    echo "| round | FFmpeg alone, frames/s | silhouette blur, frames/s | time ratio, ours / FFmpeg |"
    echo "|---|---|---|---|"
    printf '%s' "$rows"
} | tee -a benches/RESULTS.md
