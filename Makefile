# The two commands of the README: `make run` and `make test`. Each installs what it needs.
# `make unit` is the inner loop: unit tests only, no server, no checkov or npm install.
# `make lock` recompiles the pinned, hashed requirements after a dependency changes.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# checkov pins packages that conflict with the app's test tools: the template checks get a venv
# of their own, which tests/infra calls in a subprocess.
INFRA_VENV := .venv-infra
# pip-tools, which compiles the lock files, lives in a venv of its own too: it is not part of
# what the app or its tests run on.
LOCK_VENV := .venv-lock
PIP_TOOLS := pip-tools==7.6.2
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(PIP_COMPILE_ARGS)

# The browser tests drive Debian's chromium through Playwright (never Playwright's own download).
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test unit lint typecheck format install bench reset fresh-clone-check clean \
	lock chromium

# RUN_ARGS: e.g. "--host-port 0 ..." (python -m devtools.stack --help)
run: $(VENV)/.installed node_modules/.installed
	$(PY) -m devtools.stack $(RUN_ARGS)

# The next `make run` starts clean: Azurite's data, the emulator's state and the clock go together.
reset:
	$(PYTHON) -m devtools.stack_reset

test: install lint typecheck chromium
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest

# Installed with apt-get when missing and run as root; otherwise said, and the browser tests fail
# saying the same.
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y --no-install-recommends chromium \
	      || { apt-get update && apt-get install -y --no-install-recommends chromium; }; \
	  else \
	    echo "make test: no Chromium at $(CHROMIUM): the browser tests (tests/browser) will" \
	         "fail. Install Debian's: sudo apt-get install -y chromium (or CHROMIUM=/path)."; \
	  fi; }

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
	$(PY) -m bench.scale
	$(PY) -m bench.webhook_accept
	$(PY) -m bench.contract --seconds 120
	$(PY) -m bench.sync_model --steps 300

# Slow (a fresh install and the whole suite): clone HEAD into an empty folder, `make test` and
# `make run` there. Proves the project needs nothing outside its own tree.
fresh-clone-check: $(VENV)/.installed
	$(PY) -m devtools.fresh_clone

install: $(VENV)/.installed $(INFRA_VENV)/.installed node_modules/.installed

# requirements-dev.txt holds every package, the runtime ones included, each with its hashes:
# pip installs nothing that is not in it, and nothing whose file does not match.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

# Recompile requirements.txt (deployed) and requirements-dev.txt from requirements.in and
# requirements-dev.in, with hashes. Pinned versions stay unless an .in file asks otherwise;
# `make lock PIP_COMPILE_ARGS=--upgrade` moves every unpinned dependency to its newest release.
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || \
		{ $(PYTHON) -m venv $(LOCK_VENV) && \
		  $(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check $(PIP_TOOLS); }
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

$(INFRA_VENV)/.installed: requirements-infra.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) $(INFRA_VENV) $(LOCK_VENV) node_modules .stack .pytest_cache .ruff_cache \
		.mypy_cache test-results
