# share-secret: `make demo` shows the bot working, `make test` runs every test.
# Installs come from the hashed lock files in requirements/ (see docs there; `make upgrade`
# refreshes them on purpose), so the same commit installs the same packages every day.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The resolver behind `make upgrade` only; installing needs nothing but pip.
UV_VERSION := 0.13.9
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet

.PHONY: demo test run install redis-server chromium lint clean bench soak soak-short upgrade lock

demo: install redis-server chromium  ## run the real bot against the Slack stand-in and a throwaway Redis
	$(BIN)/python -m scripts.demo

test: install redis-server chromium  ## run the whole test suite
	$(BIN)/python -m pytest

run: install  ## run the bot for real (credentials in .env or the environment)
	$(BIN)/python -m bot

bench: install redis-server  ## performance benchmark: prints a table, writes benchmarks/results/
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

soak: install redis-server  ## 10 minutes of load under faults, invariants checked (SOAK_ARGS="--minutes 3")
	$(BIN)/python -m scripts.soak $(SOAK_ARGS)

soak-short: install redis-server  ## the 50 s soak CI runs
	$(BIN)/python -m scripts.soak --short

lint: install  ## ruff everywhere; mypy --strict and bandit on bot/ (configured in pyproject.toml)
	$(BIN)/ruff check bot devtools tests scripts benchmarks
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r bot

install: $(VENV)/.installed

# Every package, to its exact version and hash, from requirements/dev.txt (the runtime,
# test, lint and benchmark tools); then the project itself, built by the locked setuptools.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# `upgrade` moves every pin to the newest version allowed; `lock` keeps the pins already in
# requirements/ (uv reads them back from the output file) and only resolves what is new.
upgrade: UPGRADE := --upgrade
upgrade:  ## re-resolve requirements/*.txt to the newest versions pyproject.toml allows
lock:  ## after a pyproject.toml change: lock what is new, leave every other pin as it is
upgrade lock:
	$(PYTHON) -m venv .lock-tools
	.lock-tools/bin/python -m pip install --quiet uv==$(UV_VERSION)
	UV_PYTHON_DOWNLOADS=never .lock-tools/bin/uv pip compile $(LOCK_FLAGS) $(UPGRADE) \
	  --extra test --extra bench pyproject.toml requirements/build.in -o requirements/dev.txt
	UV_PYTHON_DOWNLOADS=never .lock-tools/bin/uv pip compile $(LOCK_FLAGS) \
	  -c requirements/dev.txt pyproject.toml requirements/build.in -o requirements/runtime.txt
	@echo "Locks refreshed: run make test and make lint, then commit requirements/."

redis-server:  ## tests and the demo start their own redis-server: make sure it is installed
	@command -v redis-server >/dev/null || scripts/install-redis.sh

chromium:  ## browser tests and the demo drive Debian's chromium: make sure it is installed
	@command -v chromium >/dev/null || [ -n "$${CHROMIUM:-}" ] || scripts/install-chromium.sh

clean:
	rm -rf $(VENV) .lock-tools .pytest_cache .ruff_cache .hypothesis
