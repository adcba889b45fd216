#!/usr/bin/env bash
# Installs what the tests need besides Rust: Debian's PostgreSQL and
# MariaDB servers (db-import's sources, started by tests/databases.sh) and
# the OpenSSL headers their Rust drivers build with; then, into a Python venv (.venv/):
# moto's S3 and DynamoDB server and boto3, the TAAR service (mozilla-taar3)
# as the real consumer of taar-* outputs, the ADBC Flight SQL driver with
# pyarrow and pandas (notebook test), kubernetes-validate (deploy/k8s) and
# the tfrecord reader (lookalike TFRecords). Into .venv-tf/: TensorFlow, with
# the lookalike DIN model it serves in the tests (.venv-tf/lookalike-model).
# Idempotent; quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
command -v mariadbd >/dev/null || packages+=(mariadb-server mariadb-client)
dpkg -s libssl-dev >/dev/null 2>&1 || packages+=(libssl-dev)
command -v pkg-config >/dev/null || packages+=(pkg-config)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.fletch-requirements
wanted="$(cat tests/requirements.txt tests/requirements-taar.txt)"
if [ "$wanted" != "$(cat "$stamp" 2>/dev/null)" ]; then
  pip=(.venv/bin/pip install --quiet --disable-pip-version-check)
  "${pip[@]}" -r tests/requirements.txt
  # mozilla-taar3 builds with the venv's setuptools_scm (it needs < 7).
  "${pip[@]}" --no-build-isolation -r tests/requirements-taar.txt
  printf '%s' "$wanted" > "$stamp"
fi
if [ ! -x .venv-tf/bin/python ]; then
  python3 -m venv .venv-tf
fi
stamp=.venv-tf/.fletch-requirements
wanted="$(cat tests/requirements-tf.txt)"
if [ "$wanted" != "$(cat "$stamp" 2>/dev/null)" ]; then
  .venv-tf/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-tf.txt
  printf '%s' "$wanted" > "$stamp"
fi
.venv-tf/bin/python tests/servers/din_model.py .venv-tf/lookalike-model --seed 7
