#!/usr/bin/env bash
# Installs what the tests need besides Rust: a Python venv (.venv/) with
# moto's S3-compatible server and boto3. Idempotent; quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=tests/requirements.txt
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.fletch-requirements
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
