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

import numpy as np
import pandas as pd

from .markup import Markup, bullets, escape, html, paragraph  # noqa: F401  (escape: the one escaping path)

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


def annual_summary(wave: int, responded: int, principal: int, means: "pd.DataFrame", previous: "pd.DataFrame | None",
                   gaps: "pd.DataFrame") -> Markup:
    """Main findings of the State of Digital report as a bulleted list, every number from the data.

    ``means``/``previous``: dimension_means() rows for this and the previous wave (dimension, mean, ci_low, ci_high).
    Every level is said to be *among the councils that responded*, with the response rate: response is voluntary
    and may depend on maturity, so the figures describe respondents, not the sector.
    """
    overall = means[means["dimension_id"] == "overall_mean"].iloc[0]
    dims = means[means["dimension_id"] != "overall_mean"].sort_values("mean")
    rate = percent(responded / principal) if principal else "not available"
    lines = [
        f"{number(responded)} of {number(principal)} principal councils ({rate}) completed a self-assessment in {wave}. "
        "Every figure below describes the councils that responded, not all councils: councils that consider "
        "themselves less mature may be less likely to respond, which would make the sector look more mature than it is.",
        f"Among the councils that responded ({rate} of principal councils), the average overall level was "
        f"{interval(overall['mean'], overall['ci_low'], overall['ci_high'])} on the 5-level scale.",
        f"The councils that responded rated themselves highest on {dims.iloc[-1]['dimension']} (average "
        f"{number(dims.iloc[-1]['mean'], 1)}) and lowest on {dims.iloc[0]['dimension']} (average "
        f"{number(dims.iloc[0]['mean'], 1)}).",
    ]
    if previous is not None and not previous.empty:
        prev = previous[previous["dimension_id"] == "overall_mean"].iloc[0]
        lines.append(change_sentence(f"Since {wave - 1}, the average overall level among the councils that responded",
                                     prev["mean"], overall["mean"])
                     + " The councils taking part differ between years, so part of any change may reflect who responded.")
    if not gaps.empty:
        widest = gaps.sort_values("gap").iloc[-1]
        lines.append(f"Among the councils that responded, the largest gap between current level and the level aimed "
                     f"for within two years is in {widest['dimension']} ({number(widest['gap'], 1)} levels on average).")
    return bullets(lines)


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


def model_note(model) -> Markup:
    prov = model.dimensions[model.dimensions["provisional"]]["name"].tolist()
    return paragraph(f"{model.id} version {model.version}. The overall level is "
                     f"{model.describe_overall_rule()}, given only when at least {model.min_coverage} of "
                     f"{len(model.dimensions)} dimensions are answered. "
                     + (f"The dimensions {list_words(prov)} are provisional placeholders for dimensions not yet "
                        "published. " if prov else "") + str(model.source), lead="The model.")


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


# ---------------------------------------------------------------- claims (evidence review)
VERDICT_WORDS = {
    "supported": "The evidence is consistent with the claim",
    "contradicted": "The evidence points the other way",
    "no meaningful effect": "Any relation is too small to matter",
    "inconclusive": "The evidence cannot settle the claim",
    "untestable": "The claim cannot be tested with open data yet",
}
EXPOSURE_WORDS = {"overall": "overall digital level"}


def exposure_words(claim, model) -> str:
    return EXPOSURE_WORDS.get(claim.exposure) or f"self-assessed level on {model.dimension_name(claim.exposure)}"


def controls_words(controls) -> str:
    from .claims.frame import CONTROL_WORDS

    return list_words([CONTROL_WORDS[c] for c in controls]) if controls else "nothing"


def _reason_sentence(row, claim) -> str:
    """Why the verdict was reached, from the rule's reason code, with the numbers that decided it."""
    from .claims.engine import REASONS

    code = row.get("reason_code") or ""
    why = REASONS.get(code, "")
    p_adj = "Holm-adjusted " + p_text(row["p_adjusted"]).replace("p ", "p ", 1)
    share = (f"{percent(row['spec_curve_share'])} of the {number(row['specifications_counted'])} specifications that "
             f"keep the claim's controls")
    est, sesoi = number(abs(row["estimate"]), 2), number(claim.sesoi, 2)
    detail = {
        "supported": f"{p_adj}; estimate {est} against a smallest effect of interest of {sesoi}; {share} agree",
        "contradicted": f"{p_adj}; estimate {est} against a smallest effect of interest of {sesoi}; "
                        f"{percent(row['spec_share_against'])} of the counted specifications agree with the opposite direction",
        "equivalent": f"the {percent(row['eq_level'], 1)} interval, {number(row['eq_ci_low'], 2)} to "
                      f"{number(row['eq_ci_high'], 2)}, lies inside plus or minus {sesoi}",
        "in_direction_small": f"{p_adj}; estimate {est}, below {sesoi}",
        "in_direction_specs": f"{p_adj}; only {share} agree, and the rule needs at least half with a joint test below 0.05",
        "against_small": f"{p_adj}; estimate {est}, below {sesoi}",
        "against_specs": f"{p_adj}; too few counted specifications agree with the opposite direction",
        "not_rejected": f"{p_adj}; the {percent(row['eq_level'], 1)} equivalence interval, {number(row['eq_ci_low'], 2)} "
                        f"to {number(row['eq_ci_high'], 2)}, is not inside plus or minus {sesoi}",
        "none_supported": f"the {percent(row['eq_level'], 1)} interval, {number(row['eq_ci_low'], 2)} to "
                          f"{number(row['eq_ci_high'], 2)}, lies inside plus or minus {sesoi}; {share} are equivalent too",
        "none_contradicted": f"{p_adj}; estimate {est} against {sesoi}",
        "none_equivalent_specs": f"only {share} are equivalent",
        "none_rejected_small": f"{p_adj}; estimate {est}, below {sesoi}",
        "none_rejected_specs": f"{p_adj}; too few counted specifications agree",
        "none_not_rejected": f"{p_adj}; the {percent(row['eq_level'], 1)} equivalence interval, "
                             f"{number(row['eq_ci_low'], 2)} to {number(row['eq_ci_high'], 2)}, is not inside plus or "
                             f"minus {sesoi}",
    }.get(code, "")
    return f"{why} ({detail})" if detail else why


