#!/usr/bin/env bash
# The demo: set up, synthesise a demo population (one cluster, ~20,000 patients), ingest and compute it, and serve
# the platform on http://127.0.0.1:8000 with a demo user for every role.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KP_HOME="${KP_HOME:-$PWD/.kp}"
kp() { .venv/bin/kp "$@"; }

echo "» Data og hemmeligheder (udviklingstilstand) ligger i $KP_HOME"
rm -rf "$KP_HOME/demo-deliveries"
kp synth --scale demo --seed 1 --out "$KP_HOME/demo-deliveries"
kp ingest "$KP_HOME/demo-deliveries"
kp deliveries
kp compute
# every practice's views protected once now, so no page waits for the disclosure audit (about a minute)
kp users sync-orgs
kp protect

# The platform on http://127.0.0.1:8000 with a demo user for every role (printed), until Ctrl+C; it protects the
# demo users' own views in the background.
exec .venv/bin/kp serve --demo --host 127.0.0.1 --port 8000
