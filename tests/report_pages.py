"""The pages a reader sees, built from the bundled demo: the four reports, the handbook and a small batch index.

Used by tests/test_layout.py (tables at every width, pages on paper) and tools/screenshots.py (the images in
docs/screenshots/), so that both look at the same pages, made by the project's own commands:

- ``dqm run --quick`` : the annual report, the evidence review, an example council report (HTML and PDF) and
  the data quality report (HTML only: it is for analysts);
- the handbook (``dqm handbook --pdf``), unless ``dqm run`` already wrote it beside the reports;
- ``dqm report councils`` for a few councils into a folder of its own: the batch index (``index.html``) as it
  is with several councils, which the one-council index of ``dqm run`` cannot show.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WAVE = 2026
INDEX_COUNCILS = 5  # the batch index lists this many councils (the first by code: their names sort otherwise)


@dataclass(frozen=True)
class Built:
    """One page: its name (annual, evidence, council, quality, handbook, index), HTML and PDF (or None)."""

    name: str
    html: Path
    pdf: Path | None


def _dqm(*args: str, cwd: Path | None = None) -> str:
    p = subprocess.run([sys.executable, "-m", "dqm.cli", *args], capture_output=True, text=True, cwd=cwd)
    assert p.returncode == 0, f"dqm {' '.join(args)} failed:\n{p.stderr[-3000:]}"
    return p.stdout


def build_pages(folder: Path) -> dict[str, Built]:
    """Build every page into ``folder`` (about 2 minutes of CPU with --quick); {name: Built}."""
    from dqm.reports.notebook import councils_in_wave

    folder = Path(folder)
    out = folder / "reports"
    _dqm("run", "--quick", "--out-dir", str(out))
    if not list(out.glob("dqm-handbook-*.pdf")):
        _dqm("handbook", "--pdf", "--out-dir", str(out))
    store = out / "_build" / "demo.duckdb"
    codes = councils_in_wave(store, WAVE)[:INDEX_COUNCILS]
    _dqm("report", "councils", "--wave", str(WAVE), "--store", str(store), "--councils", ",".join(codes),
         "--draws", "20", "--jobs", "2", "--out-dir", str(folder / "batch"))
    return built_pages(folder)


def built_pages(folder: Path) -> dict[str, Built]:
    """The pages :func:`build_pages` made in ``folder`` earlier; {name: Built}. Fails if one is missing."""
    folder = Path(folder)
    out = folder / "reports"

    def first(where: Path, pattern: str) -> Path:
        return next(iter(sorted(where.glob(pattern))), where / pattern)

    pages = {"annual": out / f"state-of-digital-{WAVE}.html", "evidence": out / f"evidence-review-{WAVE}.html",
             "council": first(out / "councils" / str(WAVE), f"council-*-{WAVE}.html"),
             "quality": out / "analysts" / f"data-quality-{WAVE}.html",
             "handbook": first(out, "dqm-handbook-*.html"), "index": folder / "batch" / "index.html"}
    for name, html in pages.items():
        assert html.is_file(), f"the {name} page was not built: {html}"

    def pdf(html: Path) -> Path | None:
        return html.with_suffix(".pdf") if html.with_suffix(".pdf").is_file() else None

    return {name: Built(name, html, None if name == "index" else pdf(html)) for name, html in pages.items()}