def claim_sentences(row, claim, model, measure_name: str) -> list[str]:
    """Plain-English sentences for one claim's result, generated from the reason the verdict was reached; never causal."""
    v = row["verdict"]
    if v == "untestable":
        why = row.get("reason") or ""
        return [f"{VERDICT_WORDS[v]}. {why}".strip()]
    reason = _reason_sentence(row, claim)
    if claim.kind == "assessment_agreement":
        return [
            f"In {number(row['n'])} councils assessed both ways in {row['period']}, self-assessed overall levels were "
            f"on average {number(abs(row['estimate']), 2)} levels {'higher' if row['estimate'] > 0 else 'lower'} than "
            f"independent ones (95% confidence interval {number(row['ci_low'], 2)} to {number(row['ci_high'], 2)}; "
            f"the claim allows a difference of up to {number(claim.sesoi, 2)} levels).",
            f"{VERDICT_WORDS[v]}: verdict “{v}”, because {reason}.",
        ]
    more_less = "higher" if row["estimate"] > 0 else "lower"
    includes_zero = row["ci_low"] <= 0 <= row["ci_high"]
    if row.get("effect_measure") in ("odds ratio", "rate ratio"):  # a logistic or count model (dqm.claims.engine.glm_estimate)
        return [ratio_sentence(row, claim, model, measure_name), f"{VERDICT_WORDS[v]}: verdict “{v}”, because {reason}."]
    m = int(row.get("family_size") or 1)
    simul = (f"; simultaneous 95% interval over the {number(m)} claims of its family (Bonferroni), "
             f"{number(row['simul_ci_low'], 2)} to {number(row['simul_ci_high'], 2)}" if m > 1 else "")
    s = [
        f"Across {number(row['n'])} councils, after allowing for {controls_words(claim.controls)}, a council one "
        f"standard deviation higher on {exposure_words(claim, model)} had, on average, {measure_name[:1].lower() + measure_name[1:]} "
        f"({row['period']}) {number(abs(row['estimate']), 2)} standard deviations {more_less} "
        f"(95% confidence interval {number(row['ci_low'], 2)} to {number(row['ci_high'], 2)}"
        + (", which includes no difference" if includes_zero else ", which excludes no difference before adjustment")
        + f"{simul}).",
        f"{VERDICT_WORDS[v]}: verdict “{v}”, because {reason}.",
    ]
    if v == "supported" and claim.direction != "none":
        s.append("This is an association between councils, not evidence that digital quality caused it.")
    if v == "inconclusive" and row.get("reason_code") in ("not_rejected", "none_not_rejected") and row["mde"] == row["mde"]:
        s.append(f"With {number(row['n'])} councils, the rule would reach a decisive verdict 80% of the time only for "
                 f"effects of about {number(row['mde'], 2)} or larger, against a smallest effect of interest of "
                 f"{number(claim.sesoi, 2)}.")
    return s


def ratio_sentence(row, claim, model, measure_name: str) -> str:
    """The result of a logistic (odds ratio) or count (rate ratio) claim, per standard deviation of digital level."""
    what = "the odds of" if row["effect_measure"] == "odds ratio" else "the expected"
    ratio, lo, hi = row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"]
    return (f"Across {number(row['n'])} councils ({number(row['events'])} of them with the outcome), after allowing for "
            f"{controls_words(claim.controls)}, a council one standard deviation higher on {exposure_words(claim, model)} "
            f"had {what} {measure_name[:1].lower() + measure_name[1:]} ({row['period']}) multiplied by "
            f"{number(ratio, 2)} ({row['effect_measure']}; 95% confidence interval {number(lo, 2)} to {number(hi, 2)}"
            + (", which includes no difference)." if lo <= 1 <= hi else ", which excludes no difference before adjustment).")
            + f" The smallest effect of interest is a ratio of {number(math.exp(claim.sesoi), 2)}.")


def claim_caveats(row, claim, measure: dict, wave: int, synthetic: bool) -> list[str]:
    """The caveats that apply to a claim's result."""
    out = [claim.superseded_note] if getattr(claim, "superseded_note", "") else []  # a re-registered claim says so first
    if synthetic:
        out.append("The digital levels are synthetic demonstration data, so this result says nothing about real councils.")
    if claim.testable and claim.kind == "association":
        out.append("Digital levels are councils' own self-assessments, not verified measurements.")
        period = str(row.get("period") or "")
        if period and period[:4].isdigit() and int(period[:4]) < wave:
            out.append(f"Timing: the outcome was measured in {period}, before the {wave} assessment, so the result "
                       f"cannot show that digital quality changed the outcome.")
        out.append("Ecological: the comparison is between councils, and says nothing about individual residents or services.")
        if row["n"] < 100:
            out.append(f"Small sample: {number(row['n'])} councils.")
        out += [str(c) for c in measure.get("caveats", []) or []]
    if claim.exploratory:
        out.append("Exploratory: this claim was added after the data were seen; treat it as a lead, not a test.")
    out += [str(w) for w in getattr(claim, "warnings", ())]
    return out


# ---------------------------------------------------------------- council benchmark
POSITION_WORDS = {
    "in the top quarter": "in the top quarter of responding councils",
    "in the bottom quarter": "in the bottom quarter of responding councils",
    "in the top half": "in the top half of responding councils",
    "in the bottom half": "in the bottom half of responding councils",
    "not clearly different from the middle": "not clearly different from the middle of responding councils",
}


