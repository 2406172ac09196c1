"""Ingest: every supported shape and encoding, exact accounting, quarantine, idempotence, atomicity."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import Workbook

from dqm.errors import IngestError
from dqm.ingest import normalise_header, parse_level
from dqm.store import connect, ingest_files, load

WAVE = 2026


def ingest(path, store, **kw):
    return ingest_files([path], wave=kw.pop("wave", WAVE), store=store, **kw)[0]


def table(store, sql):
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


# ---------------------------------------------------------------- parsing helpers
@pytest.mark.parametrize("text, expected", [
    ("3", (3, "answered")), ("3 - Impactful", (3, "answered")), ("Impactful", (3, "answered")),
    ("Level 3: Impactful", (3, "answered")), ("3.0", (3, "answered")), ("  5 – Transformative ", (5, "answered")),
    ("level 1", (1, "answered")), ("1) Passive", (1, "answered")), ("mainstreamed", (4, "answered")),
    ("", (None, "blank")), ("Don't know", (None, "dont_know")), ("Don’t know", (None, "dont_know")),
    ("N/A", (None, "dont_know")), ("0", (None, "out_of_range")), ("7", (None, "out_of_range")),
    ("3.5", (None, "unrecognised")), ("=1+2", (None, "unrecognised")), ("3 - Passive", (None, "unrecognised")),
    ("very good", (None, "unrecognised")), ("-1", (None, "out_of_range")),
])
def test_parse_level(model, text, expected):
    assert parse_level(text, model) == expected


@pytest.mark.parametrize("header, expected", [
    ("Leadership: which level best describes your council today?", "leadership: which level best describes your council today"),
    ("3. Leadership: Which level best describes your council today ?", "leadership: which level best describes your council today"),
    ("Q12  Leadership:   which level best describes your council today", "leadership: which level best describes your council today"),
    ("“Leadership”: evidence…", "\"leadership\": evidence…"),
    ("decision_making", "decision making"), ("2.1) Role", "role"),
])
def test_normalise_header(header, expected):
    assert normalise_header(header) == expected


# ---------------------------------------------------------------- every shape and encoding
def _standard(survey):
    """Five rows: three good (one a resubmission by the first respondent), one unknown council, one blank council."""
    survey.add(council="Bristol, City of", email="ann@bristol.gov.uk", when=dt.datetime(2026, 3, 1, 9))
    survey.add(council="bristol city council ", email="bob@bristol.gov.uk", name="Bob", when=dt.datetime(2026, 3, 2, 9),
               level="Level 2: Developing")
    survey.add(council="Royal Borough of Kingston upon Thames", email="cat@kingston.gov.uk", name="Cat",
               when=dt.datetime(2026, 3, 3, 9), level="4")
    survey.add(council="Gotham City", email="x@gotham.example", name="X", when=dt.datetime(2026, 3, 4, 9))
    survey.add(council="Bristol, City of", email="ANN@bristol.gov.uk ", when=dt.datetime(2026, 3, 5, 9), level="Impactful")
    survey.add(council="", email="nobody@example.org", name="Nobody", when=dt.datetime(2026, 3, 6, 9))
    return survey


SHAPES = [
    ("googleforms", "csv", lambda s, p: s.googleforms(p)),
    ("googleforms", "csv", lambda s, p: s.googleforms(p, encoding="utf-8-sig")),
    ("googleforms", "csv", lambda s, p: s.googleforms(p, encoding="cp1252", delimiter=";")),
    ("msforms", "xlsx", lambda s, p: s.msforms(p)),
    ("smartsurvey", "csv", lambda s, p: s.smartsurvey(p, second_header=True)),
    ("smartsurvey", "csv", lambda s, p: s.smartsurvey(p, second_header=False)),
    ("jisc", "csv", lambda s, p: s.jisc(p)),
    ("qualtrics", "csv", lambda s, p: s.qualtrics(p, import_row=True)),
    ("qualtrics", "csv", lambda s, p: s.qualtrics(p, import_row=False)),
]


@pytest.mark.parametrize("shape, ext, write", SHAPES, ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(SHAPES)])
def test_every_shape_gives_exact_counts(tmp_path, survey, shape, ext, write):
    path = write(_standard(survey), tmp_path / f"export.{ext}")
    res = ingest(path, tmp_path / "s.duckdb")
    assert res.shape == shape
    if shape == "jisc":  # an anonymous export: no e-mail or name, so a resubmission cannot be recognised
        assert (res.rows_read, res.stored, res.superseded, res.rejected) == (6, 4, 0, 2)
        return
    assert (res.rows_read, res.stored, res.superseded, res.rejected) == (6, 3, 1, 2)
    assert res.reasons == {"unknown council": 1, "no council given": 1}
    assert res.unmatched_councils[0]["text"] == "Gotham City"
    data = load(tmp_path / "s.duckdb")
    assert sorted(data.councils["council_code"]) == ["BST", "KTT"]
    bst = data.councils.set_index("council_code").loc["BST"]
    assert bst["n_respondents"] == 2 and bst["leadership"] == 2.5  # median of Ann's resubmission (3) and Bob (2)
    # the superseded submission is kept and marked, not deleted
    subs = data.submissions
    assert len(subs) == 4 and (~subs["current"]).sum() == 1


def test_smartsurvey_response_with_blank_id_is_not_taken_for_a_header(tmp_path, survey):
    path = _standard(survey).smartsurvey(tmp_path / "s.csv", second_header=False)
    lines = path.read_text().splitlines()
    lines[1] = "," + lines[1].split(",", 1)[1]  # the first response has lost its UserID
    path.write_text("\n".join(lines) + "\n")
    res = ingest(path, tmp_path / "s.duckdb")
    assert res.rows_read == 6 and res.rows_read == res.stored + res.superseded + res.rejected


def test_forcing_a_shape(tmp_path, survey):
    path = _standard(survey).googleforms(tmp_path / "e.csv")
    res = ingest(path, tmp_path / "s.duckdb", shape="generic")
    assert res.shape == "generic" and res.rejected == 2


def test_column_matching_by_id_and_tolerant_text(tmp_path, model):
    cols = {"Council code": ["BST", "E09000021"], "role": ["CDO", "CDO"]}
    for i, d in enumerate(model.dimensions.itertuples()):
        cols[d.id if i % 2 else f"{i + 1}. {d.question.upper().replace('?', ' ? ')}"] = ["3", "2"]
        cols[f"{d.id}_target"] = ["4", "3"]
    path = tmp_path / "ids.csv"
    pd.DataFrame(cols).to_csv(path, index=False)
    res = ingest(path, tmp_path / "s.duckdb")
    assert (res.stored, res.rejected) == (2, 0)
    answers = load(tmp_path / "s.duckdb").answers
    assert answers["target_level"].notna().all() and len(answers) == 20


def test_personal_data_is_dropped_at_the_door(tmp_path, survey):
    path = _standard(survey).qualtrics(tmp_path / "q.csv")
    store = tmp_path / "s.duckdb"
    ingest(path, store)
    con = duckdb.connect(str(store), read_only=True)
    dump = ""
    for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        dump += con.execute(f"SELECT * FROM {t}").df().to_csv()
    con.close()
    for secret in ("ann@bristol.gov.uk", "ANN@", "Nobody", "Cat", "10.0.0.1", "gotham.example"):
        assert secret not in dump, secret
    # the respondent's role is kept
    assert "Head of Digital" in dump


def test_evidence_is_kept_verbatim(tmp_path, survey, model):
    q = model.dimensions["evidence_question"].iloc[0]
    text = '<script>alert("x")</script> & =HYPERLINK("http://evil") £5k “quoted”'
    survey.add(overrides={q: text})
    path = survey.googleforms(tmp_path / "e.csv", encoding="cp1252", delimiter=";")
    ingest(path, tmp_path / "s.duckdb")
    ev = load(tmp_path / "s.duckdb").answers.set_index("dimension_id").loc[model.dimension_ids[0], "evidence"]
    assert ev == text


def test_ingesting_twice_changes_nothing(tmp_path, survey):
    path = _standard(survey).googleforms(tmp_path / "e.csv")
    store = tmp_path / "s.duckdb"
    first = ingest(path, store)
    before = {t: table(store, f"SELECT * FROM {t} ORDER BY ALL") for t in ("ingests", "submissions", "answers", "rejects")}
    second = ingest(path, store)
    assert not first.already_ingested and second.already_ingested and second.ingest_id == first.ingest_id
    for t, df in before.items():
        pd.testing.assert_frame_equal(df, table(store, f"SELECT * FROM {t} ORDER BY ALL"))


def test_resubmission_in_a_later_file_supersedes(tmp_path, survey, model):
    store = tmp_path / "s.duckdb"
    survey.add(email="ann@bristol.gov.uk", level="2", when=dt.datetime(2026, 3, 1))
    ingest(survey.googleforms(tmp_path / "a.csv"), store)
    survey.rows.clear()
    survey.add(email="ann@bristol.gov.uk", level="4", when=dt.datetime(2026, 4, 1))
    res = ingest(survey.googleforms(tmp_path / "b.csv"), store)
    assert (res.stored, res.superseded, res.superseded_earlier) == (1, 0, 1)
    data = load(store)
    assert data.councils.set_index("council_code").loc["BST", "leadership"] == 4
    assert len(data.submissions) == 2


def test_an_older_resubmission_does_not_replace_a_newer_one(tmp_path, survey):
    store = tmp_path / "s.duckdb"
    survey.add(email="ann@bristol.gov.uk", level="4", when=dt.datetime(2026, 4, 1))
    ingest(survey.googleforms(tmp_path / "a.csv"), store)
    survey.rows.clear()
    survey.add(email="ann@bristol.gov.uk", level="2", when=dt.datetime(2026, 3, 1))
    res = ingest(survey.googleforms(tmp_path / "b.csv"), store)
    assert (res.stored, res.superseded, res.superseded_earlier) == (0, 1, 0)


def test_self_and_independent_are_kept_apart(tmp_path, survey):
    store = tmp_path / "s.duckdb"
    survey.add(email="ann@bristol.gov.uk", level="4")
    ingest(survey.googleforms(tmp_path / "a.csv"), store)
    survey.rows.clear()
    survey.add(email="ann@bristol.gov.uk", level="2")
    ingest(survey.googleforms(tmp_path / "b.csv"), store, assessment_type="independent")
    wide = load(store).councils.set_index("assessment_type")
    assert wide.loc["self", "leadership"] == 4 and wide.loc["independent", "leadership"] == 2


# ---------------------------------------------------------------- the demo data: planted counts
def test_demo_exports_ingest_with_the_planted_counts(demo_store, demo_truth):
    store, results = demo_store
    for f in demo_truth["files"]:
        r = results[f["file"]]
        got = (r.rows_read, r.stored, r.superseded, r.rejected, r.reasons)
        want = (f["rows"], f["expected_stored"], f["expected_superseded"], f["expected_rejected"], f["expected_reasons"])
        print(f"{f['file']}: read {r.rows_read} = stored {r.stored} + superseded {r.superseded} + quarantined {r.rejected}")
        assert got == want, f["file"]
    data = load(store)
    assert data.submissions["synthetic"].all()
    assert set(data.councils["wave"]) == {2024, 2025, 2026}


# ---------------------------------------------------------------- atomicity
def test_sigkill_mid_ingest_leaves_the_store_unchanged(tmp_path, survey):
    store = tmp_path / "s.duckdb"
    survey.add(email="ann@bristol.gov.uk")
    ingest(survey.googleforms(tmp_path / "base.csv"), store)
    snapshot = {t: table(store, f"SELECT * FROM {t} ORDER BY ALL") for t in ("ingests", "submissions", "answers", "rejects")}
    survey.rows.clear()
    _standard(survey)
    big = survey.googleforms(tmp_path / "big.csv")
    env = {**os.environ, "DQM_TEST_PAUSE_BEFORE_COMMIT": "60"}
    proc = subprocess.Popen([sys.executable, "-m", "dqm.cli", "ingest", str(big), "--wave", str(WAVE), "--store", str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    line = proc.stdout.readline()  # the ingest has written every row and waits just before COMMIT
    assert line.strip() == "PAUSED"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    for t, df in snapshot.items():
        pd.testing.assert_frame_equal(df, table(store, f"SELECT * FROM {t} ORDER BY ALL"), obj=t)
    # and the same file then ingests normally
    res = ingest(big, store)
    assert not res.already_ingested and res.rows_read == 6


# ---------------------------------------------------------------- bad input: a clear message or a quarantined row
def _xlsx(path, rows, sheets=("Sheet1",)):
    wb = Workbook()
    wb.active.title = sheets[0]
    for name in sheets[1:]:
        wb.create_sheet(name)
    for r in rows:
        wb[sheets[-1]].append(r)
    wb.save(path)
    return path


def _bad_cases():
    """(id, builder(tmp_path, survey, model) -> (path, ingest kwargs), expectation).

    expectation is ("error", text in message) or ("quarantine", reason) or ("stored", check).
    """
    lq = lambda m: m.dimensions["question"].iloc[0]
    cases = []

    def add(cid, build, expect):
        cases.append(pytest.param(build, expect, id=cid))

    add("empty-file", lambda t, s, m: (_write(t / "e.csv", b""), {}), ("error", "empty"))
    add("whitespace-only", lambda t, s, m: (_write(t / "e.csv", "\n\n  \n"), {}), ("error", "empty"))
    add("header-only", lambda t, s, m: (s.add().googleforms(t / "h.csv") and _truncate(t / "h.csv"), {}), ("error", "no responses"))
    add("binary-named-xlsx", lambda t, s, m: (_write(t / "b.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(200)), {}), ("error", "not an XLSX"))
    add("binary-named-csv", lambda t, s, m: (_write(t / "b.csv", b"\x89PNG\r\n\x1a\n" + bytes(200)), {}), ("error", "binary file"))
    add("corrupt-zip-xlsx", lambda t, s, m: (_write(t / "z.xlsx", b"PK\x03\x04" + bytes(100)), {}), ("error", "not a readable XLSX"))
    add("wrong-sheet", lambda t, s, m: (s.add().msforms(t / "w.xlsx"), {"sheet": "Responses"}), ("error", "no sheet 'Responses'"))
    add("cover-sheet-first", lambda t, s, m: (_cover_sheet(t, s), {}), ("stored", 1))
    add("xls-file", lambda t, s, m: (_write(t / "old.xls", b"\xd0\xcf\x11\xe0" + bytes(100)), {}), ("error", "not supported"))
    add("missing-file", lambda t, s, m: (t / "nope.csv", {}), ("error", "does not exist"))
    add("folder", lambda t, s, m: (t, {}), ("error", "folder"))
    add("missing-council-column", lambda t, s, m: (_drop_col(s.add().googleforms(t / "c.csv"), m.metadata_questions["council"]["question"], "Organisation nam"), {}),
        ("error", "Which council are you answering for"))
    add("missing-dimension-column", lambda t, s, m: (_drop_col(s.add().googleforms(t / "d.csv"), lq(m), "Leadership today"), {}),
        ("error", "closest columns: 'Leadership today'"))
    add("duplicated-columns", lambda t, s, m: (_dup_col(s.add().googleforms(t / "u.csv"), lq(m)), {}), ("error", "both answer the same question"))
    add("level-out-of-range", lambda t, s, m: (s.add(overrides={lq(m): "7"}).googleforms(t / "r.csv"), {}), ("quarantine", "level out of range"))
    add("level-zero", lambda t, s, m: (s.add(overrides={lq(m): "0 - None"}).googleforms(t / "r.csv"), {}), ("quarantine", "level out of range"))
    add("level-half", lambda t, s, m: (s.add(overrides={lq(m): "3.5"}).googleforms(t / "r.csv"), {}), ("quarantine", "unrecognised answer"))
    add("formula-in-level", lambda t, s, m: (s.add(overrides={lq(m): "=2+1"}).googleforms(t / "f.csv"), {}), ("quarantine", "unrecognised answer"))
    add("formula-cell-xlsx", lambda t, s, m: (s.add(overrides={lq(m): "=SUM(1,2)"}).msforms(t / "f.xlsx"), {}), ("quarantine", "unrecognised answer"))
    add("formula-in-evidence-kept", lambda t, s, m: (s.add(evidence='=HYPERLINK("x")').googleforms(t / "f.csv"), {}), ("stored", 1))
    # a cell far over the cell limit (by more than dqm.limits.CELL_MARGIN) is refused as it is read, not held whole
    add("ten-mb-free-text", lambda t, s, m: (s.add(evidence="x" * 10_000_000).googleforms(t / "big.csv"), {}), ("error", "so the file is not read"))
    add("over-cell-limit-quarantined", lambda t, s, m: (s.add(evidence="x" * 40_000).googleforms(t / "big.csv"), {}), ("quarantine", "cell too large"))
    add("long-free-text-kept", lambda t, s, m: (s.add(evidence="x" * 30_000).googleforms(t / "long.csv"), {}), ("stored", 1))
    add("unknown-council", lambda t, s, m: (s.add(council="Atlantis Borough Council").googleforms(t / "a.csv"), {}), ("quarantine", "unknown council"))
    add("former-council", lambda t, s, m: (s.add(council="Taunton Deane").googleforms(t / "a.csv"), {}), ("quarantine", "unknown council"))
    add("wave-mismatch", lambda t, s, m: (_with_col(s.add().googleforms(t / "w.csv"), "Wave", "2025"), {}), ("quarantine", "wave mismatch"))
    add("submitted-years-earlier", lambda t, s, m: (s.add(when=dt.datetime(2019, 5, 1)).googleforms(t / "o.csv"), {}), ("quarantine", "submitted outside the wave"))
    add("all-answers-blank", lambda t, s, m: (s.add(level="").googleforms(t / "b.csv"), {}), ("quarantine", "no levels answered"))
    add("all-dont-know", lambda t, s, m: (s.add(level="Don't know").googleforms(t / "b.csv"), {}), ("quarantine", "no levels answered"))
    add("bad-assessment-type", lambda t, s, m: (_with_col(s.add().googleforms(t / "t.csv"), "Assessment type", "guesswork"), {}), ("quarantine", "unknown assessment type"))
    add("unclosed-quote", lambda t, s, m: (_unclosed(s.add().add(email="b@x.gov.uk").googleforms(t / "q.csv")), {}), ("error", "cells but the header has"))
    add("quote-never-closed-at-end", lambda t, s, m: (_write(t / "q.csv", s.add().googleforms(t / "q.csv").read_text() + '2026-03-01,"unfinished\n'), {}), ("error", "never closed"))
    add("bad-wave-argument", lambda t, s, m: (s.add().googleforms(t / "g.csv"), {"wave": 26}), ("error", "not a year"))
    add("blank-rows-counted", lambda t, s, m: (_blank_rows(s.add().msforms(t / "b.xlsx")), {}), ("stored", 1))
    return cases


def _write(path, data):
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


def _truncate(path):
    path.write_text(path.read_text().splitlines()[0] + "\n")
    return path


def _drop_col(path, col, rename_to):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df.rename(columns={col: rename_to})
    df.to_csv(path, index=False)
    return path


def _dup_col(path, col):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.insert(3, "  " + col.upper() + " ", df[col])
    df.to_csv(path, index=False)
    return path


def _with_col(path, name, value):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.insert(2, name, value)
    df.to_csv(path, index=False)
    return path


def _unclosed(path):
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace(",Head of Digital,", ',"Head of Digital,', 1)
    path.write_text("\n".join(lines) + "\n")
    return path


def _cover_sheet(tmp, survey):
    path = survey.add().msforms(tmp / "c.xlsx", sheet="Responses")
    from openpyxl import load_workbook

    wb = load_workbook(path)
    cover = wb.create_sheet("Cover", 0)
    cover.append(["DQM survey export, downloaded 1 April 2026"])
    wb.save(path)
    return path


def _blank_rows(path):
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.active
    ws.append([None] * 5)
    ws.append([""] * 5)
    wb.save(path)
    return path


@pytest.mark.parametrize("build, expect", _bad_cases())
def test_bad_input(tmp_path, survey, model, build, expect):
    src = tmp_path / "src"
    src.mkdir()
    path, kw = build(src, survey, model)
    store = tmp_path / "s.duckdb"
    kind, what = expect
    if kind == "error":
        with pytest.raises(IngestError) as exc:
            ingest(path, store, **kw)
        msg = str(exc.value)
        assert what in msg, msg
        assert "Traceback" not in msg and "\n" not in msg
        if Path(path).is_file():
            assert Path(path).name in msg  # the message names the file
        return
    res = ingest(path, store, **kw)
    assert res.rows_read == res.stored + res.superseded + res.rejected
    if kind == "quarantine":
        assert res.rejected == 1 and list(res.reasons) == [what], res.reasons
        rej = load(store).rejects
        assert rej["detail"].str.len().gt(5).all() and rej["raw_json"].map(json.loads).map(len).gt(5).all()
    else:
        assert res.stored == what and res.rejected == 0


def test_bad_input_table_has_at_least_20_cases():
    assert len(_bad_cases()) >= 20


def test_evidence_at_the_cell_limit_survives_intact(tmp_path, survey, model):
    survey.add(evidence="y" * 32_767)  # Excel's own largest cell, the default max_cell_chars
    ingest(survey.googleforms(tmp_path / "big.csv"), tmp_path / "s.duckdb")
    ev = load(tmp_path / "s.duckdb").answers["evidence"]
    assert len(ev) == len(model.dimension_ids) and ev.str.len().eq(32_767).all()


# ---------------------------------------------------------------- the CLI
def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "dqm.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_cli_json(tmp_path, survey):
    path = _standard(survey).msforms(tmp_path / "e.xlsx")
    p = _cli("ingest", path, "--wave", WAVE, "--store", tmp_path / "s.duckdb", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    for key in ("rows_read", "stored", "superseded", "rejected", "unmatched_councils", "reasons", "ingest_id", "already_ingested"):
        assert key in out
    assert (out["rows_read"], out["stored"], out["superseded"], out["rejected"]) == (6, 3, 1, 2)
    # "Gotham City" is noise: no council is suggested for it (issue #22), and the note says why it was not stored
    assert out["unmatched_councils"][0]["suggestions"] == "" and out["unmatched_councils"][0]["note"]
    again = json.loads(_cli("ingest", path, "--wave", WAVE, "--store", tmp_path / "s.duckdb", "--json").stdout)
    assert again["already_ingested"] is True


def test_cli_error_is_one_paragraph_without_traceback(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    p = _cli("ingest", bad, "--wave", WAVE, "--store", tmp_path / "s.duckdb")
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and "bad.xlsx" in p.stderr and "not an XLSX" in p.stderr


def test_store_schema_version_and_newer_store_refused(tmp_path):
    from dqm.errors import DQMError
    from dqm.store import SCHEMA_VERSION, schema_version

    store = tmp_path / "s.duckdb"
    con = connect(store)
    assert schema_version(con) == SCHEMA_VERSION
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(DQMError, match="newer"):
        connect(store)


# ---------------------------------------------------------------- councils: other bodies refused, near names confirmed by a map
def test_other_bodies_are_quarantined_never_stored(tmp_path, survey):
    for i, name in enumerate(["North Yorkshire Police", "Nottinghamshire Police", "Greater Manchester Police",
                              "NHS Greater Manchester ICB", "Bristol City Council"]):
        survey.add(council=name, email=f"r{i}@example.org")
    res = ingest(survey.googleforms(tmp_path / "police.csv"), tmp_path / "s.duckdb")
    assert (res.rows_read, res.stored, res.superseded, res.rejected) == (5, 1, 0, 4)
    assert res.reasons == {"not a council": 4}
    assert table(tmp_path / "s.duckdb", "SELECT council_code FROM submissions")["council_code"].tolist() == ["BST"]
    detail = table(tmp_path / "s.duckdb", "SELECT detail FROM rejects ORDER BY source_row")["detail"]
    assert "names a police body" in detail.iloc[0] and "NHS" in detail.iloc[3]


def test_near_names_are_quarantined_then_confirmed_with_a_council_map(tmp_path, survey):
    store = tmp_path / "s.duckdb"
    survey.add(council="Birmingam", email="a@b.gov.uk").add(council="Bristol", email=None, name="")
    export = survey.googleforms(tmp_path / "e.csv")
    first = ingest(export, store)
    assert (first.stored, first.rejected) == (1, 1) and first.reasons == {"unknown council": 1}
    assert "probably Birmingham (BIR)" in table(store, "SELECT detail FROM rejects")["detail"].iloc[0]
    cmap = tmp_path / "map.csv"
    cmap.write_text("name,local_authority_code\nbirmingam,BIR\n", encoding="utf-8")
    second = ingest(export, store, council_map=cmap)
    assert not second.already_ingested
    assert (second.rows_read, second.stored, second.superseded, second.rejected) == (2, 2, 0, 0)
    assert second.superseded_earlier == 1  # the anonymous Bristol row of the first ingest is replaced, not doubled
    current = table(store, "SELECT council_code FROM submissions WHERE superseded_by IS NULL ORDER BY council_code")
    assert current["council_code"].tolist() == ["BIR", "BST"]
    assert ingest(export, store, council_map=cmap).already_ingested  # the same file and map again: nothing changes


# ---------------------------------------------------------------- faithful reading
def test_a_whole_windows_1252_file_is_read_as_such(tmp_path, survey):
    survey.add(council="Ynys Môn", evidence="Café – “smart” strategy")
    path = survey.googleforms(tmp_path / "w.csv", encoding="cp1252")
    res = ingest(path, tmp_path / "s.duckdb")
    assert (res.stored, res.rejected) == (1, 0)
    ev = load(tmp_path / "s.duckdb").answers["evidence"].iloc[0]
    assert ev == "Café – “smart” strategy"


def test_one_stray_windows_1252_byte_in_a_utf8_file_is_named_not_garbled(tmp_path, survey):
    survey.add(council="Ynys Môn", email="a@x.gov.uk").add(council="Bristol", email="b@x.gov.uk", evidence="caf\u00e9")
    path = survey.googleforms(tmp_path / "m.csv")
    data = path.read_bytes().replace("caf\u00e9".encode(), b"caf\xe9")  # the second response's evidence, cp1252
    path.write_bytes(data)
    with pytest.raises(IngestError, match=r"row 3.*byte 0xe9 in row 3|byte 0xe9 in row 3") as exc:
        ingest(path, tmp_path / "s.duckdb")
    assert "m.csv" in str(exc.value) and "UTF-8" in str(exc.value)


def test_qualtrics_with_one_header_row_loses_no_response(tmp_path, survey):
    path = _standard(survey).qualtrics(tmp_path / "q.csv", import_row=False)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")[:12] + next(csv.reader([lines[1]]))[12:]  # question texts instead of Q1, Q2, ...
    buf = io.StringIO()
    csv.writer(buf).writerow(header)
    path.write_text(buf.getvalue() + "\n".join(lines[2:]) + "\n")
    res = ingest(path, tmp_path / "s.duckdb")
    assert res.shape == "qualtrics"
    assert (res.rows_read, res.stored, res.superseded, res.rejected) == (6, 3, 1, 2)


def test_smartsurvey_blank_id_and_only_dont_know_is_counted(tmp_path, survey):
    survey.add(level="Don't know", email="dk@x.gov.uk")
    _standard(survey)
    path = survey.smartsurvey(tmp_path / "s.csv", second_header=True)
    lines = path.read_text().splitlines()
    lines[2] = "," + lines[2].split(",", 1)[1]  # the first response: no UserID, every level "Don't know"
    path.write_text("\n".join(lines) + "\n")
    res = ingest(path, tmp_path / "s.duckdb")
    assert res.rows_read == 7 and res.rows_read == res.stored + res.superseded + res.rejected
    assert res.reasons["no levels answered"] == 1


def test_an_unclassifiable_row_under_the_header_is_quarantined_not_dropped(tmp_path, survey):
    path = _standard(survey).qualtrics(tmp_path / "q.csv", import_row=True)
    lines = path.read_text().splitlines()
    lines.insert(3, ",".join(["???"] * len(lines[0].split(","))))
    path.write_text("\n".join(lines) + "\n")
    res = ingest(path, tmp_path / "s.duckdb")
    assert res.rows_read == 7 and res.rows_read == res.stored + res.superseded + res.rejected
    assert res.rejected == 3


def _dated(survey, stamps, tmp_path, name="d.csv"):
    for i, _when in enumerate(stamps):
        survey.add(email=f"r{i}@x.gov.uk")
    path = survey.googleforms(tmp_path / name)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["Timestamp"] = stamps
    df.to_csv(path, index=False)
    return path


def test_date_order_is_decided_by_the_whole_column(tmp_path, survey):
    path = _dated(survey, ["03/02/2026 10:00:00", "03/13/2026 10:00:00"], tmp_path)  # the 13 makes it month-first
    ingest(path, tmp_path / "s.duckdb")
    got = table(tmp_path / "s.duckdb", "SELECT submitted_at FROM submissions ORDER BY source_row")["submitted_at"]
    assert [t.strftime("%Y-%m-%d") for t in got] == ["2026-03-02", "2026-03-13"]


def test_mixed_date_orders_in_one_column_are_refused(tmp_path, survey):
    path = _dated(survey, ["13/02/2026 10:00", "02/13/2026 10:00"], tmp_path)
    with pytest.raises(IngestError, match="mix day-first and month-first"):
        ingest(path, tmp_path / "s.duckdb")


def test_an_ambiguous_date_column_is_reported(tmp_path, survey):
    path = _dated(survey, ["03/02/2026 10:00", "04/02/2026 10:00"], tmp_path)
    res = ingest(path, tmp_path / "s.duckdb")
    assert res.notes and "day-first or month-first" in res.notes[0]
    assert "read day-first" in res.summary()


def test_time_zones_and_offsets_are_read(tmp_path, survey):
    stamps = ["02/03/2026 10:00:00 GMT", "2026-07-01T10:00:00+01:00", "2026-07-01T09:00:00Z", "2026-07-01 09:00:00+00:00",
              "2026-03-02 10:00"]
    res = ingest(_dated(survey, stamps, tmp_path), tmp_path / "s.duckdb")
    assert (res.stored, res.rejected) == (5, 0)
    got = table(tmp_path / "s.duckdb", "SELECT submitted_at FROM submissions ORDER BY source_row")["submitted_at"]
    assert [t.strftime("%Y-%m-%d %H:%M") for t in got] == ["2026-03-02 10:00", "2026-07-01 10:00", "2026-07-01 10:00",
                                                          "2026-07-01 10:00", "2026-03-02 10:00"]


def test_an_unreadable_time_is_quarantined(tmp_path, survey):
    res = ingest(_dated(survey, ["31/02/2026 10:00", "yesterday"], tmp_path), tmp_path / "s.duckdb")
    assert res.reasons == {"unreadable date": 2}


def test_the_same_email_is_the_same_respondent_whatever_the_name(tmp_path, survey):
    survey.add(email="ann@bristol.gov.uk", name="Ann Example", when=dt.datetime(2026, 3, 1, 9))
    survey.add(email="Ann@Bristol.gov.uk", name="A. Example", when=dt.datetime(2026, 3, 2, 9))
    res = ingest(survey.msforms(tmp_path / "e.xlsx"), tmp_path / "s.duckdb")
    assert (res.stored, res.superseded) == (1, 1)


def test_an_xlsx_named_csv_is_read_by_its_content(tmp_path, survey):
    path = _standard(survey).msforms(tmp_path / "e.xlsx")
    named = tmp_path / "really-a-workbook.csv"
    named.write_bytes(path.read_bytes())
    res = ingest(named, tmp_path / "s.duckdb")
    assert res.shape == "msforms" and res.rows_read == 6


def test_a_workbook_with_malformed_sheet_xml_gets_a_message(tmp_path, survey):
    import zipfile

    path = _standard(survey).msforms(tmp_path / "e.xlsx")
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut off mid-element
            zout.writestr(item, data)
    with pytest.raises(IngestError, match="bad.xlsx.*(damaged|not a readable XLSX)"):
        ingest(bad, tmp_path / "s.duckdb")
