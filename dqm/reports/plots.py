"""Charts in UK Government Analysis Function style (afcharts), each with a title, axis labels,
a source line, alt text and the data behind it shown as a table beside it.

The title and source are HTML text in the figure caption rather than pixels in the image, so screen
readers and search can read them (Analysis Function guidance on accessible charts).

A :class:`Chart` displays in a notebook (and in exported HTML) as a ``<figure>`` holding the PNG
(embedded as base64), its alt text, a caption and a collapsible data table. Each chart is drawn for a wide screen
(and paper) and again for a phone's width (:class:`Layout`), so that its labels stay readable on a phone; the page
picks the drawing by the screen's width (``<picture>``), and print always has the wide one.
"""
from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from afcharts.af_colours import get_af_colours  # noqa: E402

from ..markup import Markup, breakable, html, scroll_region  # noqa: E402

STYLE = "afcharts.afcharts"


# a link in a report may only point within the report or to a sibling report in the same folder
_SAFE_HREF = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*\.html)?(?:#\S*)?$")


def safe_href(url) -> str | None:
    """The URL if it is a fragment or a sibling report (``evidence-review-2026.html#claim-x``), else None.

    >>> safe_href("#claim-a"), safe_href("javascript:alert(1)"), safe_href("file:///etc/passwd")
    ('#claim-a', None, None)
    """
    from urllib.parse import quote

    u = str(url)
    if not u or not _SAFE_HREF.match(u):
        return None
    page, _, frag = u.partition("#")
    return page + ("#" + quote(frag, safe="-._~") if _ else "")


# Column widths for tables (report.css ``th.dqm-w4`` ... ``th.dqm-w18``, in characters, padding included): a short
# column (verdicts, counts, who makes a claim) gets a set width at least as wide as its longest word or number, so
# nothing in it is broken mid-word; a long-text column gets none and takes the rest of the width, wrapping only there.
# In print every table is laid out with ``table-layout: fixed`` from these widths, without measuring every cell.
COLUMN_WIDTHS = (4, 6, 8, 10, 12, 14, 16, 18)
SHORT_TEXT = 24  # characters: a column whose longest value is longer is long text
SHORT_LINE = 14  # characters: a short column is made wide enough for values up to this long on one line
WIDTH_BUDGET = 72  # characters: the short columns' widths together stay within this, so long text keeps room


def column_width(header, values) -> int | None:
    """The set width (in characters, from :data:`COLUMN_WIDTHS`) of a short table column, or None for long text.

    A column is short when every value is at most :data:`SHORT_TEXT` characters; its width fits the longest word
    of the header and of the values (numbers are single words, so never broken) and whole values up to
    :data:`SHORT_LINE` characters.

    >>> column_width("Councils", ["179", "1,204"]), column_width("Verdict", ["no meaningful effect"])
    (10, 16)
    >>> column_width("Claim", ["Councils with better digital spend less on central services per resident"]) is None
    True
    """
    texts = [str(v) for v in values]
    if any(len(t) > SHORT_TEXT for t in texts):
        return None
    words = [len(w) for t in [str(header), *texts] for w in t.split()]
    need = max([*words, *(min(len(t), SHORT_LINE) for t in texts), 1]) + 2  # + the cell's padding
    return next((w for w in COLUMN_WIDTHS if w >= need), None)


def column_widths(d: pd.DataFrame, links: dict) -> list:
    """:func:`column_width` for each column of ``d`` (a link column by its link text), widest dropped first until the
    short columns fit :data:`WIDTH_BUDGET`."""
    widths = [column_width(c, [links[c]] * len(d) if c in links else
                           ["–" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v for v in d[c]])
              for c in d.columns]
    while sum(w or 0 for w in widths) > WIDTH_BUDGET:
        widths[max(range(len(widths)), key=lambda i: widths[i] or 0)] = None
    return widths


def html_table(df: pd.DataFrame, caption: str, index: bool = False, links: dict | None = None,
               css_class: str = "") -> Markup:
    """An accessible HTML table with a caption and column headers; every cell escaped.

    ``css_class`` adds a class for a table with its own layout in report.css (``dqm-evidence``). Short columns get
    a set width (:func:`column_widths`). The table sits in a labelled scroll container, so that on a phone it
    scrolls sideways instead of breaking words and numbers.

    ``links`` maps a column name to the link text: that column's values are links within this report or to a
    sibling report (anything else, such as a ``javascript:`` or ``file:`` URL, is shown as text).
    """
    links = links or {}
    d = df.reset_index() if index else df

    def th(c, width):
        if width is None:
            return html('<th scope="col">{}</th>', c)
        return html('<th scope="col" class="dqm-w{}">{}</th>', width, c)

    head = Markup("").join(th(c, w) for c, w in zip(d.columns, column_widths(d, links)))

    def cell(col, v):
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            return Markup("<td>–</td>")
        if isinstance(v, float) and v == 0:
            v = 0.0  # a negative zero (a small negative value rounded) prints as 0.0, never -0.0
        href = safe_href(v) if col in links else None
        if href is not None:  # the fragment names the target, so that repeated link text still reads clearly
            target = str(v).rsplit("#", 1)[-1]
            return html('<td><a href="{}">{}<span class="visually-hidden"> of {}</span></a></td>', href, links[col], target)
        return Markup("<td>") + breakable(v) + Markup("</td>")

    body = Markup("").join(Markup("<tr>") + Markup("").join(cell(c, v) for c, v in zip(d.columns, row)) + Markup("</tr>")
                           for row in d.itertuples(index=False, name=None))
    classes = " ".join(["dqm-table", *css_class.split()])
    return scroll_region(caption, html('<table class="{}"><caption>{}</caption><thead><tr>', classes, caption) + head
                         + Markup("</tr></thead><tbody>") + body + Markup("</tbody></table>"))


def chart_label(text, limit: int = 60) -> str:
    """Text for a chart label: clean, shortened (the table beside the chart has it in full), and with
    ``$`` escaped so that matplotlib never reads it as mathematical markup.

    >>> print(chart_label("Costs $5 or $x^2$"))
    Costs \\$5 or \\$x^2\\$
    """
    from ..markup import clean

    s = " ".join(clean(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("$", r"\$")


LARGE_TABLE = 60  # rows; larger data tables are left out of print and PDF (they stay in the HTML)

# Charts on a phone. A chart drawn 9 inches wide for a laptop and scaled down to a phone's 350 CSS px shows its
# labels at about 5 px; so every chart is drawn twice, once for each :class:`Layout`, and the page shows the phone
# drawing (``<picture><source media=...>``) on a screen too narrow for the other's labels. Print has no viewport:
# WeasyPrint reads only the ``<img>``, the desktop drawing, so printing is unchanged.
LABEL_FLOOR_PX = 9  # CSS px: the smallest label a chart shows on a screen 360 CSS px wide or wider
PAGE_MARGIN_PX = 40  # CSS px: the report's side padding (report.css ``main``) beside a chart on a narrow screen
NARROWEST_PX = 320  # CSS px: the narrowest screen the reports are laid out for (tests/test_layout.py)


@dataclass(frozen=True)
class Layout:
    """How a chart is drawn for one width: the figure's width and resolution, its type sizes (points; ``None``
    keeps the afcharts style's 14 pt), how its category labels wrap and how many legend columns fit.

    A layout with ``fit`` lays the figure out to its width (matplotlib's constrained layout), so that nothing
    spills past the figure and the image is as wide as drawn, labels at the size drawn.
    """

    name: str
    width: float  # inches
    dpi: int
    font: float | None  # points: axis and tick labels
    small: float  # points: legends and second lines of labels
    fine: float  # points: the finest labels (a specification curve's choices)
    wrap: int  # characters per line of a category label; 0: one line (as chart_label shortens it)
    columns: int  # the most legend columns
    fit: bool  # lay out to the width (constrained layout) rather than crop what is drawn around it

    def label(self, text, limit: int = 60) -> str:
        """A category label (:func:`chart_label`), wrapped to :attr:`wrap` characters a line."""
        import textwrap

        s = chart_label(text, limit)
        return textwrap.fill(s, self.wrap, break_on_hyphens=False) if self.wrap else s

    def line(self, text) -> str:
        """An axis title wrapped to the figure's width, in a layout that wraps labels (else one line, as designed)."""
        import textwrap

        if not self.wrap:
            return str(text)
        per_line = int(0.8 * self.width * 72 / (0.6 * (self.font or 14)))  # characters of that size that fit
        return textwrap.fill(str(text), per_line, break_on_hyphens=False)

    def ncol(self, entries: int) -> int:
        """Legend columns for ``entries`` entries."""
        return max(1, min(entries, self.columns))

    def rows_height(self, labels, row: float) -> float:
        """Inches for one row per label: ``row`` each; in a layout that wraps labels, at least the label's lines."""
        if not self.wrap:
            return row * len(labels)
        line = 1.2 * (self.font or 14) / 72
        return float(sum(max(row, (str(s).count("\n") + 1) * line + 0.12) for s in labels))

    def legend(self, ax, below: float, entries: int, **kwargs):
        """The chart's legend under its axes: placed ``below`` (axes fraction) under them in a layout that crops
        what is drawn; in one laid out to its width, the figure's legend at its foot, which the layout makes room
        for (a legend anchored outside the axes would squeeze them instead)."""
        handles = kwargs.pop("handles", None)
        if not self.fit:
            return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, below), ncol=self.ncol(entries),
                             frameon=False, **kwargs)
        handles = handles or ax.get_legend_handles_labels()[0]
        return ax.figure.legend(handles=handles, loc="outside lower left", ncol=self.ncol(entries), frameon=False,
                                **kwargs)

    def figure(self, height: float, **kwargs):
        """A new figure and axes (``plt.subplots``), :attr:`width` wide and ``height`` inches high."""
        return plt.subplots(figsize=(self.width, height), layout="constrained" if self.fit else None, **kwargs)

    def style(self) -> dict:
        """rcParams over the afcharts style for this layout."""
        return {} if self.font is None else {"font.size": self.font}


# the desktop drawing: as the charts were designed (and as they print)
DESKTOP = Layout("desktop", width=9, dpi=110, font=None, small=10, fine=7, wrap=0, columns=99, fit=False)
# the phone drawing: 4.8 inches across a 350 CSS px column is about 1 CSS px per point, so 10 pt type shows at 10 px
# (at 390 px; 9.3 px at 360 px). 110 dpi gives 1.5 image pixels per CSS px there: sharp enough on a phone's screen, and
# the drawing costs about 0.12 CPU-s, where 150 dpi (2 pixels per CSS px) costs about 0.16 and makes the page larger
PHONE = Layout("phone", width=4.8, dpi=110, font=11, small=10, fine=10, wrap=22, columns=2, fit=True)


def smallest_text_px(fig, dpi: int) -> float:
    """The size, in image pixels at ``dpi``, of the smallest text ``fig`` shows (tick labels, axis titles, legend)."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return round(min(sizes) * dpi / 72, 2) if sizes else float("nan")


@dataclass(frozen=True)
class Rendering:
    """One drawing of a chart: the PNG, its size in pixels and its smallest text in pixels at that size."""

    png: bytes
    width: int
    height: int
    label_px: float

    def shown_label_px(self, shown_width: float) -> float:
        """The smallest text's size when the image is shown ``shown_width`` CSS px wide."""
        return self.label_px * shown_width / self.width

    def data_url(self) -> str:
        """The PNG inline, as a ``data:`` URL (a report fetches nothing)."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def render(draw, layout: Layout) -> Rendering:
    """``draw(layout)`` (a function that returns a new figure) as a :class:`Rendering`, the figure closed."""
    from PIL import Image

    with plt.style.context(STYLE), matplotlib.rc_context(layout.style()):
        fig = draw(layout)
    try:
        png = png_fitted(fig, layout.dpi) if layout.fit else png_once(fig, dpi=layout.dpi)
        label_px = smallest_text_px(fig, layout.dpi)
    finally:
        plt.close(fig)
    width, height = Image.open(io.BytesIO(png)).size
    return Rendering(png, width, height, label_px)


@dataclass
class Chart:
    """A chart: title, alt text, source line, the data behind it, and its drawing for a wide screen and paper
    (``png``) and for a phone (``phone``, when the wide drawing's labels would show below the floor there)."""

    title: str
    alt: str
    source: str
    data: pd.DataFrame
    png: bytes
    desktop: Rendering | None = None
    phone: Rendering | None = None

    def __repr__(self) -> str:  # the text form a notebook keeps beside the HTML: short, without the image bytes
        return f"<Chart: {self.title} ({len(self.data)} rows of data; source: {self.source})>"

    def phone_below(self) -> int | None:
        """The viewport width (CSS px) below which the phone drawing is shown: where the desktop drawing, shown
        as wide as the column beside the page's margins, would show its smallest label below
        :data:`LABEL_FLOOR_PX`. None when there is no phone drawing."""
        if self.phone is None or self.desktop is None:
            return None
        return int(np.ceil(self.desktop.width * LABEL_FLOOR_PX / self.desktop.label_px)) + PAGE_MARGIN_PX

    def _image(self) -> Markup:
        """The ``<img>`` (desktop drawing, which print uses) in a ``<picture>`` with the phone drawing's
        ``<source>`` for narrow screens; each records the size of its smallest text (``data-dqm-label-px``)."""
        img = html('<img src="data:image/png;base64,{}" alt="{}"', base64.b64encode(self.png).decode("ascii"), self.alt)
        if self.desktop:
            img += html(' data-dqm-label-px="{}"', self.desktop.label_px)
        img += Markup(">")
        below = self.phone_below()
        if below is None:
            return img
        return (html('<picture><source media="(max-width: {}px)" srcset="{}" data-dqm-label-px="{}">', below,
                     self.phone.data_url(), self.phone.label_px) + img + Markup("</picture>"))

    def _repr_html_(self) -> str:
        large = len(self.data) > LARGE_TABLE
        note = (html('<p class="dqm-print-only">The {} rows of data behind this chart are in the HTML version of this '
                     "report.</p>", f"{len(self.data):,}") if large else Markup(""))
        return str(Markup('<figure class="dqm-chart">') + self._image()
                   + html('<figcaption><strong>{}</strong><br>Source: {}</figcaption><details class="dqm-data{}">'
                          "<summary>Data behind this chart</summary>", self.title, self.source,
                          " dqm-data-large" if large else "")
                   + html_table(self.data, "Data behind the chart: " + str(self.title)) + Markup("</details>")
                   + note + Markup("</figure>"))


DPI = DESKTOP.dpi
PAD_INCHES = 0.1  # white space kept around a chart's content (as savefig's tight bounding box keeps)
ROOM_INCHES = 2.0  # room drawn around the figure for what lies outside it (legends below the axes, long labels)


def _finish(draw, title: str, alt: str, source: str, data: pd.DataFrame) -> Chart:
    """The finished chart: ``draw`` (layout -> a new figure) drawn for :data:`DESKTOP` and, when that drawing's
    labels would show below :data:`LABEL_FLOOR_PX` on the narrowest screen (:data:`NARROWEST_PX`), for :data:`PHONE`.
    """
    desktop = render(draw, DESKTOP)
    column = NARROWEST_PX - PAGE_MARGIN_PX
    needs_phone = desktop.shown_label_px(min(column, desktop.width)) < LABEL_FLOOR_PX
    return Chart(title, alt, source, data, desktop.png, desktop, render(draw, PHONE) if needs_phone else None)


def png_once(fig, dpi: int = DPI) -> bytes:
    """``fig`` as PNG cropped to its content plus :data:`PAD_INCHES`, as ``savefig(bbox_inches="tight")`` gives,
    with the figure drawn once.

    A tight bounding box makes savefig lay the figure out in one pass and draw it in a second. Here the figure is
    drawn once on a canvas with :data:`ROOM_INCHES` around it (legends placed below the axes lie outside the
    figure); the content's extent is taken from that draw's own renderer (its text already measured) and the
    pixels are cropped to it. Only content reaching beyond that room is drawn a second time, with room enough.
    """
    from matplotlib.transforms import Bbox

    w, h = fig.get_size_inches()
    room = ROOM_INCHES
    while True:
        seen = {}

        def measure(event):
            extent = fig.get_tightbbox(event.renderer).frozen()  # (frozen now: savefig then moves the figure back)
            seen.update(extent=extent, size=(event.renderer.width, event.renderer.height))

        cid = fig.canvas.mpl_connect("draw_event", measure)
        buf = io.BytesIO()
        try:
            fig.savefig(buf, format="rgba", dpi=dpi, bbox_inches=Bbox.from_extents(-room, -room, w + room, h + room))
        finally:
            fig.canvas.mpl_disconnect(cid)
        extent = seen["extent"].padded(PAD_INCHES)  # inches from the bottom left of the canvas drawn
        width, height = (int(v) for v in seen["size"])
        outside = max(-extent.x0, -extent.y0, extent.x1 - width / dpi, extent.y1 - height / dpi)  # inches
        if outside <= 0:
            break
        room += outside + PAD_INCHES  # content beyond the room: draw again with room for it
    pixels = np.frombuffer(buf.getbuffer(), dtype=np.uint8).reshape(height, width, 4)
    x0, x1 = int(np.floor(extent.x0 * dpi)), int(np.ceil(extent.x1 * dpi))
    top, bottom = height - int(np.ceil(extent.y1 * dpi)), height - int(np.floor(extent.y0 * dpi))
    return _png(pixels[max(top, 0):bottom, max(x0, 0):x1], dpi)


def png_fitted(fig, dpi: int) -> bytes:
    """``fig``, laid out to its own size (:attr:`Layout.fit`), as PNG: drawn once, nothing to crop."""
    buf, size = io.BytesIO(), {}
    cid = fig.canvas.mpl_connect("draw_event", lambda event: size.update(wh=(event.renderer.width, event.renderer.height)))
    try:
        fig.savefig(buf, format="rgba", dpi=dpi)
    finally:
        fig.canvas.mpl_disconnect(cid)
    width, height = (int(v) for v in size["wh"])
    return _png(np.frombuffer(buf.getbuffer(), dtype=np.uint8).reshape(height, width, 4), dpi)


def _png(pixels, dpi: int) -> bytes:
    """RGBA pixels as PNG bytes (RGB when every pixel is opaque, which keeps the file smaller)."""
    from PIL import Image

    opaque = bool((pixels[..., 3] == 255).all())
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels[..., :3] if opaque else pixels)).save(out, format="png", dpi=(dpi, dpi))
    return out.getvalue()


