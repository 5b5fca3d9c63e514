# The two commands of the README: `make up` runs the system, `make test` runs the tests.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: up down status test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)  ## venv, install, start Kafka, PostgreSQL and every service in the background
	$(BIN)/socsec stack up --services

down: $(STAMP)  ## stop everything `make up` started (data kept; `socsec stack down --reset` wipes it)
	$(BIN)/socsec stack down

status: $(STAMP)
	$(BIN)/socsec stack status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) lint  ## lint, then the whole suite against a private stack on free ports
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## benchmarks against a private stack on free ports
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
