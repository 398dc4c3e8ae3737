# Self-documenting: `make help` lists the targets with their ## comment.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the pinned dependencies

run: $(STAMP) ## Set everything up and serve on http://$${HOST:-127.0.0.1}:$${PORT:-8000}
	$(PY) -m app.serve

test: $(STAMP) ## Run the whole test suite against a throwaway database
	$(PY) -m pytest $(PYTEST_ARGS)

migrate: $(STAMP) ## Apply the migrations to DATABASE_URL
	$(VENV)/bin/piccolo migrations forwards all

demo: $(STAMP) ## Load the demo data into DATABASE_URL
	$(VENV)/bin/litestar demo load

clean: ## Remove the virtualenv and local data (var/: database, outbox, attachments)
	rm -rf $(VENV) var .pytest_cache

.PHONY: help venv run test migrate demo clean

# Benchmarks (issue 8): bench/, results in docs/PERFORMANCE.md. Full scale: make bench BENCH_SCALE=1
BENCH_SCALE ?= 0.1
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## Generate data at BENCH_SCALE (default 0.1, 1 = full), load, SSE, upload → docs/PERFORMANCE.md
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }; } || \
	  echo "wrk is not installed: bench/load.py falls back to its asyncio client"
	$(PY) -m bench.run --scale $(BENCH_SCALE) $(BENCH_ARGS)

.PHONY: bench