def position_sentence(name: str, row, min_coverage: int | None = None) -> str:
    """What the rank interval supports, never a bare rank."""
    if not isinstance(row.get("position"), str):
        return (f"{name} has no overall score this wave, so it is not placed among other councils: its "
                f"respondents answered {number(row['coverage'])} dimensions"
                + (f", and an overall score needs at least {number(min_coverage)}." if min_coverage else "."))
    k = row.get("n_respondents")
    who = (f"its {number(k)} respondents" if k and k > 1 else "its single respondent") if k == k and k is not None else "its respondents"
    return (f"Allowing for the disagreement between respondents (this score rests on {who}) and for the choices that "
            f"could reasonably be made in building the overall score, {name} ranks between "
            f"{number(row['rank_p5'])} and {number(row['rank_p95'])} of {number(row['councils_ranked'])} responding councils "
            f"(5th to 95th percentile). That places it {POSITION_WORDS[row['position']]}.")


def council_change_sentences(changes) -> list[str]:
    """One line per dimension, read against respondent disagreement, and how many flags chance alone would give."""
    from .scoring.change import ALPHA

    out = []
    for r in changes.itertuples():
        s = change_sentence(r.dimension, r.before, r.after)
        if not r.beyond_noise:
            tail = " – within the range that disagreement between respondents could explain."
        elif getattr(r, "clearly_beyond_noise", True):
            tail = " – larger than the disagreement between respondents would explain."
        else:
            tail = (" – at the edge of what disagreement between respondents could explain: with so few whole-number "
                    "answers the test cannot settle it, and its fixed tie-break flags it.")
        out.append(s[:-1] + tail)
    if len(changes):
        out.append(f"With no real change at all, about 1 in {round(1 / ALPHA)} of these {number(len(changes))} comparisons "
                   f"would be flagged by chance (about {number(ALPHA * len(changes), 1)} of them), so a single flag is "
                   "weak evidence on its own.")
    return out


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
                f"simultaneous {percent(1 - alpha)} intervals over all {number(m)} dimensions are shown in the chart")
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


def target_table(gaps: "pd.DataFrame", realism: "pd.DataFrame") -> "pd.DataFrame":
    m = gaps.merge(realism[["dimension_id", "share_targets_beyond_p90"]], on="dimension_id", how="left")
    t = gap_table(m)
    t["Targets beyond what 9 in 10 councils achieved"] = m["share_targets_beyond_p90"].map(percent)
    return t


# ---------------------------------------------------------------- claims as associations, verdicts with their limits
@lru_cache(maxsize=4)
def _wording(path: str) -> dict:
    from .yamlio import load_yaml

    raw = load_yaml(path, what="claim wording file") or {}
    words = [str(w).lower() for w in raw.get("causal_words") or []]
    return {"causal_words": tuple(words), "association": {str(k): " ".join(str(v).split())
                                                         for k, v in (raw.get("association") or {}).items()}}


def claim_wording() -> dict:
    """data/claim_wording.yaml: the causal words, and each bundled claim restated as the association tested."""
    from .paths import data_dir

    return _wording(str(data_dir() / "claim_wording.yaml"))


def causal_words_in(text: str) -> list[str]:
    """The causal words and phrases of data/claim_wording.yaml that ``text`` uses (whole words, any case)."""
    low = " ".join(str(text).lower().split())
    return [w for w in claim_wording()["causal_words"] if re.search(rf"\b{re.escape(w)}\b", low)]


def _field(obj, name, default=None):
    return getattr(obj, name, None) if not isinstance(obj, (dict, pd.Series)) else obj.get(name, default)


def association_statement(claim, model=None, measures=None) -> str:
    """The claim as the association that was tested (never causal): the wording file's entry for a bundled
    claim; the registered statement when it uses no causal word; otherwise a sentence built from the claim's
    exposure, outcome and direction. ``claim`` is a Claim or a results-table row."""
    cid, statement = str(_field(claim, "id")), str(_field(claim, "statement") or "")
    layer = _field(claim, "layer", "bundled") or "bundled"
    mapped = claim_wording()["association"].get(cid)
    if mapped and layer == "bundled":
        return mapped
    if not causal_words_in(statement):
        return statement
    exposure = str(_field(claim, "exposure") or "overall")
    if exposure == "overall":
        x = "overall digital levels"
    else:
        name = model.dimension_name(exposure) if model is not None else exposure.replace("_", " ")
        x = f"levels on {name}"
    outcome = _field(claim, "outcome")
    if measures is not None and outcome in getattr(measures, "index", []):
        y = str(measures.loc[outcome, "name"])
    else:
        y = str(outcome or "the outcome").replace("_", " ")
    y = y[:1].lower() + y[1:]
    direction = _field(claim, "direction")
    if direction == "none":
        return f"Self-assessed {x} have no association of a size that matters with {y}."
    more = "higher" if direction == "positive" else "lower"
    return f"Councils with higher self-assessed {x} have {more} values of {y}."


TIMING_WORDS = {"before": "outcome before assessment", "same year": "outcome and assessment in the same year",
                "after": "outcome after assessment"}


def timing_words(row) -> str:
    """'2017-18 outcomes, 2026 assessments: outcome before assessment' (empty when the period is unknown)."""
    timing = row.get("timing") or ""
    if not timing:
        return ""
    return f"{row['period']} outcomes, {row['wave']} assessments: {TIMING_WORDS[timing]}"


def _needs(row) -> str:
    """'for an 80% chance of that verdict if there were no relation at all, it would need about 1,300 councils, more
    than the 317 in the claim's population' (empty when not computed)."""
    need, pop = row.get("councils_needed"), row.get("population_councils")
    if need is None or need != need:
        return ""
    if need == float("inf"):
        return "no realistic number of councils would give it an 80% chance"
    s = (f"for an 80% chance of that verdict if there were no relation at all, it would need about "
         f"{number(_round_up(need))} councils")
    if pop and pop == pop and need > pop:
        s += f", more than the {number(pop)} in the claim's population"
    return s


def _round_up(n: float) -> int:
    """A planning number: rounded up to 2 significant figures (1,243 -> 1,300)."""
    n = int(math.ceil(n))
    if n < 100:
        return n
    step = 10 ** (len(str(n)) - 2)
    return int(math.ceil(n / step) * step)


