"""The assessment store: a DuckDB file holding every ingest, submission, answer and quarantined row.

Schema (version 1; ``meta.schema_version``):

* ``ingests``: one row per ingested file: file name, SHA-256, tool shape, wave, default assessment
  type, time, counts (rows read, stored, superseded, rejected, blank rows) and ignored columns.
* ``submissions``: one row per accepted survey response: council, wave, assessment type, a salted
  hash of the respondent's e-mail or name (the clear text is never stored), role, submitted time,
  source ingest and spreadsheet row, ``superseded_by`` (NULL for the current submission) and
  ``synthetic`` (the export said the row is demonstration data; every report showing it says so).
* ``answers``: submission, dimension, level (NULL when blank or "don't know"), level status,
  target level and evidence text (stored as given, never interpreted).
* ``rejects``: quarantined rows: source ingest, row number, reason, detail and the row's values
  (without personal data) as JSON.

Migrations: ``MIGRATIONS[n]`` upgrades a store from version n to n + 1; :func:`connect` applies them
in order in one transaction. A store written by a newer dqm is refused.

A store is data, never code. Every connection is opened by :func:`dqm.safe_duckdb.open_duckdb` (no file,
network or extension access beyond the store itself), and :func:`connect` accepts a file only if it
holds dqm's tables, defined exactly as the migrations define them, and dqm's sequences: a view, macro,
index, type, schema or any other table is refused, with the file left untouched, before any table is read.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .errors import DQMError, IngestError
from .ingest import ASSESSMENT_TYPES, parse_export, read_export
from .model import Model, load_model
from .paths import default_store, resolve_store
from .safe_duckdb import catalog, code_objects, open_duckdb

SCHEMA_VERSION = 1

_V1 = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS ingest_seq START 1;
CREATE SEQUENCE IF NOT EXISTS submission_seq START 1;
CREATE TABLE IF NOT EXISTS ingests (
    ingest_id INTEGER PRIMARY KEY, file_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL UNIQUE,
    shape VARCHAR NOT NULL, wave INTEGER NOT NULL, assessment_type VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL, model_id VARCHAR, model_version VARCHAR,
    rows_read INTEGER NOT NULL, stored INTEGER NOT NULL, superseded INTEGER NOT NULL, rejected INTEGER NOT NULL,
    superseded_earlier INTEGER NOT NULL, blank_rows INTEGER NOT NULL, ignored_columns VARCHAR
);
CREATE TABLE IF NOT EXISTS submissions (
    submission_id INTEGER PRIMARY KEY, ingest_id INTEGER NOT NULL, source_row INTEGER NOT NULL,
    council_code VARCHAR NOT NULL, council_text VARCHAR, wave INTEGER NOT NULL, assessment_type VARCHAR NOT NULL,
    respondent_key VARCHAR NOT NULL, respondent_role VARCHAR, submitted_at TIMESTAMP, superseded_by INTEGER,
    synthetic BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS answers (
    submission_id INTEGER NOT NULL, dimension_id VARCHAR NOT NULL, level TINYINT, level_status VARCHAR NOT NULL,
    target_level TINYINT, evidence VARCHAR, PRIMARY KEY (submission_id, dimension_id)
);
CREATE TABLE IF NOT EXISTS rejects (
    ingest_id INTEGER NOT NULL, source_row INTEGER NOT NULL, reason VARCHAR NOT NULL, detail VARCHAR, raw_json VARCHAR
);
"""
MIGRATIONS = {0: _V1}  # version n -> SQL that makes version n + 1


DQM_TABLES = {"meta", "ingests", "submissions", "answers", "rejects"}
_DUCKDB_MAGIC = b"DUCK"  # bytes 8 to 11 of every DuckDB database file