def level_distribution(shares: pd.DataFrame, level_names: dict, title: str, source: str) -> Chart:
    """Stacked horizontal bars: share of councils at each level, one bar per dimension.

    ``shares`` has columns dimension, level, share (0 to 1) and n.
    """
    wide = shares.pivot(index="dimension", columns="level", values="share").fillna(0.0)
    wide = wide.reindex(columns=sorted(level_names))
    order = list(dict.fromkeys(shares["dimension"]))[::-1]
    wide = wide.reindex(order)
    colours = get_af_colours("sequential", number_of_colours=5)[: len(level_names)][::-1]

    def draw(lay: Layout):
        labels = [lay.label(x) for x in wide.index]
        fig, ax = lay.figure(lay.rows_height(labels, 0.45) + 1.6)
        left = np.zeros(len(wide))
        for i, lv in enumerate(wide.columns):
            ax.barh(labels, wide[lv], left=left, color=colours[i], label=chart_label(f"{lv} {level_names[lv]}"),
                    edgecolor="white", linewidth=0.5)
            left += wide[lv].to_numpy()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xlabel(lay.line("Share of responding councils"))
        ax.set_ylabel("")
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)
        lay.legend(ax, -0.12 - 0.4 / len(wide), len(wide.columns), fontsize=lay.small)
        return fig

    top = shares[shares["level"] >= 4].groupby("dimension", sort=False)["share"].sum()
    alt = (f"Stacked bar chart of the share of responding councils at each of {len(level_names)} levels, for "
           f"{len(wide)} dimensions. The share at level 4 or 5 is highest for {top.idxmax()} "
           f"({100 * top.max():.0f}%) and lowest for {top.idxmin()} ({100 * top.min():.0f}%).")
    data = shares.assign(share=(100 * shares["share"]).round(1)).rename(
        columns={"dimension": "Dimension", "level": "Level", "share": "Share (%)", "n": "Councils"})
    return _finish(draw, title, alt, source, data)


