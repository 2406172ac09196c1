"""A store is data, never code: stores and kept values received from others (issue 17, item 1).

Two surfaces, each table-driven:

* **Received stores.** One row per hostile store (a copy of a real store, changed as an attacker or a
  careless tool would: a VIEW named like a dqm table that reads a local file, a macro, an index, a
  foreign schema, a changed column...) times every way dqm opens a store (``dqm.load``, ``dqm score``,
  ``dqm ingest`` writing to it, ``dqm report quality``, ``dqm run --store``). Every case is refused
  with one line naming the file and what was found, the file is left byte for byte as it was, and the
  secret the view reads never appears. Even if the check were missed, the connection itself cannot
  read a file: every connection dqm opens goes through :func:`dqm.safe_duckdb.open_duckdb`.
* **Kept values** (the engine-check cache, a batch's shared wave inputs, a run's claims battery): never
  pickles. A planted pickle whose loading would create a marker file is never loaded; a damaged or
  changed file is recomputed; what is kept comes back equal, dtypes included.
"""
from __future__ import annotations

import dataclasses
import pickle
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dqm.cli import main

WAVE = 2026
SECRET = "DQM-SECRET-7f3a9c: the analyst's private file"
PACKAGE = Path(__file__).resolve().parents[2] / "dqm"


# ---------------------------------------------------------------- a real store, and hostile copies of it
@pytest.fixture(scope="module")
def base_store(tmp_path_factory, model) -> Path:
    """A small store made by dqm (three councils, one quarantined row), marked as made by `dqm run`."""
    from conftest import Survey
    from dqm.paths import mark_run_store
    from dqm.store import ingest_files

    tmp = tmp_path_factory.mktemp("stores")
    s = Survey(model)
    for i, council in enumerate(["Bristol, City of", "Leeds", "Cornwall", "Not A Council At All"]):
        s.add(council=council, email=f"r{i}@example.gov.uk")
    store = tmp / "base.duckdb"
    ingest_files([s.googleforms(tmp / "e.csv")], wave=WAVE, store=store)
    mark_run_store(store)  # so that `dqm run --store` would rebuild (delete) it if it took it for its own
    return store


@dataclasses.dataclass
class Received:
    path: Path
    secret: Path
    tmp: Path
    before: bytes


def _received(tmp: Path, base: Path, statements: list[str]) -> Received:
    """A copy of ``base`` changed by ``statements`` (``{secret}`` is a file holding SECRET), with a plain connection."""
    secret = tmp / "private.txt"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    path = tmp / "received.duckdb"
    shutil.copyfile(base, path)
    con = duckdb.connect(str(path))
    for sql in statements:
        con.execute(sql.format(secret=secret, tmp=tmp))
    con.close()
    assert not Path(str(path) + ".wal").exists()
    return Received(path, secret, tmp, path.read_bytes())


READS_SECRET = "SELECT content FROM read_text('{secret}')"
VIEW_REJECTS = ["DROP TABLE rejects",
                "CREATE VIEW rejects AS SELECT 1::INTEGER AS ingest_id, 1::INTEGER AS source_row, content AS reason, "
                "content AS detail, content AS raw_json FROM read_text('{secret}')"]

# (id, statements that change the copy, what the refusal says, whether the change is SQL that would run)
HOSTILE = [
    ("view-rejects-reads-a-file", VIEW_REJECTS, "holds a view named rejects; a dqm store holds only tables", True),
    ("view-meta", ["DROP TABLE meta", "CREATE VIEW meta AS SELECT 'schema_version' AS key, '1' AS value UNION ALL "
                   "SELECT 'made_by', 'dqm run' UNION ALL SELECT 'salt', content FROM read_text('{secret}')"],
     "holds a view named meta", True),
    ("extra-view", [f"CREATE VIEW councils AS {READS_SECRET}"], "holds a view named councils", True),
    ("macro", [f"CREATE MACRO level_name(x) AS ({READS_SECRET})"], "holds a macro named level_name", True),
    ("table-macro", [f"CREATE MACRO peek() AS TABLE {READS_SECRET}"], "holds a macro named peek", True),
    ("index", ["CREATE INDEX answers_level ON answers(level)"], "holds an index named answers_level", True),
    ("enum-type", ["CREATE TYPE mood AS ENUM ('happy', 'sad')"], "holds a type named mood", True),
    ("foreign-schema", ["CREATE SCHEMA extra", "CREATE TABLE extra.loot (a VARCHAR)"],
     "holds a schema named extra", True),
    ("extra-sequence", ["CREATE SEQUENCE evil_seq"], "holds a sequence named evil_seq that a dqm store does not have",
     False),
    ("column-type", ["ALTER TABLE rejects ALTER raw_json TYPE INTEGER USING NULL"],
     "holds a table rejects whose columns (ingest_id INTEGER, source_row INTEGER, reason VARCHAR, detail VARCHAR, "
     "raw_json INTEGER) are not a dqm store's", False),
    ("extra-column", ["ALTER TABLE answers ADD COLUMN note VARCHAR"], "holds a table answers whose columns", False),
    ("default-changed", ["ALTER TABLE submissions ALTER synthetic SET DEFAULT true"],
     "holds a table submissions whose constraints or defaults are not a dqm store's", False),
    ("missing-table", ["DROP TABLE rejects"], "lacks the table rejects that every dqm store has", False),
    ("foreign-table", ["CREATE TABLE sales (region VARCHAR)"], "holds tables that are not a dqm store's (sales)", False),
]


