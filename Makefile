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
ONLY ?=
R ?=
LAB_ARGS ?=
P ?=

PARAMS := $(sort $(wildcard params/*/*.yaml))
ALL_NAMES := $(PARAMS:params/%.yaml=%)
# ONLY='moe_analysis/* sparse_training/good' (patterns over report names, one * each) or
# R=nb/variant: build a subset
NAMES := $(if $(R),$(R),$(if $(ONLY),$(filter $(subst *,%,$(ONLY)),$(ALL_NAMES)),$(ALL_NAMES)))
REPORTS := $(NAMES:%=reports/%/.ok)
# Build options that change a report's content are part of what decides a rebuild: the file is
# rewritten (and so newer than every report) only when they change.
OPTIONS := .cache/labbook/build-options
$(shell mkdir -p .cache/labbook; echo 'SHOW_CODE=$(SHOW_CODE)' | cmp -s - $(OPTIONS) || echo 'SHOW_CODE=$(SHOW_CODE)' > $(OPTIONS))
EXAMPLE_DATA := $(patsubst %,examples/generated/%/.complete,chain_of_experts_seeds chain_of_experts_trackers sparse_training sparse_training_trackers credit_assignment credit_assignment_trackers nonlinearity_reduction nonlinearity_reduction_trackers moe_aim moe_trackers credit_assignment_digits sparse_training_digits nonlinearity_reduction_digits)

.PHONY: help env figures report reports changes examples test lint lab new clean distclean benchmark \
  paper paper-new

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | sed -E 's/:.*## /\t/' | expand -t 14

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

$(ENV_STAMP): pyproject.toml uv.lock | $(UV)
	@# a sandbox copy of the tree (tests, benchmarks) shares this environment and must never sync it
	@if [ -n "$$LABBOOK_SHARED_ENV" ]; then exit 0; fi; \
	$(UV) sync --locked --all-extras --python $(PYTHON)
	@if [ -n "$$LABBOOK_SHARED_ENV" ]; then exit 0; fi; \
	$(PY) -m ipykernel install --sys-prefix --name labbook --display-name "Python (labbook)" >/dev/null
	@# notebooks are committed without outputs: git runs them through nbstripout (a clean filter)
	@if [ -z "$$LABBOOK_SHARED_ENV" ] && git rev-parse --git-dir >/dev/null 2>&1; then \
	  $(VENV)/bin/nbstripout --install --attributes .gitattributes; fi
	@if [ -z "$$LABBOOK_SHARED_ENV" ]; then touch $@; fi

env: $(ENV_STAMP) ## create or update the virtualenv (.venv) and the project kernel

examples/generated/%/.complete: src/labbook/runner/examples.py | $(ENV_STAMP)
	$(PY) -m labbook.runner.examples $*
# a tracker example store is also rewritten when its module or the writers change, the Aim one
# when the Aim writer does
TRACKER_EXAMPLES := $(filter-out __init__,$(notdir $(basename $(wildcard src/labbook/runner/tracker_examples/*.py))))
$(foreach t,$(TRACKER_EXAMPLES),$(eval examples/generated/$(t)_trackers/.complete: src/labbook/runner/tracker_examples/$(t).py src/labbook/runner/trackerwrite.py src/labbook/runner/aimwrite.py))
examples/generated/moe_aim/.complete: src/labbook/runner/aimwrite.py
# the real digits experiments are trained again when their code or their tracker's writer changes
DIGITS := credit_assignment sparse_training nonlinearity_reduction
$(foreach e,$(DIGITS),$(eval examples/generated/$(e)_digits/.complete: examples/experiments/$(e).py examples/experiments/common.py src/labbook/runner/experiments.py src/labbook/runner/trackerwrite.py))
examples/generated/nonlinearity_reduction_digits/.complete: src/labbook/runner/aimwrite.py

examples: $(EXAMPLE_DATA) ## generate the example inputs that are not in git (simulated, and the real digits runs)

# One target per params file: reports/<notebook>/<variant>/.ok (written only when the report succeeded).
# While `figures` builds, a fork server (labbook.runner.kernelpool) holds the heavy imports: each report
# still gets a fresh kernel process of its own, forked from it, used once. `figures` waits for the
# server's socket (at most 30 s, less if the server dies) before the first report starts.
# inputs.d (written by the runner) adds every data file the notebook read as a prerequisite.
.SECONDEXPANSION:
reports/%/.ok: params/%.yaml notebooks/$$(firstword $$(subst /, ,$$*)).ipynb $(OPTIONS) | $(ENV_STAMP) $(EXAMPLE_DATA)
	@$(PY) -m labbook.runner.build run $* --timeout $(TIMEOUT) $(if $(SHOW_CODE),--show-code)

-include $(wildcard reports/*/*/inputs.d)

reports: $(REPORTS)

# Reports built at once: a -j given to make (GNU make puts it in MAKEFLAGS: -j, -j1, -j4) wins;
# without one, `make figures` builds on every core.
JOBS = $(or $(filter -j%,$(MAKEFLAGS)),-j$(shell nproc 2>/dev/null || echo 1))

# ENGINE=snakemake builds the same reports through Snakemake (workflow/Snakefile, the same targets
# and dependencies); PROFILE=profiles/slurm submits them to a cluster (README "On a cluster"); the
# gallery and the summary come after every job ended, as with make.
ENGINE ?= make
PROFILE ?=
SNAKEMAKE = $(VENV)/bin/snakemake $(REPORTS) --snakefile workflow/Snakefile \
  $(if $(PROFILE),--profile $(PROFILE),--cores $(or $(patsubst -j%,%,$(JOBS)),all)) \
  --quiet rules host --config TIMEOUT=$(TIMEOUT) $(if $(SHOW_CODE),SHOW_CODE=$(SHOW_CODE))

figures: $(ENV_STAMP) $(if $(filter snakemake,$(ENGINE)),$(EXAMPLE_DATA)) ## build every out-of-date report, on every core (-jN: N at once; ONLY='nb/*' globs; SHOW_CODE=1 shows code; ENGINE=snakemake [PROFILE=profiles/slurm])
	@start=$$(date +%s.%N); progress=.cache/labbook/progress.$$$$; : > $$progress; \
	total=$$($(MAKE) --no-print-directory -n reports 2>/dev/null | grep -c 'labbook.runner.build run'); \
	pool=$${TMPDIR:-/tmp}/labbook-kernels.$$$$.sock; poolpid=; \
	trap '[ -n "$$poolpid" ] && kill $$poolpid 2>/dev/null; rm -f $$progress $$pool' EXIT; \
	if [ "$$total" -gt 0 ]; then echo "building $$total of $(words $(NAMES)) report(s) ($(if $(PROFILE),$(PROFILE),$(JOBS)))"; fi; \
	if [ "$$total" -gt 0 ] && [ -z "$(PROFILE)" ]; then \
	  PYTHONHASHSEED=0 MPLCONFIGDIR=$(CURDIR)/.cache/labbook/matplotlib $(PY) -m labbook.runner.build pool $$pool & \
	  poolpid=$$!; \
	  for i in $$(seq 600); do [ -S $$pool ] && break; kill -0 $$poolpid 2>/dev/null || break; sleep 0.05; done; \
	  [ -S $$pool ] || echo "the build's fork server is not up after 30 s: each report starts on its own"; fi; \
	LABBOOK_KERNEL_POOL=$$pool LABBOOK_PROGRESS=$$progress LABBOOK_TOTAL=$$total \
	  $(if $(filter snakemake,$(ENGINE)),$(SNAKEMAKE),$(MAKE) --no-print-directory -k $(if $(filter -j%,$(MAKEFLAGS)),,$(JOBS)) reports); rc=$$?; \
	$(PY) -m labbook.runner.build index; \
	$(PY) -m labbook.runner.build summary --since $$start $(NAMES) || rc=1; \
	exit $$rc

report: ## build one report: make report R=nb/variant (SHOW_CODE=1, TIMEOUT= as for figures)
	@[ -n "$(R)" ] || { echo "usage: make report R=<notebook>/<variant>  (make figures ONLY='<glob>' for several)"; exit 2; }
	@[ -f params/$(R).yaml ] || { echo "no params file params/$(R).yaml; reports: $(ALL_NAMES)"; exit 2; }
	@$(MAKE) --no-print-directory figures R=$(R)

changes: $(ENV_STAMP) ## what the last rebuild of a report changed, and why: make changes R=nb/variant
	@[ -n "$(R)" ] || { echo "usage: make changes R=<notebook>/<variant>"; exit 2; }
	@$(PY) -m labbook.runner.changes $(R)

# Papers: paper/<name>.typ (not paper/labbook.typ, the helpers it imports) is typeset into
# paper/build/<name>.pdf after the reports it uses are built, and again only when one of them or a
# file of the paper changed: labbook.runner.paper reads the reports from the paper's sources into
# paper/build/<name>.d. Reports never depend on a paper.
PAPER_NAMES := $(filter-out labbook,$(notdir $(basename $(wildcard paper/*.typ))))
PAPER ?=
PAPERS_BUILT := $(if $(PAPER),$(PAPER),$(PAPER_NAMES))
NAME ?=
# REPORTS= on the command line (paper-new) names reports; otherwise REPORTS is the report stamps
CHOSEN := $(if $(filter command line,$(origin REPORTS)),$(REPORTS))

paper: $(ENV_STAMP) ## build paper/build/<name>.pdf of each paper/<name>.typ after the reports it uses, say which numbers changed (PAPER=name: one)
	@[ -n "$(PAPERS_BUILT)" ] || { echo "no paper/<name>.typ: make paper-new NAME=... REPORTS='nb/variant ...'"; exit 2; }
	@reports="$$($(PY) -m labbook.runner.paper reports $(PAPERS_BUILT))" || exit 1; \
	if [ -n "$$reports" ]; then $(MAKE) --no-print-directory figures ONLY="$$reports" || exit 1; fi; \
	$(MAKE) --no-print-directory LABBOOK_PAPERS="$(PAPERS_BUILT)" $(PAPERS_BUILT:%=paper/build/%.pdf) \
	  | grep -v 'is up to date' ; [ $${PIPESTATUS[0]} -eq 0 ] || exit 1; \
	for p in $(PAPERS_BUILT); do $(PY) -m labbook.runner.paper latex $$p || exit 1; done

paper/build/%.pdf: paper/%.typ | $(ENV_STAMP)
	@$(PY) -m labbook.runner.paper build $*

paper/build/%.d: paper/%.typ | $(ENV_STAMP)
	@$(PY) -m labbook.runner.paper deps $*

ifneq ($(LABBOOK_PAPERS),)
include $(LABBOOK_PAPERS:%=paper/build/%.d)
endif

paper-new: $(ENV_STAMP) ## scaffold paper/NAME.typ (and a LaTeX twin) over built reports: make paper-new NAME=my_paper REPORTS='nb/variant ...'
	@$(PY) -m labbook.runner.paper new "$(NAME)" $(CHOSEN)

test: lint ## lint (ruff), then run the test suite (installs what it needs)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

# A current Python beside the main one: Python 3.13 in a virtualenv of its own (.venv-3.13), from
# the same uv.lock with every extra (the aim extra installs nothing there: aim has no 3.13 wheel).
# `make test` covers everything on 3.11; this runs the tests that do not need aim, and builds every
# report in a copy of the tree (a report reading Aim must fail saying to install labbook[aim]).
PYTHON313 ?= python3.13
VENV313 := .venv-3.13
# the report builds (test_without_aim), the guards of other libraries' private parts, the
# readers and writers of every tracker but Aim, the statistics, figures and rendering
TESTS313 ?= tests/test_without_aim.py tests/test_packaging.py tests/test_core.py \
  tests/test_guards.py tests/test_guards_runner.py tests/test_guards_wandb.py \
  tests/test_tracker_tensorboard.py tests/test_tracker_mlflow.py tests/test_tracker_wandb.py \
  tests/test_tracker_mapping.py tests/test_trackerwrite.py tests/test_stats.py \
  tests/test_figures.py tests/test_render.py
.PHONY: test-py313
$(VENV313)/.labbook-installed: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV313) $(UV) sync --locked --all-extras --python $(PYTHON313)
	$(VENV313)/bin/python -m ipykernel install --sys-prefix --name labbook \
	  --display-name "Python (labbook, 3.13)" >/dev/null
	touch $@

test-py313: $(VENV313)/.labbook-installed ## Python 3.13 (.venv-3.13, no aim): the tests that need no aim, every report built (PYTHON313= the interpreter)
	$(VENV313)/bin/python -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS) $(TESTS313)

lint: $(ENV_STAMP) ## ruff check and ruff format --check over src, tests, benchmarks and notebooks
	$(PY) -m ruff check
	$(PY) -m ruff format --check

benchmark: $(ENV_STAMP) ## time the Aim reader, the MoE notebook, the build and the statistics (QUICK=1: minutes); results in benchmarks/results/
	$(PY) benchmarks/bench_aim.py $(if $(QUICK),--quick)
	$(PY) benchmarks/bench_build.py $(if $(QUICK),--extra 0,--extra 2)
	$(PY) benchmarks/bench_snakemake.py $(if $(QUICK),--extra 0 --trivial 50,--extra 2)
	$(PY) benchmarks/bench_stats.py $(if $(QUICK),--skip-poi)
	$(PY) benchmarks/bench_mlflow.py $(if $(QUICK),--quick)
	$(PY) benchmarks/bench_tensorboard.py $(if $(QUICK),--quick)
	$(PY) benchmarks/bench_changes.py $(if $(QUICK),--quick)

new: $(ENV_STAMP) ## scaffold a new analysis: make new NAME=my_analysis (notebook, params, example data, test)
	@$(PY) -m labbook.runner.scaffold $(NAME)

lab: $(ENV_STAMP) ## JupyterLab on notebooks/ and reports/ (P=params/nb/v.yaml opens a copy with those params; LAB_ARGS=...)
	@if [ -n "$(P)" ]; then $(PY) -m labbook.runner.lab $(P) || exit $$?; fi
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR) $(if $(P),$$($(PY) -m labbook.runner.lab --path $(P))) $(LAB_ARGS)

clean: ## remove reports, generated example data, caches and built papers
	rm -rf reports examples/generated .cache paper/build

distclean: clean ## also remove the virtualenv and tools
	rm -rf $(VENV) $(VENV313) $(TOOLS)
