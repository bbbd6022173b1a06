#!/usr/bin/env bash
# Conversation tests: train the Rasa model if bot/ changed (cached by fingerprint in
# bot/models/), then run every test story in bot/tests/ and fail on any wrong prediction.
# Usage: scripts/rasa_test.sh   (results in bot/results/)
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONWARNINGS=ignore SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2
VENV=${VENV:-.venv}
model=$("$VENV/bin/python" -m tests.support.servers model | tail -n 1)
echo "[rasa-test] model: $model"
cd bot
# `rasa test core` on the conversation tests only (a bare `rasa test` also evaluates the NLU
# on its own training data, which `shopbot bench nlu` does on held-out data instead).
"../$VENV/bin/rasa" test core --model "$model" --stories tests --fail-on-prediction-errors
echo "[rasa-test] all conversation tests passed"
