# The two commands a newcomer runs (see README):
#   make demo   set up and run the main job on the embedded default (DuckDB, no server)
#   make test   set up everything the tests need and run them
# Everything is installed into .venv from the package registries; nothing else is needed.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test setup setup-dev browser bench bench-accuracy bench-case-page clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# reinstall when the package metadata changes; the demo detects (igraph) and draws (pyvis)
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[graph,viz]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]" hatchling
	touch $(VENV)/.installed $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/graphfraud demo

# The browser tests run the pages in Debian's Chromium with Chinese fonts; installed once
# (as root, or with sudo), skipped when already there. Playwright drives it; it never
# downloads a browser of its own.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then :; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk; \
	fi

test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/ingest_10m.py

bench-accuracy: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/accuracy.py $(ACCURACY_ARGS)

bench-case-page: $(VENV)/.installed-dev browser
	$(BIN)/python benchmarks/case_page.py

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
