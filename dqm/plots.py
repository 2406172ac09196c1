"""Charts in UK Government Analysis Function style (afcharts), each with a title, axis labels,
a source line, alt text and the data behind it shown as a table beside it.

The title and source are HTML text in the figure caption rather than pixels in the image, so screen
readers and search can read them (Analysis Function guidance on accessible charts).

A :class:`Chart` displays in a notebook (and in exported HTML) as a ``<figure>`` holding the PNG
(embedded as base64), its alt text, a caption and a collapsible data table.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from afcharts.af_colours import get_af_colours  # noqa: E402

from .narrative import escape  # noqa: E402

STYLE = "afcharts.afcharts"


def html_table(df: pd.DataFrame, caption: str, index: bool = False) -> str:
    """An accessible HTML table with a caption; every cell escaped."""
    body = df.to_html(index=index, escape=True, border=0, classes="dqm-table", na_rep="–")
    return body.replace('<table border="0" class="dataframe dqm-table">',
                        f'<table class="dqm-table"><caption>{escape(caption)}</caption>', 1).replace(
        '<table class="dataframe dqm-table">', f'<table class="dqm-table"><caption>{escape(caption)}</caption>', 1)


@dataclass
class Chart:
    title: str
    alt: str
    source: str
    data: pd.DataFrame
    png: bytes

    def _repr_html_(self) -> str:
        b64 = base64.b64encode(self.png).decode()
        return (f'<figure class="dqm-chart"><img src="data:image/png;base64,{b64}" alt="{escape(self.alt)}">'
                f"<figcaption><strong>{escape(self.title)}</strong><br>Source: {escape(self.source)}</figcaption>"
                f"<details><summary>Data behind this chart</summary>{html_table(self.data, self.title)}</details></figure>")


def _finish(fig, title: str, alt: str, source: str, data: pd.DataFrame) -> Chart:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Chart(title, alt, source, data, buf.getvalue())


def level_distribution(shares: pd.DataFrame, level_names: dict, title: str, source: str) -> Chart:
    """Stacked horizontal bars: share of councils at each level, one bar per dimension.

    ``shares`` has columns dimension, level, share (0 to 1) and n.
    """
    wide = shares.pivot(index="dimension", columns="level", values="share").fillna(0.0)
    wide = wide.reindex(columns=sorted(level_names))
    order = list(dict.fromkeys(shares["dimension"]))[::-1]
    wide = wide.reindex(order)
    colours = get_af_colours("sequential", number_of_colours=5)[: len(level_names)][::-1]
    with plt.style.context(STYLE):
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(wide) + 1.6))
        left = np.zeros(len(wide))
        for i, lv in enumerate(wide.columns):
            ax.barh(wide.index, wide[lv], left=left, color=colours[i], label=f"{lv} {level_names[lv]}",
                    edgecolor="white", linewidth=0.5)
            left += wide[lv].to_numpy()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xlabel("Share of responding councils")
        ax.set_ylabel("")
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)
        ax.legend(ncol=len(wide.columns), loc="upper left", bbox_to_anchor=(0, -0.12 - 0.4 / len(wide)), frameon=False, fontsize=10)
    top = shares[shares["level"] >= 4].groupby("dimension", sort=False)["share"].sum()
    alt = (f"Stacked bar chart of the share of responding councils at each of {len(level_names)} levels, for "
           f"{len(wide)} dimensions. The share at level 4 or 5 is highest for {top.idxmax()} "
           f"({100 * top.max():.0f}%) and lowest for {top.idxmin()} ({100 * top.min():.0f}%).")
    data = shares.assign(share=(100 * shares["share"]).round(1)).rename(
        columns={"dimension": "Dimension", "level": "Level", "share": "Share (%)", "n": "Councils"})
    return _finish(fig, title, alt, source, data)


def dot_interval(df: pd.DataFrame, label: str, est: str, lo: str, hi: str, title: str, xlabel: str, source: str,
                 group: str | None = None, xlim=(1, 5)) -> Chart:
    """Dots with interval whiskers, one row per label (optionally one colour per group, e.g. wave)."""
    groups = list(dict.fromkeys(df[group])) if group else [None]
    colours = get_af_colours("categorical", number_of_colours=max(2, len(groups)))
    labels = list(dict.fromkeys(df[label]))[::-1]
    ypos = {lab: i for i, lab in enumerate(labels)}
    with plt.style.context(STYLE):
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.6))
        for gi, g in enumerate(groups):
            sub = df if g is None else df[df[group] == g]
            off = 0 if len(groups) == 1 else (gi - (len(groups) - 1) / 2) * 0.22
            y = np.array([ypos[v] for v in sub[label]]) + off
            ax.errorbar(sub[est], y, xerr=[sub[est] - sub[lo], sub[hi] - sub[est]], fmt="o", color=colours[gi],
                        capsize=3, label=None if g is None else str(g))
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlim(*xlim)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)
        if group:
            ax.legend(loc="upper left", bbox_to_anchor=(0, -0.12 - 0.4 / len(labels)), ncol=len(groups), frameon=False)
    alt = (f"Dot chart with 95% confidence intervals of {xlabel.lower()} for {len(labels)} rows"
           + (f", one dot per {group}" if group else "") + ". "
           + "; ".join(f"{r[label]}{'' if not group else ' ' + str(r[group])}: {r[est]:.1f} ({r[lo]:.1f} to {r[hi]:.1f})"
                       for _, r in df.iterrows()) + ".")
    return _finish(fig, title, alt, source, df.round(2))
