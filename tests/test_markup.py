"""The one escaping path (dqm.markup): hostile text from any source reaches a report as text, never markup.

Fast unit tests; the end-to-end check (hostile data files rendered into every report and opened in
headless Chromium, PDFs inspected) is tests/test_hostile_reports.py.
"""
from __future__ import annotations

import http.server
import threading
from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from dqm import markup
from dqm.reports import narrative, plots, sections
from dqm.reports.narrative import focus_sentences

PAYLOADS = [
    "<script>document.title='XSS'</script>",
    '<img src=x onerror="window.__xss=1">',
    "[click me](javascript:alert(1))",
    "<a href='javascript:alert(1)'>x</a>",
    '"><svg onload=alert(1)>',
    "**bold** _em_ `code`",
    "<link rel=attachment href=file:///etc/passwd>",
    "![x](http://127.0.0.1:9/x.png)",
]


def _only_text(fragment) -> BeautifulSoup:
    """Parse an HTML fragment and check that it holds no element or attribute a payload could have made."""
    soup = BeautifulSoup(str(fragment), "html.parser")
    for el in soup.find_all(True):
        assert el.name in {"p", "strong", "ul", "li", "table", "caption", "thead", "tbody", "tr", "th", "td", "h1", "h3",
                           "div", "bdi", "a", "span", "figure", "picture", "source", "img", "figcaption", "br", "details", "summary", "wbr"}, el
        for attr, value in el.attrs.items():
            assert not attr.startswith("on"), el
            if attr in ("href", "src", "action", "formaction", "srcset", "xlink:href"):
                assert "javascript:" not in str(value).lower(), el
    return soup


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_helper_escapes_its_text(payload):
    for frag in (markup.escape(payload), markup.paragraph(payload, lead=payload), markup.bullets([payload]),
                 markup.heading(payload, 3, id=payload), markup.html("<p>{}</p>", payload),
                 narrative.title_block(payload, True)):
        soup = _only_text(frag)
        assert payload in soup.get_text()  # shown as the characters it holds


def test_escape_is_idempotent_for_trusted_markup_only():
    built = markup.html("<strong>{}</strong>", "<x>")
    assert markup.escape(built) is built
    assert str(markup.escape("<strong>")) == "&lt;strong&gt;"


def test_control_and_bidi_characters_are_removed_and_rtl_isolated():
    s = "Council\u202e txt.exe\x00\x1b[31m\x85\u2066x\u2069\ufeff\ud800"
    c = markup.clean(s)
    assert not any(ch in c for ch in "\u202e\x00\x1b\x85\u2066\u2069\ufeff\ud800")
    assert "Council txt.exe" in c and "\ufffd" in c
    assert markup.clean("line one\r\nline two\tend") == "line one\nline two\tend"
    assert str(markup.escape("Ynys Môn")) == "Ynys Môn"
    assert str(markup.escape("مجلس <b>")) == "<bdi>مجلس &lt;b&gt;</bdi>"


def test_plain_text_parts_of_a_block_are_escaped():
    h = markup.block("<script>x</script>", markup.html("<p>{}</p>", "ok"), ["<b>a</b>"]).data
    assert "<script>" not in h and "&lt;script&gt;" in h and "<p>ok</p>" in h and "&lt;b&gt;a&lt;/b&gt;" in h


def test_tables_escape_cells_and_refuse_unsafe_links():
    df = pd.DataFrame({"Claim": PAYLOADS[:3], "Details": ["javascript:alert(1)", "#claim-<x>", "evidence-review-2026.html#claim-a"]})
    t = plots.html_table(df, PAYLOADS[0], links={"Details": "details"})
    soup = _only_text(t)
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs == ["#claim-%3Cx%3E", "evidence-review-2026.html#claim-a"]
    assert "javascript:alert(1)" in soup.get_text()  # an unsafe link is shown as text
    assert plots.safe_href("file:///etc/passwd") is None and plots.safe_href("//evil.example/x.html") is None
    assert plots.safe_href("../up.html") is None and plots.safe_href("data:text/html,x") is None


def test_charts_escape_alt_text_title_and_source_and_draw_any_label():
    df = pd.DataFrame({"dimension": [PAYLOADS[0], "$\\frac{1}{0}$ " + "x" * 5000, "مجلس"], "mean": [2.0, 3.0, 2.5],
                       "ci_low": [1.5, 2.5, 2.0], "ci_high": [2.5, 3.5, 3.0]})
    chart = plots.dot_interval(df, "dimension", "mean", "ci_low", "ci_high", PAYLOADS[1], "Level", PAYLOADS[2])
    soup = _only_text(chart._repr_html_())
    assert soup.find("img")["src"].startswith("data:image/png;base64,")
    assert PAYLOADS[0] in soup.find("img")["alt"] and PAYLOADS[2] in soup.get_text()
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(chart.png)).size[0] < 2000  # a 5,000-character label does not widen the chart


