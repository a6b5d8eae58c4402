#!/usr/bin/env bash
# One command for the main job: set up, generate the demo scenario, execute every notebook
# headless into output/demo (git-ignored), and print where the results are.
#   bash scripts/demo.sh [--config demo] [--seed 0] [--output output/demo]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
CONFIG=demo; SEED=0; OUTPUT="$ROOT/output/demo"
while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG="$2"; shift 2;;
    --seed) SEED="$2"; shift 2;;
    --output) OUTPUT="$2"; shift 2;;
    *) echo "unknown argument $1; expected --config, --seed or --output" >&2; exit 2;;
  esac
done
sm-nb scenario --config "$CONFIG" --seed "$SEED"
sm-nb run --config "$CONFIG" --seed "$SEED" --output "$OUTPUT"
