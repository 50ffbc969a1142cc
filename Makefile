# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKSPACE ?= recoup-workspace

.PHONY: install install-all demo serve fixtures test test-fast lint bench-import bench-simulate bench-audit bench-claims bench-web bench-sync bench-latency golden clean

# Two installs, each marked done by a stamp file: `make demo` and `make serve` need only recoup
# itself (DuckDB, Ibis, the dashboard); the tests, lint and benchmarks add the Spark and SP-API
# extras and the test tools (`make install-all`).
DEMO_DEPS := $(VENV)/.installed-demo
ALL_DEPS := $(VENV)/.installed-all

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(DEMO_DEPS): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $@

$(ALL_DEPS): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev,spark,spapi]'
	touch $@ $(DEMO_DEPS)

install: $(DEMO_DEPS)

install-all: $(ALL_DEPS)

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
test-fast: install-all
	$(PYTEST) -m "$(FAST)"

lint: install-all
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Regenerates the golden files (canonical rows per fixture report, claim texts per kind) after an
# intended change; review the diff.
golden: install-all
	$(BIN)/python -m tests.golden --regenerate
	RECOUP_REGENERATE_GOLDEN=1 $(BIN)/pytest -q tests/test_claims.py -k golden

bench-import: install-all
	$(BIN)/python bench/import.py

bench-simulate: install-all
	$(BIN)/python bench/simulate.py

bench-audit: install-all
	$(BIN)/python bench/audit.py

bench-claims: install-all
	$(BIN)/python bench/claims.py

bench-web: install-all
	$(BIN)/python bench/web.py

bench-sync: install-all
	$(BIN)/python bench/sync.py

bench-latency: install-all
	$(BIN)/python bench/latency.py

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .mypy_cache .ruff_cache
