# servicedesk: `make run` to try it, `make test` to test it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Test workers (pytest-xdist): one per core by default.
JOBS ?= auto
# apt-get, noninteractive, as root or else through sudo (e2e-deps).
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: help install run migrate seed static test test-sqlite test-ahead lint format bench bench-scores lock clean e2e-deps clock-deps test-deps check-deploy audit

help:
	@echo "make run    - install, migrate, load the demo organisation, start web + worker + beat"
	@echo "make test   - run the whole test suite"
	@echo "make test-ahead - the suite with the wall clock moved over a year ahead (AT=... picks it)"
	@echo "make lint   - ruff check and ruff format --check"
	@echo "make bench  - run the benchmarks (PostgreSQL: set DATABASE_URL)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Pinned: every dependency comes from requirements/constraints.txt (regenerate with `make lock`).
$(STAMP): $(PY) pyproject.toml requirements/constraints.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

static: install
	$(PY) manage.py collectstatic --noinput --verbosity 0

run: seed static
	@echo ""
	@echo "servicedesk on http://$(HOST):$(PORT)/  (log in as staff, agent, manager or hr; password: demo)"
	@echo "Ctrl-C stops web, worker and beat."
	@echo ""
	HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho start -f Procfile.dev

# What runs the suite: empty, or a command that wraps it (test-ahead's faketime).
TEST_CLOCK ?=

test: install
	$(TEST_CLOCK) $(BIN)/pytest -n $(JOBS)

test-sqlite: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -n $(JOBS)

# The suite at another date: libfaketime (Debian's faketime, `make clock-deps`) moves the wall
# clock of pytest and of every process it starts, by an offset, so that they agree. By default
# to just before the first change of summer time in Europe/Berlin at least 400 days ahead;
# AT=2028-03-26T01:58+01:00 picks the instant. Servers the tests start themselves (a private
# redis-server) keep the real clock, as the machine's PostgreSQL and Redis do (tests/clock.py).
# Known limit: under libfaketime a timed wait in a thread (Event.wait(5)) that runs out never
# returns, so a test that fails that way hangs instead of failing (FAKETIME_DONT_FAKE_MONOTONIC
# would cure it but makes time.sleep fail with EINVAL): tests must not rely on such timeouts.
test-ahead: install
	$(MAKE) test TEST_CLOCK="faketime -f $$($(PY) scripts/clock_ahead.py $(AT))"

# The browser tests (tests/e2e) drive Debian's Chromium, never a downloaded browser: install
# it when it is missing (apt-get update only if the install fails on a stale package list).
e2e-deps:
	@if [ -x /usr/bin/chromium ]; then \
		echo "e2e-deps: /usr/bin/chromium is installed"; \
	else \
		$(APT_GET) install -y -q chromium \
			|| { $(APT_GET) update -q && $(APT_GET) install -y -q chromium; }; \
	fi

# libfaketime for `make test-ahead`.
clock-deps:
	@if command -v faketime >/dev/null; then \
		echo "clock-deps: faketime is installed"; \
	else \
		$(APT_GET) install -y -q faketime \
			|| { $(APT_GET) update -q && $(APT_GET) install -y -q faketime; }; \
	fi

test-deps: e2e-deps clock-deps

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Django's deployment checks with production settings (a throwaway key, never used to sign).
check-deploy: install
	DEBUG=0 ALLOWED_HOSTS=servicedesk.example.com \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
		$(PY) manage.py check --deploy --fail-level WARNING

# Known vulnerabilities in the pinned dependencies (pip-audit; says so when it cannot reach
# a vulnerability service, see docs/operations.md), and bandit over the apps' code.
audit: install
	$(PY) scripts/audit_dependencies.py
	$(BIN)/bandit -q -r core servicedesk departments requests_app surveys scorecards -c pyproject.toml

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/reports.py --reuse $(BENCH_ARGS)
	$(PY) bench/render.py --reuse $(BENCH_ARGS)

# Scores: recompute a quarter against one SQL aggregate, every period, the scorecard pages.
bench-scores: install
	$(PY) bench/scores.py $(BENCH_ARGS)

# Re-resolve the pins from pyproject.toml in a throwaway virtualenv.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e ".[dev]"
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements/constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) staticfiles var .pytest_cache .hypothesis

# Refresh htmx and Chart.js in static/vendor/ from the npm registry (committed; needs npm).
vendor:
	scripts/vendor-static.sh
