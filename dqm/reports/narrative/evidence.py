"""Words of the evidence review: verdicts, their reasons and the checks behind them.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

import pandas as pd

from ...markup import Markup, breakable, bullets, escape, html, paragraph, scroll_region  # noqa: F401  (escape: the one escaping path)
from .words import (
    estimate_interval,
    figure_words,
    interval_words,
    list_words,
    long_date,
    number,
    p_text,
    percent,
    period_text,
    plural,
)

# ---------------------------------------------------------------- claims (evidence review)
VERDICT_WORDS = {
    "supported": "The evidence is consistent with the claim",
    "contradicted": "The evidence points the other way",
    "no meaningful effect": "Any relation is too small to matter",
    "inconclusive": "The evidence cannot settle the claim",
    "untestable": "The claim cannot be tested with open data yet",
}


EXPOSURE_WORDS = {"overall": "overall digital level"}
MODEL_LEVEL = "as the measurement model estimates it"


def exposure_words(claim, model) -> str:
    """The exposure of an association claim as the engine uses it: the measurement model's level of each council
    (:func:`dqm.claims.run.evaluate_claims`), never the councils' own self-assessed levels."""
    what = EXPOSURE_WORDS.get(claim.exposure) or f"level on {model.dimension_name(claim.exposure)}"
    return f"{what} ({MODEL_LEVEL})"


def exposure_description(row) -> str:
    """How digital level was measured for one claim, with what the measurement model assumed: the calibration's
    own words (``exposure_scale``) and its notes (``measurement_notes``, with the sentence on how far the effect may
    be overstated when a self-rating bias was assumed). '' for a claim with no calibrated exposure."""
    scale = str(row.get("exposure_scale") or "").strip()
    if not scale:
        return ""
    notes = str(row.get("measurement_notes") or "").strip()
    assumed = (f"What the model assumed: {notes}" if notes else
               "What the model assumed: nothing it could not estimate from these data, so no overstatement from an "
               "assumed spread of self-rating bias applies.")
    return ("Digital level is each council's level estimated by the measurement model from its respondents' answers "
            f"(self-assessments, and peer and independent assessments where there are any, which put it on the scale of "
            f"independent assessment), not the council's own self-assessed level: the effect is {scale}. "
            + assumed)


def controls_words(controls) -> str:
    from ...claims.frame import CONTROL_WORDS

    return list_words([CONTROL_WORDS[c] for c in controls]) if controls else "nothing"


