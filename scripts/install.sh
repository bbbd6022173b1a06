#!/usr/bin/env bash
# Idempotent install: creates .venv with Python 3.11 and installs only what is missing.
# Rasa 3.6.21 declares Python <3.11; see requirements/README.md for why the order below works.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false PIP_DISABLE_PIP_VERSION_CHECK=1

PY=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
STAMP="$VENV/.shopbot-install"

# Where packages come from, explicitly: pip runs with --isolated, so no pip.conf and no
# PIP_* variable of this machine changes what gets installed (HTTPS_PROXY still applies).
#   SHOPBOT_TORCH=cpu (default) | cuda   which torch build (docs: requirements/README.md)
#   SHOPBOT_PIP_INDEX_URL                the package index (default: PyPI)
#   SHOPBOT_TORCH_INDEX_URL              where torch comes from (default: PyTorch's CPU
#                                        index for cpu, the package index for cuda)
#   SHOPBOT_PIP_FIND_LINKS               a folder of wheels to use as well (offline mirrors)
#   SHOPBOT_PIP_ISOLATED=0               let pip read its configuration after all
#   SHOPBOT_SYSTEM_PACKAGES=0            no apt-get (chromium, nginx-light)
TORCH_VERSION=$(sed -n 's/^torch==//p' requirements/constraints.txt)
SHOPBOT_TORCH=${SHOPBOT_TORCH:-cpu}
INDEX_URL=${SHOPBOT_PIP_INDEX_URL:-https://pypi.org/simple}
case "$SHOPBOT_TORCH" in
  cpu)  TORCH_INDEX=${SHOPBOT_TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
        TORCH_SPEC="torch==$TORCH_VERSION+cpu" ;;
  # PyPI's Linux torch wheel is the CUDA build (it pulls the nvidia-* runtime wheels);
  # for another CUDA version set SHOPBOT_TORCH_INDEX_URL=https://download.pytorch.org/whl/cuXXX.
  cuda) TORCH_INDEX=${SHOPBOT_TORCH_INDEX_URL:-$INDEX_URL}
        TORCH_SPEC="torch==$TORCH_VERSION" ;;
  *) echo "[install] SHOPBOT_TORCH must be cpu or cuda (got '$SHOPBOT_TORCH')" >&2; exit 2 ;;
esac
PIP_SOURCES=(--index-url "$INDEX_URL")
[ -n "${SHOPBOT_PIP_FIND_LINKS:-}" ] && PIP_SOURCES+=(--find-links "$SHOPBOT_PIP_FIND_LINKS")
PIP_GLOBAL=(--isolated --disable-pip-version-check)
[ "${SHOPBOT_PIP_ISOLATED:-1}" = 0 ] && PIP_GLOBAL=()

want=$( (cat requirements/*.txt pyproject.toml scripts/install.sh; echo "$SHOPBOT_TORCH $TORCH_INDEX") \
  | sha256sum | cut -d' ' -f1)

system_packages() {
  # Debian's Chromium drives the browser tests (no browser download is possible here);
  # nginx-light fronts the scale-out topology (`shopbot bench scale-out`, docs/scale-out.md).
  # SHOPBOT_SYSTEM_PACKAGES=0 skips them (docker images, machines managed otherwise).
  [ "${SHOPBOT_SYSTEM_PACKAGES:-1}" = 0 ] && return 0
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

torch_build() {
  # "cpu", "cuda" or "" (not installed); read from the installed package's metadata.
  "$VENV/bin/python" - "$TORCH_VERSION" <<'PY' 2>/dev/null || true
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    v = version("torch")
except PackageNotFoundError:
    sys.exit(0)
base, _, local = v.partition("+")
if base == sys.argv[1]:
    print("cpu" if local == "cpu" else "cuda")
PY
}

index_reachable() {
  # A file:// index or a folder is always "reachable"; an https index answers within 15 s.
  case "$1" in http://*|https://*) ;; *) return 0 ;; esac
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=15).read(1)
PY
}

install_torch() {
  local have
  have=$(torch_build)
  if [ "$have" = "$SHOPBOT_TORCH" ]; then
    echo "[install] torch $TORCH_VERSION ($have) already installed"
    return 0
  fi
  # The other build of the same version counts as installed for pip: remove it first.
  [ -n "$have" ] && pip uninstall -q -y torch
  if index_reachable "$TORCH_INDEX"; then
    # The torch index first, the package index for torch's own dependencies; the exact
    # version (+cpu for the CPU build) keeps pip from taking PyPI's CUDA wheel instead.
    pip install -q --index-url "$TORCH_INDEX" --extra-index-url "$INDEX_URL" \
      ${SHOPBOT_PIP_FIND_LINKS:+--find-links "$SHOPBOT_PIP_FIND_LINKS"} \
      "$TORCH_SPEC" -c requirements/constraints.txt
  else
    # No route to the torch index (an offline mirror, a firewall): say so, then try this
    # machine's own pip configuration (a local wheel folder or mirror, if it has one).
    echo "[install] WARNING: $TORCH_INDEX cannot be reached; trying $TORCH_SPEC with this" \
      "machine's pip configuration (set SHOPBOT_TORCH_INDEX_URL or SHOPBOT_PIP_FIND_LINKS to choose)"
    "$VENV/bin/python" -m pip install -q "$TORCH_SPEC" -c requirements/constraints.txt || {
      echo "[install] torch could not be installed: set SHOPBOT_TORCH_INDEX_URL (a reachable" \
        "index) or SHOPBOT_PIP_FIND_LINKS (a folder holding the $TORCH_SPEC wheel)" >&2
      exit 1
    }
  fi
  have=$(torch_build)
  if [ "$have" != "$SHOPBOT_TORCH" ]; then
    echo "[install] torch is '${have:-missing}', wanted the $SHOPBOT_TORCH build of $TORCH_VERSION" >&2
    exit 1
  fi
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "[install] Python environment up to date ($VENV)"
else
  if [ ! -x "$VENV/bin/python" ]; then
    command -v "$PY" >/dev/null || { echo "[install] $PY not found: sudo apt-get install python3.11 python3.11-venv" >&2; exit 1; }
    echo "[install] creating $VENV"
    "$PY" -m venv "$VENV" || { echo "[install] venv failed: sudo apt-get install python3.11-venv" >&2; exit 1; }
  fi
  pip() { "$VENV/bin/python" -m pip "${PIP_GLOBAL[@]}" "$@"; }
  pip install -q "${PIP_SOURCES[@]}" --upgrade "pip==24.3.1"
  echo "[install] 1/5 Rasa's dependencies"
  pip install -q "${PIP_SOURCES[@]}" -r requirements/rasa-deps.txt -c requirements/constraints.txt
  echo "[install] 2/5 rasa 3.6.21 and rasa-sdk 3.6.2 (no deps, Python 3.11)"
  pip install -q "${PIP_SOURCES[@]}" --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
  echo "[install] 3/5 torch $TORCH_VERSION ($SHOPBOT_TORCH build)"
  install_torch
  echo "[install] 4/5 ML stack and tools"
  pip install -q "${PIP_SOURCES[@]}" -r requirements/app.txt -c requirements/constraints.txt
  echo "[install] 5/5 shopbot (source tree on the path + the shopbot command)"
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