def dot_interval(df: pd.DataFrame, label: str, est: str, lo: str, hi: str, title: str, xlabel: str, source: str,
                 group: str | None = None, xlim=(1, 5)) -> Chart:
    """Dots with interval whiskers, one row per label (optionally one colour per group, e.g. wave)."""
    groups = list(dict.fromkeys(df[group])) if group else [None]
    colours = get_af_colours("categorical", number_of_colours=max(2, len(groups)))
    labels = list(dict.fromkeys(df[label]))[::-1]
    ypos = {lab: i for i, lab in enumerate(labels)}

    def draw(lay: Layout):
        shown = [lay.label(x) for x in labels]
        fig, ax = lay.figure(lay.rows_height(shown, 0.45) + 1.6)
        for gi, g in enumerate(groups):
            sub = df if g is None else df[df[group] == g]
            off = 0 if len(groups) == 1 else (gi - (len(groups) - 1) / 2) * 0.22
            y = np.array([ypos[v] for v in sub[label]]) + off
            ax.errorbar(sub[est], y, xerr=[sub[est] - sub[lo], sub[hi] - sub[est]], fmt="o", color=colours[gi],
                        capsize=3, label=None if g is None else chart_label(g))
        ax.set_yticks(range(len(labels)), shown)
        ax.set_xlim(*xlim)
        ax.set_xlabel(lay.line(xlabel))
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)
        if group:
            lay.legend(ax, -0.12 - 0.4 / len(labels), len(groups))
        return fig

    alt = (f"Dot chart with 95% confidence intervals of {xlabel.lower()} for {len(labels)} rows"
           + (f", one dot per {group}" if group else "") + ". "
           + "; ".join(f"{r[label]}{'' if not group else ' ' + str(r[group])}: {r[est]:.1f} ({r[lo]:.1f} to {r[hi]:.1f})"
                       for _, r in df.iterrows()) + ".")
    return _finish(draw, title, alt, source, df.round(2))