def _load(r: Received, capsys) -> tuple[int, str, str]:
    """``dqm.load`` as a notebook calls it: (exit code as the CLI would give, '', message)."""
    import dqm
    from dqm.errors import DQMError

    try:
        dqm.load(r.path)
    except DQMError as exc:
        return 2, "", str(exc)
    return 0, "", ""


def _cli(argv):
    def run(r: Received, capsys) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([a.format(store=r.path, tmp=r.tmp) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def _ingest(r: Received, capsys):
    from conftest import Survey
    from dqm.model import load_model

    export = Survey(load_model()).add(council="York").googleforms(r.tmp / "new.csv")
    return _cli(["ingest", str(export), "--wave", str(WAVE), "--store", "{store}", "--json"])(r, capsys)


def _run(r: Received, capsys):
    from conftest import Survey
    from dqm.model import load_model

    exports = r.tmp / "exports"
    exports.mkdir()
    Survey(load_model()).add(council="York").googleforms(exports / "a.csv")
    (exports / "manifest.csv").write_text(f"file,wave,assessment_type\na.csv,{WAVE},self\n", encoding="utf-8")
    return _cli(["run", "--exports", str(exports), "--store", "{store}", "--out-dir", "{tmp}/runout",
                 "--no-reports"])(r, capsys)


ENTRIES = {
    "load": _load,
    "score": _cli(["score", "--wave", str(WAVE), "--store", "{store}"]),
    "ingest": _ingest,
    "report-quality": _cli(["report", "quality", "--wave", str(WAVE), "--store", "{store}", "--out-dir", "{tmp}/out"]),
}


def _assert_refused(r: Received, code: int, out: str, err: str, fragment: str) -> None:
    assert code == 2, f"exit {code}; stderr: {err}; stdout: {out[:300]}"
    assert "Traceback" not in err + out and "unexpected error" not in err, err
    last = err.strip().splitlines()[-1]
    assert fragment in last, f"{fragment!r} not in {last!r}"
    assert str(r.path) in last and "left untouched" in last, last
    assert SECRET not in out + err and "DQM-SECRET" not in out + err
    assert r.path.read_bytes() == r.before, "the received store was changed"
    assert not Path(str(r.path) + ".wal").exists()
    assert not list(r.tmp.rglob("*.html")), "a report was written from a refused store"


@pytest.mark.parametrize("entry", list(ENTRIES))
@pytest.mark.parametrize("statements, fragment", [pytest.param(s, f, id=i) for i, s, f, _ in HOSTILE])
def test_a_received_store_that_is_not_only_dqm_tables_is_refused_untouched(base_store, tmp_path, capsys, entry,
                                                                         statements, fragment):
    r = _received(tmp_path, base_store, statements)
    code, out, err = ENTRIES[entry](r, capsys)
    _assert_refused(r, code, out, err, fragment)
    if entry != "load":
        assert "Ask the sender for a store made by `dqm ingest`" in err


@pytest.mark.parametrize("statements", [pytest.param(s, id=i) for i, s, _, code in HOSTILE if code])
def test_dqm_run_does_not_take_a_store_holding_sql_for_its_own(base_store, tmp_path, capsys, statements):
    """`dqm run --store` deletes and rebuilds a store it made; one holding views or macros is not one it made,
    even if its meta says so: it is refused and left as it was."""
    r = _received(tmp_path, base_store, statements)
    code, out, err = _run(r, capsys)
    _assert_refused(r, code, out, err, "is not a store made by `dqm run`")


def test_a_store_made_by_dqm_is_still_accepted_everywhere(base_store, tmp_path, capsys):
    """The checks refuse nothing dqm makes: load, score, a second ingest and `dqm run` rebuilding its own store;
    and the connection dqm hands out for it is the one that cannot reach outside the file."""
    import dqm
    from dqm.store import connect

    r = _received(tmp_path, base_store, [])
    for read_only in (True, False):
        con = connect(r.path, read_only=read_only)
        try:
            assert con.execute("SELECT current_setting('enable_external_access'), "
                               "current_setting('lock_configuration')").fetchall() == [(False, True)]
        finally:
            con.close()
    assert len(dqm.load(r.path).answers) > 0
    assert _cli(["score", "--wave", str(WAVE), "--store", "{store}"])(r, capsys)[0] == 0
    code, out, err = _ingest(r, capsys)
    assert code == 0, err
    code, out, err = _run(r, capsys)
    assert code == 0, err


def test_an_empty_duckdb_file_is_a_new_store_to_write_and_refused_to_read(tmp_path, capsys):
    from dqm.errors import DQMError
    from dqm.store import connect

    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    before = path.read_bytes()
    with pytest.raises(DQMError, match="holds no dqm tables yet"):
        connect(path, read_only=True)
    assert path.read_bytes() == before
    connect(path).close()  # writing: it becomes a store
    connect(path, read_only=True).close()


def test_the_attack_cannot_read_the_file_even_if_the_check_were_missed(base_store, tmp_path, monkeypatch):
    """Defence in depth: with the catalog check switched off, the view still cannot read the analyst's file."""
    import dqm
    import dqm.store

    r = _received(tmp_path, base_store, VIEW_REJECTS)
    monkeypatch.setattr(dqm.store, "_check_is_dqm_store", lambda *a, **k: None)
    with pytest.raises(duckdb.Error) as exc:
        dqm.load(r.path)
    assert "disabled by configuration" in str(exc.value) and SECRET not in str(exc.value)
    assert r.path.read_bytes() == r.before


# ---------------------------------------------------------------- the one way dqm opens DuckDB
OUTSIDE = [
    ("read_text", "SELECT * FROM read_text('{secret}')"),
    ("read_blob", "SELECT * FROM read_blob('{secret}')"),
    ("read_csv", "SELECT * FROM read_csv('{secret}', header = false)"),
    ("glob", "SELECT * FROM glob('{tmp}/*')"),
    ("copy-to", "COPY (SELECT 42 AS x) TO '{tmp}/written.csv'"),
    ("attach", "ATTACH '{tmp}/other.duckdb' AS other"),
    ("install-extension", "INSTALL httpfs"),
    ("load-extension", "LOAD httpfs"),
    ("autoload-over-https", "SELECT * FROM read_csv('https://127.0.0.1:9/x.csv')"),
    ("turn-access-back-on", "SET enable_external_access = true"),
    ("turn-autoload-back-on", "SET autoload_known_extensions = true"),
]


def _opened(how: str, tmp: Path, base: Path):
    from dqm.safe_duckdb import open_duckdb
    from dqm.store import connect

    store = tmp / "s.duckdb"
    shutil.copyfile(base, store)
    return {"open_duckdb": lambda: open_duckdb(store), "memory": lambda: open_duckdb(":memory:"),
            "store-read": lambda: connect(store, read_only=True), "store-write": lambda: connect(store)}[how]()


@pytest.mark.parametrize("how", ["open_duckdb", "memory", "store-read", "store-write"])
@pytest.mark.parametrize("sql", [pytest.param(s, id=i) for i, s in OUTSIDE])
def test_a_dqm_connection_cannot_reach_outside_its_database(base_store, tmp_path, how, sql):
    (tmp_path / "private.txt").write_text(SECRET, encoding="utf-8")
    con = _opened(how, tmp_path, base_store)
    try:
        with pytest.raises(duckdb.Error) as exc:
            con.execute(sql.format(secret=tmp_path / "private.txt", tmp=tmp_path)).fetchall()
        assert SECRET not in str(exc.value)
        assert re.search(r"disabled|locked|Permission", str(exc.value)), str(exc.value)
        setting = con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]
        assert setting is False
    finally:
        con.close()
    assert not (tmp_path / "written.csv").exists() and not (tmp_path / "other.duckdb").exists()


def test_registered_frames_still_work_but_a_python_variable_is_not_read_by_name(tmp_path):
    """Ingest hands DataFrames over with ``con.register``; that still works. A replacement scan (a pandas
    variable found by name in the caller's scope) is external access and is refused."""
    from dqm.safe_duckdb import open_duckdb

    con = open_duckdb(tmp_path / "s.duckdb")
    try:
        frame = pd.DataFrame({"a": [1, 2, 3]})
        con.register("given", frame)
        assert con.execute("SELECT sum(a) FROM given").fetchall() == [(6,)]
        lurking = pd.DataFrame({"b": [SECRET]})  # noqa: F841 (found by name only through a replacement scan)
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM lurking").fetchall()
    finally:
        con.close()


def test_every_duckdb_connection_in_dqm_goes_through_open_duckdb():
    opened = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                    if re.search(r"duckdb\s*\.\s*connect\s*\(", p.read_text(encoding="utf-8")))
    assert opened == ["safe_duckdb.py"], opened