def out_of_reach(row) -> bool:
    """True when the verdict that needs the family-wise equivalence test cannot happen at this number of councils
    ('no meaningful effect' for a directional claim; 'supported' for a claim of no meaningful effect)."""
    return row.get("verdict") not in ("untestable", None) and not row.get("equivalence_reachable")


def reach_words(row) -> str:
    """Where a verdict is out of reach at this n: 'cannot be decided at this number of councils (179): ...'."""
    if not out_of_reach(row):
        return ""
    needs = _needs(row)
    tail = f"; {needs}" if needs else ""
    if row.get("direction") == "none":
        return (f"cannot be decided at this number of councils ({number(row['n'])}): 'supported' needs the "
                f"equivalence test, which could not succeed here even at an estimate of exactly 0{tail}")
    return f"the verdict 'no meaningful effect' cannot be reached at this number of councils ({number(row['n'])}){tail}"


def verdict_cell(row) -> str:
    """The verdict as read in a table, with its limits: the verdict, 'association', the outcome's period against
    the assessment, and, where a verdict is out of reach at this n, the number of councils it needs."""
    v = row["verdict"]
    if v == "untestable":
        return "untestable: no open data yet" if row.get("settle_with") else "untestable"
    parts = []
    if row.get("direction") == "none" and out_of_reach(row):
        parts.append(f"{v}; " + reach_words(row))
    else:
        parts.append(v)
    if row.get("kind", "association") == "association":
        parts.append("an association between councils, not evidence of a cause")
    else:
        parts.append(f"self-assessed against independent levels of the same councils, {row.get('period')}")
    if timing_words(row):
        parts.append(timing_words(row))
    if row.get("direction") != "none" and out_of_reach(row):
        parts.append(reach_words(row))
    if row.get("superseded_by"):
        parts.append(f"superseded by {row['superseded_by']}")
    return ". ".join(p[:1].upper() + p[1:] for p in parts) + "."


def verdict_table(table: "pd.DataFrame", link: str = "", model=None, measures=None) -> "pd.DataFrame":
    """One row per claim: the association tested, the verdict with its limits, the estimate with its interval,
    councils. Links to the review. The registered words are in each claim's section of the review."""
    def est(r):
        if r["verdict"] == "untestable":
            return "–"
        return f"{number(r['estimate'], 2)} ({number(r['ci_low'], 2)} to {number(r['ci_high'], 2)})"

    def claim(r):
        s = association_statement(r, model, measures)
        if r["exploratory"]:
            s += " (exploratory)"
        if r.get("superseded_by"):
            s += f" (superseded by {r['superseded_by']}: {r.get('superseded_because') or 'see the review'})"
        if r.get("supersedes"):
            s += f" (re-registered in place of {r['supersedes']}: {r.get('supersedes_because')})"
        return s

    return pd.DataFrame({
        "Association tested": [claim(r) for _, r in table.iterrows()],
        "Who makes it": table["side"].map(lambda s: s[:1].upper() + s[1:] if s else ""),
        "Verdict": [verdict_cell(r) for _, r in table.iterrows()],
        "Effect (95% interval)": [est(r) for _, r in table.iterrows()],
        "Councils": [number(n) if v != "untestable" else "–" for n, v in zip(table["n"], table["verdict"])],
        "Details": [f"{link}#claim-{i}" for i in table["id"]],
    })


def verdict_counts(table: "pd.DataFrame") -> str:
    c = table["verdict"].value_counts()
    parts = [f"{number(v)} {k}" for k, v in c.items()]
    s = f"Of {number(len(table))} registered claims: {list_words(parts)}."
    rows = [r for _, r in table.iterrows()]
    none_out = sum(1 for r in rows if r.get("direction") == "none" and out_of_reach(r))
    dir_out = sum(1 for r in rows if r.get("direction") != "none" and out_of_reach(r))
    if none_out:
        s += (f" {number(none_out)} claim{'s' if none_out != 1 else ''} of no meaningful effect cannot be decided at "
              "this number of councils: the equivalence test they need could not succeed even at an estimate of exactly 0.")
    if dir_out:
        s += (f" For {number(dir_out)} directional claim{'s' if dir_out != 1 else ''}, 'no meaningful effect' is out of "
              "reach for the same reason, while 'supported' is not: the verdicts are symmetric in words, not in reach.")
    sup = int((table.get("superseded_by", pd.Series(dtype=str)).fillna("") != "").sum())
    if sup:
        s += f" {number(sup)} of them {'are' if sup != 1 else 'is'} superseded by a later registration; both are shown."
    return s


