#!/usr/bin/env bash
# Idempotent install: creates .venv with Python 3.11 and installs only what is missing.
# Rasa 3.6.21 declares Python <3.11; see requirements/README.md for why the order below works.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false PIP_DISABLE_PIP_VERSION_CHECK=1

PY=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
STAMP="$VENV/.shopbot-install"
want=$(cat requirements/*.txt pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1)

system_packages() {
  # Debian's Chromium drives the browser tests (no browser download is possible here);
  # nginx-light fronts the scale-out topology (`shopbot bench scale-out`, docs/scale-out.md).
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[install] apt-get install ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || echo "[install] WARNING: could not install ${missing[*]}; the tests that need them will be skipped"
  else
    echo "[install] WARNING: ${missing[*]} missing and not root; run: sudo apt-get install ${missing[*]}"
  fi
}

web_assets() {
  # Widget and console assets come from npm and are served locally (no CDN).
  if [ -f web/package.json ] && [ ! -f web/node_modules/.shopbot-ok ]; then
    if command -v npm >/dev/null; then
      echo "[install] npm install (web/)"
      (cd web && npm install --no-audit --no-fund --silent && touch node_modules/.shopbot-ok)
    else
      echo "[install] WARNING: npm missing; the widget cannot be built"
    fi
  fi
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "[install] Python environment up to date ($VENV)"
else
  [ -x "$VENV/bin/python" ] || { echo "[install] creating $VENV"; "$PY" -m venv "$VENV"; }
  pip() { "$VENV/bin/python" -m pip "$@"; }
  pip install -q --upgrade "pip==24.3.1"
  echo "[install] 1/4 Rasa's dependencies"
  pip install -q -r requirements/rasa-deps.txt -c requirements/constraints.txt
  echo "[install] 2/4 rasa 3.6.21 and rasa-sdk 3.6.2 (no deps, Python 3.11)"
  pip install -q --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
  echo "[install] 3/4 ML stack and tools"
  pip install -q -r requirements/app.txt -c requirements/constraints.txt
  echo "[install] 4/4 shopbot (source tree on the path + the shopbot command)"
  # Not `pip install -e .`: Rasa pins packaging 20.9, which current setuptools cannot
  # build metadata with. A .pth file and a console script do the same job.
  site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  pwd > "$site/shopbot-src.pth"
  printf '#!%s\nimport sys\nfrom shopbot.cli import main\nsys.exit(main())\n' \
    "$(cd "$VENV" && pwd)/bin/python" > "$VENV/bin/shopbot"
  chmod +x "$VENV/bin/shopbot"
  echo "$want" > "$STAMP"
fi
system_packages
web_assets
echo "[install] done"
