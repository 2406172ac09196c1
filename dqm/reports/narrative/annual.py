"""Words of the annual State of Digital report.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...markup import Markup, bullets, escape, html, paragraph  # noqa: F401  (escape: the one escaping path)
from .words import (
    change_sentence,
    handbook_link,
    interval,
    level_phrase,
    level_words,
    list_words,
    number,
    percent,
    without_constant_columns,
)


def annual_summary(wave: int, responded: int, principal: int, means: "pd.DataFrame", previous: "pd.DataFrame | None",
                   gaps: "pd.DataFrame", model=None, shares: "pd.DataFrame | None" = None) -> Markup:
    """Main findings of the State of Digital report as a bulleted list, every number from the data.

    ``means``/``previous``: dimension_means() rows for this and the previous wave (dimension, mean, ci_low, ci_high,
    councils). Every level is said to be *among the councils that responded*, with the response rate: response is
    voluntary and may depend on maturity, so the figures describe respondents, not the sector. With ``model``,
    levels are named in the model's words and the list ends with a link to the handbook; with ``shares``
    (:func:`dqm.scoring.level_shares`), it says how many council levels were at each named level. When fewer
    councils have an overall score than took part, it says how many and why, so that the tables add up.
    """
    overall = means[means["dimension_id"] == "overall_mean"].iloc[0]
    dims = means[means["dimension_id"] != "overall_mean"].sort_values("mean")
    rate = percent(responded / principal) if principal else "not available"
    named = (lambda v: f", {level_phrase(v, model)}") if model is not None else (lambda v: "")
    first = (f"{number(responded)} of {number(principal)} principal councils ({rate}) completed a self-assessment in "
             f"{wave}.")
    scored = overall.get("councils")
    if scored is not None and scored == scored and int(scored) < responded:
        first += (f" {number(int(scored))} of them answered enough dimensions for an overall score"
                  + (f" (at least {number(model.min_coverage)} of {number(len(model.dimension_ids))})" if model is not None else "")
                  + f"; the other {number(responded - int(scored))} appear in the counts of who took part but not in "
                    "the figures for the overall score, which are of those " + number(int(scored)) + ".")
    first += (" Every figure below describes the councils that responded, not all councils: councils that consider "
              "themselves less mature may be less likely to respond, which would make the sector look more mature "
              "than it is.")
    words = f": {level_words(overall['mean'], model).split(': ', 1)[1]}" if model is not None else ""
    lines = [
        first,
        f"Among the councils that responded ({rate} of principal councils), the average overall level was "
        f"{interval(overall['mean'], overall['ci_low'], overall['ci_high'])} on the "
        f"{number(len(model.level_values)) if model is not None else '5'}-level scale{words}.",
        f"The councils that responded rated themselves highest on {dims.iloc[-1]['dimension']} (average "
        f"{number(dims.iloc[-1]['mean'], 1)}{named(dims.iloc[-1]['mean'])}) and lowest on {dims.iloc[0]['dimension']} "
        f"(average {number(dims.iloc[0]['mean'], 1)}{named(dims.iloc[0]['mean'])}).",
    ]
    if model is not None and shares is not None and not shares.empty:
        lines.append(level_shares_sentence(shares, model))
    if previous is not None and not previous.empty:
        prev = previous[previous["dimension_id"] == "overall_mean"].iloc[0]
        lines.append(change_sentence(f"Since {wave - 1}, the average overall level among the councils that responded",
                                     prev["mean"], overall["mean"])
                     + " The councils taking part differ between years, so part of any change may reflect who responded.")
    if not gaps.empty:
        widest = gaps.sort_values("gap").iloc[-1]
        lines.append(f"Among the councils that responded, the largest gap between current level and the level aimed "
                     f"for within two years is in {widest['dimension']} ({number(widest['gap'], 1)} levels on average).")
    return bullets(lines) + (handbook_link(model, "annual") if model is not None else Markup(""))


def level_shares_sentence(shares: "pd.DataFrame", model) -> str:
    """How the councils' levels spread over the named levels, all dimensions together: 'Of the 2,150 levels
    councils gave themselves (10 dimensions), 4% were Passive, …'. ``shares``: :func:`dqm.scoring.level_shares`."""
    by_level = shares.groupby("level")["n"].sum().reindex(model.level_values, fill_value=0)
    total = int(by_level.sum())
    if not total:
        return "No council gave itself a level on any dimension."
    parts = [f"{percent(n / total)} {model.level_name(lv)} ({number(lv)})" for lv, n in by_level.items()]
    parts[0] = parts[0].replace(" ", " were ", 1)
    return (f"Of the {number(total)} dimension levels the councils that responded gave themselves (each rounded to a "
            f"whole level), {list_words(parts)}.")


