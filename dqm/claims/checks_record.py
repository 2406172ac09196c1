"""The engine's checks kept with the code: a committed record, used only while the code it was computed from is unchanged.

The evidence review prints the engine's checks on synthetic councils (:func:`dqm.claims.simulation.run_checks`):
thousands of seeded simulated fits that depend only on the engine's code, its settings and the numerical
libraries, never on the store. Computed afresh they take about two minutes, which a fresh clone (no
``reports/_build/cache``) paid on its first ``make report``. This module keeps their results in
``data/engine_checks.json``, committed beside the code, together with what they were computed from:

* ``inputs``: every dqm source file the computation imported and every file of the data folder it opened, each
  with its SHA-256 (traced, not listed by hand: the computation runs in a fresh Python process that records
  the ``open`` audit events and, at the end, the dqm modules in ``sys.modules``);
* ``libraries``: the versions of numpy, scipy, pandas and statsmodels it ran with;
* one entry per number of replications (the evidence review's ``check_replications``), with the SHA-256 of the
  replications and all the input hashes, and the checks table itself as plain JSON (no pickle).

:func:`recorded_checks` returns an entry's table only when every input file still has the recorded hash and the
libraries have the recorded versions; otherwise it returns None and the caller computes the checks (and keeps
them in the disk cache, :mod:`dqm.reports.cache`, as before). A change to the engine, the simulation, the scoring code
it uses, the model or the reference lists therefore recomputes the checks: the record can make them faster,
never different. ``tests/test_checks_record.py`` fails (saying which files changed) when the record no longer
matches the code, and its slow test recomputes every entry and compares.

The record is read only from the project's own ``data/`` folder beside the package (the code's own trust: who
can change it can change the code), whatever ``DQM_DATA_DIR`` says; the data files it was computed from are
hashed where dqm reads them (``DQM_DATA_DIR`` if set), so other data never passes for the recorded data.

Refresh it after changing the engine (it recomputes every recorded number of replications, about three
minutes on two cores)::

    python -m dqm.claims.checks_record                      # the replications already recorded
    python -m dqm.claims.checks_record --replications 50 400
    python -m dqm.claims.checks_record --check              # exit 1 and say why if the record is stale
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

from ..datadir import PROJECT_ROOT, data_dir
from ..version import NUMERICAL_LIBRARIES, library_versions

FORMAT = "dqm-engine-checks-record"
VERSION = 1
RECORD = PROJECT_ROOT / "data" / "engine_checks.json"
PACKAGE = Path(__file__).resolve().parent.parent  # dqm/

LIBRARIES = NUMERICAL_LIBRARIES
REFRESH = "python -m dqm.claims.checks_record"
# recorded when there is no record yet (and `--check` wants them): `dqm run --quick` (and the tests' quick settings), the evidence
# notebook's default (`dqm report evidence`) and `dqm run`
DEFAULT_REPLICATIONS = (50, 200, 400)
_DTYPES = {"str": "str", "object": "str", "float64": "float64", "int64": "int64", "bool": "bool"}


class StaleRecord(Exception):
    """The record does not match the code, data or libraries it would be used with (the message says how)."""


# ------------------------------------------------------------------------------------------ hashing
def _file_for(label: str) -> Path:
    """The file an input label names: ``dqm/...`` beside this package, ``data/...`` in the data folder in use."""
    top, _, rest = label.partition("/")
    return (data_dir() if top == "data" else PACKAGE) / rest


def file_sha256(label: str) -> str | None:
    """SHA-256 of an input file with line endings normalised (a checkout with CRLF hashes the same); None if missing."""
    try:
        data = _file_for(label).read_bytes()
    except OSError:
        return None
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def entry_sha256(replications: int, inputs: dict, table: dict) -> str:
    """The SHA-256 an entry is kept under: its number of replications, the hash of every input file and its table
    (so that a table edited by hand, or inputs changed without recomputing, no longer match)."""
    key = json.dumps({"replications": int(replications), "inputs": dict(sorted(inputs.items())), "table": table},
                     sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


# ------------------------------------------------------------------------------------------ the table as data
def _encode_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)  # 'nan', 'inf', '-inf': kept as text, read back by float()
    return v


def encode_frame(frame) -> dict:
    """A checks table as plain JSON data: column names, dtypes and rows (string, float, integer, boolean columns)."""
    dtypes = []
    for name, dtype in frame.dtypes.items():
        if str(dtype) not in _DTYPES:
            raise TypeError(f"column {name!r} has dtype {dtype}, which the record does not keep")
        dtypes.append(_DTYPES[str(dtype)])
    rows = [[_encode_value(v.item() if hasattr(v, "item") else v) for v in row]
            for row in frame.itertuples(index=False, name=None)]
    return {"columns": [str(c) for c in frame.columns], "dtypes": dtypes, "rows": rows}


def decode_frame(data: dict):
    """The table :func:`encode_frame` kept, with the same columns and dtypes."""
    import pandas as pd

    columns, dtypes, rows = data["columns"], data["dtypes"], data["rows"]
    if len(columns) != len(dtypes) or any(len(r) != len(columns) for r in rows):
        raise ValueError("columns, dtypes and rows do not agree")
    out = {}
    for i, (name, dtype) in enumerate(zip(columns, dtypes)):
        values = [r[i] for r in rows]
        if dtype == "float64":
            values = [float(v) for v in values]
        elif dtype not in ("str", "int64", "bool"):
            raise ValueError(f"unknown dtype {dtype!r}")
        out[name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(out, columns=columns)


# ------------------------------------------------------------------------------------------ reading
def read_record(path: Path | None = None) -> dict:
    """The record as a dict; StaleRecord (saying why) if it is missing, damaged or of another format."""
    path = Path(path or RECORD)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StaleRecord(f"there is no record {path.name}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StaleRecord(f"the record {path.name} cannot be read ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("version") != VERSION:
        raise StaleRecord(f"the record {path.name} is not a version-{VERSION} {FORMAT} file")
    if not _well_formed(record):
        raise StaleRecord(f"the record {path.name} does not have the layout {REFRESH} writes")
    return record


def _label_ok(label: str) -> bool:
    """An input label names a file in dqm/ or data/, with no way out of them."""
    parts = label.split("/")
    return parts[0] in ("dqm", "data") and len(parts) > 1 and not {"", ".", ".."} & set(parts) and "\\" not in label


def _well_formed(record: dict) -> bool:
    """The record's parts have the types :func:`compute` gives them (so that checking it cannot fail on its shape)."""
    inputs, libs, entries = record.get("inputs"), record.get("libraries"), record.get("entries")
    return (isinstance(inputs, dict) and all(isinstance(k, str) and isinstance(v, str) and _label_ok(k)
                                             for k, v in inputs.items())
            and isinstance(libs, dict) and isinstance(entries, list)
            and all(isinstance(e, dict) and type(e.get("replications")) is int and isinstance(e.get("sha256"), str)
                    and isinstance(e.get("table"), dict) for e in entries))


