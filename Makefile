# Two commands for a newcomer: `make run` (the suite against the bundled reference
# server) and `make test` (the kit's own tests). Both create .venv on first use.

# Schemathesis' threaded workers crash on Python 3.11.7: prefer 3.12, then 3.13, then any python3 >= 3.11.
# pyenv keeps versions under $(pyenv root)/versions even when its shims do not enable them, so those are
# tried too; each candidate is run, not just looked up.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON ?= $(shell for p in python3.12 $(PYENV_ROOT)/versions/3.12*/bin/python3.12 python3.13 \
	$(PYENV_ROOT)/versions/3.13*/bin/python3.13 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python 3.11+ found; install one or pass PYTHON=/path/to/python3" >&2; exit 2; }
	@echo "make: creating $(VENV) with $(PYTHON) ($$($(PYTHON) -c 'import platform; print(platform.python_version())'))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev,docs]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kesk-conformance run $(ARGS)

test: $(STAMP)
	HYPOTHESIS_STORAGE_DIRECTORY=$(CURDIR)/reports/.hypothesis $(BIN)/python -m pytest -n 2 --maxschedchunk 1 $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check conformance reference_server strategies selftest bench
	$(BIN)/mypy
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/lint-spec

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) node_modules .tox site
