# The two set-up commands a newcomer needs are `make report` and `make test`.
# Both create .venv with plain `python3 -m venv` and install the exact pins in requirements.lock.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: report test test-slow lint bench lab lock clean help screenshots

help:
	@echo "make report     run the main job on the bundled demo data (writes reports/)"
	@echo "make test       run the test suite (fast settings)"
	@echo "make test-slow  run the slow suites too (full simulation settings)"
	@echo "make lint       check the code with ruff and that notebooks are committed without outputs"
	@echo "make bench      run the performance benchmarks (writes benchmarks/results/)"
	@echo "make screenshots  photograph the demo reports, handbook and batch index at 1280 and 390 px, and their PDF pages (docs/screenshots/)"
	@echo "make lab        start JupyterLab on the project at notebooks/explore.ipynb (installs it and builds the demo store the first time)"
	@echo "make clean      remove .venv, build files and generated reports"

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/dqm run

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -q -s

# the same checks as CI and the optional pre-commit hooks (.pre-commit-config.yaml); ruff is pinned in requirements.lock
LINT_PATHS := dqm tests benchmarks studies tools .ci

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/python .ci/check_notebooks.py

# ingest, scoring and claims against baselines; then the publishing stage (council batch against the naive loop,
# `dqm run`) in CPU seconds of whole process trees beside wall time (BENCH_ARGS=--quick for a smoke test)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/publish.py $(BENCH_ARGS)

# the demo reports, the handbook and a small batch index, built afresh and photographed in headless Chromium at 1280 and
# 390 px, with their PDF pages, into docs/screenshots/ with an index README.md (needs Chromium: apt-get install chromium)
screenshots: $(STAMP)
	$(BIN)/python tools/screenshots.py

# JupyterLab is installed once (its pins are in requirements-lab.lock); the demo store is built if missing
# (ingest only, a few seconds); Lab opens on the project at the guided tour, with the project's .venv as
# its Python kernel. As root (containers, CI machines) Jupyter needs --allow-root. The server is rooted at the
# project (--ServerApp.root_dir=.), so that reports/, data/ and docs/ are in Lab's file browser; the tour's path is
# relative to that root (jupyter_server opens a file below root_dir at its path from there).
LAB_STAMP := $(VENV)/.lab-stamp
DEMO_STORE := $(or $(DQM_REPORTS_DIR),reports)/_build/demo.duckdb
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

$(LAB_STAMP): $(STAMP) requirements-lab.lock
	$(PIP) install -r requirements-lab.lock -c requirements.lock
	touch $(LAB_STAMP)

$(DEMO_STORE): | $(STAMP)
	$(BIN)/dqm run --no-reports

lab: $(LAB_STAMP) $(DEMO_STORE)
	$(BIN)/jupyter lab $(LAB_ROOT_FLAG) --ServerApp.root_dir=. $(LAB_ARGS) notebooks/explore.ipynb

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache reports/*.html reports/*.pdf reports/*.ipynb reports/councils reports/analysts
