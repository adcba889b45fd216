#!/usr/bin/env bash
# The lookalike similarity benchmark (benches/similarity.py): fletch's exact
# top-N against faiss-cpu's IndexFlatL2 and IVF256,Flat on the same vectors
# and 2 cores. Installs its peer into benches/.venv-similarity and builds the
# release fletch. Flags go to similarity.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/venv.sh
peer_venv .venv-similarity requirements-similarity.txt
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo build --release --locked -p fletch-cli
benches/.venv-similarity/bin/python benches/similarity.py --fletch "$CARGO_TARGET_DIR/release/fletch" "$@"
