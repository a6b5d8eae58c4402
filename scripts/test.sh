#!/usr/bin/env bash
# One command for the tests: set up, lint (ruff, notebooks included), run pytest
# (unit tests, scenario determinism, and the demo notebooks executed headless).
#   bash scripts/test.sh [pytest args]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
echo "== ruff"
ruff check .
echo "== pytest"
python -m pytest "$@"