def _reason_sentence(row, claim) -> str:
    """Why the verdict was reached, from the rule's reason code, with the numbers that decided it."""
    from ...claims.engine import REASONS

    code = row.get("reason_code") or ""
    why = REASONS.get(code, "")
    p_adj = "Holm-adjusted " + p_text(row["p_adjusted"]).replace("p ", "p ", 1)
    share = (f"{percent(row['spec_curve_share'])} of the {number(row['specifications_counted'])} specifications that "
             f"keep the claim's controls")
    # the estimate is what the rule compares with the SESOI: printed so that it never reads as the SESOI it is not
    est, sesoi = figure_words(abs(row["estimate"]), 2, (claim.sesoi,)), number(claim.sesoi, 2)
    detail = {
        "supported": f"{p_adj}; estimate {est} against a smallest effect of interest of {sesoi}; {share} agree",
        "contradicted": f"{p_adj}; estimate {est} against a smallest effect of interest of {sesoi}; "
                        f"{percent(row['spec_share_against'])} of the counted specifications agree with the opposite direction",
        "equivalent": f"the {_level(row['eq_level'])} interval, {number(row['eq_ci_low'], 2)} to "
                      f"{number(row['eq_ci_high'], 2)}, lies inside plus or minus {sesoi}",
        "in_direction_small": f"{p_adj}; estimate {est}, below {sesoi}",
        "in_direction_specs": f"{p_adj}; only {share} agree, and the rule needs at least half with a joint test below 0.05",
        "against_small": f"{p_adj}; estimate {est}, below {sesoi}",
        "against_specs": f"{p_adj}; too few counted specifications agree with the opposite direction",
        "not_rejected": f"{p_adj}; the {_level(row['eq_level'])} equivalence interval, {number(row['eq_ci_low'], 2)} "
                        f"to {number(row['eq_ci_high'], 2)}, is not inside plus or minus {sesoi}",
        "none_supported": f"the {_level(row['eq_level'])} interval, {number(row['eq_ci_low'], 2)} to "
                          f"{number(row['eq_ci_high'], 2)}, lies inside plus or minus {sesoi}; {share} are equivalent too",
        "none_contradicted": f"{p_adj}; estimate {est} against {sesoi}",
        "none_equivalent_specs": f"only {share} are equivalent",
        "none_rejected_small": f"{p_adj}; estimate {est}, below {sesoi}",
        "none_rejected_specs": f"{p_adj}; too few counted specifications agree",
        "none_not_rejected": f"{p_adj}; the {_level(row['eq_level'])} equivalence interval, "
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
    return [plain_verdict(row, model, measure_name), *_result_sentences(row, claim, model, measure_name)]


def _result_sentences(row, claim, model, measure_name: str) -> list[str]:
    """The figures behind a tested claim's verdict and the reason the rule gave it (never causal)."""
    v = row["verdict"]
    reason = _reason_sentence(row, claim)
    if claim.kind == "assessment_agreement":
        return [
            f"In {number(row['n'])} councils assessed both ways in {row['period']}, self-assessed overall levels were "
            f"on average {number(abs(row['estimate']), 2)} levels {'higher' if row['estimate'] > 0 else 'lower'} than "
            f"independent ones (95% confidence interval {interval_words(row['ci_low'], row['ci_high'], 2, lines=(claim.sesoi, -claim.sesoi))}; "
            f"the claim allows a difference of up to {number(claim.sesoi, 2)} levels).",
            f"{VERDICT_WORDS[v]}: verdict “{v}”, because {reason}.",
            *_sesoi_not_cleared(row, claim),
        ]
    more_less = "higher" if row["estimate"] > 0 else "lower"
    includes_zero = row["ci_low"] <= 0 <= row["ci_high"]
    if row.get("effect_measure") in ("odds ratio", "rate ratio"):  # a logistic or count model (dqm.claims.engine.glm_estimate)
        return [ratio_sentence(row, claim, model, measure_name), f"{VERDICT_WORDS[v]}: verdict “{v}”, because {reason}.",
                *_sesoi_not_cleared(row, claim)]
    m = int(row.get("family_size") or 1)
    simul = (f"; simultaneous 95% interval over the {number(m)} claims of its family (Bonferroni), "
             f"{number(row['simul_ci_low'], 2)} to {number(row['simul_ci_high'], 2)}" if m > 1 else "")
    s = [
        f"Across {number(row['n'])} councils, after allowing for {controls_words(claim.controls)}, a council "
        f"{_one_sd(row)} higher on {exposure_words(claim, model)} had, on average, {measure_name[:1].lower() + measure_name[1:]} "
        f"({row['period']}) {number(abs(row['estimate']), 2)} standard deviations of the outcome {more_less} "
        f"(95% confidence interval {interval_words(row['ci_low'], row['ci_high'], 2, lines=(0.0,))}"
        + (", which includes no difference" if includes_zero else
           ", which excludes no difference; the verdict uses the wider interval that allows for the other claims "
           "tested with it" if m > 1 else ", which excludes no difference")
        + f"{simul}).",
        f"{VERDICT_WORDS[v]}: verdict “{v}”, because {reason}.",
        *_sesoi_not_cleared(row, claim),
    ]
    if v == "supported" and claim.direction != "none":
        s.append("This is an association between councils, not evidence that digital quality caused it.")
    if v == "inconclusive" and row.get("reason_code") in ("not_rejected", "none_not_rejected") and row["mde"] == row["mde"]:
        s.append(f"With {number(row['n'])} councils, the rule would reach a decisive verdict 80% of the time only for "
                 f"effects of about {number(row['mde'], 2)} or larger, against a smallest effect of interest of "
                 f"{number(claim.sesoi, 2)}.")
    return s


def _one_sd(row) -> str:
    """'one standard deviation (0.57 levels of the true spread between councils)': the step the effect is per."""
    sd = row.get("exposure_sd_true")
    if sd is None or sd != sd:
        return "one standard deviation"
    return f"one standard deviation of the true spread between councils ({number(sd, 2)} levels)"


def _sesoi_not_cleared(row, claim) -> list[str]:
    """Where a verdict that a relation that matters exists ('supported' for a directional claim, 'contradicted')
    rests on an estimate at least the SESOI whose interval still reaches inside it, the sentence that says so and
    why the rule allows it: the rule is the same for every claim (Holm's test rules out no relation; the estimate,
    not its whole interval, reaches the SESOI), and only 'no meaningful effect' asks for a whole interval.
    Empty otherwise."""
    v, sesoi = row["verdict"], float(claim.sesoi)
    meaningful = v == "contradicted" or (v == "supported" and claim.direction != "none")
    if not meaningful:
        return []
    lo, hi = (float(row.get(k, float("nan"))) for k in ("adj_ci_low", "adj_ci_high"))
    if lo != lo or hi != hi:
        lo, hi = float(row["ci_low"]), float(row["ci_high"])
    near = lo if row["estimate"] > 0 else hi
    if abs(near) >= sesoi and (near > 0) == (row["estimate"] > 0):
        return []
    unit = " levels" if claim.kind == "assessment_agreement" else ""
    return [f"The interval the rule used ({_level_words(row)}) reaches {figure_words(abs(near), 2, (sesoi,))}{unit}, "
            f"inside the {number(sesoi, 2)}{unit} the claim treats as too small to matter, so a difference of that size "
            "or a little less is not ruled out. The rule decides this as it decides every claim that a relation that "
            "matters exists: Holm's test must rule out no relation, and the estimate itself, not every value in its "
            "interval, must reach the smallest effect of interest, with the specifications agreeing. Only 'no "
            "meaningful effect' asks for the whole interval inside that line. So the verdict says the difference is "
            "most likely larger than the claim allows, not that every difference within the allowance is excluded."]


def _level_words(row) -> str:
    """The interval a verdict rests on, named: '98.75%, allowing for the 4 claims tested with it (Holm)' or '95%'."""
    level, m = row.get("adj_level"), int(row.get("family_size") or 1)
    if level is None or level != level or m <= 1:
        return "95%"
    return f"{_level(level)}, allowing for the {number(m)} claims tested with it by Holm's method"


def _level(level: float) -> str:
    """A confidence level with no needless places: 0.95 -> '95%', 0.975 -> '97.5%', 0.9875 -> '98.75%'."""
    if level is None or level != level:
        return "not available"
    text = f"{100 * float(level):.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def ratio_sentence(row, claim, model, measure_name: str) -> str:
    """The result of a logistic (odds ratio) or count (rate ratio) claim, per standard deviation of digital level."""
    what = "the odds of" if row["effect_measure"] == "odds ratio" else "the expected"
    ratio, lo, hi = row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"]
    return (f"Across {number(row['n'])} councils ({number(row['events'])} of them with the outcome), after allowing for "
            f"{controls_words(claim.controls)}, a council {_one_sd(row)} higher on {exposure_words(claim, model)} "
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
        measured = exposure_description(row)
        out.append(measured or "Digital levels are councils' own self-assessments, not verified measurements.")
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


# ---------------------------------------------------------------- claims as associations, verdicts with their limits
@lru_cache(maxsize=4)
def _wording(path: str) -> dict:
    from ...yamlio import load_yaml

    raw = load_yaml(path, what="claim wording file") or {}
    words = [str(w).lower() for w in raw.get("causal_words") or []]
    flat = lambda v: {str(k): flat(x) for k, x in v.items()} if isinstance(v, dict) else " ".join(str(v).split())
    return {"causal_words": tuple(words), "association": {str(k): " ".join(str(v).split())
                                                         for k, v in (raw.get("association") or {}).items()},
            "plain": flat(raw.get("plain") or {}), "verdict_rule": [flat(x) for x in raw.get("verdict_rule") or []]}


def claim_wording() -> dict:
    """data/claim_wording.yaml: the causal words, each bundled claim restated as the association tested, each
    verdict in plain words and the verdict rule in short."""
    from ...paths import data_dir

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
    x += " (as the measurement model estimates them)"
    outcome = _field(claim, "outcome")
    if measures is not None and outcome in getattr(measures, "index", []):
        y = str(measures.loc[outcome, "name"])
    else:
        y = str(outcome or "the outcome").replace("_", " ")
    y = y[:1].lower() + y[1:]
    direction = _field(claim, "direction")
    if direction == "none":
        return f"{x[:1].upper() + x[1:]} have no association of a size that matters with {y}."
    more = "higher" if direction == "positive" else "lower"
    return f"Councils with higher {x} have {more} values of {y}."


# ---------------------------------------------------------------- verdicts in plain words
def _end_words(x: float, sesoi: float) -> str:
    """Where one end of an interval lies, in words: a small or sizeable fall or rise (small: inside the SESOI)."""
    ends = claim_wording()["plain"]["ends"]
    size = "small" if abs(x) < sesoi else "sizeable"
    return ends[f"{size}_{'up' if x >= 0 else 'down'}"]


def plain_verdict(row, model=None, measure_name: str | None = None) -> str:
    """The verdict in one sentence a councillor understands (data/claim_wording.yaml, ``plain``), from the verdict
    and the estimate with its 95% interval: 'We can't tell: for councils with higher digital levels, the data fit
    anything from a small fall to a small rise in central services expenditure per resident.'

    ``row``: a results-table row; ``measure_name``: the outcome's name (else the outcome id in words)."""
    w = claim_wording()["plain"]
    v = str(row["verdict"])
    if v == "untestable":
        reason = str(row.get("reason") or "").strip()
        if row.get("settle_with") or not reason:
            return w["untestable"]
        outcome = str(row.get("outcome") or "")
        if measure_name and outcome and outcome in reason:  # the measure's name, never its raw id
            reason = reason.replace(outcome, measure_name[:1].lower() + measure_name[1:] if measure_name[1:2].islower()
                                    else measure_name)
        reason = period_text(reason) if re.search(r"\d-\d", reason) else reason
        reason = reason if reason.endswith((".", "!", "?")) else reason + "."
        return w["untestable_other"].format(reason=reason[:1].lower() + reason[1:] if reason[1:2].islower() else reason)
    est, lo, hi, sesoi = (float(row[k]) for k in ("estimate", "ci_low", "ci_high", "sesoi"))
    adj_lo, adj_hi = (float(row.get(k, float("nan"))) for k in ("adj_ci_low", "adj_ci_high"))
    if adj_lo == adj_lo and adj_hi == adj_hi:  # the verdict rests on the multiplicity-adjusted interval: say that one
        lo, hi = adj_lo, adj_hi
    if row.get("kind") == "assessment_agreement":
        a = w["agreement"]
        key = v if v in a else "inconclusive"
        low, high = interval_words(lo, hi, 2, lines=(sesoi, -sesoi)).split(" to ")  # no end passes for the SESOI
        return a[key].format(gap=figure_words(abs(est), 2, (sesoi,)), allowed=number(sesoi, 2), low=low, high=high,
                             direction="higher" if est > 0 else "lower", interval=named_interval(row))
    exposure = str(row.get("exposure") or "overall")
    exposure = ("digital levels" if exposure == "overall" or model is None
                else f"levels on {model.dimension_name(exposure)}")
    outcome = str(measure_name or str(row.get("outcome") or "the outcome").replace("_", " "))
    outcome = outcome[:1].lower() + outcome[1:] if outcome[1:2].islower() else outcome  # 'GOV.UK Pay …' stays
    if row.get("effect_measure") == "odds ratio":
        outcome = f"the odds of {outcome}"
    key = v + ("_none" if row.get("direction") == "none" and v in ("supported", "contradicted") else "")
    return w.get(key, w["inconclusive"]).format(
        exposure=exposure, outcome=outcome, direction="higher" if est > 0 else "lower",
        low=_end_words(lo, sesoi), high=_end_words(hi, sesoi), interval=named_interval(row))


def named_interval(row) -> str:
    """The interval a plain verdict rests on, named and with its unit, so that it never reads as the 95% interval
    printed beside it: '98.75% interval allowing for the 4 claims tested with it (Holm): -0.28 to 0.03 standard
    deviations of the outcome'; a ratio claim's as the ratio ('odds ratio 0.52 to 1.45'); the assessment claim's in
    levels. The wording is data/claim_wording.yaml's ``plain.interval``."""
    w = claim_wording()["plain"]
    lo, hi = (float(row.get(k, float("nan"))) for k in ("adj_ci_low", "adj_ci_high"))
    if lo != lo or hi != hi:
        lo, hi = float(row["ci_low"]), float(row["ci_high"])
    sesoi = float(row["sesoi"])
    measure = row.get("effect_measure")
    if measure in ("odds ratio", "rate ratio"):
        ends = f"{measure} {interval_words(math.exp(lo), math.exp(hi), 2, lines=(1.0, math.exp(sesoi), math.exp(-sesoi)))}"
    elif row.get("kind") == "assessment_agreement":
        ends = f"{interval_words(lo, hi, 2, lines=(0.0, sesoi, -sesoi))} levels"
    else:  # no end may pass for no relation or for the SESOI that it is not
        ends = f"{interval_words(lo, hi, 2, lines=(0.0, sesoi, -sesoi))} standard deviations of the outcome"
    m = int(row.get("family_size") or 1)
    level = row.get("adj_level")
    level = _level(level) if level is not None and level == level and m > 1 else "95%"
    allowing = w["interval_allowing"].format(m=number(m)) if m > 1 else ""
    return w["interval"].format(level=level, allowing=allowing, ends=ends)


def _measure_name(row, measures) -> str | None:
    """The outcome measure's name from the measures table (indexed by id), or None."""
    outcome = row.get("outcome")
    if measures is not None and outcome in getattr(measures, "index", []):
        return str(measures.loc[outcome, "name"])
    return None


def verdict_rule() -> Markup:
    """The verdict rule as a short list (data/claim_wording.yaml), with the rule in full behind it
    (:data:`dqm.claims.engine.VERDICT_RULE`, one paragraph per part: a part starts 'Lead: Capital')."""
    from ...claims.engine import VERDICT_RULE

    parts = re.split(r"(?<=\. )(?=[A-Z][^.:()]{0,40}: [A-Z])", VERDICT_RULE)
    detail = Markup("").join(
        paragraph(p.split(": ", 1)[1], lead=p.split(": ", 1)[0] + ".") if i else paragraph(p)
        for i, p in enumerate(x.strip() for x in parts))
    return (bullets(claim_wording()["verdict_rule"])
            + Markup('<details class="dqm-rule"><summary>The rule in full</summary>') + detail + Markup("</details>"))


TIMING_WORDS = {"before": "outcome before assessment", "same year": "outcome and assessment in the same year",
                "after": "outcome after assessment"}


def timing_words(row) -> str:
    """'2017-18 outcomes, 2026 assessments: outcome before assessment' (empty when the period is unknown)."""
    timing = row.get("timing") or ""
    if not timing:
        return ""
    return f"{period_text(row['period'])} outcomes, {row['wave']} assessments: {TIMING_WORDS[timing]}"


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
        parts.append(f"self-assessed against independent levels of the same councils, {period_text(row.get('period'))}")
    if timing_words(row):
        parts.append(timing_words(row))
    if row.get("direction") != "none" and out_of_reach(row):
        parts.append(reach_words(row))
    if row.get("superseded_by"):
        parts.append(f"superseded by {row['superseded_by']}")
    return ". ".join(p[:1].upper() + p[1:] for p in parts) + "."


def claim_group(row, layers: dict | None = None) -> str:
    """'registered' for a claim of the registry (data/claims.yaml, each fixed in a commit; an exploratory one is
    marked as such where it is shown), 'user' for a claim the user added (``layers``: claim id -> layer)."""
    return "user" if (layers or {}).get(row["id"], "bundled") == "user" else "registered"


GROUP_CAPTIONS = {"registered": "Verdicts on the registered claims",
                  "user": "Verdicts on the claims added by the user (exploratory: not in the registry)"}


def estimate_cell(r) -> str:
    """A claim's estimate with its 95% interval for the verdict table ('–' when untestable). A claim that
    self-assessments agree with independent ones is judged against its SESOI in levels, so no figure may print as
    the SESOI it is not ('0.340 (0.247 to 0.440)' against 0.25, not '0.34 (0.25 to 0.44)')."""
    if r["verdict"] == "untestable":
        return "–"
    if r.get("kind") == "assessment_agreement":
        return estimate_interval(r["estimate"], r["ci_low"], r["ci_high"], 2, lines=(r["sesoi"], -r["sesoi"]))
    # the tests ask whether an association excludes no relation: no end may print as 0 that is not ('-0.001')
    return estimate_interval(r["estimate"], r["ci_low"], r["ci_high"], 2, lines=(0.0,))


def effect_cell(r) -> str:
    """The verdict table's effect with its unit, since one column holds effects on different scales: 'standard
    deviations of the outcome' per standard deviation of digital level, 'levels' for the assessment claim, and a
    ratio claim as its odds or rate ratio ('odds ratio 0.86 (0.55 to 1.36)'), never as a bare log ratio."""
    if r["verdict"] == "untestable":
        return "–"
    measure = r.get("effect_measure")
    if measure in ("odds ratio", "rate ratio"):
        e = lambda k: math.exp(float(r[k]))
        return f"{measure} {estimate_interval(e('estimate'), e('ci_low'), e('ci_high'), 2)}"
    unit = "levels" if r.get("kind") == "assessment_agreement" else "standard deviations"
    return f"{estimate_cell(r)} {unit}"


def verdict_table(table: "pd.DataFrame", link: str = "", model=None, measures=None) -> "pd.DataFrame":
    """One row per claim: the association tested, who makes it, the verdict in plain words with its limits, the
    estimate with its interval, councils. Links to the review. The registered words are in each claim's section
    of the review. :func:`verdict_tables` gives registered and exploratory claims apart."""
    def claim(r):
        s = association_statement(r, model, measures)
        if r["exploratory"]:
            s += " (exploratory)"
        if r.get("superseded_by"):
            s += f" (superseded by {r['superseded_by']}: {r.get('superseded_because') or 'see the review'})"
        if r.get("supersedes"):
            s += f" (re-registered in place of {r['supersedes']}: {r.get('supersedes_because')})"
        return s

    def verdict(r):  # the plain sentence, then the verdict with its limits (an untestable one has none to add)
        cell = "untestable." if r["verdict"] == "untestable" else verdict_cell(r)
        return f"{plain_verdict(r, model, _measure_name(r, measures))} {cell[:1].upper() + cell[1:]}"

    return pd.DataFrame({
        "Association tested": [claim(r) for _, r in table.iterrows()],
        "Who makes it": table["side"].map(lambda s: s[:1].upper() + s[1:] if s else ""),
        "Verdict": [verdict(r) for _, r in table.iterrows()],
        "Effect (95% interval)": [effect_cell(r) for _, r in table.iterrows()],
        "Councils": [number(n) if v != "untestable" else "–" for n, v in zip(table["n"], table["verdict"])],
        "Details": [f"{link}#claim-{i}" for i in table["id"]],
    })


def verdict_tables(table: "pd.DataFrame", claims=(), link: str = "", model=None, measures=None) -> list:
    """The verdict table in two parts, never mixed: the registered claims, then (when there are any) the claims
    the user added. A list of (table, caption) pairs. ``claims``: the claims tested (their layer tells a user's
    claim)."""
    layers = {c.id: c.layer for c in claims}
    groups = [claim_group(r, layers) for _, r in table.iterrows()]
    out = []
    for g in ("registered", "user"):
        part = table[[x == g for x in groups]]
        if len(part):
            out.append((verdict_table(part, link, model, measures), GROUP_CAPTIONS[g]))
    return out


def verdict_counts(table: "pd.DataFrame", claims=(), registration: dict | None = None) -> str:
    """How many claims reached each verdict: the registered claims and the exploratory ones counted apart, with
    what cannot be reached at this number of councils and what is superseded. ``registration``
    (:func:`registration`): when the claims were fixed, so that the count says exactly how many were fixed after
    the data they are tested on were given, and which were re-registered in place of claims tested on them."""
    layers = {c.id: c.layer for c in claims}
    groups = pd.Series([claim_group(r, layers) for _, r in table.iterrows()], index=table.index, dtype=object)
    s = ""
    for g, what, many in (("registered", "registered claim", "registered claims"),
                          ("user", "claim added by the user", "claims added by the user")):
        part = table[groups == g]
        if not len(part):
            continue
        c = part["verdict"].value_counts()
        n_exp = int(part["exploratory"].astype(bool).sum())
        note = (_registered_note(part, n_exp, registration) if g == "registered" else
                " (exploratory, in multiple-testing families of their own)")
        s += (" " if s else "") + (f"Of {plural(len(part), what, many)}{note}: "
                                   f"{list_words([f'{number(v)} {k}' for k, v in c.items()])}.")
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
    return s + earlier_outcomes_sentence(table)


def _registered_note(part: "pd.DataFrame", n_exp: int, registration: dict | None) -> str:
    """The registered claims' note in the verdict counts: how many are registered as exploratory, and, from the
    registration table, exactly how many were fixed after the wave's assessments were given and which are
    re-registrations made after the claims they replace (tested on the same data): post hoc, said as such.
    '' when there is nothing to say."""
    bits = [f"{number(n_exp)} of them registered as exploratory"] if n_exp else []
    t = (registration or {}).get("table")
    last = ((registration or {}).get("dates") or {}).get("last")
    if t is not None and len(t):
        t = t[t["claim_id"].isin(set(part["id"])) & (t["commit_date"].fillna("") != "")]
        if last is not None and len(t):
            after = int((t["commit_date"] > last.isoformat()).sum())
            if after:
                every = "all " if after == len(part) else ""
                bits.append(f"{every}{number(after)} fixed after the {registration['dates']['wave']} self-assessments "
                            "they are tested on were given")
        re_reg = part[part.get("supersedes", pd.Series("", index=part.index)).fillna("") != ""]
        if len(re_reg):
            days = sorted(set(t.loc[t["claim_id"].isin(set(re_reg["id"])), "commit_date"]))
            when = f" on {list_words(long_date(d) for d in days)}" if days else ""
            bits.append(f"{number(len(re_reg))} re-registered{when} in place of claims registered earlier and tested "
                        "on the same data: post hoc, chosen when the results of the claims they replace could be seen")
    return f" ({'; '.join(bits)})" if bits else ""


def earlier_outcomes_sentence(table: "pd.DataFrame") -> str:
    """The tested claims whose outcome was measured before the assessment, counted apart: their verdicts describe
    how the councils' earlier circumstances line up with their digital level now, and cannot show a consequence of
    it (empty when there are none)."""
    if "timing" not in table:
        return ""
    t = table[(table["verdict"] != "untestable") & (table["timing"].fillna("") == "before")]
    if not len(t):
        return ""
    tested = int((table["verdict"] != "untestable").sum())
    periods = list_words(sorted({period_text(p) for p in t["period"]}))
    verdicts = list_words([f"{number(v)} {k}" for k, v in t["verdict"].value_counts().items()])
    return (f" {number(len(t))} of the {number(tested)} verdicts reached ({verdicts}) rest on outcomes measured "
            f"before the assessment ({periods}, against {list_words(sorted({str(w) for w in t['wave']}))} "
            "assessments). They say whether councils that are more digital now had different outcomes then; "
            "they cannot show a consequence of digital, and they are counted as tests of the claim only in that sense.")


def sensitivity_sentence(row, claim=None, model=None, checks=None) -> str:
    """What an unmeasured confounder would have to be to change the result (Cinelli and Hazlett 2020); with the
    engine's checks (``checks``), read beside its known limit for a control measured with error."""
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
        s += mismeasured_control_sentence(checks)
    else:
        s += "The claim does not control for deprivation, so no benchmark bound is given."
    return s


def _limit_row(checks, ends: str):
    """The honest engine's known-limit check on a mismeasured deprivation control whose name ends with ``ends``."""
    if checks is None or not len(checks):
        return None
    h = checks[(checks["engine"] == "honest") & (checks["rule"] == "known limit")
               & checks["check"].str.contains("deprivation measured at reliability")
               & checks["check"].str.contains(ends, regex=False)]
    return h.iloc[0] if len(h) else None


def mismeasured_control_sentence(checks) -> str:
    """The benchmark bound read beside the engine's own known limit: it assumes deprivation is measured without
    error, and the engine's check (``checks``: :func:`dqm.reports.sections.engine_checks`) shows what a control
    measured with error does with no true effect at all (empty without the check)."""
    mean0, fp = _limit_row(checks, "mean estimate"), _limit_row(checks, "false-positive rate")
    if mean0 is None:
        return ""
    where = re.search(r"reliability ([0-9.]+)", mean0["check"])
    sesoi = re.search(r"SESOI is ([0-9.]+)", mean0["check"])
    s = (" Read this beside the engine's own known limit: the bound treats deprivation as measured without error. "
         f"In the engine's checks ({number(int(mean0['replications']))} simulated replications), with deprivation "
         f"measured at reliability {where.group(1) if where else 'below 1'} and no true effect at all, the estimate "
         f"averaged {number(mean0['value'], 2)} (Monte Carlo s.e. {number(mean0['mc_se'], 2)})")
    if sesoi:
        s += f", against a smallest effect of interest of {sesoi.group(1)}"
    if fp is not None:
        s += f", and {percent(fp['value'], 1)} of tests found an effect where 5% should"
    return s + ". An estimate of that size can come from a control measured with error alone."


def chance_check_sentence(checks, claim=None) -> str:
    """Whether the engine's own check of the printed verdict chances passed, said beside each claim's table of
    chances: where it failed, by how much and in which direction (empty without the check or when it passed).
    The check is of a directional claim's 'supported'; for ``claim`` of no meaningful effect (where 'supported'
    means equivalence) it is said as a check made on another kind of claim, not as a reading of this table."""
    if checks is None or not len(checks):
        return ""
    h = checks[(checks["engine"] == "honest") & checks["check"].str.startswith("printed chance of")]
    failed = h[~h["passed"].astype(bool)]
    if not len(failed):
        return ""
    parts = []
    for _, r in failed.iterrows():
        effect = re.search(r"true effect of ([0-9.]+)", r["check"])
        verdict = re.search(r"chance of '([^']+)'", r["check"])
        parts.append(f"at a true effect of {effect.group(1) if effect else 'the one tested'} it printed a "
                     f"{percent(r['target'])} chance of '{verdict.group(1) if verdict else 'the verdict'}' against "
                     f"{percent(r['value'])} observed in {number(int(r['replications']))} simulated replications "
                     f"(further apart than two Monte Carlo standard errors, {number(100 * r['tolerance'], 1)} "
                     "percentage points)")
    high = (failed["target"] > failed["value"]).all()
    if claim is not None and getattr(claim, "direction", "") == "none":
        return ("The engine's own check of printed chances was made for a claim that predicts a direction, not for "
                "one like this, whose 'supported' means equivalence; there it failed: " + list_words(parts) + ". "
                "This table's chances have not been checked in that way: read them as approximate.")
    return ("The engine's own check of these chances failed where it was tested: " + list_words(parts) + ". "
            + ("Read the chances in this table as optimistic." if high else
               "Read the chances in this table as approximate."))


FOREST_SCALES = {"odds ratio": "log odds ratio", "rate ratio": "log rate ratio"}


def forest_rows(table: "pd.DataFrame") -> "pd.DataFrame":
    """Rows for the forest plot; the wider bar is the Bonferroni simultaneous 95% interval within each family.
    Each label names its scale, since the chart mixes them: standard deviations of the outcome ('SD'), or the log
    odds or log rate ratio of a logistic or count claim; all per standard deviation of digital level."""
    t = table[(table["verdict"] != "untestable") & (table["outcome"] != "independent_assessment")]
    scale = t.get("effect_measure", pd.Series("", index=t.index)).map(lambda m: FOREST_SCALES.get(m, "SD"))
    t = t.assign(label=t["id"] + " (" + scale + ")", adj_ci_low=t["simul_ci_low"], adj_ci_high=t["simul_ci_high"])
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
            ("Exposure", exposure_words(claim, model) + ("; see the caveats for what the model assumed"
                                                         if claim.kind == "association" and claim.testable else "")
             if claim.kind == "association" else "councils' self-assessed overall levels against independent ones"),
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
    body = Markup("").join(html('<tr><th scope="row">{}</th><td>', k) + breakable(v) + Markup("</td></tr>")
                           for k, v in rows)
    caption = f"How claim {claim.id} is tested"
    return (html('<h3 id="claim-{}">{}</h3>', claim.id, claim.id)
            + scroll_region(caption, html('<table class="dqm-table"><caption>{}</caption>', caption) + body
                            + Markup("</table>")))


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
        (f"Equivalence interval ({_level(row['eq_level'])}, family-wise TOST)",
         f"{number(row['eq_ci_low'], 3)} to {number(row['eq_ci_high'], 3)}"),
        ("Equivalent within the smallest effect of interest (family-wise)", "yes" if row["equivalent"] else "no"),
        ("Minimum detectable effect under the verdict rule (80% chance of a decisive verdict)", number(row["mde"], 3)),
        ("Spearman's rank correlation, unadjusted (BCa 95% interval)",
         f"{number(row['spearman'], 2)} ({number(row['spearman_low'], 2)} to {number(row['spearman_high'], 2)})"),
        ("Distinct specifications; counted (keep the claim's controls, no outlier rule)",
         f"{number(row['specifications'])}; {number(row['specifications_counted'])}"),
        ("Counted specifications agreeing with the claim", percent(row["spec_curve_share"])),
    ]
    if row.get("exposure_reliability") == row.get("exposure_reliability") and row.get("exposure_reliability") is not None:
        items.append(("Reliability of a council's measured digital level (measurement model, given the controls)",
                      number(row["exposure_reliability"], 2)))
        items.append(("One standard deviation of the true spread between councils (levels)",
                      number(row["exposure_sd_true"], 2)))
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
              f"found here, even an estimate of exactly 0 would leave the {_level(row['eq_level'])} equivalence "
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
    why = t["reason"].where(t["settle_with"] == "", "no open data yet").map(period_text)  # "2026-27" kept whole
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


# ---------------------------------------------------------------- when each claim was fixed (registration)
def registration(claims, submissions: "pd.DataFrame", wave: int) -> dict:
    """What the review says about when the claims were fixed: ``table`` (one row per claim, the commit that first
    held it: :func:`dqm.claims.registration.registration_table`) and ``dates`` (when the wave's self-assessments
    were given: :func:`dqm.claims.registration.wave_dates`)."""
    from ...claims.registration import registration_table, wave_dates

    return {"table": registration_table(claims), "dates": wave_dates(submissions, wave)}


def registration_summary(reg: dict) -> Markup:
    """When the claims were fixed, against when the data they are tested on were given, in plain sentences."""
    from ...claims.registration import registration_sentence

    return paragraph(registration_sentence(reg["table"], reg["dates"]), lead="When the claims were fixed.")


def registration_note(reg: dict | None, claim_id: str) -> str:
    """One claim's registration for its section: its date, the commit that first held it and how that stands
    against the wave's assessments ('' without a registration table or a row for the claim)."""
    from ...claims.registration import claim_registration_note

    if not reg:
        return ""
    t = reg["table"]
    hit = t[t["claim_id"] == claim_id]
    return claim_registration_note(hit.iloc[0], reg["dates"]) if len(hit) else ""


def registration_display(reg: dict) -> "pd.DataFrame":
    """The registration table for the review's methods: claim, registered (its date), commit (the first commit of
    data/claims.yaml that held it, or why there is none) and that commit's date."""
    t = reg["table"]
    status = {"not recorded": "not recorded", "your own claim": "your own claim: not in the registry"}
    return pd.DataFrame({"Claim": t["claim_id"], "Registered": t["registered"],
                         "Commit": [c if c else status.get(s, "–") for c, s in zip(t["commit"], t["status"])],
                         "Committed on": t["commit_date"].replace("", "–")
                         + t["status"].map(lambda s: " (the registry now gives another date)" if s == "date changed" else "")})
