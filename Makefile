# cchc — make help lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed

PERIOD ?= 2023-08
CONFIG_DIR ?= $(CURDIR)/scenarios/seed
OUTPUT_DIR ?= $(CURDIR)/output

# The embedded defaults: everything lives in ignored folders of the repository.
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__CORE__DEFAULT_TIMEZONE := Asia/Ho_Chi_Minh
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT := 120
export NO_COLOR := 1
export CCHC_CONFIG_DIR ?= $(CONFIG_DIR)
export CCHC_OUTPUT_DIR ?= $(OUTPUT_DIR)

.PHONY: help install system-deps requirements check-requirements lint test test-long test-fast bench demo run airflow screenshots clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync -q --python $(BIN)/python requirements.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP) system-deps ## create .venv with the pinned requirements and the cchc package (editable)

system-deps: ## install the Debian packages the project needs when missing (LibreOffice, fonts, poppler, docker-compose)
	@scripts/system-deps.sh

requirements: $(STAMP) ## recompile requirements.txt from requirements.in (keeps existing pins where possible)
	$(BIN)/uv pip compile -q --python-version 3.11 requirements.in -o requirements.txt

check-requirements: $(STAMP) ## fail when requirements.txt does not match requirements.in
	@tmp=$$(mktemp -d) && cp requirements.txt $$tmp/requirements.txt && \
	$(BIN)/uv pip compile -q --python-version 3.11 requirements.in -o $$tmp/requirements.txt 2>/dev/null && \
	if ! diff -q <(grep -v '^#' requirements.txt) <(grep -v '^#' $$tmp/requirements.txt) >/dev/null; then \
	  diff <(grep -v '^#' requirements.txt) <(grep -v '^#' $$tmp/requirements.txt); \
	  echo "requirements.txt lệch với requirements.in: chạy 'make requirements'"; rm -rf $$tmp; exit 1; \
	fi; rm -rf $$tmp; echo "requirements.txt khớp requirements.in"

lint: $(STAMP) ## ruff (lint and format) over the package, the DAGs and the tests; mypy over include/cchc
	$(BIN)/ruff check include dags plugins tests scenarios bench
	$(BIN)/ruff format --check include dags plugins tests scenarios bench
	$(BIN)/mypy

test: install check-requirements lint ## install what is needed and run the test suite (all but the long suites)
	$(BIN)/pytest -q -m "not long"

test-long: install ## the long suites: a whole make airflow session with the real browser, a whole make run
	$(BIN)/pytest -q -m long

# The markers are declared in pyproject.toml; tests/support/fixtures.py gives most of them by fixture.
FAST_TESTS := not airflow and not postgres and not libreoffice and not slow

# Bytecode is cached even where the shell sets PYTHONDONTWRITEBYTECODE: compiling the ~1,300 modules a
# run imports costs some 10 s of CPU each time, a third of the loop (__pycache__ is ignored by git).
test-fast: $(STAMP) ## the inner loop: the unit tests needing no Airflow, PostgreSQL, LibreOffice or other slow part
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -m "$(FAST_TESTS)"

bench: install ## speed as ratios, side by side in one run (extraction, rates in SQL, sending, PDF rendering)
	$(BIN)/python bench/run.py

demo: ## run the monthly job for the seed month (August 2023, Tứ Kỳ) on embedded defaults
	$(MAKE) run PERIOD=2023-08 CONFIG_DIR=$(CURDIR)/scenarios/seed

run: install ## run the DAGs for PERIOD=YYYY-MM on CONFIG_DIR=DIR [OUTPUT_DIR=DIR] in Airflow
	$(BIN)/python -m cchc.pipeline.localrun --period $(PERIOD) --config-dir $(CONFIG_DIR) --output-dir $(OUTPUT_DIR)

airflow: install ## airflow standalone on the same configuration (UI on http://127.0.0.1:8080 or AIRFLOW__API__PORT), with the simulator and a mail sink
	@scripts/airflow-standalone.sh

# The README's pictures: the browser test against make airflow (some 5 minutes), copies in docs/screenshots/.
screenshots: install ## regenerate docs/screenshots/ (the operator guide's pictures) with the real-browser test
	CCHC_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/test_ui_browser.py

clean: ## remove the embedded Airflow home, outputs and caches (keeps .venv)
	rm -rf .airflow .airflow-test output .pytest_cache .ruff_cache
