# registry-tool: `make demo` and `make test` do all the set-up (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: create .venv, install, log a dataset and a model with lineage on the default registry
demo: $(VENV)/.installed
	$(BIN)/python -m registry_tool.demo

## test: install everything the tests need and run the whole suite (slow tests included)
test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

## lint: ruff and mypy (strict) over the package
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check registry_tool tests benchmarks
	$(BIN)/ruff format --check registry_tool
	$(BIN)/mypy
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/zizmor --offline --quiet .github/workflows/

clean:
	rm -rf $(VENV) build dist site .pytest_cache .mypy_cache .ruff_cache
