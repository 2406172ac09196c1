"""Words of the annual State of Digital report.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...markup import Markup, bullets, escape, html, paragraph  # noqa: F401  (escape: the one escaping path)
from ...scoring.sector import SUPPRESS_BELOW
from .words import (
    estimate_interval,
    handbook_link,
    interval_words,
    level_phrase,
    level_words,
    list_words,
    number,
    percent,
    without_constant_columns,
)

SUPPRESSED = "[c]"  # a figure of fewer than SUPPRESS_BELOW councils, or one that would reveal it (the GSS symbol)


def count_words(n, threshold: int = SUPPRESS_BELOW) -> str:
    """A count of councils in prose under the sector's disclosure rule: '24', or 'fewer than 5' for 0 to 4.

    >>> count_words(24), count_words(3)
    ('24', 'fewer than 5')
    """
    return number(n) if n >= threshold else f"fewer than {number(threshold)}"


def count_range_words(counts, unit: str = "councils per dimension", threshold: int = SUPPRESS_BELOW) -> str:
    """The range of counts of councils over dimensions, with its ``unit``, under the disclosure rule: 'between 5 and
    14 councils per dimension', 'at most 14 councils per dimension (fewer than 5 on some)' or 'fewer than 5 councils
    per dimension'.

    >>> count_range_words([5, 14]), count_range_words([2, 14]), count_range_words([0, 3])
    ('between 5 and 14 councils per dimension', 'at most 14 councils per dimension (fewer than 5 on some)', 'fewer than 5 councils per dimension')
    """
    lo, hi = int(min(counts)), int(max(counts))
    if hi < threshold:
        return f"fewer than {number(threshold)} {unit}"
    if lo < threshold:
        return f"at most {number(hi)} {unit} (fewer than {number(threshold)} on some)"
    return (f"between {number(lo)} and {number(hi)}" if lo != hi else number(lo)) + f" {unit}"


def level_figure(mean, low, high) -> str:
    """A sector average level with its 95% interval, at two decimal places (the interval lies within a level, so one
    place would print an interval lopsided about its estimate: 2.8 (2.7 to 2.8) for 2.79 (2.73 to 2.85)).

    >>> level_figure(2.791, 2.734, 2.852)
    '2.79 (95% interval 2.73 to 2.85)'
    """
    return estimate_interval(mean, low, high, 2).replace(" (", " (95% interval ", 1)


def population_sentence(responded: int, assessed, wave: int) -> str:
    """Whom the sector figures describe, in one sentence (:func:`dqm.scoring.sector_levels.population`): the councils
    that completed a self-assessment, placed by the model from every answer; or, in a wave with no
    self-assessment, every council assessed."""
    if responded or assessed is None or assessed != assessed:
        return (f"Every figure in this report is of these {number(responded)} councils: the measurement model places "
                "them using every answer in the store, their peer and independent assessments included, and a council "
                "assessed only by others is not counted.")
    return (f"No council completed a self-assessment in {wave}, so the levels below are of the "
            f"{number(int(assessed))} councils assessed by peers or independently.")


def sector_means(levels: "pd.DataFrame", model) -> "pd.DataFrame":
    """The model's sector levels (:func:`dqm.scoring.positions.sector_levels`) in the shape of
    :func:`dqm.scoring.dimension_means`: dimension_id (``overall_mean`` for the overall level), dimension (its name),
    mean, ci_low, ci_high, councils; the dimensions in the model's order, the overall level last."""
    out = levels.rename(columns={"dimension": "dimension_id"}).copy()
    out["dimension_id"] = out["dimension_id"].replace({"overall": "overall_mean"})
    out.insert(1, "dimension", [("Overall" if d == "overall_mean" else model.dimension_name(d)) for d in out["dimension_id"]])
    out.attrs = dict(levels.attrs)
    return out[["dimension_id", "dimension", "mean", "ci_low", "ci_high", "councils"]]