def sensitivity_sentence(row, claim=None, model=None) -> str:
    """What an unmeasured confounder would have to be to change the result (Cinelli and Hazlett 2020)."""
    if row.get("verdict") == "untestable" or row.get("kind", "association") != "association":
        return ""
    x = exposure_words(claim, model) if claim is not None and model is not None else "digital level"
    ev = row.get("sens_evalue")
    if ev is not None and ev == ev:  # a ratio (logistic or count model): its E-value (VanderWeele and Ding 2017)
        s = (f"An unmeasured confounder would need an association of at least {number(ev, 2)} on the "
             f"{row.get('sens_evalue_scale') or 'risk ratio'} scale with both {x} and the outcome, beyond the controls, "
             "to explain this association away (its E-value)")
        ci = row.get("sens_evalue_ci")
        s += ("; its interval already includes no association. " if ci == 1 else
              f", and {number(ci, 2)} to move its 95% interval to include no association. ")
        return s + "A confounder as strong as deprivation cannot be benchmarked for a ratio in this way."
    if row.get("sens_rv") != row.get("sens_rv") or row.get("sens_rv") is None:
        return ""
    pct = lambda v: percent(v, 1)
    s = (f"An unmeasured confounder would have to explain {pct(row['sens_rv'])} of the residual variance of both "
         f"{x} and the outcome to remove this association (its robustness value)")
    if row["sens_rv_alpha"] > 0:
        s += f", and {pct(row['sens_rv_alpha'])} to make it no longer significant at the 5% level. "
    else:
        s += "; no confounder is needed to make it non-significant at the 5% level, because it is not significant to begin with. "
    s += (f"{x[:1].upper() + x[1:]} explains {pct(row['sens_partial_r2'])} of the outcome's variance left after the "
          "controls. ")
    if row.get("sens_benchmark"):
        s += (f"Deprivation, measured and controlled for, explains {pct(row['sens_r2dxj_x'])} of the residual variance "
              f"of {x} and {pct(row['sens_r2yxj_dx'])} of the outcome's. ")
        lo1, hi1 = row["sens_bound_low_1x"], row["sens_bound_high_1x"]
        s += (f"An unmeasured confounder as strong as deprivation would move the estimate of "
              f"{number(row['estimate'], 2)} to between {number(lo1, 2)} and {number(hi1, 2)}")
        lo2, hi2 = row.get("sens_bound_low_2x"), row.get("sens_bound_high_2x")
        if lo2 == lo2 and lo2 is not None:
            s += f"; one twice as strong, to between {number(lo2, 2)} and {number(hi2, 2)}"
        else:
            s += "; one twice as strong is impossible, given how much of digital level deprivation already explains"
        s += (" (either direction, since the sign of an unmeasured confounder is unknown; classical standard errors, "
              "as the bounds require).")
        crosses = lo1 <= 0 <= hi1
        s += (" So a confounder no stronger than deprivation could bring it to zero." if crosses and row["estimate"] != 0
              else " So a confounder no stronger than deprivation could not bring it to zero." if not crosses else "")
    else:
        s += "The claim does not control for deprivation, so no benchmark bound is given."
    return s


def forest_rows(table: "pd.DataFrame") -> "pd.DataFrame":
    """Rows for the forest plot; the wider bar is the Bonferroni simultaneous 95% interval within each family."""
    t = table[(table["verdict"] != "untestable") & (table["outcome"] != "independent_assessment")]
    t = t.assign(label=t["id"], adj_ci_low=t["simul_ci_low"], adj_ci_high=t["simul_ci_high"])
    return t[["label", "estimate", "ci_low", "ci_high", "adj_ci_low", "adj_ci_high", "sesoi", "verdict"]]


def claim_header(claim, model, measures) -> Markup:
    m = measures.loc[claim.outcome] if claim.outcome in measures.index else None
    causal = causal_words_in(claim.statement)
    registered = claim.statement + (f" (its own words; {list_words(repr(w) for w in causal)} "
                                    f"{'claims' if len(causal) == 1 else 'claim'} a cause, which this review cannot test)"
                                    if causal else "")
    rows = [("Claim as registered", registered),
            ("Tested as (an association between councils)" if claim.kind == "association" else "Tested as",
             association_statement(claim, model, measures)),
            ("Made by", (claim.side[:1].upper() + claim.side[1:]) if claim.side else "–"),
            ("Source", claim.source),
            ("Exposure", exposure_words(claim, model)),
            ("Outcome", f"{m['name']} ({m['unit']}); {m['source']}; licence {m['licence']}" if m is not None else
             ("independent assessments of the same councils" if claim.kind == "assessment_agreement" else "no open data yet")),
            ("Predicted direction", {"positive": "higher digital level, higher outcome", "negative": "higher digital level, lower outcome",
                                     "none": "no meaningful relation"}[claim.direction]),
            ("Allowing for", controls_words(claim.controls)),
            ("Councils", "; ".join(f"{k}: {v}" for k, v in claim.population.items()) or "all with data"),
            ("Smallest effect of interest", f"{claim.sesoi:g}" + (" levels" if claim.kind == "assessment_agreement" else
             f" (log {RATIO_OF_MODEL[claim.model]} per standard deviation of digital level: a ratio of "
             f"{math.exp(claim.sesoi):.2f})" if getattr(claim, "model", "ols") in RATIO_OF_MODEL else " standard deviations")),
            ("Family (for multiple testing)", claim.family),
            ("Registered", long_date(claim.registered) + (" (exploratory: added after the data were seen)" if claim.exploratory else "")
             + (f"; added by the user, from {getattr(claim, 'file', '')}" if getattr(claim, "layer", "bundled") == "user" else "")
             + (f"; superseded on {long_date(claim.superseded_on)} by {', '.join(claim.superseded_by)}"
                if getattr(claim, "superseded_by", ()) else ""))]
    if getattr(claim, "supersedes", ()):
        rows.append(("Re-registration", f"replaces {', '.join(claim.supersedes)}, which stays in the registry and in this "
                                        f"review: {claim.supersedes_why}"))
    body = Markup("").join(html('<tr><th scope="row">{}</th><td>{}</td></tr>', k, v) for k, v in rows)
    return (html('<h3 id="claim-{}">{}</h3><table class="dqm-table"><caption>How claim {} is tested</caption>',
                 claim.id, claim.id, claim.id) + body + Markup("</table>"))


RATIO_OF_MODEL = {"logistic": "odds ratio", "poisson": "rate ratio", "negative-binomial": "rate ratio"}


