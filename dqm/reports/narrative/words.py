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
import re
from functools import lru_cache

import pandas as pd

from ...markup import Markup, bullets, escape, html, paragraph  # noqa: F401  (escape: the one escaping path)

SYNTHETIC_BANNER = ("Synthetic data: this report is built from computer-generated demonstration assessments, "
                    "not from real councils' answers. Its figures say nothing about any real council.")


def period_text(period) -> str:
    """A period label as it is printed inside running text: its hyphen between digits made non-breaking (U+2011), so
    that "2022-23" or "2026-03" is never split across two lines of a narrow table cell.

    >>> period_text("2022-23") == "2022\u201123"
    True
    """
    return re.sub(r"(?<=\d)-(?=\d)", "\u2011", str(period))


def number(x, dp: int = 0) -> str:
    """12,345 or 2.4; 'not available' for missing values. A value that rounds to zero at ``dp`` places prints
    without a sign: never '-0.00'.

    >>> number(-0.001, 2), number(-0.004), number(-0.005, 2)
    ('0.00', '0', '-0.01')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "not available"
    text = f"{x:,.{dp}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


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


# ---------------------------------------------------------------- the reports' own wording file
def report_wording() -> dict:
    """data/report_wording.yaml: the handbook link, the change verdicts and the constant-column note."""
    from ...paths import data_dir

    return _report_wording(str(data_dir() / "report_wording.yaml"))


@lru_cache(maxsize=4)
def _report_wording(path: str) -> dict:
    from ...yamlio import load_yaml

    return load_yaml(path, what="report wording file") or {}


def plural(n, word: str, plural_word: str | None = None) -> str:
    """'1 council', '2 councils', '1,204 reports' (a count with its noun in the right number).

    >>> plural(1, "report"), plural(3, "authority", "authorities")
    ('1 report', '3 authorities')
    """
    return f"{number(n)} {word if n == 1 else (plural_word or word + 's')}"


# ---------------------------------------------------------------- levels in the model's words
def _meaning(model, level: int, dimension_id: str | None = None) -> str:
    """A level's meaning from the model file, as a phrase for brackets (no closing full stop): the dimension's
    own descriptor when a dimension is given and has one, else the level's general description."""
    text = ""
    if dimension_id is not None and len(model.descriptors):
        d = model.descriptors
        hit = d[(d["dimension_id"] == dimension_id) & (d["level"] == level)]["descriptor"]
        text = str(hit.iloc[0]) if len(hit) else ""
    if not text:
        text = str(model.levels.set_index("value")["description"].get(level, ""))
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def level_words(value, model, dimension_id: str | None = None, meanings: bool = True, dp: int = 1) -> str:
    """A level in the model's words: '3.4: between Impactful (…) and Mainstreamed (…)', '4.0: Mainstreamed (…)'.

    The number is shown at ``dp`` places; the names and meanings are the model file's (the dimension's own
    descriptors when ``dimension_id`` is given, else the levels' descriptions). ``meanings=False`` leaves the
    meanings out ('3.4: between Impactful and Mainstreamed'). Values outside the scale are held to its ends.

    >>> from dqm.model import load_model
    >>> level_words(3.4, load_model(), meanings=False)
    '3.4: between Impactful and Mainstreamed'
    >>> level_words(2.0, load_model()).startswith("2.0: Developing (good practice is starting to appear")
    True
    """
    if value is None or value != value:
        return "not answered"
    v = round(float(value), dp)
    values = sorted(model.level_values)
    v_in = min(max(v, values[0]), values[-1])
    lo = max(x for x in values if x <= v_in)
    hi = min(x for x in values if x >= v_in)
    name = lambda x: model.level_name(x) + (f" ({_meaning(model, x, dimension_id)})" if meanings else "")
    words = name(lo) if lo == hi else f"between {name(lo)} and {name(hi)}"
    return f"{number(v, dp)}: {words}"


def level_phrase(value, model) -> str:
    """Just the level's name(s) for prose: 'Impactful', 'between Impactful and Mainstreamed' (no number)."""
    return level_words(value, model, meanings=False).split(": ", 1)[1]


def level_number(value) -> str:
    """A dimension level at the precision it has: '4' or '3.5' (a median of whole answers is a whole or half
    level), '–' when missing; anything finer is shown to one decimal place.

    >>> level_number(4.0), level_number(3.5), level_number(2.6667)
    ('4', '3.5', '2.7')
    """
    if value is None or value != value:
        return "–"
    v = float(value)
    if v.is_integer():
        return number(v)
    return number(v, 1)


def level_range(low, high, step: float = 0.5) -> str:
    """A range of levels at the precision the data have: low rounded down and high rounded up to ``step``
    (half levels: the finest a median of whole answers can be), so '3.0 to 4.8' reads '3 to 5'.

    >>> level_range(3.0, 4.8), level_range(2.2, 3.4)
    ('3 to 5', '2 to 3.5')
    """
    if low is None or high is None or low != low or high != high:
        return "–"
    lo, hi = math.floor(float(low) / step + 1e-9) * step, math.ceil(float(high) / step - 1e-9) * step
    return level_number(lo) if lo == hi else f"{level_number(lo)} to {level_number(hi)}"


