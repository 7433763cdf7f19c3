# The two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest bench browser chaos clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9

$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(DEV_STAMP); touch $@

$(DEV_STAMP): requirements-dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements-dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP) $@

## run: install, migrate and run the product (web + worker) with a demo organisation
run: $(STAMP)
	$(BIN)/meetbridge run

## browser: Debian's Chromium for the browser tests (no browser download from elsewhere)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Chromium from Debian's packages..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP) browser
	$(BIN)/pytest -n 2 --dist loadfile

## test: install everything (Chromium included) and run every check and the whole suite
test: lint typecheck pytest

## chaos: web and worker processes on PostgreSQL + Redis, Zoom faults and a SIGKILL, for meetings and workflows (CI runs it)
chaos: $(DEV_STAMP)
	MEETBRIDGE_TEST_POSTGRES_URL=$${MEETBRIDGE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	MEETBRIDGE_TEST_REDIS_URL=$${MEETBRIDGE_TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/pytest -m chaos tests/meetings/test_meetings_scaled.py tests/workflows/test_chaos.py

## bench: run the benchmarks and print their figures
bench: $(DEV_STAMP)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
