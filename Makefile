# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKSPACE ?= recoup-workspace

.PHONY: install demo test lint bench-import golden clean

$(BIN)/recoup: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/recoup

install: $(BIN)/recoup

# Imports the bundled sample reports into ./recoup-workspace and prints what it holds.
demo: install
	$(BIN)/recoup --workspace $(WORKSPACE) import --marketplace US src/recoup/fixtures/demo
	$(BIN)/recoup --workspace $(WORKSPACE) status

test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

# Regenerates the golden canonical rows after an intended change; review the diff.
golden: install
	$(BIN)/python -m tests.golden --regenerate

bench-import: install
	$(BIN)/python bench/import.py

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .mypy_cache .ruff_cache
