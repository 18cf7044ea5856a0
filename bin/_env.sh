# Shared by bin/shop and bin/test: a virtualenv in .venv with exactly the versions CI tested.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
    echo "==> installing dependencies (pinned by requirements.lock)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -c requirements.lock -e ".[dev]"
    touch "$stamp"
  fi
}

migrate_all() {
  "$VENV/bin/python" manage.py migrate_all
}

# The superuser named by ADMIN_EMAIL with ADMIN_PASSWORD, when both are set (manage.py
# ensure_superuser: an existing account is never changed, and the console says when ADMIN_PASSWORD
# was not applied to it). Any failure stops the run command with the reason.
ensure_superuser() {
  if [ -n "${ADMIN_EMAIL:-}" ] && [ -n "${ADMIN_PASSWORD:-}" ]; then
    "$VENV/bin/python" manage.py ensure_superuser
  fi
}
