# The two newcomer commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench setup fuzz

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

test: setup
	$(BIN)/python -m pytest

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
