# Every target creates .venv on first use and is quick once it is up to date.
# Windows without make: see README.md, section "Windows without make".
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A CPU build of torch is installed first, so that no other package pulls a CUDA build.
TORCH_PIN       ?= torch==2.13.0
TORCH_PIP_ARGS  ?=
PYTEST_ARGS     ?=
# JupyterLab refuses to run as root (containers, some cloud machines) unless told it may.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lab test test-unit execute bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)
	@echo "Environment ready in $(VENV)/"

## lab: start JupyterLab on notebooks/ (no browser is opened; open the printed URL)
lab: $(STAMP)
	@echo "Starting JupyterLab; open the http://127.0.0.1:... URL it prints below. Ctrl-C stops it."
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --notebook-dir=notebooks $(ALLOW_ROOT)

## test: unit tests, notebook hygiene, then every notebook executed in FAST mode (what CI runs)
test: $(STAMP)
	COURSE_FAST=1 COURSE_STATIC=1 $(BIN)/python -m pytest tests --nbval-lax notebooks \
		--nbval-cell-timeout=600 $(PYTEST_ARGS)

## test-unit: only the Python tests (no notebook execution)
test-unit: $(STAMP)
	COURSE_FAST=1 $(BIN)/python -m pytest tests $(PYTEST_ARGS)

## execute: run every notebook in full mode; executed copies land in build/executed/
execute: $(STAMP)
	COURSE_STATIC=1 $(BIN)/jupyter nbconvert --to notebook --execute \
		--ExecutePreprocessor.timeout=1800 --output-dir build/executed notebooks/*.ipynb

## bench: run every notebook in FAST and full mode, check budgets, write build/BENCHMARKS.md
bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_notebooks.py

## clean: remove build outputs and the virtual environment (the artifact cache is kept)
clean:
	rm -rf build $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
