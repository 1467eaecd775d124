#!/usr/bin/env bash
# Regenerates the README's pictures from the bundled photo with the CLI itself.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh
ensure_vulkan
cargo build --release --examples --bin silhouette
bin=target/release/silhouette
photo=examples/photos/grace_hopper.jpg
$bin cut "$photo" -o docs/images/cut.png
$bin blur "$photo" -o docs/images/blur.jpg --radius 8
$bin replace "$photo" -o docs/images/replace.jpg --color '#2e7d32'
$bin mask "$photo" -o docs/images/mask.png
target/release/examples/refine_compare "$photo" 130 170 120 docs/images/refine.png
target/release/examples/quality --pictures docs/images
ls -l docs/images
