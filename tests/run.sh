#!/usr/bin/env bash
# The test command (README, .ci/run): installs test dependencies, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
# Reuse compiled dependencies across runs and clones on this machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo test --workspace --locked
