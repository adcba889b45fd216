#!/usr/bin/env bash
# The web warehouse benchmark (benches/web.py): access logs against DuckDB and
# apachelogs, db-import from PostgreSQL with 1, 2 and 4 splits. Installs its
# peers into benches/.venv-web, builds the release fletch, starts the test
# databases (tests/databases.sh) and stops them at the end. Flags go to web.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/venv.sh
peer_venv .venv-web requirements-web.txt
bash tests/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo build --release --locked -p fletch-cli
trap 'bash tests/databases.sh stop' EXIT
benches/.venv-web/bin/python benches/web.py --fletch "$CARGO_TARGET_DIR/release/fletch" "$@"
