# share-secret: `make demo` shows the bot working, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test run install redis-server lint clean bench soak soak-short

demo: install redis-server  ## run the real bot against the Slack stand-in and a throwaway Redis
	$(BIN)/python -m scripts.demo

test: install redis-server  ## run the whole test suite
	$(BIN)/python -m pytest

run: install  ## run the bot for real (credentials in .env or the environment)
	$(BIN)/python -m bot

bench: install redis-server $(VENV)/.bench-installed  ## performance benchmark: prints a table, writes benchmarks/results/
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

soak: install redis-server  ## 10 minutes of load under faults, invariants checked (SOAK_ARGS="--minutes 3")
	$(BIN)/python -m scripts.soak $(SOAK_ARGS)

soak-short: install redis-server  ## the 50 s soak CI runs
	$(BIN)/python -m scripts.soak --short

$(VENV)/.bench-installed: pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

lint: install  ## ruff everywhere; mypy --strict and bandit on bot/ (configured in pyproject.toml)
	$(BIN)/ruff check bot tests scripts benchmarks
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r bot

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

redis-server:  ## tests and the demo start their own redis-server: make sure it is installed
	@command -v redis-server >/dev/null || scripts/install-redis.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
