# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
EVENTS ?= 5000
SERVE  ?=

.PHONY: install lock run test lint clean

# Dependencies come from the lock, pinned and hash-checked; vigie itself on top of them.
$(BIN)/vigie: pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/vigie

## Re-resolve the lock files after changing the dependencies in pyproject.toml (uv, from
## PyPI, for every platform on Python 3.11+): requirements.lock for the image,
## requirements-dev.lock (the same versions, plus the embedded stack, the tools and what
## `vigie train` needs) here.
lock: install
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra embedded --extra dev --extra train --universal \
		--python-version 3.11 --generate-hashes -c requirements.lock -o requirements-dev.lock

## Install, then run the whole pipeline on the embedded stack with sample traffic; it ends
## with the alert explained and the most urgent tasks, and exits (`make run SERVE=--serve`
## keeps serving the console until Ctrl-C).
run: install
	$(BIN)/vigie run --events $(EVENTS) $(SERVE)

## Install, then lint, type-check, check the layers (pyproject.toml's import contracts)
## and run every test tier.
test: lint
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf .vigie .pytest_cache .mypy_cache .ruff_cache
