# The two commands of the README: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# checkov pins packages that conflict with the app's test tools: the template checks get a venv
# of their own, which tests/infra calls in a subprocess.
INFRA_VENV := .venv-infra

.PHONY: run test lint format install bench reset fresh-clone-check clean

# RUN_ARGS: e.g. "--host-port 0 ..." (python -m devtools.stack --help)
run: $(VENV)/.installed node_modules/.installed
	$(PY) -m devtools.stack $(RUN_ARGS)

# The next `make run` starts clean: Azurite's data, the emulator's state and the clock go together.
reset:
	$(PYTHON) -m devtools.stack_reset

test: install lint
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: install
	$(PY) -m bench.import_time
	$(PY) -m bench.scheduling
	$(PY) -m bench.sync
	$(PY) -m bench.renewal

# Slow (a fresh install and the whole suite): clone HEAD into an empty folder, `make test` and
# `make run` there. Proves the project needs nothing outside its own tree.
fresh-clone-check: $(VENV)/.installed
	$(PY) -m devtools.fresh_clone

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
	rm -rf $(VENV) $(INFRA_VENV) node_modules .stack .pytest_cache .ruff_cache