def test_no_pickle_anywhere_in_dqm():
    found = sorted(f"{p.relative_to(PACKAGE)}: {m.group(0)}" for p in PACKAGE.rglob("*.py")
                   for m in re.finditer(r"import pickle|pickle\.loads?\(|read_pickle|cloudpickle|dill|joblib\.load",
                                        p.read_text(encoding="utf-8")))
    assert not found, found


# ---------------------------------------------------------------- kept values: never a pickle
class _Planted:
    """A pickle whose loading creates a marker file (what an attacker would put in a shared folder)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(_Planted(marker)))


def test_a_planted_pickle_in_the_cache_folder_is_never_loaded(tmp_path, monkeypatch):
    from dqm.reports.cache import disk_cached

    cache = tmp_path / "cache"
    monkeypatch.setenv("DQM_CACHE_DIR", str(cache))
    calls = []
    frame = pd.DataFrame({"engine": ["honest", "broken"], "coverage": [0.95, 0.4]})

    def compute():
        calls.append(1)
        return frame

    pd.testing.assert_frame_equal(disk_cached("engine-checks", {"replications": 3}, compute, code=["claims"]), frame)
    marker = tmp_path / "pwned"
    kept = list(cache.iterdir())
    assert kept and all(p.suffix != ".pkl" for p in kept)
    for p in kept:  # every file the cache made, and the same names as .pkl, now hold the planted pickle
        _plant(p, marker)
        _plant(p.with_suffix(".pkl"), marker)
    got = disk_cached("engine-checks", {"replications": 3}, compute, code=["claims"])
    assert not marker.exists(), "a planted pickle was loaded"
    pd.testing.assert_frame_equal(got, frame)
    assert len(calls) == 2  # the planted file was not trusted: computed again


def test_planted_shared_wave_inputs_are_never_loaded(tmp_path, monkeypatch):
    import dqm.reports.wave

    marker = tmp_path / "pwned"
    shared = tmp_path / "_build" / "wave-inputs-2026.jsonl"
    shared.parent.mkdir()
    _plant(shared, marker)
    _plant(shared.with_suffix(".pkl"), marker)
    made = object()
    monkeypatch.setattr(dqm.reports.wave, "compute_wave_inputs", lambda store, wave, draws, only=None: made)
    for path in (shared, shared.with_suffix(".pkl")):
        assert dqm.reports.wave.wave_inputs(tmp_path / "s.duckdb", WAVE, 50, shared=str(path)) is made
    assert not marker.exists(), "a planted pickle was loaded"


def test_planted_shared_claims_results_are_never_loaded(tmp_path, monkeypatch):
    import dqm.claims
    from dqm.reports.wave import claims_results

    marker = tmp_path / "pwned"
    shared = tmp_path / "claims-2026.jsonl"
    _plant(shared, marker)
    _plant(shared.with_suffix(".pkl"), marker)
    computed = ["computed here"]
    monkeypatch.setattr(dqm.claims, "evaluate_claims", lambda *a, **k: computed)
    for path in (shared, shared.with_suffix(".pkl")):
        assert claims_results([], None, None, None, WAVE, 10, 10, shared=str(path)) is computed
    assert not marker.exists(), "a planted pickle was loaded"


# a kept value, damaged or changed: each must be refused (and so computed again by the caller)
def _frame_file() -> bytes:
    from dqm.serial import dumps

    return dumps(pd.DataFrame({"a": [1, 2], "b": ["x", None]}))


def _rehash(data: bytes, change) -> bytes:
    """Change the JSON payload and give it a matching hash: only the content check can refuse it."""
    import json

    head, payload = data.rstrip(b"\n").split(b"\n")
    payload = change(payload.decode()).encode()
    header = json.loads(head)
    from dqm.serial import _mac

    header["hmac_sha256"] = _mac(payload)  # as the user's own dqm would: only the content check can refuse it
    return json.dumps(header).encode() + b"\n" + payload + b"\n"


def _forged(data: bytes, change) -> bytes:
    """What someone who can write the folder but not read the user's key can make: a plain hash, or another key."""
    import hashlib
    import hmac
    import json

    head, payload = data.rstrip(b"\n").split(b"\n")
    payload = change(payload.decode()).encode()
    header = json.loads(head)
    header["hmac_sha256"] = hmac.new(b"not the user's key" * 2, payload, hashlib.sha256).hexdigest()
    header["sha256"] = hashlib.sha256(payload).hexdigest()
    return json.dumps(header).encode() + b"\n" + payload + b"\n"


