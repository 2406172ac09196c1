"""Reports that work on a screen, a phone and paper: tables, page width, PDF pages and accessibility.

The four demo reports, the handbook and a small batch index are built once (tests/report_pages.py), then:

- each page is opened in headless Chromium at 1280, 390 and 320 CSS px (tests/browser.py: a real phone-width
  viewport through the DevTools protocol) and the probe in tests/layout_probe.js is evaluated in it: at 1280
  and 390 px no table cell may break a number, or a word (or the part of a hyphenated word) shorter than 12
  characters, across lines; at 320 px the page may not be wider than the screen;
- each PDF is read page by page from its tagged structure (tests/pdf_layout.py): no heading or table caption
  may end a page while what it introduces starts the next, no figure caption may start a page while its
  figure ends the one before, the first page may not be left half empty nor any other page but the last two
  thirds empty;
- axe-core (where `.ci/run` installed it) finds no serious or critical violation on any page.

A failure lists the page, the width and every cell and token (or page and heading) at fault. Building the
pages takes about 2 minutes of CPU, so these tests are marked slow; `.ci/run` runs them on every submission.
"""
from __future__ import annotations

import collections
from pathlib import Path

import pytest
from browser import Browser, axe_js, chromium
from pdf_layout import filled, read_pages, stranded
from report_pages import build_pages

PAGES = ("annual", "evidence", "council", "quality", "handbook", "index")
PDFS = ("annual", "evidence", "council", "handbook")
WORD_WIDTHS = (1280, 390)  # tables may not break a number or a short word at these widths
PHONE = 320  # nor may any page be wider than a screen this narrow
PROBE = (Path(__file__).parent / "layout_probe.js").read_text(encoding="utf-8")
FIRST_PAGE_FILLED = 0.5  # the first printed page is at least half used
PAGE_FILLED = 1 / 3  # every other page but the last at least a third
SHOWN = 12  # failures listed per page and width (all are counted)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    return build_pages(tmp_path_factory.mktemp("layout"))


@pytest.fixture(scope="module")
def browser():
    found = chromium()
    if not found:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def probed(pages, browser, tmp_path_factory):
    """The probe's findings for every page at every width: {(page, width): result}. One browser for all."""
    found = {}
    with Browser(browser, tmp_path_factory.mktemp("profile")) as b:
        for name in PAGES:
            for width in (*WORD_WIDTHS, PHONE):
                b.open(pages[name].html, width=width)
                found[name, width] = b.evaluate(PROBE)
    summary = {f"{n} @{w}": (len(r["broken"]), r["scrollWidth"]) for (n, w), r in found.items()}
    print("\nbroken tokens, page width per page and viewport:", summary)
    return found


def _broken_lines(name: str, width: int, broken: list[dict]) -> list[str]:
    """One line per table and token, with how often it broke, the cells it broke in, first the most often."""
    groups = collections.defaultdict(list)
    for b in broken:
        groups[b["table"], b["token"]].append(b)
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    lines = [f"{name} at {width} px, table {table!r}: token {token!r} broken {len(items)}x, "
             f"e.g. in cell {items[0]['cell']!r} ({items[0]['lines']} lines)" for (table, token), items in ordered]
    more = len(lines) - SHOWN
    return lines[:SHOWN] + ([f"{name} at {width} px: ... and {more} more tokens"] if more > 0 else [])


@pytest.mark.parametrize("name", PAGES)
def test_table_cells_break_no_number_and_no_short_word(probed, name):
    failures, counts = [], {}
    for width in WORD_WIDTHS:
        broken = probed[name, width]["broken"]
        counts[width] = len(broken)
        if broken:
            failures += _broken_lines(name, width, broken)
    assert not failures, (f"{name}: table cells break a number or a word shorter than 12 characters "
                          f"({', '.join(f'{n} at {w} px' for w, n in counts.items())}):\n" + "\n".join(failures))


@pytest.mark.parametrize("name", PAGES)
def test_page_fits_a_320_px_screen(probed, name):
    r = probed[name, PHONE]
    assert r["scrollWidth"] <= r["viewport"], (
        f"{name} at {PHONE} px is {r['scrollWidth']} px wide; sticking out: "
        + "; ".join(f"{o['element']} to {o['right']} px ({o['text']!r})" for o in r["overflow"]))