def connect(path: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating if needed) a store.

    Refused, each with its own message and the file left untouched: a folder, a file that is not a DuckDB
    database, a DuckDB database holding someone else's tables, a store written by a newer dqm, a location
    that cannot be written (read-only filesystem, no permission), and a store another process has open.
    """
    path = Path(path) if path else default_store()
    if path.is_dir():
        raise DQMError("the store path is a folder, not a DuckDB file.", file=path,
                       hint="Give a file name such as data/dqm.duckdb with --store.")
    if read_only and not path.exists():
        raise DQMError("the store does not exist yet.", file=path, hint="Ingest survey exports first with `dqm ingest`.")
    if path.exists():
        _check_is_duckdb(path)
    if not read_only:
        if path.is_symlink():  # writing through a link would create or change a store somewhere else
            raise DQMError("the store is a symbolic link; dqm writes a store only at its own path, and left it untouched.",
                           file=path, hint="Give the store's real path, or a new file name, with --store.")
        _check_writable(path)
    if path.exists() and not read_only:
        # look before touching: a database that is not a dqm store must not gain dqm's tables
        probe = _open(path, read_only=True)
        try:
            _check_is_dqm_store(probe, path, read_only=False)
        finally:
            probe.close()
    con = _open(path, read_only)
    try:
        _check_is_dqm_store(con, path, read_only)
        if not read_only:
            _migrate(con, path)
    except BaseException:
        con.close()
        raise
    return con


def _open(path: Path, read_only: bool):
    try:
        return open_duckdb(path, read_only=read_only)
    except duckdb.IOException as exc:
        msg = str(exc).splitlines()[0]
        low = msg.lower()
        if "lock" in low:
            raise DQMError(f"the store is in use by another process ({msg}).", file=path,
                           hint="Another dqm process (or a notebook) has it open; wait for it to finish or close it.") from None
        if "read-only" in low or "permission" in low or "readonly" in low:
            raise DQMError(f"the store cannot be written ({msg}).", file=path,
                           hint="Choose a store in a folder you can write to, with --store.") from None
        raise DQMError(f"the store cannot be opened ({msg}).", file=path,
                       hint="Check it is a dqm store made by `dqm ingest`.") from None
    except duckdb.Error as exc:
        raise DQMError(f"this is not a usable DuckDB store ({str(exc).splitlines()[0]}).", file=path,
                       hint="Give a dqm store made by `dqm ingest`, or a new file name to create one.") from None


def _check_is_duckdb(path: Path) -> None:
    from .limits import check_regular_file

    check_regular_file(path, "store", limit_name=None)  # a named pipe or device is refused without being opened
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise DQMError(f"the store cannot be read ({exc.strerror or exc}).", file=path,
                       hint="Check the file's permissions.") from None
    if len(head) < 12 or head[8:12] != _DUCKDB_MAGIC:
        raise DQMError(f"this file is {'empty' if not head else 'not a DuckDB database'}, so it is not a dqm store; "
                       "it has been left untouched.",
                       file=path, hint="Give a dqm store made by `dqm ingest`, or a new file name to create one.")


def _check_writable(path: Path) -> None:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DQMError(f"the store's folder cannot be created ({exc.strerror or exc}).", file=path,
                       hint="Choose a store in a folder you can write to, with --store.") from None
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK) or (path.exists() and not os.access(folder, os.W_OK)):
        raise DQMError(f"the store cannot be written here (the {'file' if target == path else 'folder'} is read-only "
                       "or you lack permission).", file=path,
                       hint="Choose a store in a folder you can write to, with --store.")


_ARTICLE = {"index": "an"}


@functools.lru_cache(maxsize=None)
def _expected_catalog(version: int) -> dict[str, dict[str, str]]:
    """The catalog of a store at schema ``version``, made by running the migrations in an empty database."""
    con = open_duckdb(":memory:")
    try:
        for v in range(version):
            con.execute(MIGRATIONS[v])
        return catalog(con)
    finally:
        con.close()


def _not_a_store(path: Path, found: str) -> DQMError:
    return DQMError(f"this DuckDB database {found}; dqm will not read or change it, and it has been left untouched.",
                    file=path, hint="Ask the sender for a store made by `dqm ingest`, or give a new file name to "
                    "create one.")


def _table_difference(con, name: str, expected_sql: str) -> str:
    """How a table named like a dqm table differs from dqm's: its columns and types, else its constraints."""
    got = [f"{c} {t}" for c, t in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? ORDER BY column_index", [name]).fetchall()]
    ref = open_duckdb(":memory:")
    try:
        ref.execute(expected_sql)
        want = [f"{c} {t}" for c, t in ref.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [name]).fetchall()]
    finally:
        ref.close()
    if got == want:
        return f"holds a table {name} whose constraints or defaults are not a dqm store's"
    return (f"holds a table {name} whose columns ({', '.join(got) or 'none'}) are not a dqm store's "
            f"({', '.join(want)})")