@dataclasses.dataclass
class _Allowed:
    x: int


DAMAGED = [
    ("empty", lambda: b""),
    ("a-pickle", lambda: pickle.dumps({"a": 1})),
    ("truncated", lambda: _frame_file()[:-20]),
    ("one-byte-changed", lambda: _frame_file().replace(b'"x"', b'"y"')),
    ("wrong-format", lambda: _frame_file().replace(b"dqm-value", b"other-fmt", 1)),
    ("newer-version", lambda: _frame_file().replace(b'"version": 2', b'"version": 3', 1)),
    ("forged-without-the-key", lambda: _forged(_frame_file(), lambda p: p.replace('"x"', '"y"'))),
    ("not-json", lambda: _rehash(_frame_file(), lambda p: p[:-3])),
    ("unknown-tag", lambda: _rehash(_frame_file(), lambda p: p.replace('"$t":"frame"', '"$t":"exec"'))),
    ("object-dtype-as-numpy", lambda: _rehash(_frame_file(), lambda p: p.replace('"dtype":"<i8"', '"dtype":"|O"'))),
    ("unknown-pandas-dtype", lambda: _rehash(_frame_file(), lambda p: p.replace('"dtype":"str"', '"dtype":"period[D]"',
                                                                                  1))),
    ("column-longer-than-table", lambda: _rehash(_frame_file(), lambda p: p.replace('[1,2]', '[1,2,3]'))),
    ("a-class-not-asked-for", lambda: _rehash(_allowed_file(), lambda p: re.sub(r'"type":"[^"]*"',
                                                                                  '"type":"subprocess.Popen"', p))),
    ("fields-not-the-class's", lambda: _rehash(_allowed_file(), lambda p: p.replace('"x":', '"args":'))),
]


