# Every target creates .venv on first use and is quick once it is up to date.
# Windows without make: see README.md, section "Windows without make".
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BROWSER_STAMP := $(VENV)/.installed-browser
# JupyterLab defaults shipped with the course (no news pop-up, no update check).
LAB_OVERRIDES := .jupyter/lab/settings/overrides.json
# A CPU build of torch is installed first, so that no other package pulls a CUDA build.
TORCH_PIN       ?= torch==2.13.0
TORCH_PIP_ARGS  ?=
PYTEST_ARGS     ?=
LAB_ARGS        ?=
NOTEBOOK_DIR    ?= notebooks
# The browser tier drives this Chromium (Debian's package); it never downloads a browser.
CHROMIUM        ?= /usr/bin/chromium
# JupyterLab refuses to run as root (containers, some cloud machines) unless told it may.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lab test test-unit test-browser execute bench colab-links clean

$(STAMP): pyproject.toml $(LAB_OVERRIDES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	install -D -m 644 $(LAB_OVERRIDES) $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $(STAMP)
	@echo "Environment ready in $(VENV)/"

## lab: start JupyterLab on notebooks/ (no browser is opened; open the printed URL)
lab: $(STAMP)
	@echo "Starting JupyterLab; open the http://127.0.0.1:... URL it prints below. Ctrl-C stops it."
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --notebook-dir=$(NOTEBOOK_DIR) $(ALLOW_ROOT) $(LAB_ARGS)

## test: unit tests, notebook hygiene, then every notebook executed in FAST mode (what CI runs)
test: $(STAMP)
	COURSE_FAST=1 COURSE_STATIC=1 $(BIN)/python -m pytest tests --ignore=tests/browser \
		--nbval-lax notebooks --nbval-cell-timeout=600 $(PYTEST_ARGS)

## test-unit: only the Python tests (no notebook execution)
test-unit: $(STAMP)
	COURSE_FAST=1 $(BIN)/python -m pytest tests --ignore=tests/browser $(PYTEST_ARGS)

$(BROWSER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,browser]"
	@touch $(BROWSER_STAMP)

## test-browser: every notebook run in JupyterLab in headless Chromium (FAST mode); screenshots in build/browser/
test-browser: $(BROWSER_STAMP)
	@test -x "$(CHROMIUM)" || { echo "make test-browser needs Chromium at $(CHROMIUM), and it is not there."; \
		echo "Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or pass CHROMIUM=/path/to/chromium."; exit 1; }
	CHROMIUM="$(CHROMIUM)" $(BIN)/python -m pytest tests/browser -p no:cacheprovider $(PYTEST_ARGS)

## execute: run every notebook in full mode; executed copies land in build/executed/
execute: $(STAMP)
	COURSE_STATIC=1 $(BIN)/jupyter nbconvert --to notebook --execute \
		--ExecutePreprocessor.timeout=1800 --output-dir build/executed notebooks/*.ipynb

## bench: run every notebook in FAST and full mode, check budgets, write build/BENCHMARKS.md;
##        then BPE training measured to the end (build/BENCHMARKS-bpe.md, several minutes) and the
##        chapter 06 GPT against a character-level GPT of the same size (build/BENCHMARKS-gpt.md)
bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_notebooks.py
	$(BIN)/python tests/benchmarks/bench_bpe.py
	$(BIN)/python tests/benchmarks/bench_gpt.py

## colab-links: regenerate Colab badges and install lines from REPO/BRANCH in course_utils/colab.py
colab-links: $(STAMP)
	$(BIN)/python -m course_utils.colab

## clean: remove build outputs and the virtual environment (the artifact cache is kept)
clean:
	rm -rf build $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
