# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKSPACE ?= recoup-workspace

.PHONY: install demo serve fixtures test test-fast lint bench-import bench-simulate bench-audit bench-claims bench-web bench-sync golden clean

$(BIN)/recoup: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,spark,spapi]'
	touch $(BIN)/recoup

install: $(BIN)/recoup

# A simulated seller account (14 months, US), imported into ./recoup-workspace, with what it is
# owed. `make fixtures` imports the bundled sample reports of every layout instead.
demo: install
	$(BIN)/recoup --workspace $(WORKSPACE) demo

# The dashboard on that workspace: http://127.0.0.1:8000/
serve: install
	$(BIN)/recoup --workspace $(WORKSPACE) serve

FIXTURES := tests/data/reports
fixtures: install
	$(BIN)/recoup --workspace $(WORKSPACE) import --marketplace JP $(FIXTURES)/customer_returns/jp_cp932.tsv
	$(BIN)/recoup --workspace $(WORKSPACE) import --marketplace DE $(FIXTURES)/fee_preview/eu_de.tsv
	$(BIN)/recoup --workspace $(WORKSPACE) import --marketplace US $(FIXTURES)
	$(BIN)/recoup --workspace $(WORKSPACE) status

# The tests run on every core (pytest-xdist); JOBS=0 runs them in this process. Tests of a module
# marked `xdist_group` share its module fixtures and run on one worker. ARGS go to pytest
# (`make test-fast ARGS="-k rules --durations=30"`).
JOBS ?= auto
ARGS ?=
PYTEST := $(BIN)/pytest -n $(JOBS) --dist loadgroup $(ARGS)
# Left out of the quick loop: Chromium, Spark and the long end-to-end runs.
FAST := not browser and not spark and not slow

# Everything: the lint, then every test (Chromium, Spark and the slow ones too). CI runs this.
test: lint
	$(PYTEST)

# The quick loop while working: every test but the browser, Spark and slow ones (no lint).
test-fast: install
	$(PYTEST) -m "$(FAST)"

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Regenerates the golden files (canonical rows per fixture report, claim texts per kind) after an
# intended change; review the diff.
golden: install
	$(BIN)/python -m tests.golden --regenerate
	RECOUP_REGENERATE_GOLDEN=1 $(BIN)/pytest -q tests/test_claims.py -k golden

bench-import: install
	$(BIN)/python bench/import.py

bench-simulate: install
	$(BIN)/python bench/simulate.py

bench-audit: install
	$(BIN)/python bench/audit.py

bench-claims: install
	$(BIN)/python bench/claims.py

bench-web: install
	$(BIN)/python bench/web.py

bench-sync: install
	$(BIN)/python bench/sync.py

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .mypy_cache .ruff_cache
