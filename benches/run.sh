#!/usr/bin/env bash
# One command for the benchmarks (benches/README.md): installs PySpark and the
# harness's Python packages into benches/.venv, builds the release fletch and
# runs benches/harness.py with the given flags (--profile quick|full, --reps N, --jobs ...).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/venv.sh
peer_venv .venv requirements.txt
java -version 2>&1 | grep -q 'version "17' || { echo "PySpark 4 needs Java 17 on the PATH" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo build --release --locked -p fletch-cli
exec benches/.venv/bin/python benches/harness.py --fletch "$CARGO_TARGET_DIR/release/fletch" "$@"