def _allowed_file() -> bytes:
    from dqm.serial import dumps

    return dumps(_Allowed(3))


@pytest.mark.parametrize("make", [pytest.param(m, id=i) for i, m in DAMAGED])
def test_a_damaged_or_changed_kept_value_is_refused(tmp_path, make):
    from dqm.serial import UnreadableValue, read_value

    path = tmp_path / "kept.jsonl"
    path.write_bytes(make())
    with pytest.raises(UnreadableValue):
        read_value(path, types=(_Allowed,))


def test_a_damaged_cache_file_is_computed_again(tmp_path, monkeypatch):
    from dqm.reports.cache import disk_cached

    monkeypatch.setenv("DQM_CACHE_DIR", str(tmp_path))
    calls = []
    assert disk_cached("t", {"x": 1}, lambda: calls.append(1) or {"v": 1}) == {"v": 1}
    for make in (m for _, m in DAMAGED):
        for p in tmp_path.glob("t-*"):
            p.write_bytes(make())
        assert disk_cached("t", {"x": 1}, lambda: calls.append(1) or {"v": 1}) == {"v": 1}
    assert len(calls) == 1 + len(DAMAGED)


# ---------------------------------------------------------------- kept values come back equal
def _same(a, b, where="value"):
    """Equal values of equal types, frames with equal dtypes and index, NaN equal to NaN."""
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b)
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif a is pd.NA or a is pd.NaT:
        assert b is a, where
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, (where, a, b)


