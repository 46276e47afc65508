# One target per thing a person does. Each creates what it needs (.venv, js/node_modules) on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: chromium setup demo test-kernel6 test-integrations test test-python test-js lint typecheck bench clean lite-build lite

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund

# Editable install with the dev extra; the build hook runs the JS build into hitl_widget/static/.
$(STAMP): $(VENV)/bin/python pyproject.toml js/node_modules/.package-lock.json
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

hitl_widget/static/widget.js: $(STAMP) $(wildcard js/src/*.ts) js/build.mjs
	cd js && npm run build

setup: $(STAMP) hitl_widget/static/widget.js

demo: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.allow_root=True $(DEMO_ARGS) $(CURDIR)/notebooks/quickstart.ipynb

# An offline JupyterLite site with the example notebooks and the current hitl_widget wheel:
# Pyodide from npm (js/package.json), the wheels beside it in its lock (scripts/build_lite.py).
LITE_DIR := build/lite
LITE_PORT ?= 8000

lite-build: setup
	$(PY) scripts/build_lite.py --output-dir $(LITE_DIR)

lite: lite-build
	$(PY) scripts/serve_lite.py --directory $(LITE_DIR) --port $(LITE_PORT)

test: setup lint typecheck test-js test-python test-kernel6 test-integrations

# Browser tests use Debian's chromium (never a downloaded browser).
chromium:
	scripts/ensure-chromium.sh

test-python: setup chromium
	$(PY) -m pytest

test-js: setup
	cd js && npm test

# The kernel tests again under ipykernel 6 (the main run uses ipykernel 7): the supported-kernel matrix.
IK6 := .venv-ik6
$(IK6)/.installed: pyproject.toml
	$(PYTHON) -m venv $(IK6)
	$(IK6)/bin/python -m pip install --quiet 'ipykernel>=6.29,<7' jupyter_client anywidget ipywidgets makefun \
		pytest pytest-timeout pytest-asyncio nbformat
	touch $@

test-kernel6: setup $(IK6)/.installed
	PYTHONPATH=$(CURDIR) $(IK6)/bin/python -m pytest tests/kernel -p no:cacheprovider

# The agent-SDK glue against the real SDKs (optional extras), in a venv of its own so the core suite never needs them.
# HATCH_BUILD_NO_HOOKS: the editable install skips the JS build (the integrations never load the widget).
SDK_VENV := .venv-sdk
$(SDK_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SDK_VENV)
	HATCH_BUILD_NO_HOOKS=true $(SDK_VENV)/bin/python -m pip install --quiet -e '.[pydantic-ai,openai-agents,langchain]' \
		pytest pytest-timeout pytest-asyncio
	touch $@

test-integrations: $(SDK_VENV)/.installed
	$(SDK_VENV)/bin/python -m pytest tests/integrations -p no:cacheprovider

lint: setup
	$(VENV)/bin/ruff check hitl_widget tests benchmarks scripts

typecheck: setup
	$(VENV)/bin/mypy
	cd js && npm run typecheck

bench: setup $(SDK_VENV)/.installed
	$(PY) benchmarks/bench_overhead.py
	$(PY) benchmarks/bench_audit.py
	$(PY) benchmarks/bench_card_latency.py
	$(PY) benchmarks/bench_browser_latency.py
	$(PY) benchmarks/bench_lite.py
	$(SDK_VENV)/bin/python benchmarks/bench_sdk_cycle.py

clean:
	rm -rf $(VENV) $(IK6) $(SDK_VENV) js/node_modules hitl_widget/static build dist