def stale_reasons(record: dict, replications: int | None = None) -> list[str]:
    """Why the record (or its entry for ``replications``) cannot stand for computing the checks now; [] if it can."""
    reasons = []
    inputs = record.get("inputs") or {}
    changed = sorted(label for label, sha in inputs.items() if file_sha256(label) != sha)
    if changed:
        reasons.append("changed since it was computed: " + ", ".join(changed))
    now = library_versions()
    libs = record.get("libraries") or {}
    differ = [f"{lib} {libs.get(lib)} recorded, {now[lib]} installed" for lib in LIBRARIES if libs.get(lib) != now[lib]]
    if differ:
        reasons.append("other library versions: " + "; ".join(differ))
    entries = record.get("entries") or []
    for entry in entries:
        if replications is not None and entry.get("replications") != replications:
            continue
        if entry.get("sha256") != entry_sha256(entry.get("replications", -1), inputs, entry.get("table")):
            reasons.append(f"the entry for {entry.get('replications')} replications does not match its hash (its "
                           "table or the recorded inputs were edited)")
    if replications is not None and not any(e.get("replications") == replications for e in entries):
        reasons.append(f"no entry for {replications} replications")
    return reasons


def recorded_checks(replications: int, path: Path | None = None):
    """The engine's checks for ``replications`` from the record, or None if the record does not match the code now."""
    try:
        record = read_record(path)
        if stale_reasons(record, int(replications)):
            return None
        entry = next(e for e in record["entries"] if e["replications"] == int(replications))
        return decode_frame(entry["table"])
    except (StaleRecord, KeyError, TypeError, ValueError):
        return None  # a record that cannot stand: the caller computes the checks, exactly as without one


# ------------------------------------------------------------------------------------------ computing
_CHILD = """
import os, sys
opened = set()

def _hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.add(os.path.abspath(os.fsdecode(args[0])))

sys.addaudithook(_hook)  # before any dqm import, so that files read at import time are seen too
from dqm.claims.checks_record import compute_traced
compute_traced([int(r) for r in sys.argv[1:]], opened)
"""


