"""What an independent red-team review of the hardening found, each as a case that must stay fixed.

* a link or a named pipe planted beside a store, where DuckDB keeps its write-ahead log (``STORE.wal``) or
  temporary folder (``STORE.tmp``): DuckDB follows it, so an ingest overwrote the link's target and a report's
  snapshot copied it into the reports folder, and a pipe blocked every command;
* a store that is itself a link, written through; a store without dqm's salt (ingest crashed);
* ``dqm demo --out`` wrote with its own writer: into ``/``, and through planted links;
* a code the reference table does not know, ranked like a council;
* "London" (the region, in ONS and DLUHC tables) matched to the City of London.

The pack with a second, hidden "Council" row is a case in test_packs.py; a kept value forged without the
user's key is a case in test_stores.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dqm.cli import main

WAVE = 2026


@pytest.fixture(scope="module")
def base_store(tmp_path_factory, model):
    from conftest import Survey
    from dqm.store import ingest_files

    tmp = tmp_path_factory.mktemp("red-team")
    s = Survey(model)
    for i, name in enumerate(["Bristol, City of", "Kingston upon Thames", "York", "Leeds", "Manchester"]):
        s.add(council=name, email=f"r{i}@example.gov.uk")
    store = tmp / "s.duckdb"
    ingest_files([s.googleforms(tmp / "e.csv")], wave=WAVE, store=store)
    return store, tmp / "e.csv"


def _copy(base_store, tmp_path) -> Path:
    store = tmp_path / "store.duckdb"
    store.write_bytes(base_store[0].read_bytes())
    return store


def _victim(tmp_path) -> Path:
    v = tmp_path / "elsewhere" / "precious.txt"
    v.parent.mkdir()
    v.write_text("precious")
    return v


def _cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "unexpected error" not in out.err, out.err
    return code, out.err


# ---------------------------------------------------------------- beside the store: .wal and .tmp
COMPANIONS = [
    ("wal-link-to-a-file", ".wal", lambda victim: victim, "write-ahead log store.duckdb.wal is a symbolic link"),
    ("wal-link-dangling", ".wal", lambda victim: victim.parent / "new-file", "is a symbolic link"),
    ("wal-link-to-a-folder", ".wal", lambda victim: victim.parent, "is a symbolic link"),
    ("tmp-link-to-a-folder", ".tmp", lambda victim: victim.parent, "temporary folder store.duckdb.tmp is a symbolic link"),
]
COMMANDS = [
    ("ingest", lambda store, export: ["ingest", export, "--wave", WAVE, "--store", store]),
    ("score", lambda store, export: ["score", "--wave", WAVE, "--store", store]),
    ("report-quality", lambda store, export: ["report", "quality", "--wave", WAVE, "--store", store, "--out-dir",
                                             store.parent / "out"]),
]


@pytest.mark.parametrize("case, suffix, target, message", COMPANIONS, ids=[c[0] for c in COMPANIONS])
@pytest.mark.parametrize("command, argv", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_link_beside_the_store_is_refused_and_nothing_is_written_through_it(base_store, tmp_path, capsys, case, suffix,
                                                                               target, message, command, argv):
    store = _copy(base_store, tmp_path)
    victim = _victim(tmp_path)
    before = {p: p.read_bytes() for p in victim.parent.rglob("*") if p.is_file()}
    link = Path(str(store) + suffix)
    link.symlink_to(target(victim))
    store_bytes = store.read_bytes()
    code, err = _cli(capsys, *argv(store, base_store[1]))
    assert code == 2 and message in err and "Remove store.duckdb" in err, err
    assert {p: p.read_bytes() for p in victim.parent.rglob("*") if p.is_file()} == before  # nothing written there
    assert not (victim.parent / "new-file").exists()
    assert store.read_bytes() == store_bytes and link.is_symlink()
    assert not (store.parent / "out").exists() or not any((store.parent / "out").rglob("*.wal"))


def test_a_named_pipe_for_a_write_ahead_log_is_refused_at_once(base_store, tmp_path):
    """A pipe at STORE.wal blocked every command for ever; it is refused before DuckDB opens anything."""
    store = _copy(base_store, tmp_path)
    os.mkfifo(str(store) + ".wal")
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "score", "--wave", str(WAVE), "--store", str(store)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "write-ahead log store.duckdb.wal is not a file" in p.stderr, p.stderr


def test_a_crashed_runs_own_write_ahead_log_is_still_read(base_store, tmp_path, capsys):
    """A regular .wal is the store's own log (left by a killed process): the store opens as before."""
    store = _copy(base_store, tmp_path)
    con = duckdb.connect(str(store))
    con.execute("SET wal_autocheckpoint = '1TB'")
    con.execute("UPDATE answers SET evidence = 'kept in the log' WHERE evidence IS NOT NULL")
    con.close()  # (a clean close checkpoints; the log case is covered by DuckDB itself: here, no .wal or a file)
    code, err = _cli(capsys, "score", "--wave", WAVE, "--store", store, "--json")
    assert code == 0, err


# ---------------------------------------------------------------- the store itself
def test_a_store_that_is_a_link_is_never_written_through(base_store, tmp_path, capsys):
    real = _copy(base_store, tmp_path)
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)
    before = real.read_bytes()
    code, err = _cli(capsys, "ingest", base_store[1], "--wave", WAVE - 1, "--store", link)
    assert code == 2 and "the store is a symbolic link" in err, err
    assert real.read_bytes() == before
    dangling = tmp_path / "dangling.duckdb"
    dangling.symlink_to(tmp_path / "elsewhere-store.duckdb")
    code, err = _cli(capsys, "ingest", base_store[1], "--wave", WAVE, "--store", dangling)
    assert code == 2 and "symbolic link" in err and not (tmp_path / "elsewhere-store.duckdb").exists()


