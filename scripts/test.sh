#!/usr/bin/env bash
# The test command (`make test`, `.ci/run`): lint (ruff, ruff format, mypy), Rasa conversation
# tests, then pytest (not `slow`). A lint failure fails the run; the tests still run after it,
# so one run reports everything.
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
status=0
echo "== ruff check =="
.venv/bin/ruff check . || status=1
echo "== ruff format --check =="
.venv/bin/ruff format --check . || status=1
echo "== mypy =="
.venv/bin/mypy || status=1
[ $status -ne 0 ] && echo "lint failed (the tests run anyway; the run fails)"
if [ -x scripts/rasa_test.sh ] && [ -d bot/data ]; then
  echo "== Rasa conversation tests (bot/tests) =="
  bash scripts/rasa_test.sh || status=1
fi
echo "== pytest (not slow) =="
.venv/bin/pytest -m "not slow" -q -p no:cacheprovider "$@"
rc=$?
# pytest exits 5 when it collects nothing: that is a failure of the suite, not a pass.
[ $rc -eq 5 ] && { echo "pytest collected no tests"; rc=1; }
[ $rc -ne 0 ] && status=$rc
exit $status
