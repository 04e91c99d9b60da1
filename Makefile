# The two commands a newcomer runs (see README):
#   make demo   set up and run the main job on the embedded default (DuckDB, no server)
#   make test   set up everything the tests need and run them
# Everything is installed into .venv from the package registries; nothing else is needed.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test setup setup-dev bench bench-accuracy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# reinstall when the package metadata changes
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]" hatchling
	touch $(VENV)/.installed $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/graphfraud demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/ingest_10m.py

bench-accuracy: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/accuracy.py $(ACCURACY_ARGS)

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
