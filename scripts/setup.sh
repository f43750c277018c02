#!/usr/bin/env bash
# Sets up everything the platform needs on a fresh Debian machine with Python 3.11: uv (in a private bootstrap
# environment if it is not on PATH) and the locked Python environment in .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  boot="${XDG_CACHE_HOME:-$HOME/.cache}/kvalitetsplatform-bootstrap"
  if [ ! -x "$boot/bin/uv" ]; then
    echo "» Installerer uv i $boot"
    python3.11 -m venv "$boot"
    "$boot/bin/pip" install --quiet uv
  fi
  export PATH="$boot/bin:$PATH"
fi

echo "» Installerer Python-miljøet (.venv) fra uv.lock"
uv sync --frozen --python python3.11 "$@"
