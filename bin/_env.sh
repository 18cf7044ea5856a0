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

# nginx, for the gateway of a lifted topology (LIFTED=notifications bin/shop): Debian's package, installed
# when missing. bin/shop runs it in the foreground on the ports it is given (tools/gateway.py), never as a
# system service. (On a machine with systemd, Debian's package also enables its own nginx on port 80, which
# bin/shop does not use: `sudo systemctl disable --now nginx` if you do not want it.)
ensure_nginx() {
  if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    return
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bin/shop: the gateway needs nginx; install it with your system's package manager" >&2
    exit 1
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "bin/shop: the gateway needs nginx: apt-get install -y nginx (as root)" >&2
      exit 1
    fi
    sudo="sudo"
  fi
  echo "==> installing nginx (Debian's package) for the gateway"
  $sudo apt-get install -y nginx || { $sudo apt-get update && $sudo apt-get install -y nginx; }
}

# promtool, for bin/check-rules (the Prometheus rules of deploy/prometheus/, docs/slo.md): Debian's
# `prometheus` package, installed when missing; only its promtool is used. (On a machine with systemd,
# the package also enables a Prometheus server on port 9090: `sudo systemctl disable --now prometheus`
# if you do not want it.) PROMTOOL names a binary of your own instead, and then nothing is installed.
# Sets PROMTOOL; returns 1 when there is none to be had.
ensure_promtool() {
  if [ -n "${PROMTOOL:-}" ]; then
    [ -x "$PROMTOOL" ]
    return
  fi
  if ! command -v promtool >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || return 1
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null 2>&1 || return 1
      sudo="sudo"
    fi
    echo "==> installing promtool (Debian's prometheus package) for the Prometheus rules' checks"
    $sudo apt-get install -y -qq prometheus >/dev/null ||
      { $sudo apt-get update -qq && $sudo apt-get install -y -qq prometheus >/dev/null; } || return 1
  fi
  PROMTOOL="$(command -v promtool)"
}
