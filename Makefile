# Two commands for a newcomer: `make run` (the suite against the bundled reference
# server) and `make test` (the kit's own tests). Both create .venv on first use.

# Schemathesis' threaded workers crash on Python 3.11.7; prefer 3.12 when present.
PYTHON ?= $(shell command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kesk-conformance run $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check conformance reference_server strategies
	$(BIN)/mypy
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/lint-spec

clean:
	rm -rf $(VENV) node_modules .tox
