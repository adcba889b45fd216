#!/usr/bin/env bash
# One command for the benchmarks (benches/README.md): installs PySpark and the
# harness's Python packages into benches/.venv, builds the release fletch and
# runs benches/harness.py with the given flags (--profile quick|full, --reps N, --jobs ...).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x benches/.venv/bin/python ]; then
  python3 -m venv benches/.venv
fi
stamp=benches/.venv/.fletch-requirements
if [ "$(cat benches/requirements.txt)" != "$(cat "$stamp" 2>/dev/null)" ]; then
  benches/.venv/bin/pip install --quiet --disable-pip-version-check -r benches/requirements.txt
  cat benches/requirements.txt > "$stamp"
fi
java -version 2>&1 | grep -q 'version "17' || { echo "PySpark 4 needs Java 17 on the PATH" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo build --release --locked -p fletch-cli
exec benches/.venv/bin/python benches/harness.py --fletch "$CARGO_TARGET_DIR/release/fletch" "$@"
