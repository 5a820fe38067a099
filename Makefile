# One command for every gate; .ci/run calls `make test` too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TYPED_PACKAGES := core store learning market exchange tools agent prompts safety gate engine backtests dashboard venue holdings

.PHONY: help venv redis chromium lint typecheck test test-long soak demo bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,claude-code]'
	touch $@

venv: $(BIN)/.installed  ## create .venv and install the project with all extras

redis:  ## make sure redis-server is installed (apt-get as root)
	@bash scripts/ensure_redis.sh

chromium:  ## make sure Debian's chromium is installed for the dashboard's browser tests (apt-get as root)
	@bash scripts/ensure_chromium.sh

lint: venv  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy $(TYPED_PACKAGES)

test: venv redis chromium lint  ## lint, then the whole test suite (about 13 minutes on 2 cores; 2 of them kill -9 chaos)
	$(BIN)/pytest -q

test-long: venv redis chromium  ## the test suite with the long simulations enabled
	TRADEWAKE_LONG_TESTS=1 $(BIN)/pytest -q

soak: venv  ## an hour of the live runner against the local venue with faults on; ledger and store must agree
	nice -n 10 $(BIN)/python -m tests.chaos.soak --minutes $(or $(MINUTES),60)

demo: venv  ## the main job: a rules-agent backtest on bundled real BTC/USDT 1h (2025), no key, no network
	$(BIN)/tradewake backtest --agent rules --from 2025-01-01 --out runs/demo --force

bench: venv  ## benchmarks, each printed as a ratio against a reference measured in the same run
	$(BIN)/python -m benchmarks

clean:  ## remove the venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
