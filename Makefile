# One target per thing a person does. Each creates what it needs (.venv, js/node_modules) on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: chromium postgresql setup demo dashboard test test-python test-unit test-pyodide test-kernel test-kernel6 test-browser test-browser-lite test-install test-js \
	test-integrations test-server lint check-legs typecheck bench clean lite-build lite

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund

# Editable install with the dev extra (and demo: the example notebooks' agent, pydantic-ai-slim; dev has it too);
# the build hook runs the JS build into hitl_widget/static/.
$(STAMP): $(VENV)/bin/python pyproject.toml js/node_modules/.package-lock.json
	$(PY) -m pip install --quiet -e '.[dev,demo]'
	touch $(STAMP)

hitl_widget/static/widget.js: $(STAMP) $(wildcard js/src/*.ts js/src/*.css js/src/dashboard/*.ts js/src/dashboard/*.css) js/build.mjs
	cd js && npm run build

setup: $(STAMP) hitl_widget/static/widget.js postgresql

# JupyterLab on notebooks/ (every example notebook in its file browser), the quickstart open first.
demo: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.allow_root=True $(DEMO_ARGS) $(CURDIR)/notebooks/quickstart.ipynb

# The approval dashboard on an embedded SQLite file (build/dashboard.db): prints the URL, a demo
# person's name and password and a demo agent token; a demo agent's three calls wait in the queue.
# DASHBOARD_ARGS="--port 9000 --no-agent" to change; the same server: hitl dashboard --db FILE.
dashboard: setup
	$(PY) scripts/dashboard_demo.py --db build/dashboard.db $(DASHBOARD_ARGS)

# An offline JupyterLite site with the example notebooks and the current hitl_widget wheel:
# Pyodide from npm (js/package.json), the wheels beside it in its lock (scripts/build_lite.py).
LITE_DIR := build/lite
LITE_PORT ?= 8000

lite-build: setup
	$(PY) scripts/build_lite.py --output-dir $(LITE_DIR)

# The site the browser tests use, rebuilt only when an input changed (the inputs of
# tests/browser/lite_site.py's staleness check). make test builds it before the legs start:
# building rewrites hitl_widget/static/, which the parallel legs read.
LITE_INPUTS := $(shell find hitl_widget js/src notebooks examples lite -type f -not -path '*/__pycache__/*' 2>/dev/null) \
	scripts/build_lite.py pyproject.toml js/package-lock.json
$(LITE_DIR)/jupyter-lite.json: $(LITE_INPUTS) | setup
	$(PY) scripts/build_lite.py --output-dir $(LITE_DIR)

lite: lite-build
	$(PY) scripts/serve_lite.py --directory $(LITE_DIR) --port $(LITE_PORT)

# make test: set up (serially), then every leg in parallel (JOBS at a time), each leg's output
# prefixed with its name and kept in build/test-logs/; a summary at the end. `make -k`: every
# leg runs even after one failed, and any failed leg fails the run. A single leg: make test-unit.
# Longest first (make -j starts them in this order, JOBS at a time, the next one whenever a leg
# ends), so that the short legs fill in at the end and neither core idles: the two browser legs
# (about 10 and 6 min on a loaded 2-core machine) start at once, the server leg (about 7 min)
# after the shorter of them, the short legs after that.
JOBS ?= 2
LEG = $(PY) scripts/leg.py
TEST_LEGS := test-browser test-browser-lite test-server test-kernel test-install test-pyodide test-kernel6 test-unit \
	test-integrations test-js typecheck lint
# A new leg (its own venv, like test-kernel6 and test-integrations) goes into TEST_LEGS, and the
# test folders it runs into LEG_DIRS: every folder of tests/ with test files must be run by some
# leg (check-legs, part of lint).
LEG_DIRS := tests/unit tests/pyodide tests/kernel tests/terminal tests/browser tests/notebooks tests/install tests/integrations tests/server

test: setup chromium $(LITE_DIR)/jupyter-lite.json
	@$(LEG) --reset
	@$(MAKE) --no-print-directory -k -j$(JOBS) $(TEST_LEGS); status=$$?; $(LEG) --summary || status=1; exit $$status

# The dashboard store's tests start their own PostgreSQL cluster with Debian's binaries (installed here where missing).
postgresql:
	scripts/ensure-postgresql.sh

# Browser tests use Debian's chromium (never a downloaded browser).
chromium:
	scripts/ensure-chromium.sh

# Everything the Python tests run, in one process (slow; make test splits it into legs).
test-python: setup chromium
	$(PY) -m pytest

test-unit: setup
	@$(LEG) $@ -- $(PY) -m pytest -p no:cacheprovider tests/unit

# The core's tests again inside Pyodide (WebAssembly CPython, single-threaded, as in a browser), under Node.
test-pyodide: setup
	@$(LEG) $@ -- $(PY) scripts/run_pyodide_tests.py

# A real ipykernel (7) driven as a frontend would, the example notebooks top to bottom in one
# (cards answered over the widget comm), and the terminal prompt in a pseudo-terminal.
test-kernel: setup
	@$(LEG) $@ -- $(PY) -m pytest -p no:cacheprovider tests/kernel tests/notebooks tests/terminal

# Real JupyterLab, Notebook 7 and the dashboard's pages in headless Chromium (every file of
# tests/browser but the JupyterLite/Pyodide ones, which test-browser-lite runs beside it).
BROWSER_LITE_TESTS := tests/browser/test_lite_*.py tests/browser/test_pyodide_page.py
test-browser: setup chromium
	@$(LEG) $@ -- $(PY) -m pytest -p no:cacheprovider tests/browser $(foreach t,$(BROWSER_LITE_TESTS),--ignore-glob='$(t)')

# JupyterLite (the offline site of make lite-build) and a Pyodide page in headless Chromium.
test-browser-lite: setup chromium
	@$(LEG) $@ -- $(PY) -m pytest -p no:cacheprovider $(BROWSER_LITE_TESTS)

# The dashboard server: its store on a real SQLite file and a real PostgreSQL cluster, its API on loopback.
test-server: setup
	@$(LEG) $@ -- $(PY) -m pytest -p no:cacheprovider tests/server

# pip install of the wheel into fresh venvs (beside JupyterLab; without the card's libraries), real kernels.
test-install: setup
	@$(LEG) $@ -- $(PY) -m pytest -p no:cacheprovider tests/install

test-js: setup
	@$(LEG) $@ -- sh -c 'cd js && npm test'

# The kernel tests again under ipykernel 6 (the main run uses ipykernel 7): the supported-kernel matrix.
IK6 := .venv-ik6
# hitl_widget itself comes from the checkout (PYTHONPATH), its dependencies from pyproject.toml.
$(IK6)/.installed: pyproject.toml scripts/project_deps.py
	$(PYTHON) -m venv $(IK6)
	$(PYTHON) scripts/project_deps.py > $(IK6)/requirements.txt
	$(IK6)/bin/python -m pip install --quiet -r $(IK6)/requirements.txt 'ipykernel>=6.29,<7' jupyter_client \
		pytest pytest-timeout pytest-asyncio nbformat
	touch $@

test-kernel6: setup $(IK6)/.installed
	@PYTHONPATH=$(CURDIR) $(LEG) $@ -- $(IK6)/bin/python -m pytest tests/kernel -p no:cacheprovider

# The agent-SDK glue against the real SDKs (optional extras), in a venv of its own so the core suite never needs them.
# HATCH_BUILD_NO_HOOKS: the editable install skips the JS build (the integrations never load the widget).
SDK_VENV := .venv-sdk
$(SDK_VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv --clear $(SDK_VENV)
	HATCH_BUILD_NO_HOOKS=true $(SDK_VENV)/bin/python -m pip install --quiet -e '.[pydantic-ai,openai-agents,langchain]' \
		pytest pytest-timeout pytest-asyncio mypy
	touch $@

# mypy here checks the glue against the SDKs' real types (the main venv has no SDKs).
test-integrations: $(VENV)/bin/python $(SDK_VENV)/.installed
	@$(LEG) $@ -- sh -c '$(SDK_VENV)/bin/mypy hitl_widget/integrations && $(SDK_VENV)/bin/python -m pytest tests/integrations -p no:cacheprovider'

lint: setup
	@$(LEG) $@ -- sh -c '$(VENV)/bin/ruff check hitl_widget tests benchmarks scripts && $(MAKE) --no-print-directory check-legs'

# Fails when a folder of tests/ with test files is in no leg (it would never run).
check-legs:
	@missing=$$(for d in tests/*/; do d=$${d%/}; ls $$d/test_*.py >/dev/null 2>&1 || continue; \
		case " $(LEG_DIRS) " in *" $$d "*) ;; *) echo $$d;; esac; done); \
	if [ -n "$$missing" ]; then echo "test folders no leg of make test runs (add them to LEG_DIRS and a leg): $$missing"; exit 1; fi

typecheck: setup
	@$(LEG) $@ -- sh -c '$(VENV)/bin/mypy && cd js && npm run typecheck'

bench: setup $(SDK_VENV)/.installed
	$(PY) benchmarks/bench_overhead.py
	$(PY) benchmarks/bench_audit.py
	$(PY) benchmarks/bench_card_latency.py
	$(PY) benchmarks/bench_browser_latency.py
	$(PY) benchmarks/bench_lite.py
	$(PY) benchmarks/bench_slack.py
	$(PY) benchmarks/bench_dashboard_store.py
	$(PY) benchmarks/bench_dashboard.py
	$(SDK_VENV)/bin/python benchmarks/bench_sdk_cycle.py

clean:
	rm -rf $(VENV) $(IK6) $(SDK_VENV) js/node_modules hitl_widget/static build dist
