#!/usr/bin/env bash
# Scoring throughput of lookalike-scores (benches/scores.py) against the test
# model server (TF Serving's REST API over the real SavedModel that
# tests/setup.sh builds), embedded and on local clusters of 1 and 2
# executors. Flags go to scores.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo build --release --locked -p fletch-cli
python3 benches/scores.py --fletch "$CARGO_TARGET_DIR/release/fletch" "$@"
