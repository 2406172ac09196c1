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

import datetime
import html
import math

import pandas as pd

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


def interval(est, lo, hi, dp: int = 1) -> str:
    """'2.6 (95% confidence interval 2.5 to 2.7)'."""
    return f"{number(est, dp)} (95% confidence interval {number(lo, dp)} to {number(hi, dp)})"


def list_words(items) -> str:
    """'a, b and c'."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def escape(text) -> str:
    """Escape free text (evidence, council-supplied names) before it goes into HTML or Markdown."""
    return html.escape("" if text is None or text is pd.NA else str(text), quote=True)


def synthetic_banner(is_synthetic: bool) -> str:
    """HTML banner shown at the top of every page built from synthetic data (empty otherwise)."""
    return f'<div class="dqm-banner" role="note"><p>{escape(SYNTHETIC_BANNER)}</p></div>' if is_synthetic else ""


def annual_summary(wave: int, responded: int, principal: int, means: "pd.DataFrame", previous: "pd.DataFrame | None",
                   gaps: "pd.DataFrame") -> str:
    """Main findings of the State of Digital report as Markdown bullets, every number from the data.

    ``means``/``previous``: dimension_means() rows for this and the previous wave (dimension, mean, ci_low, ci_high).
    """
    overall = means[means["dimension_id"] == "overall_mean"].iloc[0]
    dims = means[means["dimension_id"] != "overall_mean"].sort_values("mean")
    lines = [
        f"- {number(responded)} of {number(principal)} principal councils ({percent(responded / principal)}) "
        f"completed a self-assessment in {wave}.",
        f"- The average overall level was {interval(overall['mean'], overall['ci_low'], overall['ci_high'])} "
        f"on the 5-level scale.",
        f"- Councils rated themselves highest on {dims.iloc[-1]['dimension']} (average {number(dims.iloc[-1]['mean'], 1)}) "
        f"and lowest on {dims.iloc[0]['dimension']} (average {number(dims.iloc[0]['mean'], 1)}).",
    ]
    if previous is not None and not previous.empty:
        prev = previous[previous["dimension_id"] == "overall_mean"].iloc[0]
        lines.append("- " + change_sentence(f"Since {wave - 1}, the average overall level", prev["mean"], overall["mean"])
                     + " The councils taking part differ between years, so part of any change may reflect who responded.")
    if not gaps.empty:
        widest = gaps.sort_values("gap").iloc[-1]
        lines.append(f"- The largest gap between current level and the level aimed for within two years is in "
                     f"{widest['dimension']} ({number(widest['gap'], 1)} levels on average).")
    return "\n".join(lines)


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


def change_list(both: "pd.DataFrame", wave: int) -> str:
    """One sentence per dimension on change between two waves, with a caution when intervals overlap."""
    lines = []
    for dim, g in both.groupby("dimension", sort=False):
        g = g.set_index("wave")
        if wave - 1 not in g.index or wave not in g.index:
            continue
        a, b = g.loc[wave - 1], g.loc[wave]
        s = change_sentence(f"{dim}:", a["mean"], b["mean"])
        overlap = not (b["ci_low"] > a["ci_high"] or b["ci_high"] < a["ci_low"])
        s = s[:-1] + (" (the intervals overlap, so this may be noise)." if overlap else " (the intervals do not overlap).")
        lines.append("- " + s)
    return "\n".join(lines)


def gap_table(gaps: "pd.DataFrame") -> "pd.DataFrame":
    return pd.DataFrame({
        "Dimension": gaps["dimension"],
        "Average current level": gaps["current"].map(lambda v: number(v, 1)),
        "Average target level": gaps["target"].map(lambda v: number(v, 1)),
        "Average gap (levels)": gaps["gap"].map(lambda v: number(v, 1)),
        "Answers": gaps["answers"].map(number),
    })


def model_note(model) -> str:
    prov = model.dimensions[model.dimensions["provisional"]]["name"].tolist()
    return (f"**The model.** {escape(model.id)} version {escape(model.version)}. The overall level is "
            f"{model.describe_overall_rule()}, given only when at least {model.min_coverage} of "
            f"{len(model.dimensions)} dimensions are answered. "
            + (f"The dimensions {list_words(prov)} are provisional placeholders for dimensions not yet published. "
               if prov else "") + escape(model.source))


def ingest_table(ingests: "pd.DataFrame") -> "pd.DataFrame":
    return pd.DataFrame({
        "File": ingests["file_name"], "Tool": ingests["shape"], "Assessment": ingests["assessment_type"],
        "Rows read": ingests["rows_read"].map(number), "Stored": ingests["stored"].map(number),
        "Superseded": ingests["superseded"].map(number), "Quarantined": ingests["rejected"].map(number),
        "Blank rows": ingests["blank_rows"].map(number),
        "Columns not used": ingests["ignored_columns"].fillna("").replace("", "none"),
    })


def accounting_sentence(ingests: "pd.DataFrame") -> str:
    r, s, sup, q = (int(ingests[c].sum()) for c in ("rows_read", "stored", "superseded", "rejected"))
    ok = "All rows are accounted for." if r == s + sup + q else "ROWS ARE MISSING: investigate before using the data."
    return (f"{number(r)} rows were read from {number(len(ingests))} files: {number(s)} stored, {number(sup)} superseded "
            f"by a later submission from the same respondent and {number(q)} quarantined. {ok}")


def reason_table(rejects: "pd.DataFrame") -> "pd.DataFrame":
    if rejects.empty:
        return pd.DataFrame({"Reason": ["none"], "Rows": ["0"]})
    g = rejects.groupby("reason").size().sort_values(ascending=False)
    return pd.DataFrame({"Reason": g.index, "Rows": g.map(number).to_numpy()})


def reject_table(rejects: "pd.DataFrame") -> "pd.DataFrame":
    return pd.DataFrame({"File": rejects["file_name"], "Row": rejects["source_row"].map(number),
                         "Reason": rejects["reason"], "Detail": rejects["detail"].str.slice(0, 300)})
