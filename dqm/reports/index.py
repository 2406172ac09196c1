"""The batch's ``index.html`` and ``index.csv``: every council and its files, from the manifest it can trust.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..cells import csv_text
from ..paths import write_atomic

INDEX_CSV = "index.csv"


INDEX_HTML = "index.html"


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


_STATUSES = ("ok", "failed")


def report_name(code: str, wave: int, suffix: str = ".html") -> str:
    """The file name of a council's report in the batch's output folder (the only name the index links to)."""
    return f"council-{code}-{int(wave)}{suffix}"


def trusted_entries(manifest: dict, councils, out_dir: Path, wave: int) -> tuple[dict, list[str]]:
    """The manifest's entries that the index may publish, and a warning for each one dropped or corrected.

    The index is derived from what the batch made, not from what the manifest says: an entry is kept only
    for a council taking part in the wave (``councils``, codes), with a known status; its links are the
    report names the batch writes (:func:`report_name`) in ``out_dir``, shown only when that file is there
    (a regular file, not a link); a path the manifest records anywhere else is ignored, and a time that is
    not one the batch writes is blanked. A report the manifest calls made but whose file is missing is
    listed as failed. (The manifest records file names; older manifests recorded absolute paths.)

    >>> trusted_entries({"councils": {"../x": {"status": "ok"}}}, ["BST"], Path("."), 2026)[1]
    ["manifest entry '../x' is not a council taking part in wave 2026; it was left out of the index."]
    """
    out_dir = Path(out_dir)
    allowed = set(councils)
    entries = manifest.get("councils") if isinstance(manifest, dict) else None
    if not isinstance(entries, dict):
        return {}, ["the manifest has no list of councils; the index lists none."] if entries is not None else []
    kept, warnings = {}, []
    for code, m in sorted(entries.items(), key=lambda kv: str(kv[0])):
        shown = repr(str(code)[:60])
        if not isinstance(code, str) or code not in allowed:
            warnings.append(f"manifest entry {shown} is not a council taking part in wave {int(wave)}; "
                            "it was left out of the index.")
            continue
        if not isinstance(m, dict) or m.get("status") not in _STATUSES:
            warnings.append(f"manifest entry {shown} has no valid status; it was left out of the index.")
            continue
        files = {}
        for kind, suffix in (("html", ".html"), ("pdf", ".pdf")):
            expected = out_dir / report_name(code, wave, suffix)
            recorded = m.get(kind) or ""
            if recorded and (not isinstance(recorded, str) or recorded not in (expected.name, str(expected))):
                warnings.append(f"manifest entry {shown} names {'an HTML' if kind == 'html' else 'a PDF'} file other than {expected.name}; "
                                "the index links only to the report the batch writes.")
            ok = m["status"] == "ok" and expected.is_file() and not expected.is_symlink()
            files[kind] = expected.name if ok else ""
        status = "ok" if m["status"] == "ok" and files["html"] else "failed"
        when = m.get("finished_at", "")
        if not (isinstance(when, str) and _TIMESTAMP.fullmatch(when)):
            if when:
                warnings.append(f"manifest entry {shown} has a time that is not one the batch writes; it was blanked.")
            when = ""
        kept[code] = {"status": status, "html": files["html"], "pdf": files["pdf"], "finished_at": when}
    return kept, warnings


def index_table(entries: dict, ref: pd.DataFrame) -> pd.DataFrame:
    """One row per council in ``entries`` (from :func:`trusted_entries`): code, name, type, region, files
    (names in the output folder), status; in the order of the councils' names (as a reader looks them up)."""
    r = ref.set_index("local-authority-code")
    name = lambda code: str(r["nice-name"].get(code, code))
    rows = []
    for code, m in sorted(entries.items(), key=lambda kv: (name(kv[0]).casefold(), kv[0])):
        rows.append({
            "council_code": code, "council": r["nice-name"].get(code, code),
            "type": r["local-authority-type-name"].get(code, ""), "region": r["region"].get(code, ""),
            "html": m["html"], "pdf": m["pdf"],
            "status": "ready" if m["status"] == "ok" else "failed",
            "updated": m["finished_at"],
        })
    return pd.DataFrame(rows, columns=["council_code", "council", "type", "region", "html", "pdf", "status", "updated"])


def ready_sentence(ready: int, total: int) -> str:
    """How many of the batch's reports are ready, grammatically.

    >>> ready_sentence(1, 1), ready_sentence(2, 3), ready_sentence(0, 1), ready_sentence(0, 0)
    ('1 report is ready.', '2 of 3 reports are ready.', 'No report is ready yet.', 'There are no reports yet.')
    """
    from .narrative.words import number, plural

    if not total:
        return "There are no reports yet."
    if not ready:
        return "No report is ready yet." if total == 1 else f"None of the {number(total)} reports is ready yet."
    if ready == total:
        return f"{plural(ready, 'report')} {'is' if ready == 1 else 'are'} ready."
    return f"{number(ready)} of {plural(total, 'report')} {'is' if ready == 1 else 'are'} ready."


def showing_sentence(total: int) -> str:
    """The list's count before any filter ('Showing 1 council.', 'Showing all 48 councils.')."""
    from .narrative.words import plural

    return f"Showing {'all ' if total > 1 else ''}{plural(total, 'council')}."


def index_words(table: pd.DataFrame) -> dict:
    """What the index page says about its rows: the ready and showing sentences, and the council types and
    regions to filter by (sorted, blanks left out)."""
    ready = int((table["status"] == "ready").sum())
    options = lambda col: sorted({str(v) for v in table[col] if isinstance(v, str) and v}, key=str.casefold)
    return {"ready_text": ready_sentence(ready, len(table)), "showing_text": showing_sentence(len(table)),
            "total": len(table), "types": options("type"), "regions": options("region")}


def write_index(out_dir: Path, table: pd.DataFrame, wave: int, synthetic: bool) -> tuple[Path, Path]:
    """``index.csv`` and an accessible, searchable ``index.html`` (no scripts or styles fetched)."""
    import jinja2

    from ..markup import escape

    # every value goes through the reports' one escaping path (controls and bidi overrides removed, right-to-left
    # names isolated), as in the reports themselves
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=escape)
    html = env.get_template("council_index.html.j2").render(
        rows=table.to_dict("records"), wave=wave, synthetic=synthetic, **index_words(table))
    csv_path, html_path = Path(out_dir) / INDEX_CSV, Path(out_dir) / INDEX_HTML
    write_atomic(csv_path, csv_text(table), "index", root=out_dir)
    write_atomic(html_path, html, "index page", root=out_dir)
    return csv_path, html_path
