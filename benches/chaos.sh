#!/usr/bin/env bash
# The long chaos run (docs/operations.md#clusters-waiting-watching-losing-executors):
# tests/chaos.rs with the release binary, 20 trials per job by default
# (FLETCH_CHAOS_TRIALS), every trial recorded in benches/results/chaos-<date>.json.
# Extra arguments go to the test binary (e.g. --nocapture is already on).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
bash tests/setup.sh >/dev/null
cargo build --release --locked -p fletch-cli
export FLETCH_BIN="$CARGO_TARGET_DIR/release/fletch"
export FLETCH_CHAOS_TRIALS="${FLETCH_CHAOS_TRIALS:-20}"
export FLETCH_CHAOS_JOBS="${FLETCH_CHAOS_JOBS:-lookalike-prepare,taar-lite-guidguid,taar-similarity}"
export FLETCH_CHAOS_REPORT="${FLETCH_CHAOS_REPORT:-$PWD/benches/results/chaos-$(date -u +%Y-%m-%d).json}"
exec cargo test --locked -p fletch-cli --test integration chaos -- --nocapture "$@"
