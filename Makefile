# make run | make test | make lint | make bench | make clean
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
SCALE ?= 0.02
DEMO_DIR ?= data/demo
DB ?= data/yiping.duckdb
PYTEST_ARGS ?=
# Test processes; each module runs whole in one of them, sharing its servers.
TEST_WORKERS ?= 2
BENCH_ARGS ?=

.PHONY: run test lint bench clean install install-dev system-deps

run: install $(DB)
	YIPING_DB=$(DB) $(BIN)/streamlit run app.py

test: install-dev system-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install-dev system-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(DEMO_DIR) data/*.duckdb data/*.duckdb.wal data/*.rejects.csv data/*.building* bench/work test-artifacts

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "python3.11 or python3 is needed" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "could not create $(VENV); on Debian: apt-get install python3-venv" >&2; exit 1; }

# The stamps live inside .venv, so a new venv installs again; a changed requirements file does too.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(PIP) install -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# The demo database, built only when it is missing.
$(DB): | $(VENV)/.installed
	$(BIN)/python -m pipelines demo --out $(DEMO_DIR) --scale $(SCALE)
	$(BIN)/python -m pipelines build --input $(DEMO_DIR) --db $(DB)

# Chromium for the browser tests, CJK fonts for screenshots and exports, pdftoppm for PDF checks,
# a Java runtime for Spark (build --engine spark).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	command -v fc-list >/dev/null 2>&1 || missing="$$missing fontconfig"; \
	fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || missing="$$missing fonts-noto-cjk"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "missing:$$missing; install them as root: apt-get install$$missing" >&2; exit 1; fi; \
	echo "installing:$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y$$missing
