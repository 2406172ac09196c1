"""The engine's checks kept with the code (data/engine_checks.json, dqm.claims.checks_record).

Fast: the committed record matches the code, data and locked libraries it stands for (else the message says which
files changed and the command that refreshes it); the evidence review reads it without computing; a record that
cannot stand (changed code or data, other libraries, a table edited by hand, no entry, damaged) is never used and
the checks are computed exactly as without one; a refresh traces what the checks read. Slow: every recorded entry
recomputed equals the record.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dqm.claims import checks_record as cr
from dqm.claims import simulation
from dqm.datadir import PROJECT_ROOT


def _record() -> dict:
    return cr.read_record()


def _rehash(record: dict) -> dict:
    """The record with every entry's hash made to match its (edited) inputs and table, as a refresh would."""
    for e in record["entries"]:
        e["sha256"] = cr.entry_sha256(e["replications"], record["inputs"], e["table"])
    return record


def _write(path: Path, record: dict) -> Path:
    path.write_text(cr.dumps_record(record), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the committed record stands for the code
def test_the_record_matches_the_code_it_was_computed_from():
    reasons = cr.stale_reasons(_record())
    assert not reasons, (f"data/engine_checks.json no longer matches the code: {'; '.join(reasons)}. "
                         f"Refresh it with `{cr.REFRESH}` and commit the file.")


def test_the_record_was_computed_with_the_locked_libraries():
    lock = (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = {lib: re.search(rf"^{lib}==(\S+)$", lock, flags=re.M).group(1) for lib in cr.LIBRARIES}
    assert _record()["libraries"] == pins, f"refresh the record in an environment installed from requirements.lock: {cr.REFRESH}"


def test_the_record_holds_every_number_of_replications_the_reports_use():
    from dqm.mainjob import FULL, QUICK

    nb = json.loads((PROJECT_ROOT / "notebooks" / "evidence_review.ipynb").read_text(encoding="utf-8"))
    source = "".join("".join(c["source"]) for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    notebook_default = int(re.search(r"^check_replications = (\d+)", source, flags=re.M).group(1))
    wanted = {QUICK["evidence"]["check_replications"], FULL["evidence"]["check_replications"], notebook_default}
    recorded = {e["replications"] for e in _record()["entries"]}
    assert wanted <= recorded, f"record {sorted(wanted - recorded)} too: {cr.REFRESH} --replications ..."


def test_the_record_names_what_the_checks_read_and_not_the_recorder():
    inputs = _record()["inputs"]
    for needed in ("dqm/claims/simulation.py", "dqm/claims/engine.py", "dqm/claims/panel.py", "dqm/scoring/change.py",
                   "dqm/scoring/uncertainty.py", "dqm/model.py", "data/model/dqm.yaml"):
        assert needed in inputs, needed
    assert "dqm/claims/checks_record.py" not in inputs and "dqm/reports/sections.py" not in inputs


# ---------------------------------------------------------------- used while it matches
def test_the_evidence_review_reads_the_record_without_computing(tmp_path, monkeypatch):
    from dqm.reports.sections import engine_checks

    monkeypatch.setenv("DQM_CACHE_DIR", str(tmp_path / "cache"))

    def no(*args, **kwargs):
        raise AssertionError("the checks were computed although the record matches")

    monkeypatch.setattr(simulation, "run_checks", no)
    entry = next(e for e in _record()["entries"] if e["replications"] == 50)
    got = engine_checks(50)
    pd.testing.assert_frame_equal(got, cr.decode_frame(entry["table"]), check_exact=True)
    assert set(got.columns) >= {"engine", "check", "value", "mc_se", "passed"} and got["passed"].dtype == bool
    assert not (tmp_path / "cache").exists()  # nothing computed, nothing cached


# ---------------------------------------------------------------- never used when it cannot stand
def _input_changed(r):
    r["inputs"]["dqm/claims/engine.py"] = "0" * 64  # the engine's code is not what the record was computed from
    return _rehash(r)


def _input_gone(r):
    r["inputs"]["dqm/claims/no_such_module.py"] = "0" * 64
    return _rehash(r)


def _libraries(r):
    r["libraries"]["numpy"] = "1.0.0"
    return r


def _table_edited(r):
    e = next(e for e in r["entries"] if e["replications"] == 50)
    e["table"]["rows"][0][e["table"]["columns"].index("value")] = 0.0
    return r


def _no_entry(r):
    r["entries"] = [e for e in r["entries"] if e["replications"] != 50]
    return r


def _path_outside(r):
    r["inputs"]["dqm/../../etc/hostname"] = "0" * 64
    return _rehash(r)


def _other_format(r):
    r["format"] = "something-else"
    return r


STALE = [  # (case, edit of the committed record or raw text, what --check says)
    ("an input file changed", _input_changed, "dqm/claims/engine.py"),
    ("an input file is gone", _input_gone, "dqm/claims/no_such_module.py"),
    ("other library versions", _libraries, "numpy 1.0.0 recorded"),
    ("a table edited by hand", _table_edited, "does not match its hash"),
    ("no entry for the replications", _no_entry, "no entry for 50 replications"),
    ("an input outside dqm/ and data/", _path_outside, "does not have the layout"),
    ("another format", _other_format, "is not a version-1"),
    ("damaged JSON", "{\"format\": \"dqm-engine-checks-record\", \"entries\": [", "cannot be read"),
    ("no record", None, "there is no record"),
]


@pytest.mark.parametrize("case,edit,said", STALE, ids=[c[0] for c in STALE])
def test_a_record_that_cannot_stand_is_never_used(case, edit, said, tmp_path, monkeypatch, capsys):
    from dqm.reports.sections import engine_checks

    path = tmp_path / "engine_checks.json"
    if callable(edit):
        _write(path, edit(copy.deepcopy(_record())))
    elif edit is not None:
        path.write_text(edit, encoding="utf-8")
    monkeypatch.setattr(cr, "RECORD", path)
    monkeypatch.setenv("DQM_CACHE_DIR", str(tmp_path / "cache"))
    computed = pd.DataFrame({"engine": ["honest"], "check": ["computed afresh"], "value": [0.05], "passed": [True]})
    calls = []
    monkeypatch.setattr(simulation, "run_checks", lambda *a, **k: calls.append(1) or computed)

    assert cr.recorded_checks(50) is None
    pd.testing.assert_frame_equal(engine_checks(50), computed)
    assert calls == [1]  # computed, as without a record (and kept in the disk cache as before)
    assert cr.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert said in err and cr.REFRESH in err


def test_data_other_than_the_recorded_data_is_never_passed_off(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data, ignore=shutil.ignore_patterns("demo", "sources", "outcomes"))
    monkeypatch.setenv("DQM_DATA_DIR", str(data))
    assert cr.recorded_checks(50) is not None  # the same data elsewhere: the record stands
    model = data / "model" / "dqm.yaml"
    model.write_text(model.read_text(encoding="utf-8") + "\n# one more line\n", encoding="utf-8")
    assert cr.recorded_checks(50) is None
    assert any("data/model/dqm.yaml" in r for r in cr.stale_reasons(_record()))


def test_a_checkout_with_windows_line_endings_hashes_the_same(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "model").mkdir(parents=True)
    text = (PROJECT_ROOT / "data" / "model" / "dqm.yaml").read_bytes()
    (data / "model" / "dqm.yaml").write_bytes(text.replace(b"\n", b"\r\n"))
    monkeypatch.setenv("DQM_DATA_DIR", str(data))
    assert cr.file_sha256("data/model/dqm.yaml") == _record()["inputs"]["data/model/dqm.yaml"]


# ---------------------------------------------------------------- the table as data
def test_a_table_is_kept_as_plain_data_with_its_dtypes():
    frame = pd.DataFrame({"engine": pd.Series(["honest", "broken"], dtype="str"), "value": [np.nan, 0.1 + 0.2],
                          "mc_se": [np.inf, -np.inf], "passed": [True, False], "n": [150, 1500]})
    data = json.loads(json.dumps(cr.encode_frame(frame), allow_nan=False))  # strict JSON: no NaN literals
    back = cr.decode_frame(data)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert list(back.dtypes) == list(frame.dtypes)
    with pytest.raises(TypeError, match="does not keep"):
        cr.encode_frame(pd.DataFrame({"when": pd.to_datetime(["2026-01-01"])}))


# ---------------------------------------------------------------- a refresh traces what the checks read
def test_a_refresh_records_what_the_checks_read_and_exactly_what_they_give(tmp_path):
    path = cr.refresh([10], tmp_path / "engine_checks.json")
    record = cr.read_record(path)
    assert cr.stale_reasons(record, 10) == []
    assert set(record["inputs"]) == set(_record()["inputs"])  # the same files as the committed record's
    assert record["libraries"] == cr.library_versions()
    kept = cr.recorded_checks(10, path)
    pd.testing.assert_frame_equal(kept, simulation.run_checks(simulation.setting_for(10)), check_exact=True)


# ---------------------------------------------------------------- slow: every entry recomputed
def _recorded_replications() -> list[int]:
    try:
        return sorted(e["replications"] for e in cr.read_record()["entries"])
    except cr.StaleRecord:
        return list(cr.DEFAULT_REPLICATIONS)


@pytest.mark.slow
@pytest.mark.parametrize("replications", _recorded_replications())
def test_every_recorded_entry_is_what_the_engine_computes_now(replications):
    kept = cr.recorded_checks(replications)
    assert kept is not None, f"the record does not stand for the code: {cr.REFRESH}"
    fresh = simulation.run_checks(simulation.setting_for(replications))
    pd.testing.assert_frame_equal(kept, fresh, check_exact=False, rtol=1e-12, atol=0)
    assert kept["passed"].tolist() == fresh["passed"].tolist()
