# Shared set-up: create .venv with Python >= 3.11 and install sm_nb with its test extras.
# Sourced by demo.sh and test.sh; idempotent (re-installs only when pyproject.toml changed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SM_NB_VENV:-$ROOT/.venv}"
PY=""
for cand in python3.11 python3.12 python3.13 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then
    PY="$cand"; break
  fi
done
if [ -z "$PY" ]; then
  echo "sm_nb needs Python >= 3.11; none found on PATH" >&2; exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating virtual environment $VENV ($($PY --version))"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.sm_nb-installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "== installing sm_nb and its dependencies into $VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