def _model(name):
    dims = pd.DataFrame({"id": ["a", "b"], "name": [name, "B"], "provisional": [True, False]})
    return SimpleNamespace(id=name, version=name, source=name, min_coverage=1, dimensions=dims,
                           describe_overall_rule=lambda: "the mean of the dimension levels")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_narrative_escapes_data_file_text(payload):
    """Dimension names, model fields, measure caveats and outcome periods, as defects 1 found them."""
    _only_text(narrative.model_note(_model(payload)))
    means = pd.DataFrame({"dimension_id": ["overall_mean", "a", "b"], "dimension": ["Overall", payload, "B"],
                          "mean": [2.5, 2.0, 3.0], "ci_low": [2.4, 1.9, 2.9], "ci_high": [2.6, 2.1, 3.1]})
    gaps = pd.DataFrame({"dimension": [payload], "gap": [1.0]})
    soup = _only_text(narrative.annual_summary(2026, 10, 20, means, None, gaps))  # (change: from the model)
    assert payload in soup.get_text()
    focus = pd.DataFrame({"dimension": [payload], "level": [2.0], "peer_median": [3.0], "below_peers": [1.0],
                          "target": [4.0], "stretch": [True]})
    _only_text(markup.bullets(focus_sentences(focus)))
    claim = SimpleNamespace(testable=True, kind="association", exploratory=True, id=payload, statement=payload)
    row = {"period": payload, "n": 50}
    caveats = narrative.claim_caveats(row, claim, {"caveats": [payload]}, 2026, True)
    soup = _only_text(markup.block(markup.bullets(caveats)).data)
    assert payload in soup.get_text()
    view = {"status": "not estimable", "reason": payload}
    _only_text(narrative.panel_sentence(view))


def test_markdown_outputs_are_never_interpreted(tmp_path):
    from dqm.reports.html import _export_html

    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output("display_data", data={"text/markdown": "[x](javascript:alert(1)) <script>x</script>",
                                                        "text/plain": "x"})
    js = nbformat.v4.new_output("display_data", data={"application/javascript": "window.__xss=1", "text/plain": "x"})
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x", outputs=[out, js])]
    page = _export_html(nb, "<script>t</script>")
    soup = BeautifulSoup(page, "html.parser")
    assert not soup.find_all("script") and not [a for a in soup.find_all("a") if "javascript" in a.get("href", "")]
    assert "[x](javascript:alert(1)) <script>x</script>" in soup.get_text()
    assert "window.__xss" not in page


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802
        _Hits.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"x")

    def log_message(self, *a):
        pass


def test_pdf_fetches_nothing_and_attaches_nothing(tmp_path):
    """WeasyPrint gets only the report's own data: PNGs; links, imports and attachments are refused."""
    import base64

    import pypdf

    from dqm.reports.pdf import pdf_from_html, report_url_fetcher

    server = http.server.HTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT")
    png = plots.dot_interval(pd.DataFrame({"d": ["a"], "m": [2.0], "l": [1.0], "h": [3.0]}), "d", "m", "l", "h", "t", "x", "s").png
    page = (f"<html><head><link rel=attachment href='file://{secret}'><link rel=attachment href='{url}/a'>"
            f"<link rel=stylesheet href='{url}/s.css'><style>@import url('{url}/i.css');</style></head><body>"
            f"<img src='{url}/img.png'><img src='file://{secret}'><img src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
            f"<a rel=attachment href='file://{secret}'>att</a><iframe src='{url}/f'></iframe>"
            f"<img src='data:image/svg+xml,<svg xmlns=\"http://www.w3.org/2000/svg\"><image href=\"{url}/svg\"/></svg>'>"
            "<p>text</p></body></html>")
    pdf = pdf_from_html(page)
    server.shutdown()
    assert _Hits.hits == []
    (tmp_path / "r.pdf").write_bytes(pdf)
    reader = pypdf.PdfReader(tmp_path / "r.pdf")
    assert not reader.attachments
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"].get("/Names", {}))
    raw = pdf.decode("latin-1")
    assert "/FileAttachment" not in raw and "/EmbeddedFile" not in raw and "SECRET-CONTENT" not in raw
    assert len(reader.pages[0].images) == 1  # the report's own chart is kept
    f = report_url_fetcher()
    with pytest.raises(ValueError):
        f.fetch(f"file://{secret}")
    assert f.refused == [f"file://{secret}"]


def test_the_claim_section_escapes_claim_and_measure_text(demo_store, model):
    import dqm
    from dqm.claims import EngineConfig, evaluate_claims, load_claims, results_table
    from dqm.outcomes import load_measures, load_outcomes

    store, _ = demo_store
    data = dqm.load(store, model=model)
    claims = [c for c in load_claims() if c.id == "efficiency-central-costs"]
    outcomes = load_outcomes()
    results = evaluate_claims(claims, data.councils, outcomes, model, 2026, EngineConfig(n_boot=50, n_null_boot=10))
    table = results_table(results)
    row = table.set_index("id").loc["efficiency-central-costs"].copy()
    row["period"] = PAYLOADS[0]
    measures = load_measures().set_index("id")
    m = claims[0].outcome
    measures.loc[m, "name"] = PAYLOADS[2]
    measures.at[m, "caveats"] = [PAYLOADS[1]]
    parts = sections.claim_section(results[0], row, model, measures, data.councils, outcomes, 2026, True, PAYLOADS[3])
    page = "".join(p.data for p in parts)
    soup = _only_text(page)
    text = soup.get_text()
    assert PAYLOADS[0] in text and PAYLOADS[1] in text and PAYLOADS[2][1:] in text
