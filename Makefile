# The two set-up commands a newcomer needs are `make report` and `make test`.
# Both create .venv with plain `python3 -m venv` and install the exact pins in requirements.lock.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: report test test-slow bench lab lock clean help

help:
	@echo "make report     run the main job on the bundled demo data (writes reports/)"
	@echo "make test       run the test suite (fast settings)"
	@echo "make test-slow  run the slow suites too (full simulation settings)"
	@echo "make bench      run the performance benchmarks (writes benchmarks/results/)"
	@echo "make lab        install JupyterLab into .venv and start it in notebooks/"
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

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/batch_reports.py

lab: $(STAMP)
	$(PIP) install "jupyterlab==4.6.6"
	$(BIN)/jupyter lab notebooks/

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache reports/*.html reports/*.pdf reports/*.ipynb reports/councils reports/analysts