def claim_figures(row) -> "pd.DataFrame":
    B = int(row.get("null_resamples") or 0) or None
    ratio = row.get("effect_measure") in ("odds ratio", "rate ratio")
    items = [
        ("Councils", number(row["n"])), ("Outcome period", str(row["period"])),
        *([(f"{row['effect_measure'][:1].upper() + row['effect_measure'][1:]} per standard deviation of digital level "
            f"({row['model']}, robust errors), 95% interval",
            f"{number(row['ratio'], 3)} ({number(row['ratio_ci_low'], 3)} to {number(row['ratio_ci_high'], 3)})"),
           ("Councils with the outcome (events)", number(row["events"]))] if ratio else []),
        (f"Log {row['effect_measure']} (the scale of the tests below)" if ratio else "Standardised effect",
         number(row["estimate"], 3)),
        ("95% confidence interval", f"{number(row['ci_low'], 3)} to {number(row['ci_high'], 3)}"),
        (f"Simultaneous 95% interval over the family's {number(row['family_size'])} claims (Bonferroni, "
         f"{percent(row['simul_level'], 2)} each)", f"{number(row['simul_ci_low'], 3)} to {number(row['simul_ci_high'], 3)}"),
        (f"Holm test-inversion interval ({percent(row['adj_level'], 2)}): excludes 0 exactly when Holm rejects; "
         "not a joint 95% interval", f"{number(row['adj_ci_low'], 3)} to {number(row['adj_ci_high'], 3)}"),
        ("p-value, Holm-adjusted within family", "less than 0.001" if row["p_adjusted"] < 0.001 else number(row["p_adjusted"], 3)),
        (f"Equivalence interval ({percent(row['eq_level'], 1)}, family-wise TOST)",
         f"{number(row['eq_ci_low'], 3)} to {number(row['eq_ci_high'], 3)}"),
        ("Equivalent within the smallest effect of interest (family-wise)", "yes" if row["equivalent"] else "no"),
        ("Minimum detectable effect under the verdict rule (80% chance of a decisive verdict)", number(row["mde"], 3)),
        ("Spearman's rank correlation, unadjusted (BCa 95% interval)",
         f"{number(row['spearman'], 2)} ({number(row['spearman_low'], 2)} to {number(row['spearman_high'], 2)})"),
        ("Distinct specifications; counted (keep the claim's controls, no outlier rule)",
         f"{number(row['specifications'])}; {number(row['specifications_counted'])}"),
        ("Counted specifications agreeing with the claim", percent(row["spec_curve_share"])),
    ]
    if row["spec_joint_p"] == row["spec_joint_p"]:
        items.append(("Joint test of the counted specifications", p_text(row["spec_joint_p"], B)))
    if row.get("spec_confounding_median") == row.get("spec_confounding_median"):
        items.append(("Confounding check: median estimate with fewer controls (not counted)",
                      f"{number(row['spec_confounding_median'], 3)} (counted: {number(row['spec_counted_median'], 3)})"))
    return pd.DataFrame(items, columns=["Figure", "Value"])


def spec_curve_sentence(row) -> str:
    """What the specification curve shows, read the right way round for the claim's prediction."""
    B = int(row.get("null_resamples") or 0) or None
    k, d = number(row["specifications_counted"]), number(row["specifications"])
    head = (f"Of {d} distinct specifications, {k} keep the claim's registered controls and use no outlier rule; only "
            "these count, as a check that the registered result does not hinge on one choice of exposure, transform "
            "or population. ")
    if row["direction"] == "none":
        body = (f"{percent(row['spec_curve_share'])} of them are equivalent to no meaningful effect. The joint test asks "
                "how often as many of them would be significant in the direction of the estimate if there were no "
                f"relation; for this claim a small value counts against it: {p_text(row['spec_joint_p'], B)}. ")
    else:
        body = (f"{percent(row['spec_curve_share'])} of them are significant in the predicted direction. The joint "
                "test asks how often as many would be if there were no relation: "
                f"{p_text(row['spec_joint_p'], B)}. ")
    conf = row.get("spec_confounding_median")
    tail = ""
    if conf == conf and conf is not None:
        tail = (f"Fits with fewer controls than registered (none, or council type only) are a confounding check, not "
                f"counted: their median estimate is {number(conf, 2)} against {number(row['spec_counted_median'], 2)} "
                "for the counted ones; where the two differ, confounding by size, deprivation or rurality is the likely "
                "reason. Fits dropping councils by Cook's distance are shown as an outlier sensitivity and not counted, "
                "because their p-values ignore the dropping step.")
    return head + body + tail


def power_section_table(rows: list[dict]) -> "pd.DataFrame":
    """The chance of each verdict under the rule, one row per true effect (from :func:`dqm.claims.engine.power_rows`)."""
    return pd.DataFrame({"If the true effect were": [r["scenario"] for r in rows],
                         **{k[:1].upper() + k[1:]: [percent(r.get(k, float("nan"))) for r in rows]
                            for k in ("supported", "contradicted", "no meaningful effect", "inconclusive")}})


def reachability_sentence(row, claim, chance_at_zero: float | None = None) -> str:
    """Said before the result: which verdicts this test could give at this number of councils (plain text)."""
    eq_name = "'supported'" if claim.direction == "none" else "'no meaningful effect'"
    B = number(row.get("null_resamples") or 0)
    s = (f"The table gives the chance of each verdict at "
         f"{number(row['n'])} councils under the rule as applied (Holm at its strictest step, alpha divided by "
         f"{number(row['family_size'])}, so chances of a Holm-based verdict are lower bounds; the specification-curve "
         f"requirement included; from {B} resamples of councils with the null imposed and the effect shifted in). ")
    if chance_at_zero is not None and chance_at_zero == chance_at_zero and chance_at_zero < 0.05 and row.get(
            "equivalence_reachable"):
        s += (f"The verdict {eq_name} is practically out of reach: even if there were no relation at all, its chance "
              f"would be {percent(chance_at_zero)}. ")
    elif not row.get("equivalence_reachable"):
        s += (f"The verdict {eq_name} is practically out of reach at this number of councils: with the standard error "
              f"found here, even an estimate of exactly 0 would leave the {percent(row['eq_level'], 1)} equivalence "
              f"interval wider than plus or minus {number(claim.sesoi, 2)} (the table shows its small chance when the "
              "standard error happens to come out smaller)"
              + (f"; {_needs(row)}, and at least {number(row['councils_needed_reach'])} for it to be possible at all. "
                 if _needs(row) else ". "))
    if row["mde"] == row["mde"]:
        s += (f"The minimum detectable effect under this rule is {number(row['mde'], 2)}: the smallest effect with an "
              f"80% chance of a decisive verdict.")
    else:
        s += "No effect up to 3 standard deviations would reach a decisive verdict 80% of the time."
    return s


