# The two commands of the README: `make run` and `make test`. Each installs what it needs.
# `make unit` is the inner loop: unit tests only, no server, no checkov or npm install.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# checkov pins packages that conflict with the app's test tools: the template checks get a venv
# of their own, which tests/infra calls in a subprocess.
INFRA_VENV := .venv-infra

.PHONY: run test unit lint typecheck format install bench clean

run: $(VENV)/.installed node_modules/.installed
	$(PY) -m devtools.stack

test: install lint typecheck
	$(PY) -m pytest

unit: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(VENV)/.installed
	$(PY) -m mypy

format: $(VENV)/.installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: install
	$(PY) -m bench.import_time
	$(PY) -m bench.scheduling
	$(PY) -m bench.sync
	$(PY) -m bench.renewal

install: $(VENV)/.installed $(INFRA_VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(INFRA_VENV)/.installed: requirements-infra.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) $(INFRA_VENV) node_modules .stack .pytest_cache .ruff_cache .mypy_cache
