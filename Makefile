# AutoMLOps Studio — the two commands of the Quick start are `make run` and `make test`.
# VENV may point elsewhere (CI can keep one virtual environment across clean clones).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.stamp-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)
HOST ?= 127.0.0.1
export AUTOMLOPS_HOME ?= $(CURDIR)

.PHONY: install run demo test test-all bench bench-quick lint clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q --no-deps -e .
	@rm -f $(VENV)/.stamp-*
	@touch $@

demo: install
	$(VENV)/bin/automlops demo

run: install
	@bash scripts/run.sh "$(VENV)" "$(HOST)"

# Two workers at once (pytest-xdist; a test file stays on one worker, so its module fixtures are built
# once), then the tests that assert a time budget, alone (marker `serial`), then the desktop app's Node
# tests (desktop/: node --test against the real dashboard and API, no npm install needed).
test: install
	$(PY) -m pytest -q -n 2 --dist loadfile --durations=25 -m "not slow and not gpu and not serial"
	$(PY) -m pytest -q -m "serial and not slow and not gpu"
	@if command -v node >/dev/null 2>&1; then AUTOMLOPS_PYTHON=$(abspath $(PY)) npm test --silent --prefix desktop; \
	 else echo "make test: node is missing, so the desktop app's tests (npm test in desktop/) were skipped" >&2; exit 1; fi

test-all: install
	$(PY) -m pytest -q -m "" --timeout=1800

# Every benchmark at full size (the mid-size AutoML suite alone takes hours); BENCH_ARGS passes flags,
# e.g. make bench BENCH_ARGS="--only automl_midsize --budgets 60".
bench: install
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

# Every benchmark's quick mode (minutes): for routine use.
bench-quick: install
	$(PY) benchmarks/run_all.py --quick $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check automlops tests benchmarks app.py api.py automl_engine.py mlops_utils.py
	$(VENV)/bin/mypy automlops

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache test-artifacts
