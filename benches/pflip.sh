#!/usr/bin/env bash
# The pflip plus benchmark (benches/pflip.py): fletch's pflip-features,
# -train and -predict against the same pipeline in pandas and scikit-learn
# (benches/pflip_pandas.py) on one generated download and 2 cores. Installs
# the peer into benches/.venv-pflip and builds the release fletch. Flags go
# to pflip.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/venv.sh
peer_venv .venv-pflip requirements-pflip.txt
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fletch/target}"
cargo build --release --locked -p fletch-cli
benches/.venv-pflip/bin/python benches/pflip.py --fletch "$CARGO_TARGET_DIR/release/fletch" "$@"
