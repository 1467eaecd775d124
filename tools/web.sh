#!/usr/bin/env bash
# Builds the browser package into examples/web/pkg. With `serve`, then serves the demo page at
# http://127.0.0.1:8080/ (any static file server will do: the page only needs its own files).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh
build_web
ls -l examples/web/pkg/*.wasm examples/web/pkg/*.js
if [ "${1:-}" = "serve" ]; then
    echo "== serving examples/web at http://127.0.0.1:8080/"
    exec python3 -m http.server 8080 --bind 127.0.0.1 --directory examples/web
fi
