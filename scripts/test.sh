#!/usr/bin/env bash
# Set up and run the whole test suite. PostgreSQL is expected on 127.0.0.1:5432 (trust auth, database `test`);
# in CI its tests must run, never skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if ! command -v java >/dev/null 2>&1; then
  echo "» Installerer Java (til PySpark-motoren)"
  apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "» Installerer Chromium (til browsertestene)"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

if ! command -v pdftoppm >/dev/null 2>&1; then
  echo "» Installerer poppler-utils (pdftotext og pdftoppm til rapporttestene)"
  apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null
fi

# pytest exits 5 when it collected no tests: that is a failure here, like any non-zero exit.
exec .venv/bin/pytest -n 2 -q "$@"
