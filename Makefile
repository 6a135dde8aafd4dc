# registry-tool: `make demo` and `make test` do all the set-up (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test soak lint system-deps clean mutate screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: create .venv, install, log a dataset and a model with lineage, link, promote, build the site
demo: $(VENV)/.installed
	@command -v dot >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz; }
	$(BIN)/python -m registry_tool.demo

## system-deps: Debian's graphviz (dot) and chromium, for the site and its browser tests
system-deps:
	@command -v dot >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz; }
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; }

## test: install everything the tests need and run the whole suite (slow tests included)
test: $(VENV)/.dev-installed system-deps
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

## screenshots: build the showcase site and write a PNG of every page kind at a desktop and a
## phone width, light and dark, into test-artifacts/screenshots/ (outside git, to look at)
screenshots: $(VENV)/.dev-installed system-deps
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/site_screenshots.py

## soak: full-count concurrency and crash tests (8 writers x 25 logs, 50 SIGKILLed logs), figures printed
soak: $(VENV)/.dev-installed
	REGISTRY_TOOL_SOAK=1 $(BIN)/python -m pytest -n 2 -rP $(PYTEST_ARGS) tests/test_soak.py

## lint: ruff and mypy (strict) over the package
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check registry_tool tests benchmarks
	$(BIN)/ruff format --check registry_tool
	$(BIN)/mypy
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/zizmor --offline --quiet .github/workflows/

## mutate: mutation testing of the governance code (gates, names, check, promotion) and hashing, with
## each module's score; fails when one scores below 90% (mutate/score.py)
# Each mutant is a pytest run of its own: their temporary repos go to memory when there
# is a /dev/shm, and apart from other test runs (pytest prunes older runs' folders).
# A mutant may loop or walk the whole disk (a scandir(None) once grew to 22 GB): each
# run is capped at 8 GB of memory and 1 GB per file it writes.
MUTATE_TMP ?= $(if $(wildcard /dev/shm),/dev/shm,$(or $(TMPDIR),/tmp))/registry-tool-mutate
mutate: $(VENV)/.dev-installed
	rm -rf mutants $(MUTATE_TMP)
	mkdir -p $(MUTATE_TMP)
	ulimit -v 8000000; ulimit -f 1000000; \
	PATH="$(CURDIR)/$(BIN):$$PATH" PYTEST_DEBUG_TEMPROOT=$(MUTATE_TMP) $(BIN)/mutmut run --max-children 2
	rm -rf $(MUTATE_TMP)
	$(BIN)/python mutate/score.py

clean:
	rm -rf $(VENV) build dist site .pytest_cache .mypy_cache .ruff_cache
