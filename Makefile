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

# Until the simulator lands: imports the bundled sample reports (every layout recoup reads)
# into ./recoup-workspace and prints what it holds. Reports that do not name their marketplace
# are imported with the right --marketplace first; the rest of the folder is US.
FIXTURES := tests/data/reports
demo: install
	$(BIN)/recoup --workspace $(WORKSPACE) import --marketplace JP $(FIXTURES)/customer_returns/jp_cp932.tsv
	$(BIN)/recoup --workspace $(WORKSPACE) import --marketplace DE $(FIXTURES)/fee_preview/eu_de.tsv
	$(BIN)/recoup --workspace $(WORKSPACE) import --marketplace US $(FIXTURES)
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
