# Common commands. `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Dagster instance of `make demo` and `make dev` (run history, schedule and sensor state).
DAGSTER_HOME := $(CURDIR)/var/dagster

.PHONY: help install demo dev desk test test-fast lint format sample bench bench-small clean

help:
	@echo "make demo    create the venv, run the whole job on data/sample, say where the library is"
	@echo "make test    create the venv, run lint and the test suite (PostgreSQL tests need 127.0.0.1:5432,"
	@echo "             the dagster-celery test needs the redis-server program)"
	@echo "make dev     open the Dagster UI (http://127.0.0.1:3000) with the schedule and sensor running"
	@echo "make desk    start the stewards' review desk on var/shixiang.db (http://127.0.0.1:8300)"
	@echo "make sample  regenerate data/sample from data/reference"
	@echo "make bench   run the benchmarks at full size (bench/README.md)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/shixiang run --data-dir data/sample --database-url sqlite:///var/shixiang.db
	@echo
	@echo "The library is in var/shixiang.db (SQLite). Export a table, e.g.:"
	@echo "  $(BIN)/shixiang export unified_library --out var/unified_library.xlsx"
	@echo "Open the Dagster UI (lineage, checks, schedule, sensor; this run is in its history):"
	@echo "  make dev    then browse http://127.0.0.1:3000"
	@echo "Review in the browser (the stewards' desk):"
	@echo "  $(BIN)/shixiang desk user add admin --role province --database-url sqlite:///var/shixiang.db"
	@echo "  make desk   then browse http://127.0.0.1:8300"

dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -w workspace.yaml

desk: $(STAMP)
	$(BIN)/shixiang desk --database-url sqlite:///var/shixiang.db

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

sample: $(STAMP)
	$(BIN)/python scripts/make_sample.py --out data/sample

bench: $(STAMP)
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/partitions.py

bench-small: $(STAMP)
	$(BIN)/python bench/scale.py --small
	$(BIN)/python bench/partitions.py --small

clean:
	rm -rf var .pytest_cache .ruff_cache
