# Two commands (see README): `make run` starts the whole system, `make test` passes the tests.
# Both bootstrap .venv from pyproject.toml when it is missing or out of date.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest install bench reliability clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/yuanzhu up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite in parallel processes (pytest-xdist): tests are independent, each process has its
# own servers and databases; the heavy multi-process runs (faults, fuzz, scale-out) share one
# xdist group, so that they never run at the same time. The 30 slowest tests are printed last.
PYTEST_WORKERS ?= 3
pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=30 $(PYTEST_ARGS)

test: lint typecheck pytest

# Benchmarks (bench/README.md): small sizes by default; `make bench ARGS=--full` for the issue's.
bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

# The long runs docs/reliability.md reports (README, "Under faults"): the 1,000-case fault run,
# the full API fuzz on both databases, 500 persons of an emergency, and the security suites
# whose counts the page shows. 15 to 25 minutes on a 2-core machine.
# The security section counts what every test below tallies (tests/reliability/report.py).
SECURITY_TESTS = tests/security tests/web/test_pages_authz_matrix.py tests/api/test_gateway.py \
	tests/api/test_retry_after.py tests/api/test_tasks_concurrency.py \
	tests/api/test_login_throttle.py tests/api/test_application_limits.py \
	tests/ops/test_api_metrics.py tests/ops/test_worker_metrics_token.py
RELIABILITY_TESTS = tests/reliability tests/test_fuzz.py tests/ops/test_worker_stop.py \
	tests/workflows/test_target_groups.py $(SECURITY_TESTS)
reliability: $(STAMP)
	YUANZHU_TEST_SIZE=full $(BIN)/pytest -n 2 --dist loadgroup --durations=30 $(RELIABILITY_TESTS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
