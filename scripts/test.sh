#!/usr/bin/env bash
# One command for the tests: set up, lint (ruff, notebooks included), run pytest
# (unit tests, scenario determinism, and the demo notebooks executed headless).
#   bash scripts/test.sh [pytest args]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
echo "== ruff"
ruff check .
echo "== pytest"
# one worker per core (pytest-xdist); the slow tests start first, each module stays on one worker
# (tests/conftest.py); SM_NB_TEST_WORKERS=0 runs everything in this process
python -m pytest -n "${SM_NB_TEST_WORKERS:-auto}" --dist loadgroup --no-loadscope-reorder "$@"
