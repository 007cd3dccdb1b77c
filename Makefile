# informix-aio developer / CI entry points (GNU make).
#   make test            system deps check + venv + pytest (what CI runs)
#   make run             the example service (needs only unixODBC, SQLite's ODBC driver, '.[fastapi,sqlalchemy]')
#   make help            list the targets
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?= -q -p no:cacheprovider
EXTRAS ?= test,lint,fastapi

VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
BENCH_STAMP := $(VENV)/.installed-bench
INFORMIX_COMPOSE := odbc/informix/docker-compose.yml

.PHONY: help system run-deps venv test lint run bench soak test-informix clean distclean

help: ## list the targets
	@echo "informix-aio make targets (variables: PYTHON=$(PYTHON) VENV=$(VENV) PYTEST_ARGS='$(PYTEST_ARGS)'):"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

system: ## check/install unixODBC, ODBC drivers, PostgreSQL binaries (apt; root)
	bash scripts/install-system-deps.sh

run-deps: ## check/install only what `make run` needs: unixODBC, SQLite's ODBC driver (apt; root)
	bash scripts/install-run-deps.sh

venv: $(STAMP) ## create the venv and pip install -e '.[test,lint,fastapi]' (only when pyproject.toml changed)

$(STAMP): pyproject.toml
	@test -x $(VPY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(VPY) -m pip install -q -e '.[$(EXTRAS)]'
	@touch $@

test: system venv ## run the test suite (pytest, PYTEST_ARGS)
	$(VPY) -m pytest $(PYTEST_ARGS)

lint: venv ## ruff check, ruff format --check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy informix_aio tests examples benchmarks

# `make run` installs the package with its fastapi extra only (no test/lint tools).
$(RUN_STAMP): pyproject.toml
	@test -x $(VPY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(VPY) -m pip install -q -e '.[fastapi,sqlalchemy]'
	@touch $@

run: run-deps $(RUN_STAMP) ## run the example app (examples/app.py); needs only run-deps and '.[fastapi,sqlalchemy]'
	$(VPY) -m examples.app

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(VPY) -m pip install -q -e '.[bench]'
	@touch $@

bench: system $(BENCH_STAMP) ## install '.[bench]' and run benchmarks.run
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }; \
		else echo "wrk is missing: scenario 3 falls back to a Python load generator (sudo apt-get install wrk)"; fi; }
	$(VPY) -m benchmarks.run

soak: system venv ## pool soak and the randomized cancellation mix, for minutes (--soak)
	$(VPY) -m pytest tests/aio/test_pool_soak.py tests/aio/test_randomized.py -q --soak

test-informix: ## tests against a real Informix in Docker (odbc/informix/docker-compose.yml)
	@if ! docker info >/dev/null 2>&1; then \
		echo "make test-informix: no Docker engine here (docker info failed); run it on a machine with Docker"; \
		exit 1; \
	fi
	docker compose -f $(INFORMIX_COMPOSE) up --build --abort-on-container-exit --exit-code-from runner

clean: ## remove caches and build output (keeps the venv)
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean ## clean, and remove the venv
	rm -rf $(VENV)
