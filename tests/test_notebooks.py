"""Every notebook runs top to bottom as committed (its default parameters) on the demo store, and is
committed without outputs. The demo store is built once per session (conftest.py); the notebooks find
it as the default store through DQM_STORE, exactly as they find the demo store in JupyterLab.

The State of Digital and the evidence review at their committed settings (2,000 bootstrap resamples
and a simulation of the engine) take minutes, so they run in `make test-slow`; `tests/test_reports.py`
runs them at quick settings in the fast suite.
"""
from __future__ import annotations

import json

import nbformat
import pytest

from dqm.paths import notebooks_dir

NOTEBOOKS = sorted(p.name for p in notebooks_dir().glob("*.ipynb"))
SLOW = {"state_of_digital.ipynb", "evidence_review.ipynb"}


def run_as_committed(name, tmp_path, store, monkeypatch):
    import papermill as pm

    from dqm.reports.notebook import _kernel_manager_class

    monkeypatch.setenv("DQM_STORE", str(store))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)  # as under papermill anywhere: no widgets
    out = tmp_path / name
    pm.execute_notebook(str(notebooks_dir() / name), str(out), kernel_name="python3", cwd=str(notebooks_dir()),
                        progress_bar=False, log_output=False, kernel_manager_class=_kernel_manager_class())
    return nbformat.read(out, as_version=4)


def _text(nb) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", ""))
            parts.extend(str(v) for v in o.get("data", {}).values())
    return "\n".join(parts)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs_and_with_a_parameters_cell(name):
    nb = nbformat.read(notebooks_dir() / name, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    first = nb.cells[0]
    assert "parameters" in first.metadata.get("tags", [])
    assert "store = None" in first.source  # the default store, whatever machine opens it


def test_explore_runs_as_committed(tmp_path, demo_store, monkeypatch):
    nb = run_as_committed("explore.ipynb", tmp_path, demo_store[0], monkeypatch)
    text = _text(nb)
    assert "SYNTHETIC demonstration data" in text  # the data are labelled
    # five charts (profile, region, deprivation, trend, association), each one <img> (with a phone drawing beside it
    # in a <picture> where the desktop labels would be too small on a phone)
    assert text.count("<img ") == 5 and text.count("data:image/png;base64,") == 5 + text.count("<source ")
    assert "Exploratory association" in text and "overall_mean" in text
    assert "Traceback" not in text and "Error" not in json.dumps([c.get("outputs") for c in nb.cells])


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else [])
                                  for n in NOTEBOOKS if n != "explore.ipynb"])
def test_report_notebooks_run_as_committed(name, tmp_path, demo_store, monkeypatch):
    nb = run_as_committed(name, tmp_path, demo_store[0], monkeypatch)
    assert "dqm-provenance" in _text(nb)
