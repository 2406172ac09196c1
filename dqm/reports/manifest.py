"""What each council's report was made from (hashes), and the batch's manifest and failures list.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from ..cells import csv_text
from ..paths import make_folder, remove_confined, write_atomic
from .provenance import file_sha256
from .wave import WaveInputs

MANIFEST = "manifest.json"


FAILURES = "failures.csv"


def _tree_sha256(root: Path, pattern: str) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob(pattern)):
        if "__pycache__" in p.parts or not p.is_file():
            continue
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _frame_sha256(df: pd.DataFrame) -> str:
    return hashlib.sha256(df.to_csv(index=False).encode("utf-8")).hexdigest()


def common_hashes(notebook: Path, parameters: dict) -> dict:
    """Hashes of the inputs every council's report shares."""
    from ..model import load_model
    from ..paths import reference_dir
    from ..version import __version__

    pkg = Path(__file__).resolve().parent
    return {
        "notebook": file_sha256(notebook),
        "templates": _tree_sha256(pkg / "templates", "*"),
        "model": file_sha256(load_model().path),
        "reference": _tree_sha256(reference_dir(), "*.csv"),
        "code": _tree_sha256(pkg.parent, "*.py"),
        "version": hashlib.sha256(__version__.encode()).hexdigest(),
        "parameters": hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest(),
    }


def council_hashes(inputs: WaveInputs, codes: list[str]):
    """Per council, in turn (so that a batch can start on the first report to remake while it hashes the rest):
    ``(code, hashes)``, the hash of its own store content (all waves and assessment types) and of the peer and
    sector figures its report shows (its peers' and same-type councils' levels, its level, rank interval and
    changes from the measurement model and what the model assumed, its rank range under other rules, the wave's
    target realism)."""
    data = inputs.data
    subs = data.submissions.drop(columns=[c for c in ("ingest_id", "ingested_at") if c in data.submissions])
    ans = data.answers
    lv = data.councils
    lv_wave = lv[(lv["wave"] == inputs.wave) & (lv["assessment_type"] == "self")]
    ref = inputs.ref.set_index("local-authority-code")
    nn = inputs.neighbours
    peers = nn.groupby("council_code")["peer_code"].apply(list).to_dict()
    type_group = ref["type_group"] if "type_group" in ref else pd.Series(dtype=str)
    realism = _frame_sha256(inputs.realism)
    by_sub = dict(tuple(subs.groupby("council_code")))
    by_ans = dict(tuple(ans.groupby("council_code")))
    # the measurement model is fitted to every council's answers: its figures for this council are hashed as shown
    model_rows = {name: dict(tuple(table.groupby("council_code"))) for name, table in
                  (("positions", inputs.positions), ("changes", inputs.changes), ("sensitivity", inputs.sensitivity))}
    notes = hashlib.sha256(json.dumps([inputs.position_notes, inputs.change_notes, inputs.wave_from]).encode()).hexdigest()
    for code in codes:
        own = hashlib.sha256()
        for part in (by_sub.get(code), by_ans.get(code)):
            own.update(_frame_sha256(part).encode() if part is not None else b"-")
        shown = hashlib.sha256()
        group = set(peers.get(code, [])) | set(lv_wave.loc[lv_wave["council_code"].map(type_group) == type_group.get(code),
                                                             "council_code"])
        shown.update(_frame_sha256(lv_wave[lv_wave["council_code"].isin(group)].sort_values("council_code")).encode())
        for rows in model_rows.values():
            shown.update(_frame_sha256(rows[code].reset_index(drop=True) if code in rows else pd.DataFrame()).encode())
        shown.update(notes.encode())
        shown.update(realism.encode())
        shown.update(_frame_sha256(ref.loc[[code]].reset_index() if code in ref.index else pd.DataFrame()).encode())
        yield code, {"council_data": own.hexdigest(), "shown_peer_and_sector_data": shown.hexdigest()}


def combined_hash(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def read_manifest(out_dir: Path) -> dict:
    """The batch's record of what it made, or an empty one when there is none or it cannot be read.

    That is ``manifest.json`` with the entries of the journal (:func:`record_entry`) on top: the councils a batch
    finished after it last wrote the manifest whole (all of them, if it was killed).

    The manifest is only a cache of earlier work: a link, a file that is not JSON or JSON of the wrong shape
    is set aside (the batch then remakes what it cannot vouch for). What the index shows is checked again
    against the wave's councils and the files on disk by :func:`trusted_entries`.
    """
    manifest = _read_json(Path(out_dir) / MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("councils"), dict):
        manifest = {"councils": {}}
    manifest["councils"].update(journal_entries(out_dir))
    return manifest


def _read_json(path: Path):
    """The JSON in ``path``, or None if it is missing, a link, or not JSON (cannot happen with atomic writes)."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


JOURNAL = Path("_build") / "manifest-journal"  # in the output folder: one file per council finished since the last compaction


def _journal_name(code: str) -> str:
    """A council's journal file: named by a hash of its code, so any code makes a plain file name."""
    return hashlib.sha256(str(code).encode("utf-8")).hexdigest()[:24] + ".json"


def record_entry(out_dir: Path, code: str, entry: dict) -> None:
    """Add one council's entry to the manifest: its own small file in the journal, written atomically.

    Each finished council costs one small write, whatever the number of councils (rewriting the whole manifest
    after each one grew with the square of their number), and a batch killed at any point leaves every entry
    it finished readable by :func:`read_manifest`. :func:`write_manifest` folds the journal in.
    """
    make_folder(out_dir, JOURNAL, "manifest journal")
    write_atomic(JOURNAL / _journal_name(code), json.dumps({"council": code, "entry": entry}, sort_keys=True),
                 "manifest entry", root=out_dir)


def journal_entries(out_dir: Path) -> dict:
    """The entries in the journal, by council (an entry that is a link, unreadable or of the wrong shape is ignored)."""
    folder = Path(out_dir) / JOURNAL
    if folder.is_symlink() or not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.glob("*.json")):
        kept = _read_json(path)
        if (isinstance(kept, dict) and isinstance(kept.get("council"), str) and isinstance(kept.get("entry"), dict)
                and path.name == _journal_name(kept["council"])):
            out[kept["council"]] = kept["entry"]
    return out


def write_manifest(out_dir: Path, manifest: dict) -> None:
    """Write the manifest whole (atomically), then remove the journal it now holds."""
    write_atomic(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True), "manifest", root=out_dir)
    if (Path(out_dir) / JOURNAL).exists():
        remove_confined(JOURNAL, out_dir, "manifest journal")


def write_failures(out_dir: Path, failures: pd.DataFrame) -> Path:
    return write_atomic(FAILURES, csv_text(failures[["council", "cell", "error"]]), "list of failures", root=out_dir)
