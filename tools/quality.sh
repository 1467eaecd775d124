#!/usr/bin/env bash
# The quality benchmark: halos, edges and stability of the finish on scenes whose truth is known
# (examples/quality/, every measure defined in examples/quality/README.md). Prints markdown
# tables and appends them to benches/RESULTS.md. CPU only; a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --example quality -- --append