def handbook_link(model, report: str) -> Markup:
    """A paragraph linking the report to the model's handbook (relative link; where the handbook sits for each
    report is in data/report_wording.yaml)."""
    from ...documents.handbook import handbook_file_name

    w = report_wording()["handbook"]
    href = str(w["from"].get(report, "")) + handbook_file_name(model)
    return (html('<p class="dqm-handbook"><strong>{}</strong> {} <a href="{}">{}</a>.</p>',
                 w["lead"], " ".join(str(w["text"]).split()), href, w["link"]))


def without_constant_columns(table: "pd.DataFrame", keep=()) -> "tuple[pd.DataFrame, list[str]]":
    """The table without the columns that say the same thing on every row (other than those in ``keep``), and a
    sentence for each, to say once above the table ('Median of district councils: 3 on every row.').
    A table of one row is left whole."""
    if len(table) < 2:
        return table, []
    fmt = report_wording()["constant_column"]
    same = [c for c in table.columns if c not in keep and table[c].astype(str).nunique() == 1]
    notes = [fmt.format(column=c, value=table[c].iloc[0]) for c in same]
    return table.drop(columns=same), notes


# ---------------------------------------------------------------- intervals: one way of printing them
def signed(value, dp: int = 1) -> str:
    """A change with its sign: '+0.3', '-0.1', and '0.0' (not '-0.0') for what rounds to nothing.

    >>> signed(0.31), signed(-0.12), signed(-0.04)
    ('+0.3', '-0.1', '0.0')
    """
    text = f"{float(value):+,.{dp}f}"
    return text[1:] if float(text) == 0 else text


def _passes_for(value, line, dp: int) -> bool:
    """Whether ``value`` prints at ``dp`` places as the threshold ``line`` without being it."""
    return number(float(value), dp) == number(float(line), dp) and abs(float(value) - float(line)) > 1e-12


def figure_words(value, dp: int = 2, lines=(), most: int = 3) -> str:
    """A figure a verdict is judged on, at ``dp`` places or as many more (up to ``most``) as it takes not to print
    as a threshold in ``lines`` that it is not: against 0.25, 0.247 reads '0.247', not '0.25'.

    >>> figure_words(0.247, lines=(0.25,)), figure_words(0.34, lines=(0.25,)), figure_words(0.25, lines=(0.25,))
    ('0.247', '0.34', '0.25')
    """
    while dp < most and any(_passes_for(value, line, dp) for line in lines):
        dp += 1
    return number(value, dp)


def interval_places(low, high, dp: int = 1, lines=(), most: int = 3, sign: bool = False) -> int:
    """The decimal places an interval is printed at: ``dp``, or as many more (up to ``most``) as it takes for its two
    ends to differ and for no end to print as one of ``lines`` (a threshold a verdict is judged against) unless it
    is that threshold, so that the reader sees on which side of it each end lies.

    ``sign``: the ends are printed with their signs (:func:`signed`, where -0.04 and +0.02 both read 0.0).

    >>> interval_places(0.16, 0.24), interval_places(0.247, 0.44, 2, lines=(0.25,)), interval_places(2.6, 3.2)
    (2, 3, 1)
    >>> interval_places(-0.04, 0.02, sign=True)
    2
    """
    fmt = signed if sign else number

    def clear(d):
        if fmt(low, d) == fmt(high, d):
            return False
        return not any(_passes_for(end, line, d) for end in (low, high) for line in lines)

    while dp < most and not clear(dp):
        dp += 1
    return dp


def interval_words(low, high, dp: int = 1, sign: bool = False, joiner: str = "to", lines=()) -> str:
    """'2.6 to 3.2': an interval at ``dp`` places, or at as many more as :func:`interval_places` needs (its ends
    differ; no end passes for a threshold in ``lines``), so a report never states an interval of no width that the
    figures do not have. ``sign``: '+0.1 to +0.5'; ``joiner``: the word between the ends ('between 2.6 and 3.2').

    >>> interval_words(2.61, 3.24), interval_words(2.91, 2.94), interval_words(-0.12, 0.31, sign=True)
    ('2.6 to 3.2', '2.91 to 2.94', '-0.1 to +0.3')
    >>> interval_words(0.247, 0.44, 2, lines=(0.25,))
    '0.247 to 0.440'
    """
    dp = interval_places(low, high, dp, lines, sign=sign)
    fmt = signed if sign else number
    return f"{fmt(low, dp)} {joiner} {fmt(high, dp)}"


def estimate_interval(estimate, low, high, dp: int = 1, sign: bool = False, lines=()) -> str:
    """An estimate with its interval, all three at the places the interval needs (:func:`interval_places`):
    '+0.2 (0.0 to +0.3)', '+0.20 (+0.16 to +0.24)' (never '0.2 (0.2 to 0.2)'), '0.340 (0.247 to 0.440)'.

    >>> estimate_interval(0.2, 0.16, 0.24, sign=True), estimate_interval(0.34, 0.247, 0.44, 2, lines=(0.25,))
    ('+0.20 (+0.16 to +0.24)', '0.340 (0.247 to 0.440)')
    """
    dp = interval_places(low, high, dp, lines, sign=sign)
    fmt = signed if sign else number
    return f"{fmt(estimate, dp)} ({interval_words(low, high, dp, sign, lines=lines)})"
