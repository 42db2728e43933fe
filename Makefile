# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
EVENTS ?= 5000

.PHONY: install run test lint clean

$(BIN)/vigie: pyproject.toml
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,dev]'
	touch $@

install: $(BIN)/vigie

## Install, then run the whole pipeline on the embedded stack with sample traffic.
run: install
	$(BIN)/vigie run --events $(EVENTS)
	$(BIN)/vigie sql "SELECT platform, count() AS events FROM events GROUP BY platform ORDER BY platform"

## Install, then lint, type-check and run every test tier.
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf .vigie .pytest_cache .mypy_cache .ruff_cache
