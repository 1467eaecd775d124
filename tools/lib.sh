# Shared by tools/test.sh and tools/bench.sh (sourced, not run).

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Mesa's lavapipe (software Vulkan) when no Vulkan driver is installed: correct, not fast.
ensure_vulkan() {
    if ! compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null && ! compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null; then
        echo "== installing Mesa's software Vulkan (lavapipe)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
    fi
    # Mesa warns on every device when this is unset (as in containers and CI).
    export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
    # The CLI tests also need Mesa's OpenGL through EGL (a software GL adapter must be refused
    # at once) and strace (it holds a rename open so a kill lands inside it).
    if ! command -v strace >/dev/null || [ ! -e /usr/share/glvnd/egl_vendor.d/50_mesa.json ]; then
        echo "== installing strace and Mesa's OpenGL (EGL)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
    fi
}

# FFmpeg: the CLI reads and writes videos through it (cli/tests/cli_video.rs).
ensure_ffmpeg() {
    if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
        echo "== installing FFmpeg (Debian)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
    fi
}

# GStreamer's development files and base plugins: the element's crate builds against them, its
# tests run pipelines (gst/tests/silhouette.rs).
ensure_gstreamer() {
    if ! pkg-config --exists gstreamer-check-1.0 gstreamer-video-1.0 gstreamer-app-1.0 || ! command -v gst-launch-1.0 >/dev/null \
        || ! gst-inspect-1.0 avdec_h264 >/dev/null 2>&1; then
        echo "== installing GStreamer (development files, base plugins, libav, tools)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgstreamer1.0-dev \
            libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base gstreamer1.0-libav gstreamer1.0-tools >/dev/null
    fi
}

# A virtual environment (target/py) with maturin, to build the wheel, and what its tests use
# (Ray Data runs examples/python/ray_batch.py in local mode).
ensure_python() {
    if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
        echo "== installing Python's venv and pip (Debian)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
    fi
    if [ ! -x target/py/bin/maturin ]; then
        python3 -m venv target/py
        target/py/bin/pip install -q maturin==1.9.6 pillow==13.0.0 numpy==2.4.6 pytest==9.2.0 "ray[data]==2.52.1"
    fi
}

# ONNX Runtime's shared library from the pinned PyPI wheel (the ort crate loads it at run time);
# exports ORT_DYLIB_PATH.
ORT_VERSION=1.31.1
ensure_ort() {
    local dir=target/onnxruntime-$ORT_VERSION
    if ! ls "$dir"/onnxruntime/capi/libonnxruntime.so.* >/dev/null 2>&1; then
        echo "== installing ONNX Runtime $ORT_VERSION (PyPI wheel, for its shared library)"
        python3 -m pip --version >/dev/null 2>&1 || as_root apt-get install -y -qq python3-pip >/dev/null
        python3 -m pip install -q --no-deps --target "$dir" "onnxruntime==$ORT_VERSION"
    fi
    ORT_DYLIB_PATH="$(ls "$PWD/$dir"/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
    export ORT_DYLIB_PATH
}

# MediaPipe's own copy of the network (pip mediapipe==0.10.14's, checked equal to ours by
# tools/mediapipe_model.py), for racing its web runtime; exports MEDIAPIPE_MODEL.
ensure_mediapipe_model() {
    MEDIAPIPE_MODEL=$PWD/target/race/selfie_segmentation.tflite
    if [ ! -f "$MEDIAPIPE_MODEL" ]; then
        echo "== fetching MediaPipe's selfie_segmentation.tflite (pip mediapipe==0.10.14)"
        python3 -m pip --version >/dev/null 2>&1 || as_root apt-get install -y -qq python3-pip >/dev/null
        python3 -m pip install -q --target target/race/pydeps tflite==2.18.0 flatbuffers==25.12.19 numpy==2.4.6
        PYTHONPATH=target/race/pydeps python3 tools/mediapipe_model.py "$MEDIAPIPE_MODEL"
    fi
    export MEDIAPIPE_MODEL
}