def tied(values: "pd.Series", labels: "pd.Series", largest: bool = True, dp: int = 1) -> list:
    """The labels whose value is the largest (or smallest) at the precision it is printed (``dp`` places), in their
    order: two dimensions that both print as 2.9 are both highest.

    >>> tied(pd.Series([2.94, 2.91, 2.5]), pd.Series(["A", "B", "C"]))
    ['A', 'B']
    """
    shown = np.array([float(f"{v:.{dp}f}") if v == v else np.nan for v in pd.Series(values, dtype=float)])  # as printed
    best = np.nanmax(shown) if largest else np.nanmin(shown)
    return [str(lab) for lab, v in zip(labels, shown) if v == best]


def scale_sentence(scale: str = "independent", note: str = "", said=None) -> str:
    """Which scale the model's levels are on, and why they differ from what councils say of themselves.

    ``scale``: ``independent`` (the model takes off the self-assessment inflation it estimates from the councils
    assessed both ways) or ``self`` (no independent or peer assessment: not corrected; the assumptions, said
    elsewhere, widen the intervals); ``note``: the fit's own note on the self-assessment bias, in words (said with
    the independent scale); ``said``: the plain average of the councils' own overall answers, to set beside it.
    """
    if scale == "self":
        return ("These levels are the measurement model's. No council had an independent or peer assessment, so they "
                "are on the self-assessment scale: not corrected for any inflation in how councils rate themselves.")
    s = ("These levels are the measurement model's, on the scale of independent assessment: the model takes off "
         "the inflation of self-assessments, so they are lower than the plain average of what councils said about "
         "themselves" + (f" ({number(said, 1)} overall)" if said is not None and said == said else "") + ".")
    return s + (f" {note}" if note else "")


def annual_summary(wave: int, responded: int, principal: int, means: "pd.DataFrame", change: "pd.DataFrame | None",
                   gaps: "pd.DataFrame", model=None, bands: "pd.DataFrame | None" = None, said=None) -> Markup:
    """Main findings of the State of Digital report as a bulleted list, every number from the data.

    ``means``: the model's sector levels (:func:`sector_means`: dimension, mean, ci_low, ci_high, councils);
    ``change``: :func:`dqm.scoring.positions.sector_change` (None or empty in a first wave); ``gaps``:
    :func:`dqm.scoring.target_gaps` (what councils said); ``bands``: :func:`dqm.scoring.positions.level_bands`;
    the scale is ``means.attrs["scale"]``/``["scale_note"]`` (:func:`scale_sentence`, independent when not given),
    ``said`` the plain average of the councils' own overall answers. The levels are said to be on the scale of independent assessment,
    and of the councils assessed, with the response rate: response is voluntary and may depend on maturity, so the
    figures describe respondents, not the sector. The highest and lowest dimensions and the largest target gap are
    compared at the precision printed, and all tied are named. With ``model``, levels are named in the model's
    words and the list ends with a link to the handbook.
    """
    overall = means[means["dimension_id"] == "overall_mean"].iloc[0]
    dims = means[means["dimension_id"] != "overall_mean"]
    rate = percent(responded / principal) if principal else "not available"
    named = (lambda v: f", {level_phrase(v, model)}") if model is not None else (lambda v: "")
    first = (f"{number(responded)} of {number(principal)} principal councils ({rate}) completed a self-assessment in "
             f"{wave}.")
    first += " " + population_sentence(responded, overall.get("councils"), wave)
    first += (" They are the councils that responded, not all councils: councils that consider themselves less mature "
              "may be less likely to respond, which would make the sector look more mature than it is.")
    words = f": {level_words(overall['mean'], model).split(': ', 1)[1]}" if model is not None else ""
    high = tied(dims["mean"], dims["dimension"])
    low = tied(dims["mean"], dims["dimension"], largest=False)
    hv, lv = dims["mean"].max(), dims["mean"].min()
    lines = [
        first,
        f"Among the councils that responded ({rate} of principal councils), the average model level (overall) was "
        f"{level_figure(overall['mean'], overall['ci_low'], overall['ci_high'])}"
        f" on the {number(len(model.level_values)) if model is not None else '5'}-level scale{words}. "
        + scale_sentence(means.attrs.get("scale", "independent"), means.attrs.get("scale_note", ""), said),
        f"Councils' levels were highest on {list_words(high)} (average {number(hv, 1)}{named(hv)}) and lowest on "
        f"{list_words(low)} (average {number(lv, 1)}{named(lv)})."
        + (" Dimensions tied at the precision shown are all named." if len(high) > 1 or len(low) > 1 else ""),
    ]
    if model is not None and bands is not None and not bands.empty:
        lines.append(level_shares_sentence(bands, model))
    if change is not None and not change.empty:
        lines.append(overall_change_sentence(change))
    if not gaps.empty and gaps["gap"].notna().any():
        g = gaps.dropna(subset=["gap"])
        widest = tied(g["gap"], g["dimension"])
        lines.append(f"Respondents said where their council aims to be within two years. The largest gap between a "
                     f"council's current level and its target, as its respondents gave them, is in {list_words(widest)} "
                     f"({number(g['gap'].max(), 1)} levels on average over councils).")
    return bullets(lines) + (handbook_link(model, "annual") if model is not None else Markup(""))