def change_list(both: "pd.DataFrame", wave: int) -> Markup:
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
        lines.append(s)
    return bullets(lines)


def gap_table(gaps: "pd.DataFrame") -> "pd.DataFrame":
    return pd.DataFrame({
        "Dimension": gaps["dimension"],
        "Average current level": gaps["current"].map(lambda v: number(v, 1)),
        "Average target level": gaps["target"].map(lambda v: number(v, 1)),
        "Average gap (levels)": gaps["gap"].map(lambda v: number(v, 1)),
        "Answers": gaps["answers"].map(number),
    })


# ---------------------------------------------------------------- annual report helpers
def nonresponse_note(profile: "pd.DataFrame") -> str:
    p = profile.set_index("group")
    if not {"Took part", "Did not take part"} <= set(p.index):
        return "Every principal council took part, so non-response cannot bias these figures."
    a, b = p.loc["Took part"], p.loc["Did not take part"]
    return (
        f"Councils that took part had a median population of {number(a['median_population'])} against "
        f"{number(b['median_population'])} for those that did not, an average deprivation score of "
        f"{number(a['mean_deprivation'], 1)} against {number(b['mean_deprivation'], 1)}, and "
        f"{percent(a['share_districts'])} of them were district councils against {percent(b['share_districts'])}. "
        "Where the groups differ, the results lean towards the kind of council that took part. Councils that "
        "consider themselves less mature may also be less likely to respond, which would make the sector look "
        "more mature than it is; this cannot be checked from the data.")


def group_table(trend: "pd.DataFrame", by: str, label: str) -> "pd.DataFrame":
    fmt = lambda v, dp=1: "[c]" if v is None or (isinstance(v, float) and math.isnan(v)) else number(v, dp)
    return pd.DataFrame({
        label[:1].upper() + label[1:]: trend[by].astype(str),
        "Councils": [fmt(v, 0) for v in trend["councils"]],
        "Average overall score": [fmt(v) for v in trend["mean"]],
        "95% confidence interval": ["[c]" if lo is None or hi is None else f"{number(lo, 1)} to {number(hi, 1)}"
                                    for lo, hi in zip(trend["ci_low"], trend["ci_high"])],
    })


