#!/usr/bin/env bash
# The lookalike similarity benchmark (benches/similarity.py): fletch's exact
# top-N against faiss-cpu's IndexFlatL2 and IVF256,Flat on the same vectors
# and 2 cores. Installs its peer into benches/.venv-similarity and builds the
# release fletch. Flags go to similarity.py.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x benches/.venv-similarity/bin/python ]; then
  python3 -m venv benches/.venv-similarity
fi
stamp=benches/.venv-similarity/.fletch-requirements
if [ "$(cat benches/requirements-similarity.txt)" != "$(cat "$stamp" 2>/dev/null)" ]; then
  benches/.venv-similarity/bin/pip install --quiet --disable-pip-version-check -r benches/requirements-similarity.txt
  cat benches/requirements-similarity.txt > "$stamp"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo build --release --locked -p fletch-cli
benches/.venv-similarity/bin/python benches/similarity.py --fletch "$CARGO_TARGET_DIR/release/fletch" "$@"
