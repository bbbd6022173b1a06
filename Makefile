# shopbot developer commands. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SHOPBOT := $(VENV)/bin/shopbot
PYTEST := $(VENV)/bin/pytest
export RASA_TELEMETRY_ENABLED := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONUNBUFFERED := 1

.DEFAULT_GOAL := help
.PHONY: help install demo data generator rasa-model run test test-fast test-conversations test-slow lint format bench clean
.PHONY: bench-conversations bench-desk bench-turns

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

install: ## create .venv and install only what is missing (Rasa 3.6 on Python 3.11, torch CPU, chromium, npm assets)
	@bash scripts/install.sh

data: install ## build the demo shop (database + search indexes) unless it exists
	@if [ -f data/shop.db ]; then echo "[demo] knowledge base exists (data/shop.db); rebuild: $(SHOPBOT) knowledge demo --force"; \
	 else $(SHOPBOT) knowledge demo; fi

generator: install data ## train the T5 generator now unless a trained one exists (`make demo` trains it in the background)
	@if [ -f models/artifacts/generator/metrics.json ]; then echo "[demo] generator trained (models/artifacts/generator)"; \
	 else $(SHOPBOT) generator train; fi

rasa-model: install ## train the Rasa model when its data changed (Rasa skips an unchanged model)
	@cd bot && RASA_CACHE_DIRECTORY=../.rasa/cache ../$(VENV)/bin/rasa train

demo: install data rasa-model ## install, build the demo shop, train Rasa, start everything (the generator trains in the background; templates until then)
	@SHOPBOT_DEMO_MODE=1 $(SHOPBOT) run all

run: ## start every service (no install, no training)
	@$(SHOPBOT) run all

test: install ## install what is missing, lint (ruff, mypy), then run every test except the `slow` ones (the CI command)
	@bash scripts/test.sh

test-slow: install ## run the long checks (full trainings, long browser journeys)
	@$(PYTEST) -m slow -q

lint: install ## ruff (lint + format check) and mypy
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

format: install ## apply ruff's formatting and safe fixes
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: install data ## run every benchmark; figures are printed and written to bench-results/
	@$(SHOPBOT) bench retrieval
	@$(SHOPBOT) bench nlu
	@$(SHOPBOT) bench generator
	@$(SHOPBOT) bench console

bench-conversations: install ## scripted multi-turn conversations against real servers (bot/eval/heldout/conversations.yml)
	@$(SHOPBOT) bench conversations

bench-desk: install ## the support desk's conversations (payments, item changes, exchanges, account; bot/eval/desk/)
	@$(SHOPBOT) bench conversations --suite desk --out bench-results/desk.json

bench-turns: install ## whole turns: the full stack vs a plain rasa init bot (table, ratios, bench-results/turns.png)
	@$(SHOPBOT) bench turns

clean: ## remove built data, trained models and caches (keeps .venv)
	rm -rf data models/artifacts bot/models bot/results bench-results test-artifacts .pytest_cache
