"""`dqm run` at its floor (issue 19): tables printed from set column widths, the data behind charts left out of
print, a running header; the claims battery and each claim's panel view kept by their inputs; report kernels
started ahead of their notebooks; the example council's report made directly and listed as a batch lists it."""
from __future__ import annotations

import io
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from dqm.reports import plots
from dqm.reports.html import TEMPLATE_DIR

LONG_CLAIM = ("Councils with higher self-assessed digital levels spend less on central services per resident, "
              "after allowing for deprivation, population, rurality and the type of council. ") * 6


def _page(body: str, title: str = "A report") -> str:
    css = (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")
    return (f'<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title><style>{css}</style>'
            f"</head><body><main><h1>{title}</h1>{body}</main></body></html>")


def _pdf_pages(page: str) -> list[str]:
    from pypdf import PdfReader

    from dqm.reports.pdf import pdf_from_html

    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf_from_html(page))).pages]


def _verdicts() -> pd.DataFrame:
    return pd.DataFrame({"Association tested": [LONG_CLAIM, "Shorter claim"], "Who makes it": ["Promoters", "Sceptics"],
                         "Verdict": ["inconclusive", "no meaningful effect"], "Councils": ["179", "1,204"]})


# ------------------------------------------------------------------------------------------ column widths
def test_short_columns_get_a_set_width_and_long_text_the_rest():
    table = str(plots.html_table(_verdicts(), "Verdicts"))
    heads = re.findall(r'<th scope="col"(?: class="(dqm-w\d+)")?>([^<]*)</th>', table)
    widths = {name: cls for cls, name in heads}
    assert widths["Association tested"] == ""  # long text: no set width, it takes the rest of the page
    assert widths["Who makes it"] == "dqm-w12"  # "Promoters" (9 characters) and the cell's padding
    assert widths["Councils"] == "dqm-w10"  # the header's longest word sets it; "1,204" fits whole
    assert widths["Verdict"] == "dqm-w16"  # "no meaningful effect" on at most two lines, no word broken


def test_short_columns_that_would_crowd_out_the_text_lose_their_widths_widest_first():
    df = pd.DataFrame({f"Column {i}": ["a fairly wide value"] for i in range(6)})
    widths = plots.column_widths(df, {})
    assert sum(w or 0 for w in widths) <= plots.WIDTH_BUDGET
    assert widths.count(None) >= 2


def test_the_pdf_never_breaks_a_count_or_a_short_word_beside_long_text():
    """Issue 20: "Pro/mot/ers" and the count 179 printed as "17 / 9" beside the claim text in the PDF."""
    words = set(" ".join(_pdf_pages(_page(str(plots.html_table(_verdicts(), "Verdicts on the registered claims")))))
                .split())
    assert {"Promoters", "Sceptics", "179", "1,204", "inconclusive", "meaningful", "Councils"} <= words


