"""What each council's report was made from (hashes), and the batch's manifest and failures list.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from ..cells import csv_text
from ..paths import write_atomic
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


def council_hashes(inputs: WaveInputs, codes: list[str]) -> dict[str, dict]:
    """Per council: the hash of its own store content (all waves and assessment types) and of the peer and
    sector figures its report shows (its peers' and same-type councils' levels, its scores and rank
    interval, the answers its change test pools, the wave's target realism)."""
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
    scores = inputs.scores.set_index("council_code")
    # a council's change test pools every council's answers in the two waves (their covariance)
    pooled = ans[ans["wave"].isin([inputs.wave - 1, inputs.wave]) & (ans["assessment_type"] == "self")]
    pooled = _frame_sha256(pooled[["council_code", "wave", "submission_id", "dimension_id", "level"]])
    out = {}
    for code in codes:
        own = hashlib.sha256()
        for part in (by_sub.get(code), by_ans.get(code)):
            own.update(_frame_sha256(part).encode() if part is not None else b"-")
        shown = hashlib.sha256()
        group = set(peers.get(code, [])) | set(lv_wave.loc[lv_wave["council_code"].map(type_group) == type_group.get(code),
                                                             "council_code"])
        shown.update(_frame_sha256(lv_wave[lv_wave["council_code"].isin(group)].sort_values("council_code")).encode())
        shown.update(_frame_sha256(scores.loc[[code]].reset_index() if code in scores.index else pd.DataFrame()).encode())
        shown.update(pooled.encode())
        shown.update(realism.encode())
        shown.update(_frame_sha256(ref.loc[[code]].reset_index() if code in ref.index else pd.DataFrame()).encode())
        out[code] = {"council_data": own.hexdigest(), "shown_peer_and_sector_data": shown.hexdigest()}
    return out


def combined_hash(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def read_manifest(out_dir: Path) -> dict:
    """The batch's record of what it made, or an empty one when there is none or it cannot be read.

    The manifest is only a cache of earlier work: a link, a file that is not JSON or JSON of the wrong shape
    is set aside (the batch then remakes what it cannot vouch for). What the index shows is checked again
    against the wave's councils and the files on disk by :func:`trusted_entries`.
    """
    path = Path(out_dir) / MANIFEST
    empty = {"councils": {}}
    if path.is_symlink() or not path.is_file():
        return empty
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):  # cannot happen with atomic writes; start again rather than trust it
        return empty
    if not isinstance(manifest, dict) or not isinstance(manifest.get("councils"), dict):
        return empty
    return manifest


def write_manifest(out_dir: Path, manifest: dict) -> None:
    write_atomic(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True), "manifest", root=out_dir)


def write_failures(out_dir: Path, failures: pd.DataFrame) -> Path:
    return write_atomic(FAILURES, csv_text(failures[["council", "cell", "error"]]), "list of failures", root=out_dir)