def test_a_store_without_dqms_salt_is_refused_before_ingest(base_store, tmp_path, capsys):
    store = _copy(base_store, tmp_path)
    con = duckdb.connect(str(store))
    con.execute("DELETE FROM meta WHERE key = 'salt'")
    con.close()
    before = store.read_bytes()
    code, err = _cli(capsys, "ingest", base_store[1], "--wave", WAVE - 1, "--store", store)
    assert code == 2 and "lacks the salt" in err, err
    assert store.read_bytes() == before


def test_a_code_the_reference_does_not_know_is_never_ranked(base_store, tmp_path, capsys):
    store = _copy(base_store, tmp_path)
    con = duckdb.connect(str(store))
    con.execute("UPDATE submissions SET council_code = 'ZZZ' WHERE council_code = 'YOR'")
    con.close()
    code, err = _cli(capsys, "score", "--wave", WAVE, "--store", store, "--json")
    capsys.readouterr()
    assert code == 0
    from dqm.reports.notebook import councils_in_wave

    assert "ZZZ" not in councils_in_wave(store, WAVE)
    import dqm

    with pytest.warns(dqm.scoring.NotACouncilWarning, match="'ZZZ'"):
        scores = dqm.scores(data=dqm.load(store), wave=WAVE)
    assert "ZZZ" not in set(scores["council_code"])


# ---------------------------------------------------------------- dqm demo writes through the one writer
def test_demo_out_root_is_refused(capsys):
    before = set(os.listdir("/"))
    try:
        code, err = _cli(capsys, "demo", "--out", "/")
    finally:
        made = set(os.listdir("/")) - before
        for name in made:  # leave the machine as it was, even against broken code
            Path("/", name).unlink()
    assert not made
    assert code == 2 and "dqm does not write its files there" in err, err


@pytest.mark.parametrize("planted", ["manifest.csv", "dqm-2024-self-msforms.xlsx", "truth.yaml"])
def test_demo_never_writes_through_a_planted_link(tmp_path, capsys, planted):
    out = tmp_path / "demo"
    out.mkdir()
    victim = _victim(tmp_path)
    (out / planted).symlink_to(victim)
    code, err = _cli(capsys, "demo", "--out", out)
    assert code == 2 and "symbolic link" in err, err
    assert victim.read_text() == "precious"


# ---------------------------------------------------------------- "London" is a region
@pytest.mark.parametrize("name", ["London", "london", " LONDON ", "Wales", "North West", "United Kingdom"])
def test_an_area_is_not_a_council(name):
    from dqm.reference import match_council

    m = match_council(name)
    assert m.code is None and m.method == "refused" and "not a council" in m.note


@pytest.mark.parametrize("name, code", [("City of London", "LND"), ("London Borough of Camden", "CMD"),
                                        ("Cardiff", "CRF"), ("Westminster", "WSM")])
def test_councils_named_after_places_in_an_area_still_match(name, code):
    from dqm.reference import match_council

    assert match_council(name).code == code


def test_a_london_outcome_row_is_not_joined_to_the_city_of_london(tmp_path):
    from dqm.outcomes import read_user_outcomes

    f = tmp_path / "complaints.csv"
    f.write_text("council,period,value\nLondon,2025-26,5\nCity of London,2025-26,7\nBristol,2025-26,3\n")
    joined, log = read_user_outcomes(f, {"id": "complaints", "file": "complaints.csv"}, "complaints")
    assert sorted(joined["local-authority-code"]) == ["BST", "LND"]
    assert joined.set_index("local-authority-code").loc["LND", "value"] == 7
    text = json.dumps(log.astype(str).to_dict("records"))
    assert "London" in text and "region" in text


# ---------------------------------------------------------------- a CSV opened where ';' separates cells
@pytest.mark.parametrize("text", ["Gotham;=cmd|' /C calc'!A0", "a;+1+1", "a; @SUM(A1)", "x;\t=1"])
def test_no_piece_of_a_csv_cell_starts_a_formula_where_semicolons_separate_cells(text):
    import csv
    import io

    from dqm.cells import csv_text, starts_formula

    written = csv_text(pd.DataFrame({"name": [text]}))
    for delimiter in (",", ";"):  # as Excel reads it in an English and in a European setting
        cells = [c for row in csv.reader(io.StringIO(written), delimiter=delimiter) for c in row]
        assert not [c for c in cells if starts_formula(c)], (delimiter, cells)


# ---------------------------------------------------------------- hidden settings folders of the home folder
@pytest.mark.parametrize("where", [".ssh", ".config/autostart", ".local/bin"])
def test_no_output_goes_into_a_hidden_settings_folder_of_home(tmp_path, monkeypatch, capsys, where):
    home = tmp_path / "home"
    (home / where).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    code, err = _cli(capsys, "questions", "--out", home / where / "questions.csv")
    assert code == 2 and "hidden settings folder" in err, err
    assert not (home / where / "questions.csv").exists()
    (home / "work").mkdir(exist_ok=True)
    code, err = _cli(capsys, "questions", "--out", home / "work" / "questions.csv")  # elsewhere in home is fine
    assert code == 0, err