def test_tables_print_from_set_widths_not_measured_cells():
    css = (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")
    printed = css[css.index("@media print"):]
    assert re.search(r"table\.dqm-table \{[^}]*table-layout: fixed", printed)
    assert re.search(r"th\.dqm-w10 \{ width: 10ch; \}", css)


# ------------------------------------------------------------------------------------------ print version
def _chart() -> plots.Chart:
    df = pd.DataFrame({"dimension": ["Leadership", "Strategy"], "mean": [3.1, 3.4], "ci_low": [2.9, 3.2],
                       "ci_high": [3.3, 3.6]})
    return plots.dot_interval(df, "dimension", "mean", "ci_low", "ci_high", "Average level by dimension",
                              "Average level", "Synthetic data")


def test_the_data_behind_a_chart_is_in_the_html_but_not_the_pdf():
    from dqm.reports.pdf import print_version

    figure = _chart()._repr_html_()
    page = _page(figure + "<p>After the chart.</p>")
    printed = print_version(page)
    assert "<summary>Data behind this chart</summary>" in page and "<summary>" not in printed
    assert "<img" in printed and "Average level by dimension" in printed and "After the chart." in printed
    text = " ".join(_pdf_pages(page))
    assert "Data behind the chart" not in text and "Leadership" not in text  # (the table's rows; the chart is an image)
    assert "The data behind this chart are in the HTML version of this report." in " ".join(text.split())


def test_text_that_looks_like_the_end_of_the_chart_data_cannot_cut_the_print_version_short():
    from dqm.reports.pdf import print_version

    chart = _chart()
    chart.data = pd.DataFrame({"note": ['</details><p class="x">planted</p>', "<details>"]})
    page = _page(chart._repr_html_() + "<p>After the chart.</p>")
    printed = print_version(page)
    assert "planted" not in printed and "After the chart." in printed and "<details" not in printed


def test_every_page_after_the_first_has_the_title_and_page_numbers_in_its_header():
    body = "".join(f"<h2>Section {i}</h2><p>{LONG_CLAIM}</p>" for i in range(8))
    pages = _pdf_pages(_page(body, "State of Digital, 2026"))
    assert len(pages) >= 2
    assert "Page 1 of " + str(len(pages)) in pages[0] and pages[0].count("State of Digital, 2026") == 1  # the h1 only
    for n, text in enumerate(pages[1:], start=2):
        assert "State of Digital, 2026" in text and f"Page {n} of {len(pages)}" in text


# ------------------------------------------------------------------------------------------ kept results
@pytest.fixture
def store_copy(small_store, tmp_path):
    copy = tmp_path / "store" / "s.duckdb"
    copy.parent.mkdir()
    shutil.copy(small_store, copy)
    return copy


def test_the_claims_battery_is_kept_by_its_inputs(store_copy, tmp_path, monkeypatch, model, survey):
    import dqm.claims
    from dqm.reports.wave import claims_battery
    from dqm.store import ingest_files

    monkeypatch.setenv("DQM_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = dqm.claims.evaluate_claims

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dqm.claims, "evaluate_claims", counted)
    claims, first = claims_battery(store_copy, 2026, 20, 10)
    _, again = claims_battery(store_copy, 2026, 20, 10)
    assert len(calls) == 1 and [r.verdict for r in again] == [r.verdict for r in first]
    assert [r.claim.id for r in again] == [c.id for c in claims]
    claims_battery(store_copy, 2026, 30, 10)  # other settings
    assert len(calls) == 2
    survey.add(council="Leeds", email="d@leeds.gov.uk")  # another council's answers: other data
    ingest_files([survey.googleforms(tmp_path / "more.csv")], wave=2026, store=store_copy, model=model)
    claims_battery(store_copy, 2026, 20, 10)
    assert len(calls) == 3


def _panel_data(seed: int = 3):
    rng = np.random.default_rng(seed)
    rows, outs = [], []
    codes = [f"C{i:03d}" for i in range(60)]
    base = rng.normal(3, 0.6, 60)
    x = {w: base + rng.normal(0, 0.4, 60) for w in (2021, 2022, 2023)}
    for w in x:
        rows += [{"council_code": c, "wave": w, "assessment_type": "self", "overall_mean": v} for c, v in zip(codes, x[w])]
        if w > 2021:
            y = 5 * base + 0.8 * x[w - 1] + rng.normal(0, 0.3, 60)
            outs += [{"local-authority-code": c, "measure": "m", "period": f"{w}-{str(w + 1)[2:]}", "value": v}
                     for c, v in zip(codes, y)]
    outs.append({"local-authority-code": "C000", "measure": "other", "period": "2022-23", "value": 1.0})
    return pd.DataFrame(rows), pd.DataFrame(outs)


def test_a_kept_panel_view_is_the_fresh_one_and_is_refitted_when_a_row_it_reads_changes(tmp_path, monkeypatch):
    import dqm.claims.panel
    from dqm.reports.sections import kept_panel_view

    monkeypatch.setenv("DQM_CACHE_DIR", str(tmp_path / "cache"))
    levels, outcomes = _panel_data()
    fresh = dqm.claims.panel.panel_view(levels, outcomes, None, "overall", "m")
    calls = []
    real = dqm.claims.panel.panel_view
    monkeypatch.setattr(dqm.claims.panel, "panel_view", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert kept_panel_view(levels, outcomes, None, "overall", "m") == fresh
    assert kept_panel_view(levels, outcomes, None, "overall", "m") == fresh and len(calls) == 1
    other = outcomes.copy()
    other.loc[other["measure"] == "other", "value"] = 2.0  # a row the view does not read
    kept_panel_view(levels, other, None, "overall", "m")
    assert len(calls) == 1
    changed = outcomes.copy()
    changed.loc[0, "value"] += 1.0  # one outcome the view reads
    assert kept_panel_view(levels, changed, None, "overall", "m") == real(levels, changed, None, "overall", "m")
    assert len(calls) == 2


# ------------------------------------------------------------------------------------------ kernels started ahead
def _strip_runtime(html: str) -> str:
    return re.sub(r"Run on [^<]*", "", html)


def test_a_report_run_in_a_kernel_started_ahead_is_the_report_a_fresh_kernel_makes(small_store, tmp_path):
    import nbformat

    from dqm.reports.notebook import run_report, start_kernel

    fresh = run_report("quality", 2026, store=small_store.resolve(), out_dir=tmp_path / "fresh")
    kernel = start_kernel()
    assert kernel is not None and kernel.is_alive()
    ahead = run_report("quality", 2026, store=small_store.resolve(), out_dir=tmp_path / "ahead", kernel=kernel)
    assert not kernel.has_kernel  # shut down once its notebook ran
    assert _strip_runtime(ahead.html.read_text()) == _strip_runtime(fresh.html.read_text())
    counts = [[c.get("execution_count") for c in nbformat.read(r.notebook, 4).cells if c.cell_type == "code"]
              for r in (fresh, ahead)]
    assert counts[0] == counts[1] and counts[0][0] == 1  # the imports ahead were not counted as a cell


# ------------------------------------------------------------------------------------------ the example council
def test_the_example_council_is_listed_beside_the_councils_a_batch_made(small_store, tmp_path):
    import json

    from dqm.mainjob import Made, _list_council
    from dqm.reports.manifest import write_manifest

    out = tmp_path / "councils"
    out.mkdir()
    for code in ("BST", "KTT"):
        (out / f"council-{code}-2026.html").write_text("<html></html>")
        (out / f"council-{code}-2026.pdf").write_bytes(b"%PDF-1.7")
    write_manifest(out, {"wave": 2026, "councils": {"BST": {
        "hash": "h", "inputs": {}, "status": "ok", "html": "council-BST-2026.html", "pdf": "council-BST-2026.pdf",
        "seconds": 1.0, "cell": "", "error": "", "finished_at": "2026-01-01T00:00:00Z"}}})
    said = []
    _list_council(out, 2026, str(small_store), "KTT",
                  Made("council", str(out / "council-KTT-2026.html"), str(out / "council-KTT-2026.pdf"), 2.0),
                  echo=said.append)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["councils"]["BST"]["hash"] == "h"  # the batch's entry is kept
    assert manifest["councils"]["KTT"]["status"] == "ok" and manifest["councils"]["KTT"]["hash"] == ""  # never skipped
    index = pd.read_csv(out / "index.csv", dtype=str)
    assert sorted(index["council_code"]) == ["BST", "KTT"] and set(index["status"]) == {"ready"}
    assert "council-KTT-2026.pdf" in (out / "index.html").read_text() and said == []
