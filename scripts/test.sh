#!/usr/bin/env bash
# The test command (`make test`, `.ci/run`): Rasa conversation tests, then pytest (not `slow`).
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
status=0
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
