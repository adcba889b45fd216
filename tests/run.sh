#!/usr/bin/env bash
# The test command (README, .ci/run): installs test dependencies, starts the
# test databases, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
# PostgreSQL and MariaDB on loopback for db-import's tests, stopped at the end.
trap 'bash tests/databases.sh stop' EXIT
bash tests/databases.sh start
# Reuse compiled dependencies across runs and clones on this machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo test --workspace --locked