def _check_is_dqm_store(con, path: Path, read_only: bool = False) -> None:
    """Accept only a dqm store: base tables with dqm's names and definitions, dqm's sequences and nothing else.

    A view, macro, index, type or schema is refused before any table is read: each is SQL that would run
    with the analyst's rights. Then foreign tables, a newer schema version, and a table or sequence that
    is missing or defined differently from the migrations' are refused. An empty database is a new store
    when opened for writing, and refused when opened to read.
    """
    found = catalog(con)
    code = code_objects(found)
    if code:
        kind, name = code[0]
        raise _not_a_store(path, f"holds {_ARTICLE.get(kind, 'a')} {kind} named {name}; a dqm store holds only tables")
    tables = set(found["table"])
    version = schema_version(con) if "meta" in tables else 0
    foreign = sorted(tables - DQM_TABLES)
    if (tables and version == 0) or foreign:
        shown = ", ".join(foreign or sorted(tables))
        raise _not_a_store(path, f"holds tables that are not a dqm store's ({shown})")
    if version > SCHEMA_VERSION:
        raise DQMError(f"the store has schema version {version}, newer than this dqm understands ({SCHEMA_VERSION}).",
                       file=path, hint="Upgrade dqm to read it.")
    if not tables and not found["sequence"]:
        if read_only:
            raise DQMError("this DuckDB database holds no dqm tables yet, so there is nothing to read; it has been "
                           "left untouched.", file=path, hint="Ingest survey exports into it with `dqm ingest` first.")
        return  # a new store: the migrations create its tables
    expected = _expected_catalog(version)
    for kind in ("sequence", "table"):
        extra = sorted(set(found[kind]) - set(expected[kind]))
        if extra:
            raise _not_a_store(path, f"holds a {kind} named {extra[0]} that a dqm store does not have")
        missing = sorted(set(expected[kind]) - set(found[kind]))
        if missing:
            raise _not_a_store(path, f"lacks the {kind} {missing[0]} that every dqm store has")
    for name, sql in sorted(found["table"].items()):
        if sql != expected["table"][name]:
            raise _not_a_store(path, _table_difference(con, name, expected["table"][name]))
    if not con.execute("SELECT 1 FROM meta WHERE key = 'salt' AND length(value) >= 16").fetchall():
        raise _not_a_store(path, "lacks the salt (in its meta table) with which every dqm store hashes respondents")


def schema_version(con) -> int:
    has_meta = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchall()[0][0]
    if not has_meta:
        return 0
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        return int(row[0][0]) if row else 0
    except (duckdb.Error, ValueError, TypeError):
        return 0


def _migrate(con, path):
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        raise DQMError(f"the store has schema version {version}, newer than this dqm understands ({SCHEMA_VERSION}).",
                       file=path, hint="Upgrade dqm.")
    if version == SCHEMA_VERSION:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        while version < SCHEMA_VERSION:
            con.execute(MIGRATIONS[version])
            version += 1
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
        if not con.execute("SELECT 1 FROM meta WHERE key = 'salt'").fetchall():
            con.execute("INSERT INTO meta VALUES ('salt', ?)", [secrets.token_hex(16)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


@dataclass
class IngestResult:
    file: str
    ingest_id: int | None
    already_ingested: bool
    shape: str
    rows_read: int
    stored: int
    superseded: int
    rejected: int
    superseded_earlier: int
    blank_rows: int
    reasons: dict
    unmatched_councils: list
    ignored_columns: list
    message: str = ""
    notes: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "file": self.file, "ingest_id": self.ingest_id, "already_ingested": self.already_ingested,
            "shape": self.shape, "rows_read": self.rows_read, "stored": self.stored, "superseded": self.superseded,
            "rejected": self.rejected, "superseded_earlier": self.superseded_earlier, "blank_rows": self.blank_rows,
            "reasons": self.reasons, "unmatched_councils": self.unmatched_councils,
            "ignored_columns": self.ignored_columns, "notes": self.notes,
        }

    def summary(self) -> str:
        if self.already_ingested:
            return f"{self.file}: already ingested (ingest {self.ingest_id}); nothing changed. {self.message}".strip()
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items())) or "none"
        return (f"{self.file} ({self.shape}): {self.rows_read} rows read = {self.stored} stored + "
                f"{self.superseded} superseded + {self.rejected} quarantined (reasons: {reasons}); "
                f"{self.superseded_earlier} earlier submissions superseded; ingest {self.ingest_id}."
                + "".join(f" Note: {n}" for n in self.notes))