def forest(df: pd.DataFrame, title: str, source: str, sesoi: float | None = None) -> Chart:
    """Effects with 95% and simultaneous (Bonferroni) intervals against the band of effects too small to matter.

    ``df``: label, estimate, ci_low, ci_high, adj_ci_low, adj_ci_high, sesoi (per row), verdict.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    colours = get_af_colours("categorical", number_of_colours=2)
    d = df.reset_index(drop=True)
    y = np.arange(len(d))[::-1]

    def draw(lay: Layout):
        shown = [f"{lay.label(r.label)}\n({chart_label(r.verdict)})" for r in d.itertuples()]
        fig, ax = lay.figure(lay.rows_height(shown, 0.55) + 1.8)
        for yi, r in zip(y, d.itertuples()):
            ax.fill_betweenx([yi - 0.35, yi + 0.35], -r.sesoi, r.sesoi, color="#DDDDDD", zorder=0)
            ax.plot([r.adj_ci_low, r.adj_ci_high], [yi, yi], color=colours[1], linewidth=2, zorder=2)
            ax.plot([r.ci_low, r.ci_high], [yi, yi], color=colours[0], linewidth=5, zorder=3)
            ax.plot(r.estimate, yi, "o", color="black", zorder=4)
        ax.axvline(0, color="#505a5f", linewidth=1)
        ax.set_yticks(y, shown, fontsize=lay.small)
        ax.set_xlabel(lay.line("Effect per SD of digital level: SD of the outcome, or log odds or log rate ratio (each row names its scale)"))
        ax.grid(axis="y", visible=False)
        lay.legend(ax, -0.1 - 0.35 / len(d), 3, fontsize=lay.small,
                   handles=[Line2D([0], [0], color=colours[0], linewidth=5, label="95% interval"),
                            Line2D([0], [0], color=colours[1], linewidth=2,
                                   label=lay.label("simultaneous 95% (Bonferroni, within family)")),
                            Patch(color="#DDDDDD", label=lay.label("too small to matter (± SESOI)"))])
        return fig

    alt = (f"Forest plot of {len(d)} claims' effects, each on the scale its label names, with 95% and adjusted intervals, against a grey band "
           "marking effects too small to matter. " + "; ".join(
               f"{r.label}: {r.estimate:.2f} ({r.ci_low:.2f} to {r.ci_high:.2f}), {r.verdict}" for r in d.itertuples()) + ".")
    data = d[["label", "estimate", "ci_low", "ci_high", "adj_ci_low", "adj_ci_high", "sesoi", "verdict"]].round(3)
    return _finish(draw, title, alt, source, data.rename(columns={"label": "Claim"}))


def specification_curve(specs: pd.DataFrame, title: str, source: str, sesoi: float) -> Chart:
    """Every specification's estimate and 95% interval, sorted, with the choices behind each shown below."""
    d = specs.sort_values("estimate").reset_index(drop=True)
    colours = get_af_colours("duo")
    x = np.arange(len(d))
    lo = d["estimate"] - 1.96 * d["se"]
    hi = d["estimate"] + 1.96 * d["se"]
    choices = ["controls", "transform", "exposure", "outliers", "population"]
    rows = [(c, val) for c in choices for val in sorted(d[c].astype(str).unique())]

    def draw(lay: Layout):
        # the choices' panel: 2.4 inches for its rows as designed; at least a line of the finest type per row
        panel = max(2.4, len(rows) * 1.3 * lay.fine / 72)
        fig, (ax, ax2) = lay.figure(3 + 0.5 + panel if lay.wrap else 6.5, nrows=2, ncols=1, sharex=True,
                                    gridspec_kw={"height_ratios": [3, panel if lay.wrap else 2.4]})
        ax.axhspan(-sesoi, sesoi, color="#DDDDDD", zorder=0)
        ax.vlines(x, lo, hi, color="#B0B0B0", linewidth=1, zorder=1)
        sig = d["significant"].to_numpy()
        ax.scatter(x[sig], d["estimate"][sig], s=10, color=colours[0], zorder=3, label="p < 0.05")
        ax.scatter(x[~sig], d["estimate"][~sig], s=10, color=colours[1], zorder=3, label="p ≥ 0.05")
        ax.axhline(0, color="#505a5f", linewidth=1)
        ax.set_ylabel("Standardised effect")
        ax.legend(loc="upper left", frameon=False, fontsize=lay.small)
        for ypos, (c, val) in enumerate(rows):
            hit = d[c].astype(str) == val
            ax2.scatter(x[hit], np.full(hit.sum(), ypos), s=4, color="#12436D", marker="|")
        ax2.set_yticks(range(len(rows)), [chart_label(f"{c}: {val}", lay.wrap * 2 or 60) for c, val in rows],
                       fontsize=lay.fine)
        ax2.invert_yaxis()
        ax2.set_xlabel("Specifications, sorted by estimate")
        ax2.grid(axis="y", visible=False)
        return fig

    share_sig = d["significant"].mean()
    alt = (f"Specification curve of {len(d)} estimates, sorted from {d['estimate'].min():.2f} to {d['estimate'].max():.2f}, "
           f"median {d['estimate'].median():.2f}; {100 * share_sig:.0f}% have p below 0.05. The panel below marks the "
           "choices behind each specification. The full list is in the table.")
    cols = ["controls", "transform", "exposure", "outliers", "population", "n", "estimate", "se", "p_value"]
    data = d[cols + (["role"] if "role" in d else [])].round(3)  # role: counted, confounding check, outlier sensitivity
    return _finish(draw, title, alt, source, data)