@pytest.mark.parametrize("name", PDFS)
def test_pdf_keeps_headings_and_captions_with_what_they_introduce(pages, name):
    pdf = pages[name].pdf
    assert pdf is not None, f"the {name} report has no PDF"
    read = read_pages(pdf)
    assert any(p.elements for p in read), f"{pdf.name} names no heading or caption: is it still tagged PDF/UA?"
    parted = stranded(read)
    lines = [f"{name} PDF page {number}: {'heading' if el.kind != 'Caption' else 'caption'} {el.text[:90]!r} "
             + ("ends the page; what it introduces starts the next" if el.leads
                else "starts the page; its figure ends the one before") for number, el in parted]
    assert not lines, f"{len(lines)} headings or captions parted from their content in {pdf.name}:\n" + "\n".join(lines)


@pytest.mark.parametrize("name", PDFS)
def test_pdf_pages_are_not_left_empty(pages, name):
    pdf = pages[name].pdf
    assert pdf is not None, f"the {name} report has no PDF"
    fill = filled(read_pages(pdf))
    empty = [f"{name} PDF page 1 is {1 - fill[0]:.0%} empty"] if fill[0] < FIRST_PAGE_FILLED else []
    empty += [f"{name} PDF page {k + 1} is {1 - f:.0%} empty" for k, f in enumerate(fill[1:-1], 1) if f < PAGE_FILLED]
    assert not empty, f"{len(empty)} of {len(fill)} pages of {pdf.name} left mostly empty:\n" + "\n".join(empty)


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_serious_or_critical_axe_violations(pages, browser, name, tmp_path):
    axe = axe_js()
    if not axe:
        pytest.skip("axe-core is not installed (.ci/run installs it with npm into .ci/axe; or set DQM_AXE_JS)")
    with Browser(browser, tmp_path / "profile") as b:
        b.open(pages[name].html, width=1280)
        violations = b.axe(axe)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: " + "; ".join(f"{v['id']} ({v['impact']}, {v['nodes']} elements): {v['help']}" for v in bad)


# ---------------------------------------------------------------- the yardsticks themselves, on pages made to fail
def _pdf(tmp_path: Path, body: str) -> Path:
    """A tagged PDF (as the reports are made) of a small A4 page with ``body``."""
    from dqm.reports.pdf import pdf_from_html

    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>t</title><style>@page { size: A4; "
            "margin: 20mm } table { break-inside: avoid }</style></head><body>" + body + "</body></html>")
    path = tmp_path / "t.pdf"
    path.write_bytes(pdf_from_html(page))
    return path


def test_the_pdf_yardstick_finds_a_caption_parted_from_its_table_and_an_empty_page(tmp_path):
    rows = "".join(f"<tr><td>row {i}</td><td>{i}</td></tr>" for i in range(12))
    table = f"<table><caption>Stranded caption</caption><thead><tr><th>a</th><th>b</th></tr></thead>{rows}</table>"
    parted = read_pages(_pdf(tmp_path, "<h2>Start</h2><p style='margin-bottom: 215mm'>Text.</p>" + table))
    assert [(n, el.text) for n, el in stranded(parted)] == [(1, "Stranded caption")]
    kept = read_pages(_pdf(tmp_path, "<h2>Start</h2><p style='margin-bottom: 100mm'>Text.</p>" + table))
    assert len(kept) == 1 and stranded(kept) == []
    tall = table.replace(rows, rows * 2).replace("<td>", "<td style='height: 8mm'>")  # 24 rows: about 230 mm
    pushed = read_pages(_pdf(tmp_path, "<h2>Start</h2><p>Text.</p><h2>Next</h2>" + tall + "<p>End.</p>"))
    assert len(pushed) >= 2 and filled(pushed)[0] < PAGE_FILLED and stranded(pushed)[0][1].text == "Next"


def test_the_browser_yardstick_finds_a_broken_number_and_overflow(browser, tmp_path):
    page = tmp_path / "t.html"
    page.write_text("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                    "content='width=device-width, initial-scale=1'><title>t</title></head><body>"
                    "<table><caption>Squeezed</caption><tr><td style='width: 100%'>" + "long text " * 60 +
                    "</td><td style='overflow-wrap: anywhere'>179</td><td>self-assessment</td></tr></table>"
                    "<table><caption>Fine</caption><tr><td>179</td></tr></table>"
                    "<pre>" + "x" * 80 + "</pre></body></html>", encoding="utf-8")
    with Browser(browser, tmp_path / "profile") as b:
        b.open(page, width=390)
        r = b.evaluate(PROBE)
    assert [(x["table"], x["token"]) for x in r["broken"]] == [("Squeezed", "179")]
    assert r["viewport"] == 390 and r["scrollWidth"] > 390 and r["overflow"][0]["element"] == "pre"
