"""Numbers into words, in GOV.UK style, so notebooks hold no hand-formatted prose with numbers in it.

>>> import datetime
>>> number(12345)
'12,345'
>>> percent(0.6234)
'62%'
>>> change_sentence("The mean level", 2.41, 2.68)
'The mean level increased from 2.4 to 2.7.'
>>> long_date(datetime.date(2026, 11, 22))
'22 November 2026'
"""
from __future__ import annotations

import math

import pandas as pd

from ...markup import Markup, bullets, escape, html, paragraph  # noqa: F401  (escape: the one escaping path)

SYNTHETIC_BANNER = ("Synthetic data: this report is built from computer-generated demonstration assessments, "
                    "not from real councils' answers. Its figures say nothing about any real council.")


def number(x, dp: int = 0) -> str:
    """12,345 or 2.4; 'not available' for missing values."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "not available"
    return f"{x:,.{dp}f}"


def percent(share, dp: int = 0) -> str:
    """A share (0 to 1) as a percentage: '62%'."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "not available"
    return f"{100 * share:.{dp}f}%"


def long_date(d) -> str:
    """GOV.UK date style: 22 November 2026 (no leading zero, no ordinal)."""
    d = pd.Timestamp(d)
    return f"{d.day} {d:%B %Y}"


def change_sentence(subject: str, before, after, dp: int = 1, unit: str = "") -> str:
    """'X increased from 2.4 to 2.7.', 'X decreased ...', or 'X stayed at 2.4.' (compared at the shown precision)."""
    b, a = round(float(before), dp), round(float(after), dp)
    if a > b:
        verb = "increased"
    elif a < b:
        verb = "decreased"
    else:
        return f"{subject} stayed at {number(a, dp)}{unit}."
    return f"{subject} {verb} from {number(b, dp)}{unit} to {number(a, dp)}{unit}."


def p_text(p, resamples: int | None = None) -> str:
    """'p = 0.032', or 'p < 0.001' for very small values; a resampling p-value is never shown finer than 1/resamples.

    >>> p_text(0.0, resamples=500)
    'p < 0.002 (none of 500 resamples reached the observed value)'
    >>> p_text(0.0312, resamples=500)
    'p = 0.031'
    """
    if p is None or p != p:
        return "p not available"
    if resamples:
        floor = 1 / resamples
        if p < floor:
            return f"p < {floor:.3g} (none of {resamples:,} resamples reached the observed value)"
        return f"p = {p:.3f}"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


TYPE_PLURALS = {"County council": "county councils", "District council": "district councils",
                "English unitary": "English unitary councils", "London borough": "London boroughs",
                "Metropolitan borough": "metropolitan boroughs", "Scottish council": "Scottish councils",
                "Welsh council": "Welsh councils", "Northern Ireland council": "Northern Ireland councils",
                "Combined authority": "combined authorities"}


def interval(est, lo, hi, dp: int = 1) -> str:
    """'2.6 (95% confidence interval 2.5 to 2.7)'."""
    return f"{number(est, dp)} (95% confidence interval {number(lo, dp)} to {number(hi, dp)})"


def list_words(items) -> str:
    """'a, b and c'."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def synthetic_banner(is_synthetic: bool) -> Markup:
    """HTML banner shown at the top of every page built from synthetic data (empty otherwise)."""
    return html('<div class="dqm-banner" role="note"><p>{}</p></div>', SYNTHETIC_BANNER) if is_synthetic else Markup("")


def title_block(title: str, synthetic: bool) -> Markup:
    """The report's one h1 (title escaped), followed by the synthetic-data banner when it applies."""
    return html("<h1>{}</h1>", title) + synthetic_banner(synthetic)


# ---------------------------------------------------------------- report tables (formatted for reading)
def response_table(rates: "pd.DataFrame", label: str) -> "pd.DataFrame":
    """Response rates with GOV.UK number formats; suppressed cells read '[c]' (the GSS symbol)."""
    fmt = lambda v, f: "[c]" if v is None or (isinstance(v, float) and math.isnan(v)) else f(v)
    return pd.DataFrame({
        label[:1].upper() + label[1:]: rates["group"].astype(str),
        "All principal councils": rates["councils"].map(lambda v: number(v)),
        "Took part": [fmt(v, number) for v in rates["responded"]],
        "Response rate": [fmt(v, percent) for v in rates["rate"]],
    })


def suppression_note(rates: "pd.DataFrame", label: str) -> str:
    k = int(rates["suppressed"].sum())
    if not k:
        return f"No {label} group was suppressed."
    return (f"Figures for {k} {label} group{'s' if k != 1 else ''} with fewer than 5 responding councils "
            f"are suppressed and shown as [c].")


def model_note(model) -> Markup:
    prov = model.dimensions[model.dimensions["provisional"]]["name"].tolist()
    return paragraph(f"{model.id} version {model.version}. The overall level is "
                     f"{model.describe_overall_rule()}, given only when at least {model.min_coverage} of "
                     f"{len(model.dimensions)} dimensions are answered. "
                     + (f"The dimensions {list_words(prov)} are provisional placeholders for dimensions not yet "
                        "published. " if prov else "") + str(model.source), lead="The model.")