def _resupersede(con, keys: pd.DataFrame) -> None:
    """Within each (council, wave, assessment type, respondent), the latest submission is current."""
    con.register("touched_keys", keys)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ranked AS
        SELECT s.submission_id,
               first_value(s.submission_id) OVER (
                   PARTITION BY s.council_code, s.wave, s.assessment_type, s.respondent_key
                   ORDER BY s.submitted_at DESC NULLS LAST, s.ingest_id DESC, s.source_row DESC) AS latest
        FROM submissions s
        JOIN touched_keys k USING (council_code, wave, assessment_type, respondent_key)
    """)
    con.execute("""
        UPDATE submissions
        SET superseded_by = CASE WHEN ranked.latest = ranked.submission_id THEN NULL ELSE ranked.latest END
        FROM ranked WHERE submissions.submission_id = ranked.submission_id
    """)
    con.execute("DROP TABLE ranked")
    con.unregister("touched_keys")


def _disk_full(exc: Exception) -> bool:
    """Whether a DuckDB error is a full disk or quota (DuckDB reports the operating system's message)."""
    text = str(exc).lower()
    return "no space left on device" in text or "disk quota exceeded" in text


def ingest_file(con, path: str | Path, wave: int, assessment_type: str = "self", model: Model | None = None,
                shape: str | None = None, sheet: str | None = None, council_map: dict | None = None) -> IngestResult:
    """Ingest one export in one transaction. Row problems are quarantined; file problems raise IngestError.

    ``council_map`` ({name: code}, from :func:`dqm.reference.load_council_map`) confirms council names
    the matcher will not take on its own. An ingest is keyed on the file's SHA-256; when the map
    resolves some of its names, on the file and those map entries together, so that a file whose
    names were quarantined can be ingested again with a map: its rows then replace their earlier copies.
    """
    model = model or load_model()
    path = Path(path)
    if assessment_type not in ASSESSMENT_TYPES:
        raise IngestError(f"assessment type {assessment_type!r} is not one of {', '.join(ASSESSMENT_TYPES)}.", file=path)
    if not isinstance(wave, int) or not 2000 <= wave <= 2100:
        raise IngestError(f"wave {wave!r} is not a year.", file=path, hint="Pass the assessment year, for example --wave 2026.")
    raw, detected = read_export(path, shape=shape, sheet=sheet, model=model)
    salt = con.execute("SELECT value FROM meta WHERE key = 'salt'").fetchall()[0][0]
    parsed = parse_export(raw, detected, model, wave, assessment_type, salt, council_map=council_map)
    key = raw.sha256
    if parsed.council_map_used:
        entries = json.dumps(sorted(parsed.council_map_used.items()), ensure_ascii=False)
        key = hashlib.sha256(f"{raw.sha256}|council-map|{entries}".encode()).hexdigest()
    prior = next(iter(con.execute("SELECT ingest_id, wave FROM ingests WHERE sha256 = ?", [key]).fetchall()), None)
    if prior:
        note = "" if prior[1] == wave else f"It was ingested as wave {prior[1]}, not {wave}."
        return IngestResult(path.name, prior[0], True, detected, len(raw.rows), 0, 0, 0, 0, raw.blank_rows, {}, [], [], note)

    con.execute("BEGIN TRANSACTION")
    try:
        ingest_id = con.execute("SELECT nextval('ingest_seq')").fetchall()[0][0]
        subs = parsed.submissions.copy()
        n = len(subs)
        first = con.execute("SELECT nextval('submission_seq')").fetchall()[0][0] if n else 0
        if n > 1:  # reserve a block of ids
            con.execute(f"SELECT nextval('submission_seq') FROM range({n - 1})").fetchall()
        subs.insert(0, "submission_id", range(first, first + n))
        subs["ingest_id"] = ingest_id
        subs["wave"] = wave
        subs["submitted_at"] = pd.to_datetime(subs["submitted_at"])
        con.register("new_subs", subs)
        con.execute("""INSERT INTO submissions SELECT submission_id, ingest_id, source_row, council_code, council_text,
                       wave, assessment_type, respondent_key, respondent_role, submitted_at, NULL, synthetic FROM new_subs""")
        ans = parsed.answers.merge(subs[["source_row", "submission_id"]], on="source_row")
        con.register("new_answers", ans)
        con.execute("""INSERT INTO answers SELECT submission_id, dimension_id, level, level_status, target_level, evidence
                       FROM new_answers""")
        rej = parsed.rejects.assign(ingest_id=ingest_id)
        con.register("new_rejects", rej)
        con.execute("INSERT INTO rejects SELECT ingest_id, source_row, reason, detail, raw_json FROM new_rejects")
        before = con.execute("SELECT count(*) FROM submissions WHERE superseded_by IS NOT NULL AND ingest_id <> ?",
                             [ingest_id]).fetchall()[0][0]
        _resupersede(con, subs[["council_code", "wave", "assessment_type", "respondent_key"]].drop_duplicates())
        stored, superseded = con.execute(
            "SELECT count(*) FILTER (WHERE superseded_by IS NULL), count(*) FILTER (WHERE superseded_by IS NOT NULL) "
            "FROM submissions WHERE ingest_id = ?", [ingest_id]).fetchall()[0]
        after = con.execute("SELECT count(*) FROM submissions WHERE superseded_by IS NOT NULL AND ingest_id <> ?",
                            [ingest_id]).fetchall()[0][0]
        rejected = len(rej)
        rows_read = len(raw.rows)
        if rows_read != stored + superseded + rejected:  # the promise: every row is accounted for
            raise RuntimeError(f"row accounting failed: {rows_read} read, {stored} + {superseded} + {rejected} accounted")
        reasons = rej["reason"].value_counts().sort_index().to_dict()
        con.execute("INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            ingest_id, path.name, key, detected, wave, assessment_type, dt.datetime.now().replace(microsecond=0),
            model.id, model.version, rows_read, stored, superseded, rejected, after - before, raw.blank_rows,
            " | ".join(parsed.columns.ignored)])
        pause = os.environ.get("DQM_TEST_PAUSE_BEFORE_COMMIT")  # lets a test kill the process mid-ingest
        if pause:
            print("PAUSED", flush=True)
            time.sleep(float(pause))
        con.execute("COMMIT")
    except BaseException as exc:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # a failed COMMIT has already rolled back: keep its error, not "no transaction is active"
            pass
        if isinstance(exc, duckdb.Error) and _disk_full(exc):  # DuckDB empties its .wal; the store opens as before
            raise IngestError(f"the disk is full; nothing from {path.name} was stored.", file=path,
                              hint="Free some space and ingest the file again.") from None
        raise
    finally:
        for view in ("new_subs", "new_answers", "new_rejects"):
            try:
                con.unregister(view)
            except Exception:
                pass
    return IngestResult(path.name, ingest_id, False, detected, rows_read, stored, superseded, rejected,
                        after - before, raw.blank_rows, {str(k): int(v) for k, v in reasons.items()},
                        parsed.unmatched, parsed.columns.ignored, notes=parsed.notes)