def level_shares_sentence(bands: "pd.DataFrame", model, threshold: int = SUPPRESS_BELOW) -> str:
    """How the councils' overall levels spread over the named levels, from the model
    (:func:`dqm.scoring.positions.level_bands`): 'Of the 223 councils, 29% (95% interval 24% to 34%) were at
    Developing (2), …', a council counted at the whole level nearest its overall level, in every draw of the model.
    Levels the disclosure rule blanks (``suppressed``) are said as such: 'fewer than 5 councils were Passive (1)',
    and a level blanked only so that another cannot be worked out is said to be not shown."""
    b = bands[bands["dimension"] == "overall"].set_index("level").reindex(model.level_values)
    if b["councils"].isna().all():
        return "No council has a model level in this wave."
    hidden = b["suppressed"].fillna(False).astype(bool) if "suppressed" in b else pd.Series(False, index=b.index)
    named = lambda lv: f"{model.level_name(lv)} ({number(lv)})"  # noqa: E731
    parts = [f"{percent(r.share)} (95% interval {percent(r.share_low)} to {percent(r.share_high)}) {named(lv)}"
             for lv, r in b[~hidden].iterrows()]
    if parts:
        parts[0] = parts[0].replace(") ", ") were ", 1)
    s = (f"Counting each council at the whole level nearest its model level (partly on each side when the "
         f"model is unsure which), of the {number(int(b['councils'].max()))} councils {list_words(parts)}.")
    small = [lv for lv in b.index[hidden] if bool(b.loc[lv, "small"])]
    other = [lv for lv in b.index[hidden] if lv not in small]
    if small:
        s += (f" Fewer than {number(threshold)} councils were at each of {list_words(named(lv) for lv in small)}"
              if len(small) > 1 else f" Fewer than {number(threshold)} councils were {named(small[0])}")
        s += (f"; the share at {list_words(named(lv) for lv in other)} is not shown either, so that "
              f"{'they' if len(small) > 1 else 'it'} cannot be worked out from the rest." if other else ".")
    return s


def band_suppression_note(bands: "pd.DataFrame", threshold: int = SUPPRESS_BELOW) -> Markup:
    """Said under the chart of the share of councils at each level when the disclosure rule blanked any share
    (``bands``: :func:`dqm.scoring.positions.level_bands`): what [c] means and why some bars stop short."""
    if "suppressed" not in bands or not bands["suppressed"].any():
        return Markup("")
    second = bool((bands["suppressed"] & ~bands["small"]).any())
    return paragraph(f"Levels held by fewer than {number(threshold)} councils are not shown: their share is left out "
                     f"of the bar and reads {SUPPRESSED} (its count) or – (its share) in the data table"
                     + (", as is a second level of the same dimension where one blank could otherwise be worked out "
                        "from the rest" if second else "") + ". So some bars stop short of 100%.")