def compute_traced(replications: list[int], opened: set) -> None:
    """(In the fresh process :func:`compute` starts.) Run the checks; print their tables and traced inputs as JSON."""
    from . import simulation

    tables = {r: encode_frame(simulation.run_checks(simulation.setting_for(r))) for r in replications}
    me = Path(__file__).resolve()
    files = {Path(m.__file__).resolve() for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    labels = {"dqm/" + p.relative_to(PACKAGE).as_posix() for p in files if PACKAGE in p.parents and p != me}
    data = data_dir().resolve()
    labels |= {"data/" + Path(p).resolve().relative_to(data).as_posix() for p in opened
               if data in Path(p).resolve().parents and Path(p).is_file()}
    json.dump({"inputs": {label: file_sha256(label) for label in sorted(labels)}, "libraries": library_versions(),
               "tables": {str(r): t for r, t in tables.items()}}, sys.stdout)


def compute(replications) -> dict:
    """The record for ``replications``, computed in a fresh Python process that traces what the checks read."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE.parent), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-c", _CHILD, *map(str, replications)], capture_output=True, text=True,
                          env=env, cwd=PACKAGE.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"computing the engine's checks failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout)
    entries = [{"replications": int(r), "sha256": entry_sha256(int(r), out["inputs"], t), "table": t}
               for r, t in sorted(out["tables"].items(), key=lambda kv: int(kv[0]))]
    return {"format": FORMAT, "version": VERSION,
            "about": "The engine's checks (dqm.claims.simulation.run_checks) with the SHA-256 of every file they were "
                     f"computed from; used only while those match. Refresh: {REFRESH}",
            "libraries": out["libraries"], "inputs": out["inputs"], "entries": entries}


def dumps_record(record: dict) -> str:
    """The record as JSON text with one table row a line, so that a refresh shows as a readable diff."""
    head = {k: v for k, v in record.items() if k != "entries"}
    lines = [json.dumps(head, indent=1)[:-2] + ',\n "entries": [']
    for i, entry in enumerate(record["entries"]):
        t = entry["table"]
        lines.append(f'  {{"replications": {json.dumps(entry["replications"])}, "sha256": {json.dumps(entry["sha256"])},')
        lines.append(f'   "table": {{"columns": {json.dumps(t["columns"])}, "dtypes": {json.dumps(t["dtypes"])}, "rows": [')
        lines += [f"    {json.dumps(row)}{',' if j < len(t['rows']) - 1 else ''}" for j, row in enumerate(t["rows"])]
        lines.append("   ]}}" + ("," if i < len(record["entries"]) - 1 else ""))
    lines.append(" ]\n}\n")
    return "\n".join(lines)


def refresh(replications=None, path: Path | None = None) -> Path:
    """Compute the checks for ``replications`` (default: those recorded, else ``DEFAULT_REPLICATIONS``) and write the record."""
    from ..paths import write_atomic

    path = Path(path or RECORD)
    if not replications:
        try:
            replications = [e["replications"] for e in read_record(path)["entries"]]
        except (StaleRecord, KeyError, TypeError):
            replications = list(DEFAULT_REPLICATIONS)
    record = compute(sorted({int(r) for r in replications}))
    text = dumps_record(record)
    if json.loads(text) != json.loads(json.dumps(record)):  # the hand-laid JSON must say exactly what was computed
        raise RuntimeError("the engine-checks record did not lay out as JSON faithfully; nothing was written")
    return write_atomic(path, text, what="engine-checks record")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dqm.claims.checks_record",
                                 description="Recompute the engine's checks and write data/engine_checks.json "
                                             "(or, with --check, say whether it matches the code).")
    ap.add_argument("--replications", type=int, nargs="+", metavar="N",
                    help=f"numbers of replications to record (default: those recorded, else {DEFAULT_REPLICATIONS})")
    ap.add_argument("--check", action="store_true",
                    help=f"only check the record against the code (and that it holds {DEFAULT_REPLICATIONS}); exit 1 if stale")
    args = ap.parse_args(argv)
    if args.check:
        try:
            record = read_record()
            reasons = stale_reasons(record)
            have = {e["replications"] for e in record["entries"]}
            reasons += [f"no entry for {r} replications" for r in DEFAULT_REPLICATIONS if r not in have]
        except StaleRecord as exc:
            reasons = [str(exc)]
        for r in reasons:
            print(f"{RECORD.name}: {r}", file=sys.stderr)
        if reasons:
            print(f"Refresh it: {REFRESH}", file=sys.stderr)
        return 1 if reasons else 0
    print(f"Computing the engine's checks in a fresh process (replications: "
          f"{args.replications or 'as recorded'}); this takes a few minutes...", file=sys.stderr)
    path = refresh(args.replications)
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