def council_profile(df: pd.DataFrame, council_label: str, title: str, source: str) -> Chart:
    """A council's level, its target and its peers' median and range, one row per dimension.

    ``df``: dimension, level, target, peer_median, peer_low, peer_high, peers.
    """
    colours = get_af_colours("categorical", number_of_colours=3)
    d = df.reset_index(drop=True)
    y = np.arange(len(d))[::-1]
    peers = bool(d["peer_median"].notna().any())  # withheld peers get no legend entry (an honest legend)

    def draw(lay: Layout):
        shown = [lay.label(x) for x in d["dimension"]]
        fig, ax = lay.figure(lay.rows_height(shown, 0.5) + 1.8)
        if peers:
            ax.hlines(y, d["peer_low"], d["peer_high"], color="#B0B0B0", linewidth=6, label="peers' range (anonymised)")
            ax.scatter(d["peer_median"], y, marker="|", s=300, color="#3D3D3D", label="peers' median", zorder=3)
        ax.scatter(d["level"], y, s=60, color=colours[0], label=lay.label(council_label), zorder=4)
        ax.scatter(d["target"], y, s=60, facecolors="none", edgecolors=colours[1], linewidths=2, label="target", zorder=4)
        ax.set_yticks(y, shown)
        ax.set_xlim(0.8, 5.2)
        ax.set_xlabel(lay.line("Level (1 Passive to 5 Transformative)"))
        ax.grid(axis="y", visible=False)
        lay.legend(ax, -0.12 - 0.35 / len(d), 4, fontsize=lay.small)
        return fig

    alt = (f"Dot chart of {council_label}'s level and target on {len(d)} dimensions"
           + (", with its peers' median and range. " if peers else "; peers' figures are withheld. ")
           + "; ".join(f"{r.dimension}: level {r.level:g}, target {r.target:g}"
                       + (f", peers' median {r.peer_median:g}" if peers else "")
                       for r in d.itertuples() if r.level == r.level) + ".")
    return _finish(draw, title, alt, source, d.round(2))


