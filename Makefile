PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help

$(BIN)/onboard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/onboard

.PHONY: help install demo test lint format bench bench-floor screenshot clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

install: $(BIN)/onboard ## Build .venv with onboard installed (editable) and the dev tools

demo: $(BIN)/onboard ## Import both resellers' sample_data/ into ./onboarding.duckdb; print the summaries
	rm -f onboarding.duckdb onboarding.duckdb.wal
	$(BIN)/onboard import sample_data/ --reference sample_data/reference.toml --db onboarding.duckdb --as-of 2026-11-26
	$(BIN)/onboard import sample_data/acme-telecom/ --reference sample_data/acme-telecom/reference.toml --db onboarding.duckdb --as-of 2026-11-26

test: $(BIN)/onboard ## Run the whole test suite
	$(BIN)/pytest

lint: $(BIN)/onboard ## Check style with ruff and types with mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(BIN)/onboard ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

screenshot: $(BIN)/onboard ## Refresh docs/report.png: a batch report as headless Chromium draws it
	mkdir -p docs
	ONBOARD_REPORT_SCREENSHOT=docs/report.png $(BIN)/pytest -q tests/test_report.py -k browser

clean: ## Remove .venv, caches and the demo database
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis onboarding.duckdb onboarding.duckdb.wal

bench: $(BIN)/onboard ## Benchmark onboard import against DuckDB's raw CSV load (SHAPE=all ROWS=1000000)
	$(BIN)/python bench/run.py --shape $(or $(SHAPE),all) --rows $(or $(ROWS),1000000)

bench-floor: $(BIN)/onboard ## What the import costs without its checks, against the raw load (SHAPE=plain ROWS=1000000)
	$(BIN)/python bench/floor.py --shape $(or $(SHAPE),plain) --rows $(or $(ROWS),1000000)
