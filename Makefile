# K-Connector: every target sets itself up from nothing (idempotently): a bootstrap venv holding uv,
# then one project venv (.venv) synced from uv.lock with every package editable and its test extras.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV ?= .venv
SYNCED := $(VENV)/.synced
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
# Python's bytecode cache on, whatever the environment says (container images often set
# PYTHONDONTWRITEBYTECODE): without it every Meltano, plugin, Dagster and receiver process the
# tests start compiles all its imports from source again (`import dagster`: 3.0 s of CPU against
# 1.6 s from the cache; the target's imports 3.7 s against 1.4 s). The caches are in the
# venvs and in gitignored __pycache__ folders.
unexport PYTHONDONTWRITEBYTECODE
export UV_PROJECT_ENVIRONMENT := $(VENV)

MODULES := kconnector_canonical kconnector_sandbox tap_shopify_orders tap_woocommerce_orders \
	map_quickbooks target_quickbooks kconnector_realtime kconnector_orchestrate

MELTANO_VENV := $(TOOLS)/meltano
MELTANO := $(MELTANO_VENV)/bin/meltano

PYTEST_MARKERS ?= not install_path
# pytest-xdist: one worker per core; a test file stays on one worker (its module fixtures, e.g. a
# served sandbox and its Meltano runs, are built once). About a third of the suite's time waits
# (on Meltano runs, retries' backoff, debounces) and a worker more fills it (on 2 cores, 3 workers
# took 9 min 54 s where 2 took 11 min 11 s), but tests/test_realtime_burst.py must create 500
# orders within 10 s, which a third worker on 2 cores can starve: `PYTEST_WORKERS=3` at your risk.
# `make test PYTEST_WORKERS=0` runs serially.
# `--no-loadscope-reorder`: files are handed out in collection order (pyproject's testpaths: the
# end-to-end modules first, the longest), not by their number of tests, which sent the one-test
# 2-minute tests/test_orchestrate_e2e.py last, alone on its worker while the other sat idle.
PYTEST_WORKERS ?= auto

.PHONY: setup meltano test test-install test-clock-ahead lint format clean demo demo-reset chaos bench dist \
	demo-realtime

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(SYNCED): $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml)
	$(UV) sync --frozen --all-packages --all-extras --python $(PYTHON)
	touch $@

uv.lock: pyproject.toml $(wildcard */pyproject.toml) | $(UV)
	$(UV) lock --python $(PYTHON)
	touch $@

setup: $(SYNCED)

# Meltano lives in its own tool venv (it installs each plugin into a venv of its own).
$(MELTANO): tools/meltano/pyproject.toml tools/meltano/uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(MELTANO_VENV) $(UV) sync --frozen --project tools/meltano --python $(PYTHON)
	touch $@

meltano: $(MELTANO)

# The target's store tests also run against PostgreSQL: a throwaway server is started when the
# machine has (or, with KCONNECTOR_INSTALL_POSTGRES=1, may install) the server binaries, unless
# KCONNECTOR_TEST_DATABASE_URL already points at one.
test: setup meltano
	@set -e; \
	if [ -z "$${KCONNECTOR_TEST_DATABASE_URL:-}" ]; then \
		eval "$$(scripts/test-postgres.sh start)"; \
		trap 'scripts/test-postgres.sh stop' EXIT; \
	fi; \
	$(PYTEST_ENV) $(VENV)/bin/pytest -m "$(PYTEST_MARKERS)" -n $(PYTEST_WORKERS) --dist loadfile \
		--no-loadscope-reorder $(PYTEST_ARGS)

# Installable by strangers (tests/test_install_path.py): the built wheels and sdists added to a
# new Meltano project outside the repository, each pipeline run. Minutes long: CI runs it as its
# own step after `make test`.
test-install: setup meltano
	$(VENV)/bin/pytest -m install_path $(PYTEST_ARGS) tests/test_install_path.py

# The same suite with the calendar moved ahead (libfaketime; CI runs it after `make test`), so a
# date fixed in a test that would age into another code path fails CI before it goes off. Only
# pytest and what it starts see the moved clock (not make, uv or the PostgreSQL server).
CLOCK_AHEAD_DAYS ?= 400
test-clock-ahead: setup
	$(MAKE) test PYTEST_ENV="env $$($(VENV)/bin/python-libfaketime | sed -e 's/^export //' -e 's/"//g' | tr '\n' ' ') \
		FAKETIME=+$(CLOCK_AHEAD_DAYS)d \
		KCONNECTOR_CLOCK_AT_LEAST=$$(date -u -d "+$$(($(CLOCK_AHEAD_DAYS) - 1)) days" +%F)"

# The whole pipeline against the local sandbox, with a bookkeeper's summary. Run it twice: the
# second run finds nothing new. `make demo-reset` starts the demo over from empty.
demo: setup meltano
	$(VENV)/bin/python scripts/demo.py

# Real time: an order created in the store emulators reaches QuickBooks through the webhook path
# (kconnector-realtime serve, no scheduled run); docs/realtime.md.
demo-realtime: setup meltano
	$(VENV)/bin/python scripts/demo_realtime.py

demo-reset:
	rm -rf .meltano/sandbox .meltano/target-quickbooks/demo.db output/reconciliation
	-$(MELTANO) --environment=demo state clear --force demo:tap-shopify-orders-to-target-quickbooks
	-$(MELTANO) --environment=demo state clear --force demo:tap-woocommerce-orders-to-target-quickbooks

# The chaos run: both platforms, faults on every API, the pipeline killed with SIGKILL and re-run,
# bookkeeper edits; then exactly-once, totals, reviews, dead letters and secrets are checked.
# Full size by default (10,000 orders); CI runs a reduced one (tests/test_chaos.py).
CHAOS_ARGS ?= --orders 10000 --kills 5
chaos: setup meltano
	$(VENV)/bin/python scripts/chaos.py $(CHAOS_ARGS)

# Every benchmark in bench/, one after the other; figures and methods in bench/RESULTS.md.
bench: setup
	$(VENV)/bin/python bench/run_all.py $(BENCH_ARGS)

# Known vulnerabilities in the locked dependencies (not part of `make test`: it needs network
# access to the vulnerability database). pip-audit runs from the tool venv, against uv.lock
# exported as pinned requirements (the workspace's own packages left out).
audit: $(UV)
	$(TOOLS)/bin/pip install --quiet "pip-audit>=2.7"
	$(UV) export --frozen --all-packages --all-extras --no-emit-workspace --no-hashes \
		--format requirements-txt --output-file $(TOOLS)/audit-requirements.txt
	$(TOOLS)/bin/pip-audit --strict --disable-pip --no-deps -r $(TOOLS)/audit-requirements.txt

# Wheels and sdists of every published distribution into dist/ (docs/versioning.md). The sandbox is
# a development tool and is not published.
DIST_PACKAGES := kconnector-canonical tap-shopify-orders tap-woocommerce-orders map-quickbooks \
	target-quickbooks kconnector-realtime kconnector-orchestrate
DIST ?= dist
dist: $(UV)
	rm -rf $(DIST)
	for package in $(DIST_PACKAGES); do \
		$(UV) build --quiet --package $$package --out-dir $(DIST) || exit 1; \
	done

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(addprefix -p ,$(MODULES))

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) $(TOOLS)
