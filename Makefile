# The two commands a newcomer runs (see README):
#   make demo   set up and run the main job on the embedded default (DuckDB, no server)
#   make test   set up everything the tests need and run them
# Everything is installed into .venv from the package registries; nothing else is needed.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test unit setup setup-dev browser bench bench-accuracy bench-case-page bench-neo4j neo4j-launcher clean

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

# A real Neo4j 5.26 Community for the tests (no Docker needed): Maven resolves it from Maven
# Central into ~/.m2 once and the launcher is compiled into tools/neo4j/target. With NEO4J_URI
# set, the tests use that server instead.
NEO4J_LAUNCHER = tools/neo4j/target/classes/graphfraud/Launcher.class
$(NEO4J_LAUNCHER): tools/neo4j/pom.xml tools/neo4j/src/main/java/graphfraud/Launcher.java
	cd tools/neo4j && mvn -q -B package -DskipTests

neo4j-launcher: $(NEO4J_LAUNCHER)

test: $(VENV)/.installed-dev browser $(if $(NEO4J_URI),,$(NEO4J_LAUNCHER))
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the unit layer only: no Neo4j server, no browser (make test runs both layers)
unit: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/ingest_10m.py

bench-neo4j: $(VENV)/.installed-dev $(NEO4J_LAUNCHER)
	$(BIN)/python benchmarks/neo4j_load.py $(NEO4J_BENCH_ARGS)

bench-accuracy: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/accuracy.py $(ACCURACY_ARGS)

bench-case-page: $(VENV)/.installed-dev browser
	$(BIN)/python benchmarks/case_page.py

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
