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
# Byte-compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on CI machines) every `kp` command would
# otherwise compile Ibis, pandas and SciPy from source at each start (seconds per command).
uv sync --frozen --python python3.11 --compile-bytecode "$@"
.venv/bin/python -m compileall -q src >/dev/null

# The browser libraries the web platform serves itself (htmx 2.0.x, Vega, Vega-Lite, vega-embed; no CDN at run time),
# pinned in src/kvalitetsplatform/web/assets/package-lock.json.
assets=src/kvalitetsplatform/web/assets
if [ ! "$assets/node_modules/.package-lock.json" -nt "$assets/package-lock.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "» Installerer npm"
    apt-get update -qq && apt-get install -y -qq npm >/dev/null
  fi
  echo "» Installerer webbibliotekerne (htmx, Vega) fra package-lock.json"
  npm ci --prefix "$assets" --no-audit --no-fund --loglevel=error
fi
