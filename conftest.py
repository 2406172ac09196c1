"""Fixtures shared by the tests in tests/ and the doctests in dqm/: the demo store, built once per session.

Doctests read the default store, so for them DQM_STORE points at this store (built from the bundled
synthetic exports in about 10 seconds) and DQM_WIDGETS is off.
"""
from __future__ import annotations

import pandas as pd
import pytest

from dqm.paths import demo_dir


@pytest.fixture(scope="session")
def demo_exports():
    return demo_dir() / "exports"


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, demo_exports):
    """A store holding all the demo exports (built once per test session): (path, ingest results by file)."""
    from dqm.store import ingest_files

    store = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    manifest = pd.read_csv(demo_exports / "manifest.csv")
    results = {}
    for r in manifest.itertuples():
        results[r.file] = ingest_files([demo_exports / r.file], wave=int(r.wave), store=store,
                                       assessment_type=r.assessment_type)[0]
    return store, results


@pytest.fixture(autouse=True)
def _doctests_read_the_demo_store(request, monkeypatch):
    from _pytest.doctest import DoctestItem

    if isinstance(request.node, DoctestItem):
        store, _ = request.getfixturevalue("demo_store")
        monkeypatch.setenv("DQM_STORE", str(store))
        monkeypatch.setenv("DQM_WIDGETS", "0")