def test_every_kind_of_column_and_value_comes_back_equal():
    import datetime as dt

    from dqm.serial import dumps, loads

    frame = pd.DataFrame({
        "int64": [1, 2, 3], "int32": np.array([1, 2, 3], dtype="int32"), "float": [1.5, np.nan, -np.inf],
        "bool": [True, False, True], "text": ["a", None, "ü ☃ \u202e"], "Int64": pd.array([1, None, 3], dtype="Int64"),
        "Int32": pd.array([1, None, 3], dtype="Int32"), "boolean": pd.array([True, None, False], dtype="boolean"),
        "Float64": pd.array([0.5, None, 2.0], dtype="Float64"),
        "time_us": pd.to_datetime(["2026-01-01 10:00:00.123456", None, "2025-02-03 00:00:00.000000"],
                                  format="ISO8601").astype("datetime64[us]"),
        "time_ns": pd.to_datetime(["2026-01-01 10:00:00.123456789", None, "2025-02-03 00:00:00.000000000"],
                                  format="ISO8601").astype("datetime64[ns]"),
        "category": pd.Categorical(["x", "y", "x"], categories=["y", "x"], ordered=True),
        "object": [{"a": 1}, (1, "b"), None], "string": pd.array(["a", None, "b"], dtype="string"),
    }, index=pd.Index(["r1", "r1", "r3"], name="row"))
    frame.columns.name = "columns"
    value = {"frame": frame, "empty": pd.DataFrame(), "series": pd.Series([1.0, 2.0], index=pd.RangeIndex(3, 5), name="s"),
             "list": [1, 2.5, "x", None, True, float("nan")], (1, "tuple key"): dt.date(2026, 1, 1),
             3: dt.datetime(2026, 1, 1, 1, 2, 3, 4), "np": (np.float64(0.25), np.int64(5), np.bool_(True)),
             "arrays": (np.arange(6.0).reshape(2, 3), np.array([1, 2], dtype="int64"), np.array([], dtype="float64")),
             "timestamp": pd.Timestamp("2026-05-01 12:00"), "missing": (pd.NA, pd.NaT)}
    _same(value, loads(dumps(value)))


def test_a_value_that_is_not_plain_data_is_not_kept(tmp_path, monkeypatch):
    from dqm.reports.cache import disk_cached

    monkeypatch.setenv("DQM_CACHE_DIR", str(tmp_path))
    fn = disk_cached("f", {}, lambda: len)  # a function is code, not data: returned, not kept
    assert fn is len and not list(tmp_path.iterdir())


def test_shared_wave_inputs_come_back_equal(base_store, tmp_path):
    from dqm.reports.wave import compute_wave_inputs, wave_inputs, write_wave_inputs

    store = tmp_path / "s.duckdb"
    shutil.copyfile(base_store, store)
    made = compute_wave_inputs(store, WAVE, draws=20)
    path = write_wave_inputs(made, tmp_path / "_build" / "wave-inputs-2026.jsonl")
    assert path.read_bytes().startswith(b'{"format": "dqm-value"')
    back = wave_inputs(store, WAVE, 20, shared=str(path))
    assert back is not made
    _same(made, back, "inputs")
    assert back.model.level_names == made.model.level_names


def test_shared_claims_results_come_back_equal(demo_store, tmp_path):
    """The battery on the demo store (specification curves, null resamples as arrays, the claims themselves)."""
    from dqm.claims.registry import load_evidence
    from dqm.model import load_model
    from dqm.reports.wave import claims_results, write_claims_results
    from dqm.store import load

    store, _ = demo_store
    path = write_claims_results(store, WAVE, 30, 10, tmp_path / "claims-2026.jsonl")
    assert path.read_bytes().startswith(b'{"format": "dqm-value"')  # data, not a pickle
    model = load_model()
    evidence = load_evidence(None, None, None, model=model)
    data = load(store, model=model)
    fresh = claims_results(evidence.claims, data.councils, evidence.outcomes, model, WAVE, 30, 10, measurement=data)
    kept = claims_results(evidence.claims, None, None, model, WAVE, 30, 10, shared=str(path))
    assert any(r.spec_null is not None for r in fresh) and any(len(r.specs) for r in fresh)
    _same(fresh, kept, "results")
