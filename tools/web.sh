#!/usr/bin/env bash
# Builds the browser package (examples/web/package, packed into target/web/), then:
#   tools/web.sh serve   serves the demo at http://127.0.0.1:8080/ (any static server will do)
#   tools/web.sh race    races it against onnxruntime-web in headless Chromium, and on the CPU
#                        alternates it with ORT's wasm and with MediaPipe's web runtime
#                        (tasks-vision, XNNPACK); prints the table and appends it to
#                        benches/RESULTS.md (RACE_FRAMES=30 by default)
#   tools/web.sh calls   a 1280x720 camera through startEffect in every browser engine (Chromium,
#                        Firefox ESR, WebKitGTK; CALLS=chromium,... for some): frames/s, ms per
#                        frame by stage, main-thread and CPU time; appended to benches/RESULTS.md;
#                        raced in Chromium against MediaPipe's web runtime (tasks-vision, CPU
#                        and GPU delegates) on the same network
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh
build_web
pack_web
ls -l examples/web/package/pkg/*.wasm examples/web/package/pkg/*.js
case "${1:-}" in
    serve)
        echo "== serving examples/web at http://127.0.0.1:8080/"
        exec python3 -m http.server 8080 --bind 127.0.0.1 --directory examples/web ;;
    race)
        ensure_chromium
        ensure_mediapipe_model
        cd examples/web/e2e && exec node race.mjs ;;
    calls)
        ensure_vulkan
        ensure_browsers
        ensure_mediapipe_model
        cd examples/web/e2e && exec node calls.mjs ;;
esac