def panel_sentence(view: dict) -> Markup:
    if view["status"] != "estimated":
        reason = view["reason"][:1].upper() + view["reason"][1:]
        return paragraph(f"(change against change across waves): not estimable. {reason}", lead="Panel view")
    return paragraph(f"Within the same councils, a change of one standard deviation in digital level went with a "
            f"change of {number(view['estimate'], 2)} standard deviations in the outcome a wave later "
            f"(95% confidence interval {number(view['ci_low'], 2)} to {number(view['ci_high'], 2)}; "
            f"{number(view['councils'])} councils).", lead="Panel view:")


def untestable_table(table: "pd.DataFrame") -> "pd.DataFrame":
    t = table[table["verdict"] == "untestable"]
    # a claim with no outcome names the data that would settle it; any other reason is shown as given
    why = t["reason"].where(t["settle_with"] == "", "no open data yet")
    return pd.DataFrame({"Claim": t["statement"], "Why it cannot be tested": why,
                         "Data that would settle it": t["settle_with"].replace("", "–")})


def checks_table(checks: "pd.DataFrame", with_engine: bool = False) -> "pd.DataFrame":
    """The honesty suite's checks, each with its Monte Carlo standard error and what it must reach."""
    def target(r):
        if r["rule"] == "report":
            return "reported"
        if r["rule"] == "known limit":  # what the engine does where an assumption fails: shown, never a pass
            return f"reported against {number(r['target'], 3)}; not a pass"
        return f"{r['rule']} {number(r['target'], 3)} (tolerance {number(r['tolerance'], 3)})"

    passed = [("known limit" if r["rule"] == "known limit" else ("yes" if r["passed"] else "no"))
              for _, r in checks.iterrows()]
    t = pd.DataFrame({"Check": checks["check"].to_numpy(), "Result": checks["value"].map(lambda v: number(v, 3)).to_numpy(),
                      "Monte Carlo s.e.": checks["mc_se"].map(lambda v: number(v, 3)).to_numpy(),
                      "Required": [target(r) for _, r in checks.iterrows()],
                      "Passed": passed})
    if with_engine:
        t.insert(0, "Engine", checks["engine"].to_numpy())
    return t


def engines_table(engines: "pd.DataFrame") -> "pd.DataFrame":
    return pd.DataFrame({"Engine": engines["engine"], "Checks": engines["checks"].map(number),
                         "Failed": engines["failed"].map(number),
                         "Checks it fails": engines["failed_checks"].map(lambda x: "; ".join(x) if x else "none")})


def checks_summary(checks: "pd.DataFrame") -> str:
    """What the honesty suite showed, in words, from its own figures."""
    limits = checks[(checks["engine"] == "honest") & (checks["rule"] == "known limit")]
    checks = checks[checks["rule"] != "known limit"]
    h = checks[checks["engine"] == "honest"]
    broken = checks[checks["engine"] != "honest"]
    caught = broken.groupby("engine")["passed"].all()
    pick = lambda start: h[h["check"].str.startswith(start)].iloc[0]
    spec, flags, ranks = pick("specification curve counted"), pick("change flags"), pick("rank intervals")
    s = (f"The correct engine passes {number(int(h['passed'].sum()))} of {number(len(h))} checks"
         + (" (all)" if h["passed"].all() else ", so read the failures below before trusting the verdicts") + ". "
         f"{number(int((~caught).sum()))} of {number(len(caught))} deliberately broken engines fail at least one check"
         + ("" if (~caught).all() else f"; {list_words(caught[caught].index)} passed every check, so the checks miss that fault")
         + ". Under a confounded null with 150 councils, the specification curve counted as agreeing in "
         f"{percent(spec['value'], 1)} of {number(spec['replications'])} runs (Monte Carlo s.e. at the target, "
         f"{percent(spec['mc_se'], 1)}; the target is at most 10%). "
         f"With no true change, {percent(flags['value'], 1)} of dimension comparisons were flagged as beyond the noise "
         f"(s.e. {percent(flags['mc_se'], 1)}; the target is 5%). Rank intervals held the true rank of simulated councils "
         f"with one to three respondents {percent(ranks['value'], 1)} of the time (the target is at least 90%).")
    fp = pick("false-positive rate")
    dep = limits[limits["check"].str.contains("deprivation") & limits["check"].str.endswith("false-positive rate")]
    if len(dep):
        d = dep.iloc[0]
        mean0 = limits[limits["check"].str.contains("deprivation") & limits["check"].str.contains("mean estimate")]
        import re

        where = re.search(r"reliability ([0-9.]+) \(n = ([0-9,]+)\)", d["check"])
        cond = f"at reliability {where.group(1)} with {where.group(2)} councils" if where else "with error"
        s += (f" The false-positive rate of {number(fp['value'], 3)} holds only when deprivation reaches the engine "
              f"measured without error. A known limit, not a pass: with deprivation measured {cond}, "
              f"the false-positive rate is {number(d['value'], 3)} (s.e. {number(d['mc_se'], 3)})")
        if len(mean0):
            s += f" and the mean estimate with no true effect is {number(mean0.iloc[0]['value'], 3)}"
        s += ("; every counted specification shares the mismeasured control, so the specification curve does not "
              "protect against it.")
    partial = broken.groupby("engine").size() < len(h)
    if partial.any():
        s += (" In this setting the minimum-detectable-effect, whole-pipeline and panel checks run only for the correct "
              "engine and the engines whose fault lies there; "
              + ("every broken engine runs" if partial.all() else f"{list_words(partial[partial].index)} run")
              + " the full table in the slow setting.")
    return s