# The browser build and tests: the wasm32 target, wasm-bindgen-cli at exactly the crate's version,
# Debian's Chromium + ChromeDriver, and the e2e tests' npm packages (from their lockfile).
ensure_web_toolchain() {
    rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
    local version
    version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
    if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$version" ]; then
        echo "== installing wasm-bindgen-cli $version (matches the wasm-bindgen crate)"
        # Not --locked: its lockfile pins a webpki-roots that some registry mirrors lack.
        cargo install -q wasm-bindgen-cli --version "$version"
    fi
}

ensure_chromium() {
    if [ ! -x /usr/lib/chromium/chromium ] || ! command -v chromedriver >/dev/null; then
        echo "== installing Chromium and ChromeDriver (Debian)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    fi
    ensure_npm_packages
}

# The browser matrix's other engines (examples/web/e2e/engines.mjs): Firefox ESR (WebGPU on
# lavapipe: ensure_vulkan), WebKitGTK's MiniBrowser and WebKitWebDriver (the Safari engine), and
# Xvfb for MiniBrowser's window.
ensure_browsers() {
    ensure_chromium
    if ! command -v firefox-esr >/dev/null || ! command -v WebKitWebDriver >/dev/null || ! command -v Xvfb >/dev/null; then
        echo "== installing Firefox ESR, WebKitGTK's WebDriver and MiniBrowser, Xvfb (Debian)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr webkit2gtk-driver xvfb >/dev/null
    fi
}

# The npm packages of examples/web/e2e (from its lockfile): the e2e tests' browser driver and
# onnxruntime-web, and binaryen's wasm-opt and esbuild for the build.
ensure_npm_packages() {
    if ! command -v npm >/dev/null; then
        echo "== installing Node.js and npm (Debian)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    fi
    if [ ! -x examples/web/e2e/node_modules/.bin/wasm-opt ] || [ ! -x examples/web/e2e/node_modules/.bin/esbuild ] \
        || [ ! -d examples/web/e2e/node_modules/playwright-core ]; then
        (cd examples/web/e2e && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
    fi
}

# The browser package, examples/web/package (npm: silhouette-web): its wasm + JS glue in pkg/,
# fast, then shrunk by wasm-opt; the bundled, minified wrapper and worker beside them; the
# weights' NOTICE.
build_web() {
    ensure_web_toolchain
    # simd128: the CPU engine's GEMM and channel loops run 4 wide (every browser with WebGPU has
    # wasm SIMD; so do Firefox and Safari without it).
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128" \
        cargo build -p silhouette-web --target wasm32-unknown-unknown --profile web
    wasm-bindgen --target web --remove-name-section --remove-producers-section \
        --out-dir examples/web/package/pkg target/wasm32-unknown-unknown/web/silhouette_web.wasm
    # The web profile is opt-level 3 (rustc vectorises loops only at 2 and 3); binaryen then wins
    # back the size (704 -> 674 KB on 2026-12-01) without losing the speed. Only the features
    # the Rust target already uses are enabled, so wasm-opt introduces none.
    ensure_npm_packages
    examples/web/e2e/node_modules/.bin/wasm-opt -O3 --enable-simd --enable-bulk-memory \
        --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
        --enable-multivalue --enable-reference-types \
        examples/web/package/pkg/silhouette_web_bg.wasm -o examples/web/package/pkg/silhouette_web_bg.wasm
    # What ships: the wrapper with wasm-bindgen's glue bundled in and minified (pkg/silhouette.js),
    # and the Worker's the same way (pkg/worker.js); silhouette.js and worker.js beside
    # package.json stay the readable source (they run as they are, e.g. in race.html).
    for entry in silhouette worker; do
        examples/web/e2e/node_modules/.bin/esbuild --bundle --minify --format=esm --log-level=warning \
            --outfile=examples/web/package/pkg/$entry.js examples/web/package/$entry.js
    done
    cp weights/NOTICE examples/web/package/NOTICE
    rm -f examples/web/package/pkg/.gitignore examples/web/package/pkg/package.json
}

# The package as npm ships it: target/web/silhouette-web-VERSION.tgz (after build_web).
pack_web() {
    mkdir -p target/web
    rm -f target/web/silhouette-web-*.tgz
    (cd examples/web/package && npm pack --silent --pack-destination ../../../target/web >/dev/null)
    ls target/web/silhouette-web-*.tgz
}