def ingest_files(paths, wave: int, store=None, assessment_type: str = "self", model: Model | None = None,
                 shape: str | None = None, sheet: str | None = None, council_map=None) -> list[IngestResult]:
    """Ingest several exports into a store (each file in its own transaction); for notebooks and the CLI.

    ``council_map`` is a path to a council map CSV (see :func:`dqm.reference.load_council_map`) or a dict.
    """
    from .reference import load_council_map

    model = model or load_model()
    if council_map is not None and not isinstance(council_map, dict):
        council_map = load_council_map(council_map)
    con = connect(store)
    try:
        from .documents.pack import expand_folders

        return [ingest_file(con, p, wave, assessment_type, model, shape, sheet, council_map)
                for p in expand_folders(paths)]
    finally:
        con.close()


# ---------------------------------------------------------------- loading for analysis
@dataclass
class StoreData:
    """Tidy frames for analysis. Only current (not superseded) submissions are in ``answers``."""

    ingests: pd.DataFrame
    submissions: pd.DataFrame  # all, with a `current` flag
    answers: pd.DataFrame  # long: submission, council, wave, assessment type, dimension, level, target, evidence
    rejects: pd.DataFrame
    councils: pd.DataFrame  # one row per council, wave and assessment type: median level per dimension + reference


def load(store=None, wave: int | None = None, model: Model | None = None) -> StoreData:
    """Read a store into tidy pandas DataFrames (optionally one wave only)."""
    from .reference import councils as ref_councils
    from .scoring import council_levels

    model = model or load_model()
    store, _ = resolve_store(store)  # DQM_STORE, else data/dqm.duckdb, else the demo store
    con = connect(store, read_only=True)
    try:
        where = "" if wave is None else f"WHERE wave = {int(wave)}"
        ingests = con.execute(f"SELECT * FROM ingests {where} ORDER BY ingest_id").df()
        subs = con.execute(f"SELECT *, superseded_by IS NULL AS current FROM submissions {where} ORDER BY submission_id").df()
        answers = con.execute(f"""
            SELECT a.submission_id, s.council_code, s.wave, s.assessment_type, s.respondent_role, a.dimension_id,
                   a.level, a.level_status, a.target_level, a.evidence
            FROM answers a JOIN submissions s USING (submission_id)
            WHERE s.superseded_by IS NULL {'' if wave is None else f'AND s.wave = {int(wave)}'}
            ORDER BY a.submission_id, a.dimension_id""").df()
        rejects = con.execute(f"""SELECT r.*, i.file_name, i.wave FROM rejects r JOIN ingests i USING (ingest_id)
                                  {'' if wave is None else f'WHERE i.wave = {int(wave)}'} ORDER BY ingest_id, source_row""").df()
    finally:
        con.close()
    for c in ("level", "target_level"):
        answers[c] = answers[c].astype("Int64")
        top = answers[c].max()
        if pd.notna(top) and int(top) > max(model.level_values):
            raise DQMError(f"the store has {c.replace('_', ' ')}s up to {int(top)}, but the quality model "
                           f"{model.id} {model.version} has only levels 1 to {max(model.level_values)}; scoring them "
                           "with it would invent levels that do not exist.", file=store or default_store(),
                           hint="Use the model the answers were given under (--model or DQM_MODEL), or a store "
                           "ingested with this model.")
    answers = _only_known_councils(answers)
    if model.renamed:  # earlier waves may use dimension ids that the model has since renamed
        answers["dimension_id"] = answers["dimension_id"].replace(model.renamed)
    wide = council_levels(answers, model)
    wide = wide.merge(ref_councils(), left_on="council_code", right_on="local-authority-code", how="left")
    return StoreData(ingests, subs, answers, rejects, wide)


def _only_known_councils(answers: pd.DataFrame) -> pd.DataFrame:
    """Answers of current principal councils only, with a warning naming any other code the store holds.

    dqm stores only councils it matched, but a store made by an older dqm, or edited, may hold a code that
    is not a current council of the reference table (a combined authority, a typo, a made-up code): such
    answers are never scored, ranked, compared or given a report.
    """
    import warnings

    from .reference import principal_councils
    from .scoring.bodies import NotACouncilWarning, drop_non_councils

    answers = drop_non_councils(answers)  # combined authorities and the GLA, named as what they are
    known = set(principal_councils()["local-authority-code"])
    other = answers["council_code"].isin(known)
    if other.all():
        return answers
    codes = sorted(set(answers.loc[~other, "council_code"].astype(str)))
    shown = ", ".join(repr(c[:20]) for c in codes[:10]) + (f" and {len(codes) - 10} more" if len(codes) > 10 else "")
    warnings.warn(NotACouncilWarning(
        f"the store holds {int((~other).sum()):,} answer row(s) for {len(codes)} code(s) that are not current "
        f"councils of the reference table ({shown}); they are not scored, ranked, compared or reported."))
    return answers[other].reset_index(drop=True)