def caterpillar(df: pd.DataFrame, title: str, source: str) -> Chart:
    """Every council's rank with its 5th to 95th percentile interval, sorted by rank (a caterpillar plot).

    ``df``: council_name, rank_median, rank_p5, rank_p95 and, if there, councils_ranked and position. The
    councils are too many to name on the axis; the data table beside the chart names each one.
    """
    d = df.dropna(subset=["rank_median"]).sort_values(["rank_median", "rank_p5"]).reset_index(drop=True)
    colour = get_af_colours("categorical", number_of_colours=2)[0]
    x = np.arange(1, len(d) + 1)

    def draw(lay: Layout):
        fig, ax = lay.figure(4.8)
        ax.vlines(x, d["rank_p5"], d["rank_p95"], color="#B0B0B0", linewidth=1.2, label="5th to 95th percentile")
        ax.scatter(x, d["rank_median"], s=8, color=colour, zorder=3, label="median rank")
        ax.invert_yaxis()  # rank 1 at the top
        ax.set_xlabel("Councils, ordered by median rank")
        ax.set_ylabel("Rank (1 = highest score)")
        ax.grid(axis="x", visible=False)
        lay.legend(ax, -0.15, 2, fontsize=lay.small)
        return fig

    width = (d["rank_p95"] - d["rank_p5"]).median() if len(d) else float("nan")
    alt = (f"Caterpillar chart of {len(d):,} councils' ranks, each a dot at its median rank over the Monte Carlo "
           f"draws with a line from the 5th to the 95th percentile; the typical line spans {width:.0f} ranks, so "
           "most neighbouring councils cannot be told apart. The table names every council.")
    if "position" in d:
        counts = d["position"].value_counts()
        alt += " Positions: " + "; ".join(f"{k} {v:,}" for k, v in counts.items()) + "."
    cols = [c for c in ("council_name", "rank_median", "rank_p5", "rank_p95", "position") if c in d]
    data = d[cols].round({"rank_median": 0, "rank_p5": 0, "rank_p95": 0})
    return _finish(draw, title, alt, source, data.rename(columns={"council_name": "Council", "rank_median": "Median rank",
                                                                  "rank_p5": "Rank, 5th percentile",
                                                                  "rank_p95": "Rank, 95th percentile",
                                                                  "position": "Position"}))
