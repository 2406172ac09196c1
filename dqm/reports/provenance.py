"""Step 5: the provenance block every report ends with: what it was made from (store, model, reference data, code).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd

from ..markup import Markup, html
from ..model import load_model
from ..version import __version__
from .narrative import long_date
from .plots import html_table


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _published_value(key: str, value) -> str:
    """A parameter as published: a file or folder by its name only, never a path on the machine that made it."""
    s = str(value)
    if key in ("store",) or isinstance(value, Path) or "/" in s or "\\" in s:
        return Path(s.replace("\\", "/")).name
    return s


def input_files(store) -> pd.DataFrame:
    """The store-level inputs of a report (each survey export ingested, and the quality model), by name and
    SHA-256: the part of the provenance block every report made from ``store`` shares."""
    from ..store import connect

    model = load_model()
    con = connect(store, read_only=True)
    try:
        ingests = con.execute("SELECT file_name, sha256, wave, shape, ingested_at FROM ingests ORDER BY ingest_id").df()
    finally:
        con.close()
    files = [{"Input": f"Survey export {r.file_name} (wave {r.wave}, {r.shape})", "SHA-256": r.sha256}
             for r in ingests.itertuples()]
    files.append({"Input": f"Quality model {Path(model.path).name} ({model.id} version {model.version})",
                  "SHA-256": file_sha256(model.path)})
    return pd.DataFrame(files, columns=["Input", "SHA-256"])


def provenance(store, parameters: dict, extra_files: dict | None = None, files: pd.DataFrame | None = None,
               model=None) -> Markup:
    """The provenance block that ends every report: inputs by file name and hash, versions, parameters, run time.

    ``files``: :func:`input_files` of ``store`` and ``model`` the quality model, when already at hand (a batch
    computes them once per wave); otherwise read here.
    No local path is published: files are named by their name (and SHA-256), never by where they were.
    """
    model = load_model() if model is None else model
    files = (input_files(store) if files is None else files).to_dict("records")
    for label, path in (extra_files or {}).items():
        files.append({"Input": f"{label} {Path(path).name}" if Path(path).name not in label else label,
                      "SHA-256": file_sha256(path)})
    params = pd.DataFrame({"Parameter": list(parameters),
                           "Value": [_published_value(k, v) for k, v in parameters.items()]})
    return (
        Markup('<section class="dqm-provenance">')
        + html_table(pd.DataFrame(files), "Inputs to this report and their SHA-256 hashes")
        + html_table(params, "Parameters of this run")
        + html("<p>Produced by dqm version {} with the quality model {} version {}.</p>", __version__, model.id,
               model.version)
        + html('<p class="dqm-runtime">Run on {} at {}.</p></section>', long_date(dt.date.today()),
               f"{dt.datetime.now():%H:%M}")
    )