def dimension_family(panel: "pd.DataFrame", alpha: float = 0.05) -> "pd.DataFrame":
    """The same multiplicity standard as the evidence review, for change on every dimension at once.

    ``panel``: :func:`dqm.scoring.panel_change` rows (change with its paired 95% t-interval over ``councils``).
    The dimensions (not the overall score) are one family of m tests: each gets its p-value (from the t
    statistic the interval was built on), Holm's adjusted p-value (``p_holm``; a change is *clear* when it is
    below alpha), and the Bonferroni simultaneous interval at 1 - alpha/m (``simul_low``/``simul_high``), which
    covers all m changes at once at least 95% of the time. The overall score keeps its own 95% interval.
    """
    from scipy import stats

    out = panel.copy()
    n = out["councils"].astype(float)
    dof = (n - 1).where(n > 1)
    half = (out["ci_high"] - out["ci_low"]) / 2
    se = half / stats.t.ppf(0.975, dof)
    out["p_value"] = 2 * stats.t.sf(np.abs(out["change"] / se), dof)
    dims = (out["dimension_id"] != "overall_mean") & out["p_value"].notna()
    m = int(dims.sum())
    out["family_size"] = np.where(dims, m, 1)
    out["p_holm"] = out["p_value"]
    out["simul_low"], out["simul_high"] = out["ci_low"], out["ci_high"]
    if m:
        p = out.loc[dims, "p_value"].to_numpy()
        order = np.argsort(p, kind="stable")
        adj = np.empty(m)
        adj[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
        out.loc[dims, "p_holm"] = adj
        q = stats.t.ppf(1 - alpha / (2 * m), dof[dims])
        out.loc[dims, "simul_low"] = out.loc[dims, "change"] - q * se[dims]
        out.loc[dims, "simul_high"] = out.loc[dims, "change"] + q * se[dims]
    return out


def panel_sentences(panel: "pd.DataFrame", alpha: float = 0.05) -> str:
    """Change among the same councils; a dimension's change is called clear only after Holm adjustment over the
    dimensions (the evidence review's standard), with the simultaneous intervals that go with it."""
    fam = dimension_family(panel, alpha)
    r = fam[fam["dimension_id"] == "overall_mean"].iloc[0]
    lines = [f"Among the {number(r['councils'])} councils that took part in both {r['wave_from']} and {r['wave_to']}, "
             f"the average overall score changed by {number(r['change'], 2)} levels "
             f"(95% confidence interval {number(r['ci_low'], 2)} to {number(r['ci_high'], 2)})."]
    dims = fam[fam["dimension_id"] != "overall_mean"]
    m = len(dims)
    clear = dims["p_holm"] < alpha
    up = dims[clear & (dims["change"] > 0)]["dimension"].tolist()
    down = dims[clear & (dims["change"] < 0)]["dimension"].tolist()
    standard = (f"after Holm adjustment over the {number(m)} dimensions, the standard the evidence review uses; "
                f"simultaneous {percent(1 - alpha)} intervals over all {number(m)} dimensions are shown in the chart; they "
                f"are wider than Holm's method needs, so a change it calls clear can still have an interval there that "
                f"reaches zero")
    if up:
        lines.append(f"The increase is clear for {list_words(up)} ({standard}).")
    if down:
        lines.append(f"Levels fell clearly for {list_words(down)}" + ("." if up else f" ({standard})."))
    unclear = dims[~clear]["dimension"].tolist()
    if unclear:
        lines.append(f"For {list_words(unclear)} the change could be noise once {number(m)} dimensions are compared at once"
                     + ("." if up or down else f" ({standard})."))
    lines.append("These are self-assessments by the councils that responded in both years: a rise may reflect real "
                 "improvement or respondents rating more generously.")
    return " ".join(lines)


REALISM_COLUMN = "Targets beyond what 9 in 10 councils achieved"


def target_table(gaps: "pd.DataFrame", realism: "pd.DataFrame") -> "pd.DataFrame":
    """Current and target levels by dimension, and the share of targets beyond what 9 in 10 councils achieved.
    The realism column is left out when no earlier wave allows it (it would read 'not available' on every row),
    and any column with one value on every row is said once instead (``attrs['notes']``, :func:`target_note`)."""
    m = gaps.merge(realism[["dimension_id", "share_targets_beyond_p90"]], on="dimension_id", how="left")
    t = gap_table(m)
    if m["share_targets_beyond_p90"].notna().any():
        t[REALISM_COLUMN] = m["share_targets_beyond_p90"].map(percent)
    t, notes = without_constant_columns(t, keep=("Dimension",))
    t.attrs["notes"] = notes
    t.attrs["realism"] = bool(m["share_targets_beyond_p90"].notna().any())
    return t


def target_note(table: "pd.DataFrame", wave: int) -> Markup:
    """Said once above the targets table: why it has no realism column in a first wave, and any column it left
    out because it was the same on every row (``table``: :func:`target_table`)."""
    notes = list(table.attrs.get("notes") or [])
    if not table.attrs.get("realism", True):
        notes.insert(0, f"Whether targets are realistic cannot be judged yet: it needs the change councils actually "
                        f"achieved between earlier waves, and there is none before {wave}.")
    return paragraph(" ".join(notes)) if notes else Markup("")


# ---------------------------------------------------------------- measurement quality (annual report, methods)
def coherence_sentence(summary: dict, per_dimension: "pd.DataFrame") -> Markup:
    flagged = per_dimension.loc[per_dimension["flag"], "dimension"].tolist()
    s = (f"Across the {number(summary['councils'])} councils that answered every dimension, "
         f"Cronbach's alpha is {number(summary['alpha'], 2)} and McDonald's omega {number(summary['omega'], 2)}; the first "
         f"principal component carries {percent(summary['first_component_share'])} of the variance. ")
    s += (f"{list_words(flagged)} {'fits' if len(flagged) == 1 else 'fit'} less well with the rest (low correlation with "
          "the other dimensions, or alpha rises without it) and should be read on its own."
          if flagged else "Every dimension correlates with the rest, so an overall score is a reasonable summary.")
    return paragraph(s, lead="Do the dimensions hang together?")


def agreement_sentence(agreement: "pd.DataFrame") -> Markup:
    a = agreement[agreement["dimension_id"] != "overall_mean"].dropna(subset=["icc1"])
    o = agreement[agreement["dimension_id"] == "overall_mean"]
    if a.empty:
        return paragraph("No council had more than one respondent, so agreement between respondents cannot be measured.")
    s = (f"Among {number(a['groups'].max())} councils with two or more "
         f"respondents, ICC(1) on single dimensions ranges from {number(a['icc1'].min(), 2)} to {number(a['icc1'].max(), 2)}: "
         "one respondent's rating reflects their council only partly, which is why council levels combine all respondents")
    if not o.empty and o["icc1k"].iloc[0] == o["icc1k"].iloc[0]:
        r = o.iloc[0]
        # a council's score is only as reliable as its number of respondents: one respondent gives ICC(1)
        s += (f". The reliability of a council's overall score rests on how many answered: with one respondent "
              f"it is ICC(1) = {number(r['icc1'], 2)} (95% confidence interval {number(r['icc1_low'], 2)} "
              f"to {number(r['icc1_high'], 2)}); averaged over {number(r['k0'], 1)} respondents, the typical number among "
              f"councils with more than one, it is ICC(1,k) = {number(r['icc1k'], 2)} "
              f"({number(r['icc1k_low'], 2)} to {number(r['icc1k_high'], 2)})")
    return paragraph(s + ".", lead="Do respondents from the same council agree?")


def assessment_gap_sentence(gap: "pd.DataFrame", wave: int) -> Markup:
    if gap.empty or "wave" not in gap:  # no council had an independent assessment at all
        gap = pd.DataFrame(columns=["wave", "dimension_id", "councils"])
    g = gap[(gap["wave"] == wave) & (gap["dimension_id"] == "overall_mean")]
    if g.empty or not g["councils"].iloc[0] or g["councils"].iloc[0] < 5:
        return paragraph(f"Fewer than 5 councils had both a self-assessment and an independent assessment in {wave}, so "
                         "the two cannot be compared here.")
    r = g.iloc[0]
    return paragraph(f"In the {number(r['councils'])} councils assessed both "
            f"ways in {wave}, self-assessed overall scores were on average {number(abs(r['gap']), 2)} levels "
            f"{'higher' if r['gap'] > 0 else 'lower'} than independent ones (95% confidence interval "
            f"{number(r['ci_low'], 2)} to {number(r['ci_high'], 2)}); {percent(r['share_self_higher'])} of those councils "
            "rated themselves higher. Read self-assessed levels with this in mind.",
            lead="Self-assessment against independent assessment.")