def overall_change_sentence(change: "pd.DataFrame") -> str:
    """The overall level's change among the councils in both waves, and how many councils the model's test flags
    against how many its level alone would (``change``: :func:`dqm.scoring.positions.sector_change`)."""
    r = change[change["dimension"] == "overall"].iloc[0]
    return (f"Among the {number(r['councils'])} councils that self-assessed in both {r['wave_from']} and {r['wave']}, "
            f"the average model level (overall) changed by {number(r['change'], 2)} levels (95% interval "
            f"{change_interval(r['ci_low'], r['ci_high'])}). The model's test of change flagged the "
            f"model level of {count_words(r['flagged'])} of {number(r['tested'])} councils; if no council had "
            f"changed, its level alone would flag about {number(r['expected_flags'])}.")


def gap_table(gaps: "pd.DataFrame", threshold: int = SUPPRESS_BELOW) -> "pd.DataFrame":
    """What councils said of their current level and target (:func:`dqm.scoring.target_gaps`: a council's level and
    target are the medians of its respondents'), averaged over councils, with how many councils; a dimension
    answered by fewer than ``threshold`` councils has its figures and count shown as [c]."""
    small = (gaps["councils"] < threshold).to_numpy()
    shown = lambda col, fmt: [SUPPRESSED if s else fmt(v) for s, v in zip(small, gaps[col])]  # noqa: E731
    return pd.DataFrame({
        "Dimension": gaps["dimension"],
        "Average current level (as respondents said)": shown("current", lambda v: number(v, 1)),
        "Average target level": shown("target", lambda v: number(v, 1)),
        "Average gap (levels)": shown("gap", lambda v: number(v, 1)),
        "Councils": shown("councils", number),
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
    """Average overall level by group (``trend``: suppressed rows of :func:`dqm.scoring.positions.group_levels`, the
    group in column ``by``), suppressed figures shown as [c]; levels at two places, as the interval lies within a
    level (:func:`level_figure`)."""
    gone = lambda v: v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    fmt = lambda v, dp=2: SUPPRESSED if gone(v) else number(v, dp)  # noqa: E731
    return pd.DataFrame({
        label[:1].upper() + label[1:]: trend[by].astype(str),
        "Councils": [fmt(v, 0) for v in trend["councils"]],
        "Average model level": [fmt(v) for v in trend["mean"]],
        "95% interval": [SUPPRESSED if gone(lo) or gone(hi) else interval_words(lo, hi, 2)
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


def change_family(change: "pd.DataFrame", alpha: float = 0.05) -> "pd.DataFrame":
    """The model's sector change (:func:`dqm.scoring.positions.sector_change`) with the multiplicity standard the
    evidence review uses: the dimensions (not the overall level) are one family of m, each with a simultaneous
    interval at 1 - alpha/m (Bonferroni, from the draws' mean and spread), so that all m cover together at least
    95% of the time; a dimension's change is *clear* when its simultaneous interval leaves out zero. The overall
    level keeps its own 95% interval."""
    from scipy import stats

    out = change.copy()
    dims = out["dimension"] != "overall"
    m = int(dims.sum())
    out["family_size"] = np.where(dims, m, 1)
    out["simul_low"], out["simul_high"] = out["ci_low"], out["ci_high"]
    if m:
        z = stats.norm.ppf(1 - alpha / (2 * m))
        out.loc[dims, "simul_low"] = out.loc[dims, "change"] - z * out.loc[dims, "sd"]
        out.loc[dims, "simul_high"] = out.loc[dims, "change"] + z * out.loc[dims, "sd"]
    out["clear"] = (out["simul_low"] > 0) | (out["simul_high"] < 0)
    return out


def change_sentences(family: "pd.DataFrame", alpha: float = 0.05) -> str:
    """The sector's change in words, from :func:`change_family` with a ``name`` column: the overall level; which
    dimensions rose or fell by more than chance would explain when all of them are compared at once (simultaneous
    intervals that leave out zero), with how much; those whose interval only just leaves out zero, or only just
    reaches it, with that end at the places it needs to show its side of zero; and how many councils the model's
    test flags on each against how many its level alone would flag. The words say what the test says, not how large
    a change is: the sizes are said beside them."""
    r = family[family["dimension"] == "overall"].iloc[0]
    dims = family[family["dimension"] != "overall"]
    m = len(dims)
    lines = [overall_change_sentence(family)]
    beyond = f"by more than chance would explain with {number(m)} dimensions compared at once"
    standard = (f"each one's simultaneous {percent(1 - alpha)} interval over the {number(m)} dimensions, shown in "
                "the chart, leaves out zero")
    for rows, verb in ((dims[dims["clear"] & (dims["change"] > 0)], "rose"),
                       (dims[dims["clear"] & (dims["change"] < 0)], "fell")):
        if len(rows):
            lines.append(f"The average level {verb} {beyond} on {list_words(rows['name'])}, by "
                         f"{_sizes(rows['change'].abs())} of a level ({standard}).")
    unclear = dims[~dims["clear"]]
    if len(unclear):
        lines.append(f"On {list_words(unclear['name'])} the change ({_sizes(unclear['change'], signed=True)} of a "
                     f"level) could be chance once {number(m)} dimensions are compared at once.")
    near = _near_zero(dims)
    if near:
        lines.append(near)
    lines.append(f"Council by council, the model's test flagged {count_range_words(dims['flagged'])}; if nothing "
                 f"had changed, the test's level alone would flag about "
                 f"{number(r['expected_flags'])} per dimension.")
    lines.append("The change is on the scale of independent assessment, so a rise in how generously councils rate "
                 "themselves is taken off as far as the councils assessed both ways show it.")
    return " ".join(lines)


def off_zero_places(values, dp: int = 2, most: int = 3) -> int:
    """The decimal places at which none of ``values`` that is not zero prints as zero (from ``dp``, at most
    ``most``): a change's interval end of -0.003 or 0.003 shows on which side of zero it lies, not as 0.00.

    >>> off_zero_places([0.12, -0.0029]), off_zero_places([0.12, 0.25]), off_zero_places([0.0004])
    (3, 2, 3)
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v != 0)]
    while dp < most and (np.round(v, dp) == 0).any():
        dp += 1
    return dp


def change_interval(low, high) -> str:
    """A change's interval, '0.15 to 0.21', at the places that show each end's side of zero
    (:func:`off_zero_places`): '-0.003 to 0.240'.

    >>> change_interval(0.154, 0.213), change_interval(-0.0029, 0.2396)
    ('0.15 to 0.21', '-0.003 to 0.240')
    """
    dp = off_zero_places([low, high])
    return f"{number(low, dp)} to {number(high, dp)}"


def _sizes(values: "pd.Series", signed: bool = False) -> str:
    """'0.13 to 0.23' (or '0.12' for one) at two places: the sizes of a list of changes.

    >>> _sizes(pd.Series([0.127, 0.233])), _sizes(pd.Series([0.118])), _sizes(pd.Series([-0.05, 0.1]), signed=True)
    ('0.13 to 0.23', '0.12', '-0.05 to +0.10')
    """
    from .words import signed as with_sign

    fmt = (lambda v: with_sign(v, 2)) if signed else (lambda v: number(v, 2))  # noqa: E731
    lo, hi = fmt(values.min()), fmt(values.max())
    return lo if lo == hi else f"{lo} to {hi}"


def _near_zero(dims: "pd.DataFrame", within: float = 0.01) -> str:
    """A sentence on the dimensions whose simultaneous interval ends within ``within`` of zero, on either side: the
    verdict turns on that end, so it is printed at the places that show its side of zero ('-0.003', '0.003')."""
    end = np.where(dims["change"] > 0, dims["simul_low"], dims["simul_high"])
    close = dims[np.abs(end) < within]
    if close.empty:
        return ""
    parts = [f"{name} (interval {change_interval(lo, hi)})"
             for name, lo, hi in zip(close["name"], close["simul_low"], close["simul_high"])]
    return (f"The verdict is a close call on {list_words(parts)}: the end of "
            f"{'each interval' if len(parts) > 1 else 'the interval'} nearest zero is within {number(within, 2)} of "
            "it.")


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