# ---------------------------------------------------------------- council report helpers
def council_summary(name: str, mine, profile: "pd.DataFrame", peers: dict) -> Markup:
    o = profile[profile["dimension_id"] == "overall_mean"].iloc[0]
    dims = profile[profile["dimension_id"] != "overall_mean"].dropna(subset=["level"]).sort_values("level")
    if o["level"] == o["level"]:
        lines = [f"{name}'s overall score in this wave is {number(o['level'], 1)} on the 5-level scale"
                 + (f", against a median of {number(o['peer_median'], 1)} among its peers." if o["peer_median"] == o["peer_median"] else ".")]
    else:
        lines = [f"{name} has no overall score in this wave: too few dimensions were answered."]
    if len(dims):
        lines.append(f"Its highest self-assessed level is on {dims.iloc[-1]['dimension']} ({number(dims.iloc[-1]['level'], 1)}) "
                     f"and its lowest on {dims.iloc[0]['dimension']} ({number(dims.iloc[0]['level'], 1)}).")
    if isinstance(mine.get("position"), str):
        lines.append(f"Allowing for disagreement between respondents and reasonable ways of building the score, it is "
                     f"{POSITION_WORDS[mine['position']]}.")
    else:
        lines.append("Too few dimensions were answered for an overall score, so it is not placed among other councils.")
    return bullets(lines)


def profile_table(profile: "pd.DataFrame", peers: dict) -> "pd.DataFrame":
    f = lambda v: "–" if v != v else number(v, 1)
    t = pd.DataFrame({"Dimension": profile["dimension"], "Your level": profile["level"].map(f),
                      "Your target": profile["target"].map(f)})
    if peers["peers_shown"]:
        t["Peers' median"] = profile["peer_median"].map(f)
        t["Peers' middle 80%"] = [f"{f(lo)} to {f(hi)}" for lo, hi in zip(profile["peer_low"], profile["peer_high"])]
    t[f"Median of {TYPE_PLURALS.get(peers['type_group'], peers['type_group'])}"] = profile["type_median"].map(f)
    return t


def peer_note(peers: dict) -> str:
    if not peers["peers_shown"]:
        return (f"Only {number(peers['peers_responding'])} of this council's {number(peers['peers_defined'])} nearest "
                f"neighbours took part, fewer than 5, so peer figures are withheld to protect their answers.")
    return (f"Peers: {number(peers['peers_responding'])} of this council's {number(peers['peers_defined'])} nearest "
            f"neighbours ({peers['pool']}) took part. The last column compares with all "
            f"{number(peers['type_responding'])} other responding {TYPE_PLURALS.get(peers['type_group'], peers['type_group'])}.")


def self_vs_independent(council: str, name: str, council_levels: "pd.DataFrame", model, wave: int) -> str:
    lv = council_levels[(council_levels["council_code"] == council) & (council_levels["wave"] == wave)].set_index("assessment_type")
    others = [t for t in ("independent", "peer") if t in lv.index]
    if "self" not in lv.index or not others:
        return (f"{name} has no peer or independent assessment in {wave}, so its self-assessment cannot be "
                "compared with one.")
    o = others[0]
    diffs = [(model.dimension_name(d), lv.loc["self", d] - lv.loc[o, d]) for d in model.dimension_ids
             if lv.loc["self", d] == lv.loc["self", d] and lv.loc[o, d] == lv.loc[o, d]]
    higher = [d for d, x in diffs if x > 0]
    mean_gap = lv.loc["self", "overall_mean"] - lv.loc[o, "overall_mean"]
    return (f"{name} also had {'an' if o == 'independent' else 'a'} {o} assessment in {wave}. Its self-assessed overall score "
            f"was {number(abs(mean_gap), 2)} levels {'higher' if mean_gap > 0 else 'lower'} than the {o} one. "
            f"The self-assessment was higher on {number(len(higher))} of {number(len(diffs))} dimensions"
            + (f" ({list_words(higher)})." if higher else "."))


def evidence_table(answers: "pd.DataFrame", council: str, wave: int, model) -> "pd.DataFrame":
    a = answers[(answers["council_code"] == council) & (answers["wave"] == wave) & (answers["assessment_type"] == "self")]
    a = a.dropna(subset=["evidence"])
    order = {d: i for i, d in enumerate(model.dimension_ids)}
    a = a.assign(_order=a["dimension_id"].map(order)).sort_values(["_order", "respondent_role"], kind="stable")
    if a.empty:
        return pd.DataFrame({"Dimension": ["–"], "Evidence": ["No evidence text was given."]})
    text = a["evidence"].astype(str)
    short = text.where(text.str.len() <= 1000, text.str.slice(0, 1000) + " … (shortened)")
    # free text is escaped by html_table (dqm.markup); spreadsheet formulas are shown as text, never evaluated
    return pd.DataFrame({"Dimension": a["dimension_id"].map(model.dimension_name), "Respondent's role":
                         a["respondent_role"].fillna("–"), "Evidence": short}).reset_index(drop=True)


# ---------------------------------------------------------------- measurement quality (annual report, methods)
def coherence_sentence(summary: dict, per_dimension: "pd.DataFrame") -> Markup:
    flagged = per_dimension.loc[per_dimension["flag"], "dimension"].tolist()
    s = (f"Over {number(summary['councils'])} councils that answered every dimension, "
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


def unmatched_table(rejects: "pd.DataFrame") -> "pd.DataFrame":
    u = rejects[rejects["reason"] == "unknown council"]
    if u.empty:
        return pd.DataFrame({"Name as given": ["none"], "Rows": ["0"], "Nearest councils": ["–"]})
    text = u["detail"].str.extract(r"^'(.*)' is not a current council")[0]
    sugg = u["detail"].str.extract(r"nearest: (.*)$")[0].fillna("–")
    g = pd.DataFrame({"name": text, "sugg": sugg, "file": u["file_name"]}).groupby(["name", "sugg"], dropna=False)
    t = g.size().reset_index(name="rows")
    return pd.DataFrame({"Name as given": t["name"], "Rows": t["rows"].map(number), "Nearest councils": t["sugg"]})
