#!/usr/bin/env bash
# Frames per second of a 1280x720 clip through `silhouette blur` on the CPU engine, beside
# FFmpeg's own decode and encode of the same clip with the same codec settings (what the
# pipes cost us is in the ratio); and through the GStreamer element, beside the same pipeline
# without it. Alternated, twice each; appends a table to benches/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh
ensure_ffmpeg
ensure_gstreamer
cargo build -q --release -p silhouette-cli -p gst-plugin-silhouette
export GST_PLUGIN_PATH="$PWD/target/release"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
frames=300
ffmpeg -v error -nostdin -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 \
    -frames:v $frames -t 10 -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac "$dir/clip.mp4"
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
ffmpeg_run() { ffmpeg -v error -nostdin -y -i "$dir/clip.mp4" -c:v libx264 -preset veryfast -crf 18 \
    -pix_fmt yuv420p -c:a copy "$dir/ffmpeg.mp4"; }
ours_run() { rm -f "$dir/ours.mp4"; target/release/silhouette blur "$dir/clip.mp4" -o "$dir/ours.mp4" --backend cpu; }
decode="filesrc location=$dir/clip.mp4 ! qtdemux ! avdec_h264 ! videoconvert ! video/x-raw,format=BGRx"
gst_run() { gst-launch-1.0 -q $decode ! fakesink sync=false; }
element_run() { gst-launch-1.0 -q $decode ! silhouette mode=blur backend=cpu ! fakesink sync=false; }
fps() { printf %.1f "$(echo "$frames / $1" | bc -l)"; }
rows=""
for round in 1 2; do
    f=$(seconds ffmpeg_run); o=$(seconds ours_run); g=$(seconds gst_run); e=$(seconds element_run)
    rows+="| $round | $(fps "$f") | $(fps "$o") | $(printf %.2f "$(echo "$o / $f" | bc -l)") | $(fps "$g") | $(fps "$e") | $(printf %.2f "$(echo "$e / $g" | bc -l)") |"$'\n'
done
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M') UTC: a 1280x720 clip through the CLI and the GStreamer element (tools/video_bench.sh)"
    echo
    echo "$(nproc) cores ($cpu), $(ffmpeg -version | head -1 | cut -d' ' -f1-3). $frames frames of testsrc2 with AAC audio;"
    echo "both write H.264 (libx264 veryfast, CRF 18) with the audio copied. \`silhouette blur --backend cpu\`"
    echo "decodes, segments, smooths, finishes and encodes; FFmpeg only decodes and encodes. GStreamer:"
    echo "\`qtdemux ! avdec_h264 ! videoconvert ! BGRx [! silhouette mode=blur backend=cpu] ! fakesink\`."
    echo
    echo "| round | FFmpeg alone, frames/s | silhouette blur, frames/s | time ratio, CLI / FFmpeg | GStreamer decode, frames/s | with the element, frames/s | time ratio |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s' "$rows"
} | tee -a benches/RESULTS.md
