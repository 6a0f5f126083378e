# The two newcomer commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Test processes: one per CPU (pytest-xdist); `make test WORKERS=0` runs in this process.
WORKERS ?= auto

.PHONY: demo test test-all test-under-load lint bench setup fuzz dist

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The demo needs only the command line and the sandbox, not the test tools.
$(VENV)/.installed-cli: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[cli]'
	touch $@

setup: $(VENV)/.installed

demo: $(VENV)/.installed-cli
	$(BIN)/python -m pleasurestock_async demo

# The quick tier: every module, on asyncio (and trio where the event loops differ); it prints
# its duration and the slowest tests. `make test-all` adds the slow end-to-end tier and every
# test on trio (what CI runs).
test: setup
	$(BIN)/python -m pytest -n $(WORKERS) --durations=5

test-all: setup
	$(BIN)/python -m pytest -n $(WORKERS) --durations=10 --full

# The quick tier three times in a row while two CPU hogs run: it must pass every time.
test-under-load: setup
	$(BIN)/python -m tests.under_load --runs 3 --hogs 2 -- -n $(WORKERS)

lint: setup
	$(BIN)/ruff check pleasurestock_async tests benchmarks
	$(BIN)/ruff format --check pleasurestock_async tests
	$(BIN)/mypy --strict pleasurestock_async
	$(BIN)/mypy --strict tests

# orjson is a baseline of the benchmarks, not a dependency of the SDK.
bench: setup
	$(BIN)/python -m pip install --quiet orjson
	$(BIN)/python -m benchmarks

# The sandbox fuzzed from its OpenAPI document: 300 examples per operation and key, then every
# phase of the schemathesis CLI (stateful included). A few minutes; the test suite runs 12.
fuzz: setup
	SANDBOX_FUZZ_EXAMPLES=300 SANDBOX_FUZZ_CAMPAIGN=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_contract_fuzz.py

# The sdist and the wheel, checked as an index would check them.
dist: setup
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
