# Reproducible analysis notebooks. `make help` lists the targets.
# Every target that needs Python first creates the virtualenv (.venv) from uv.lock with uv.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SUFFIXES:

PYTHON ?= python3.11
UV_VERSION := 0.13.8
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
UV := $(TOOLS)/bin/uv
ENV_STAMP := $(VENV)/.labbook-installed
export UV_PYTHON_DOWNLOADS := never
# Write .pyc files at install time: with PYTHONDONTWRITEBYTECODE set (as on these machines) every
# process would otherwise compile every module it imports from source (~2.7 s per runner process).
export UV_COMPILE_BYTECODE := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)

SHOW_CODE ?=
TIMEOUT ?= 900
PYTEST_ARGS ?=

PARAMS := $(sort $(wildcard params/*/*.yaml))
REPORTS := $(PARAMS:params/%.yaml=reports/%/.ok)
SRC := $(sort $(wildcard src/labbook/*.py src/labbook/*/*.py))
EXAMPLE_DATA := $(patsubst %,examples/generated/%/.complete,chain_of_experts_seeds sparse_training credit_assignment nonlinearity_reduction moe_aim)

.PHONY: help env figures reports examples test lab clean distclean benchmark

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

$(ENV_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(PYTHON)
	$(PY) -m ipykernel install --sys-prefix --name labbook --display-name "Python (labbook)" >/dev/null
	touch $@

env: $(ENV_STAMP) ## create or update the virtualenv (.venv) and the project kernel

examples/generated/%/.complete: src/labbook/examples.py | $(ENV_STAMP)
	$(PY) -m labbook.examples $*

examples: $(EXAMPLE_DATA) ## generate the simulated example inputs that are not in git

# One target per params file: reports/<notebook>/<variant>/.ok (written only when the report succeeded).
# inputs.d (written by the runner) adds every data file the notebook read as a prerequisite.
.SECONDEXPANSION:
reports/%/.ok: params/%.yaml notebooks/$$(firstword $$(subst /, ,$$*)).ipynb $(SRC) | $(ENV_STAMP) $(EXAMPLE_DATA)
	@$(PY) -m labbook.build run $* --timeout $(TIMEOUT) $(if $(SHOW_CODE),--show-code)

-include $(wildcard reports/*/*/inputs.d)

reports: $(REPORTS)

figures: $(ENV_STAMP) ## build every report that is out of date (make -j2 figures: in parallel); SHOW_CODE=1 shows code
	@$(MAKE) --no-print-directory -k reports; rc=$$?; \
	$(PY) -m labbook.build index; \
	$(PY) -m labbook.build summary || rc=1; \
	exit $$rc

test: $(ENV_STAMP) ## run the test suite (installs what it needs)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

benchmark: $(ENV_STAMP) ## time the build and the statistics engine (not a test)
	$(PY) benchmarks/bench_build.py
	$(PY) benchmarks/bench_stats.py

lab: $(ENV_STAMP) ## open JupyterLab on the notebooks with the project kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

clean: ## remove reports, generated example data and caches
	rm -rf reports examples/generated .cache

distclean: clean ## also remove the virtualenv and tools
	rm -rf $(VENV) $(TOOLS)
