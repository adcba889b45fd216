# Sourced by the benchmark scripts: `peer_venv VENV REQUIREMENTS` makes the
# virtualenv VENV (under benches/) with REQUIREMENTS installed, installing
# again only when the requirements file changes.
peer_venv() {
  local venv="benches/$1" requirements="benches/$2"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  local stamp="$venv/.fletch-requirements"
  if [ "$(cat "$requirements")" != "$(cat "$stamp" 2>/dev/null)" ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cat "$requirements" > "$stamp"
  fi
}
