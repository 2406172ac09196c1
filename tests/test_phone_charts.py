"""Charts whose labels stay readable on a phone (issue 20): every chart is drawn for a wide screen and for a phone.

Fast unit tests of :class:`dqm.reports.plots.Chart` and its two drawings (each chart type on small data: the phone
drawing's smallest label at least :data:`FLOOR_PX` in a phone's column, the HTML a ``<picture>`` of inline PNGs only,
alt text escaped, print reading the desktop drawing only), and one slow test that builds the demo reports, opens
them in headless Chromium (tests/browser.py) at 390 and 1280 CSS px and measures each chart's smallest label as
shown: the size it was drawn at (``data-dqm-label-px``, in image pixels) times the width the image is shown at,
divided by the image's natural width.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from PIL import Image

from dqm.reports import plots

FLOOR_PX = 9  # CSS px: the smallest label a chart may show at 390 px and at 1280 px
PHONE_PX, DESKTOP_PX = 390, 1280
SMALL_PHONE_PX = 360
COLUMN_PX = PHONE_PX - plots.PAGE_MARGIN_PX  # the width a chart is shown at on a 390 px phone
HOSTILE = '"><img src=x onerror="window.__xss=1"> & <script>alert(1)</script>'
DIMS = ["Leadership and culture", "Technology and infrastructure platforms", "Governance and assurance of digital "
        "projects", "Skills", "User-centred design of services"]


def _charts() -> dict[str, plots.Chart]:
    """Every chart type, on small data with long labels."""
    rng = np.random.default_rng(3)
    shares = pd.DataFrame([(d, lv, s, 50) for d in DIMS for lv, s in zip(range(1, 6), rng.dirichlet(np.ones(5)))],
                          columns=["dimension", "level", "share", "n"])
    names = {1: "Passive", 2: "Developing", 3: "Impactful", 4: "Mainstreamed", 5: "Transformative"}
    means = pd.DataFrame({"dimension": DIMS, "mean": rng.uniform(2, 4, 5)}).assign(
        lo=lambda d: d["mean"] - 0.3, hi=lambda d: d["mean"] + 0.3)
    profile = pd.DataFrame({"dimension": DIMS, "level": [3.0, 2, 4, 1, 5], "target": [4.0, 3, 4, 2, 5],
                            "peer_median": 3.0, "peer_low": 2.0, "peer_high": 4.5, "peers": 12})
    forest = pd.DataFrame({"label": [f"Councils with better digital spend less on service {i} per resident"
                                     for i in range(3)], "estimate": [0.1, -0.2, 0.05]}).assign(
        ci_low=lambda d: d.estimate - .2, ci_high=lambda d: d.estimate + .2, adj_ci_low=lambda d: d.estimate - .3,
        adj_ci_high=lambda d: d.estimate + .3, sesoi=0.1, verdict="inconclusive")
    n = 40
    specs = pd.DataFrame({"estimate": rng.normal(.1, .1, n), "se": .05, "significant": rng.random(n) < .4,
                          "controls": rng.choice(["none", "deprivation + size"], n), "transform": rng.choice(["raw", "log"], n),
                          "exposure": rng.choice(["self", "model"], n), "outliers": rng.choice(["kept", "dropped"], n),
                          "population": "all", "n": 200, "p_value": .04})
    ranks = pd.DataFrame({"council_name": [f"C{i}" for i in range(60)], "rank_median": np.arange(60.0)}).assign(
        rank_p5=lambda d: d.rank_median - 5, rank_p95=lambda d: d.rank_median + 5)
    return {"level_distribution": plots.level_distribution(shares, names, "Levels", "s"),
            "dot_interval": plots.dot_interval(means, "dimension", "mean", "lo", "hi", "Means", "Average level", "s"),
            "council_profile": plots.council_profile(profile, "Borough of Somewhere-on-Sea Council", "Profile", "s"),
            "forest": plots.forest(forest, "Effects", "s"),
            "specification_curve": plots.specification_curve(specs, "Specifications", "s", 0.1),
            "caterpillar": plots.caterpillar(ranks, "Ranks", "s")}


@pytest.fixture(scope="module")
def charts():
    return _charts()


def _png_width(data_url: str) -> int:
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).size[0]


# ------------------------------------------------------------------------------------------------- fast
def test_every_chart_type_has_a_phone_drawing_whose_labels_show_at_least_the_floor(charts):
    shown = {name: (c.desktop.shown_label_px(min(COLUMN_PX, c.desktop.width)), c.phone.shown_label_px(min(COLUMN_PX, c.phone.width)))
             for name, c in charts.items()}
    print("\nsmallest label at 390 px (desktop drawing, phone drawing):", shown)
    assert all(desk < FLOOR_PX for desk, _ in shown.values()), "a desktop drawing was readable on a phone: why redraw?"
    small = {name: round(phone, 1) for name, (_, phone) in shown.items() if phone < FLOOR_PX}
    assert not small, f"phone drawings with labels under {FLOOR_PX} px at {PHONE_PX} px: {small}"
    column = SMALL_PHONE_PX - plots.PAGE_MARGIN_PX  # and on a smaller phone, as plots.LABEL_FLOOR_PX promises
    assert all(c.phone.shown_label_px(min(column, c.phone.width)) >= plots.LABEL_FLOOR_PX for c in charts.values())


def test_chart_html_is_a_picture_of_two_inline_pngs_with_the_desktop_one_as_its_img(charts):
    for name, c in charts.items():
        soup = BeautifulSoup(c._repr_html_(), "html.parser")
        picture = soup.find("figure", class_="dqm-chart").find("picture")
        source, img = picture.find("source"), picture.find("img")
        assert [t.name for t in picture.find_all(True)] == ["source", "img"], name
        assert source["srcset"].startswith("data:image/png;base64,") and img["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(img["src"].split(",", 1)[1]) == c.png == c.desktop.png  # print and Chart.png: desktop
        assert base64.b64decode(source["srcset"].split(",", 1)[1]) == c.phone.png
        assert _png_width(source["srcset"]) == c.phone.width and _png_width(img["src"]) == c.desktop.width
        assert source["media"] == f"(max-width: {c.phone_below()}px)"
        assert float(source["data-dqm-label-px"]) == c.phone.label_px and float(img["data-dqm-label-px"]) == c.desktop.label_px
        assert img["alt"] == c.alt and soup.find("details", class_="dqm-data")  # alt text and data table stay
        urls = [v for el in soup.find_all(True) for a, v in el.attrs.items() if a in ("src", "srcset", "href", "data")]
        assert len(urls) == 2 and all(u.startswith("data:image/png;base64,") and " " not in u for u in urls), name


def test_the_phone_drawing_is_chosen_just_below_the_width_where_the_desktop_labels_fall_under_the_floor(charts):
    for name, c in charts.items():
        below = c.phone_below()
        column = below - plots.PAGE_MARGIN_PX
        assert c.desktop.shown_label_px(column) >= plots.LABEL_FLOOR_PX > c.desktop.shown_label_px(column - 2), name


def test_alt_text_is_escaped_through_dqm_markup():
    c = plots.dot_interval(pd.DataFrame({"d": [HOSTILE], "m": [2.0], "l": [1.0], "h": [3.0]}), "d", "m", "l", "h",
                           HOSTILE, "x", HOSTILE)
    page = c._repr_html_()
    soup = BeautifulSoup(page, "html.parser")
    assert HOSTILE in soup.find("img")["alt"]
    assert not soup.find("script") and [i for i in soup.find_all("img")] == [soup.find("picture").find("img")]
    assert all(not a.startswith("on") for el in soup.find_all(True) for a in el.attrs)


def test_smallest_text_px_reads_the_smallest_text_the_figure_shows():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_xlabel("big", fontsize=20)
    ax.set_yticks([0, 1], ["a", "b"], fontsize=12)
    ax.set_xticks([])
    ax.text(0.5, 0.5, "", fontsize=4)  # empty text shows nothing
    ax.text(0.5, 0.5, "hidden", fontsize=5).set_visible(False)
    try:
        assert plots.smallest_text_px(fig, 144) == 24.0  # 12 pt at 144 dpi
    finally:
        plt.close(fig)


def test_a_chart_readable_on_the_narrowest_phone_is_drawn_once_and_shown_as_a_plain_img():
    import matplotlib.pyplot as plt

    drawn = []

    def draw(layout):
        drawn.append(layout.name)
        fig, ax = plt.subplots(figsize=(2.5, 1.5))
        ax.set_xticks([0, 1], ["a", "b"], fontsize=30)
        ax.set_yticks([])
        return fig

    c = plots._finish(draw, "Title", "Alt", "Source", pd.DataFrame({"a": [1]}))
    assert drawn == ["desktop"] and c.phone is None and c.phone_below() is None
    soup = BeautifulSoup(c._repr_html_(), "html.parser")
    assert not soup.find("picture") and soup.find("img")["src"].startswith("data:image/png;base64,")


def test_print_reads_only_the_desktop_drawing(charts):
    import pypdf

    from dqm.reports.pdf import pdf_from_html

    c = charts["council_profile"]
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>t</title></head><body>"
            + c._repr_html_() + "</body></html>")
    images = [im.image.size for p in pypdf.PdfReader(io.BytesIO(pdf_from_html(page))).pages for im in p.images]
    assert images == [(c.desktop.width, c.desktop.height)]


# ------------------------------------------------------------------------------------------------- slow
REPORTS = ("annual", "evidence", "council", "quality")
CHARTS_AT_LEAST = {"annual": 2, "evidence": 2, "council": 1, "quality": 0}  # the demo reports' charts
PROBE = """Array.from(document.querySelectorAll('figure.dqm-chart img')).map(function (img) {
  var source = img.parentElement.tagName === 'PICTURE' ? img.parentElement.querySelector('source') : null;
  var phone = !!source && img.currentSrc === source.srcset;
  var caption = img.closest('figure').querySelector('figcaption strong');
  return {title: caption ? caption.textContent : '', phone: phone, shown: img.getBoundingClientRect().width,
          natural: img.naturalWidth, drawnPx: parseFloat((phone ? source : img).getAttribute('data-dqm-label-px')),
          desktopPx: parseFloat(img.getAttribute('data-dqm-label-px'))};
})"""


@pytest.fixture(scope="module")
def shown(tmp_path_factory):
    """{(report, width): [chart as shown]} for the demo reports (``dqm run --quick``) in Chromium."""
    from browser import Browser, chromium
    from report_pages import WAVE, _dqm

    browser = chromium()
    if not browser:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("phone")
    out = folder / "reports"
    _dqm("run", "--quick", "--out-dir", str(out))
    pages = {"annual": out / f"state-of-digital-{WAVE}.html", "evidence": out / f"evidence-review-{WAVE}.html",
             "council": next(iter(sorted((out / "councils" / str(WAVE)).glob(f"council-*-{WAVE}.html")))),
             "quality": out / "analysts" / f"data-quality-{WAVE}.html"}
    found = {}
    with Browser(browser, folder / "profile") as b:
        for name, page in pages.items():
            desktop_widths = [_png_width(img["src"]) for img in
                              BeautifulSoup(Path(page).read_text(encoding="utf-8"), "html.parser").select("figure.dqm-chart img")]
            for width in (PHONE_PX, DESKTOP_PX):
                b.open(page, width=width)
                charts = b.evaluate(PROBE)
                for chart, natural in zip(charts, desktop_widths):
                    chart["label"] = chart["drawnPx"] * chart["shown"] / chart["natural"]
                    # the desktop drawing as it was shown before phones had their own: at most the column's width
                    chart["desktopLabel"] = chart["desktopPx"] * min(chart["shown"], natural) / natural
                found[name, width] = charts
    print("\nsmallest chart label per report (CSS px; before: the desktop drawing at that width):")
    for (name, width), charts in found.items():
        if charts:
            print(f"  {name} @{width}: now {min(c['label'] for c in charts):.1f}, "
                  f"before {min(c['desktopLabel'] for c in charts):.1f} ({len(charts)} charts)")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", REPORTS)
def test_chart_labels_show_at_least_the_floor_on_a_phone_and_a_laptop(shown, name):
    assert len(shown[name, PHONE_PX]) >= CHARTS_AT_LEAST[name], f"{name}: fewer charts than expected"
    for width in (PHONE_PX, DESKTOP_PX):
        charts = shown[name, width]
        assert all(c["phone"] == (width == PHONE_PX) for c in charts), \
            f"{name} at {width} px shows the {'desktop' if width == PHONE_PX else 'phone'} drawing of a chart"
        small = [f"{c['title']!r}: {c['label']:.1f} px ({c['drawnPx']} px drawn, image {c['natural']} px shown "
                 f"{c['shown']:.0f} px)" for c in charts if c["label"] < FLOOR_PX]
        assert not small, f"{name} at {width} px: chart labels under {FLOOR_PX} CSS px:\n" + "\n".join(small)
