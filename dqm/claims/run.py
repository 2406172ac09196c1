"""Run the whole registry against a store and the outcome data; tidy results for the CLI and the review."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ..model import Model
from ..reference import councils
from ..scoring.latent_exposure import calibrate, exposure_for_claims
from .engine import (
    ClaimResult,
    EngineConfig,
    _z,
    control_columns,
    councils_needed,
    decisive_mde,
    design,
    equivalence_chance_at_zero,
    equivalence_reachable,
    holm_adjust,
    main_estimate,
    spearman_bca,
    spec_summary,
    specification_curve,
    t_interval,
    t_two_sided_p,
    tost,
    transform,
    verdict,
)
from .frame import CONTROL_COLUMNS, LATENT_COLUMN, analysis_frame, exposure_column, exposures, in_population
from .registry import Claim
from .sensitivity import BENCHMARK, SENSITIVITY_COLUMNS, e_value, sensitivity

# the JSON of `dqm claims --json`: the first ten are the original keys, in their original order
RESULT_COLUMNS = ["id", "verdict", "estimate", "ci_low", "ci_high", "p_adjusted", "n", "mde", "spec_curve_share",
                  "exploratory", "period", "timing", "equivalence_reachable", "councils_needed",
                  "councils_needed_reach", "population_councils", "sens_partial_r2", "sens_rv", "sens_rv_alpha",
                  "sens_bound_low_1x", "sens_bound_high_1x", "sens_bound_low_2x", "sens_bound_high_2x",
                  "superseded_by", "supersedes"]
REACH_POWER = 0.80  # "needs about N councils": the number at which, with no relation at all, the verdict would be
# reached with this chance


def outcome_timing(period, wave: int) -> str:
    """Where the outcome's period lies against the assessment wave: 'before', 'same year' or 'after'.

    A financial year "2017-18" ends in 2018; "2026-03" (a month) in 2026; a bare year is that year. An outcome
    that ended before the wave's year was measured before the assessment, so it cannot show a consequence of it.
    """
    text = str(period or "")
    if len(text) < 4 or not text[:4].isdigit():
        return ""
    start = end = int(text[:4])
    tail = text[5:7] if len(text) >= 7 and text[4] == "-" and text[5:7].isdigit() else ""
    if tail and int(tail) == (start + 1) % 100:
        end = start + 1  # a financial year, 2017-18, ends in March 2018
    return "before" if end < wave else "same year" if end == wave else "after"


def _population_councils(claim: Claim, reference: pd.DataFrame) -> int:
    """Principal councils in the claim's population (the most councils any test of it could ever have)."""
    return int(len(in_population(reference, claim.population)))


def _sensitivity(df: pd.DataFrame, claim: Claim, exposure: str, cfg: EngineConfig) -> dict:
    """Cinelli-Hazlett sensitivity of the main specification, benchmarked against deprivation when it is controlled."""
    controls = tuple(claim.controls) if cfg.use_controls else ()
    others = tuple(c for c in controls if c != BENCHMARK)
    X = design(df, exposure, others)
    bench = None
    if BENCHMARK in controls:
        X = np.column_stack([X, _z(df[CONTROL_COLUMNS[BENCHMARK]].to_numpy(float))])
        bench = X.shape[1] - 1
    y = transform(df["outcome"].to_numpy(float), claim.transform, df["type_group"])
    return sensitivity(X, y, bench, alpha=cfg.alpha)


def _agreement_losses(levels: pd.DataFrame, col: str, both: int) -> dict:
    """The join losses of an assessment-agreement claim: councils self-assessed in the wave, and of those the
    ones independently assessed too (the "outcome" of this kind of claim); there are no controls."""
    self_assessed = int(levels.loc[(levels["assessment_type"] == "self") & levels[col].notna(), "council_code"].nunique())
    independent = int(levels.loc[(levels["assessment_type"] == "independent") & levels[col].notna(),
                                 "council_code"].nunique())
    population = int(len(in_population(councils(), None)))
    return {"kind": "assessment_agreement", "population": population, "assessed": self_assessed,
            "outcome_councils": independent, "outcome_not_assessed": independent - both, "missing_by_control": {},
            "with_outcome": both, "with_controls": both, "used": both, "no_assessment": population - self_assessed,
            "no_outcome": self_assessed - both, "missing_control": 0, "no_exposure": 0}


def _assessment_agreement(claim: Claim, council_levels: pd.DataFrame, model: Model, wave: int,
                          cfg: EngineConfig) -> ClaimResult:
    """Self minus independent overall level in councils assessed both ways: mean gap, TOST against SESOI levels."""
    lv = council_levels[council_levels["wave"] == wave]
    col = "overall_mean" if claim.exposure == "overall" else claim.exposure
    both = lv[lv["assessment_type"] == "self"].merge(lv[lv["assessment_type"] == "independent"], on="council_code",
                                                     suffixes=("_self", "_ind")).dropna(subset=[f"{col}_self", f"{col}_ind"])
    r = ClaimResult(claim, "untestable", n=len(both), eq_possible=cfg.equivalence_possible,
                    losses=_agreement_losses(lv, col, len(both)))
    if len(both) < cfg.min_n:
        r.reason = f"only {len(both)} councils have both a self and an independent assessment in {wave}"
        return r
    d = (both[f"{col}_self"] - both[f"{col}_ind"]).to_numpy(float)
    n = len(d)
    r.estimate, r.se, r.dof = float(d.mean()), float(d.std(ddof=1) / np.sqrt(n)), float(n - 1)
    r.p_value = float(t_two_sided_p(r.estimate / r.se, r.dof))
    r.ci_low, r.ci_high = t_interval(r.estimate, r.se, r.dof, 1 - cfg.alpha)
    r.ci90_low, r.ci90_high = t_interval(r.estimate, r.se, r.dof, 1 - 2 * cfg.alpha)
    r.equivalent, r.p_tost = tost(r.estimate, r.se, r.dof, claim.sesoi, cfg.alpha)
    r.spearman, r.spearman_low, r.spearman_high = spearman_bca(both[f"{col}_self"], both[f"{col}_ind"], cfg.n_boot, cfg.seed)
    # a small specification curve: the gap in the overall score and on each dimension, all counted; the
    # joint test and the power calculation use paired resamples of councils with each gap's mean removed
    rows, cols = [], []
    for c in ["overall_mean", *model.dimension_ids]:
        dd = (both[f"{c}_self"] - both[f"{c}_ind"]).to_numpy(float)
        if np.isfinite(dd).sum() < 3:
            continue
        cols.append(dd)
        ok = dd[np.isfinite(dd)]
        se = ok.std(ddof=1) / np.sqrt(len(ok))
        eq, _ = tost(ok.mean(), se, len(ok) - 1, claim.sesoi, cfg.alpha)
        rows.append({"exposure": c, "n": len(ok), "estimate": ok.mean(), "se": se, "dof": len(ok) - 1.0,
                     "p_value": float(t_two_sided_p(ok.mean() / se, len(ok) - 1)), "equivalent": eq,
                     "role": "counted", "main": c == col})
    r.specs = pd.DataFrame(rows)
    null = (None, None, None)
    if cfg.n_null_boot and rows:
        D = np.column_stack(cols)
        D = D - np.nanmean(D, axis=0)
        idx = np.random.default_rng(cfg.seed).integers(0, n, size=(cfg.n_null_boot, n))
        Db = D[idx]  # (B, n, K)
        k = np.isfinite(Db).sum(axis=1)
        nb = np.nanmean(Db, axis=1)
        ns = np.nanstd(Db, axis=1, ddof=1) / np.sqrt(k)
        null = (nb, np.where(ns > 0, ns, np.nan), (k - 1).astype(float))
    summary = spec_summary(r.specs["estimate"], r.specs["se"], r.specs["dof"], *null, sesoi=claim.sesoi, alpha=cfg.alpha)
    summary.update(null=null if null[0] is not None else None, distinct=len(rows),
                   main_index=int(np.flatnonzero(r.specs["main"].to_numpy())[0]))
    r.set_spec_summary(summary, claim.direction)
    r.specs["agrees"] = r.specs["equivalent"]
    r.info = {"measure": "independent assessment", "period": str(wave), "n": n}
    return r


def _null_on_model_scale(r: ClaimResult, summary: dict) -> None:
    """Put the null resamples of a logistic or count claim on its model's scale, for the power and the MDE.

    The specification curve fits linear models to the 0/1 or count outcome; their null resamples are in
    standard deviations of the outcome, the main estimate is a log odds (or rate) ratio. Every resample is
    scaled by the ratio of the main model's standard error to the main linear specification's, which keeps
    each resample's t statistic (so the agreement shares and the joint test are unchanged) and gives the
    chance of each verdict, and the minimum detectable effect, in the units of the claim's SESOI.
    """
    if r.spec_null is None or r.spec_null[0] is None:
        return
    main_se = float(np.asarray(summary["counted_se"])[r.spec_main_index])
    if not (main_se > 0 and r.se > 0):
        return
    k = r.se / main_se
    nb, ns, nd = r.spec_null
    r.spec_null = (nb * k, ns * k, nd)
    r.info["power_scale"] = f"linear specifications' null resamples scaled by {k:.3f} to the {r.effect_measure} scale"


def _latent_exposure(df: pd.DataFrame, claim: Claim, cfg: EngineConfig, latent, info: dict) -> pd.DataFrame:
    """Add the measurement model's calibrated exposure (``LATENT_COLUMN``) to a claim's analysis table.

    Calibrated on the claim's registered controls (the main specification's), so its slope is the effect per
    standard deviation of the true between-council level; what that means and what the model had to assume
    go into ``info`` in words. Councils the model has no level for are dropped and counted.
    """
    name = "overall" if claim.exposure == "overall" else claim.exposure
    controls = tuple(claim.controls) if cfg.use_controls else ()
    ctrl = control_columns(df, controls)
    col, cal = calibrate(latent, df["council_code"], name, np.column_stack(ctrl) if ctrl else None)
    df = df.assign(**{LATENT_COLUMN: col})
    missing = df[LATENT_COLUMN].isna()
    info["dropped_no_exposure"] = info.get("dropped_no_exposure", 0) + int(missing.sum())
    info["exposure_scale"] = cal["scale"]
    info["exposure_sd_true"] = cal["sd_true"]
    info["exposure_reliability"] = cal["reliability"]
    info["measurement_notes"] = latent.assumed_text(cal)
    return df[~missing].reset_index(drop=True)


def evaluate_claims(claims: list[Claim], council_levels: pd.DataFrame, outcomes: pd.DataFrame, model: Model, wave: int,
                    cfg: EngineConfig | None = None, reference: pd.DataFrame | None = None,
                    measurement=None) -> list[ClaimResult]:
    """Test every claim; Holm within families; verdicts. Untestable claims are kept, with their reason.

    The exposure is the council's level from the measurement model (:mod:`dqm.scoring.latent`), corrected for
    measurement error by regression calibration: the effect is per standard deviation of the *true*
    between-council level (each result's ``info["exposure_scale"]`` says so, and
    ``info["measurement_notes"]`` what the model had to assume). ``measurement``: the store's data
    (:class:`dqm.store.StoreData`, whose respondents' answers the model is fitted to, once per content), a
    fitted :class:`~dqm.scoring.latent.LatentFit`, or None: the model is then fitted to ``council_levels``
    (the councils' median answers) and the notes say that respondents' disagreement was assumed.
    """
    cfg = cfg or EngineConfig()
    reference = councils() if reference is None else reference
    exp = exposures(council_levels, model, wave)
    needs_level = any(c.testable and c.kind != "assessment_agreement" for c in claims)
    latent = exposure_for_claims(measurement, council_levels, model, wave) if needs_level and len(exp) else None

    def one(claim: Claim) -> ClaimResult:
        if not claim.testable:
            return ClaimResult(claim, "untestable", reason="no open data measure yet: " + claim.settle_with)
        if claim.kind == "assessment_agreement":
            return _assessment_agreement(claim, council_levels, model, wave, cfg)
        period = claim.period_for(wave)  # a wave-relative period ("year after wave") resolved for this wave
        exposure = "overall_mean" if claim.exposure == "overall" else claim.exposure
        df, info = analysis_frame(exp, outcomes, reference, claim.outcome, period, claim.population, exposure)
        if period != claim.period and info.get("period") is None:
            info["reason"] = f"no outcome data for {claim.outcome} in {period}, the {claim.period} {wave}"
        plug_in = "overall_mean" if claim.exposure == "overall" else claim.exposure
        if not df.empty:
            missing = df[plug_in].isna()
            info["dropped_no_exposure"] = int(missing.sum())
            df = df[~missing].reset_index(drop=True)
        if len(df) >= cfg.min_n:
            df = _latent_exposure(df, claim, cfg, latent, info)
        exposure = exposure_column(df, claim)
        r = ClaimResult(claim, "untestable", n=len(df), info=info, eq_possible=cfg.equivalence_possible,
                        losses=info.pop("losses"))
        if len(df) < cfg.min_n:
            r.reason = info.get("reason") or f"only {len(df)} councils have both the exposure and the outcome"
            return r
        for k, v in main_estimate(df, claim, cfg).items():
            setattr(r, k, v)
        if np.isnan(r.estimate):  # the main model says the data cannot support an effect (see glm_estimate)
            return r
        if getattr(claim, "model", "ols") == "ols":  # the partial-R² formulas are for a linear model's t statistic
            r.info["sensitivity"] = _sensitivity(df, claim, exposure, cfg)
        else:  # a ratio (logistic, count): its E-value
            r.info["sensitivity"] = e_value(r.ratio, r.ratio_ci_low, r.ratio_ci_high, odds_ratio=claim.model == "logistic",
                                            outcome_share=float(np.mean(df["outcome"] > 0)))
        r.spearman, r.spearman_low, r.spearman_high = spearman_bca(df[exposure], df["outcome"], cfg.n_boot, cfg.seed)
        if cfg.spec_curve:
            r.specs, summary = specification_curve(df, claim, cfg)
            r.set_spec_summary(summary, claim.direction)
            if claim.model != "ols":
                _null_on_model_scale(r, summary)
        return r

    # claims are independent; numpy releases the GIL in its matrix work, so two threads use both cores
    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        results = list(pool.map(one, claims))
    holm_adjust(results, cfg.alpha)
    for r in results:
        r.verdict = verdict(r)
        r.info["wave"] = wave
        r.info["population_councils"] = _population_councils(r.claim, reference)
        if r.verdict != "untestable":
            r.mde = decisive_mde(r, cfg.power, cfg.alpha)
            r.info["equivalence_reachable"] = equivalence_reachable(r, cfg.alpha)
            r.info["null_resamples"] = cfg.n_null_boot
            reach = dict(se=r.se, n=r.n, dof=r.dof, sesoi=r.claim.sesoi, family_size=r.family_size, alpha=cfg.alpha)
            r.info["councils_needed_reach"] = councils_needed(**reach)
            r.info["councils_needed"] = councils_needed(**reach, power=REACH_POWER)
            r.info["equivalence_chance_at_zero"] = equivalence_chance_at_zero(r.se, r.dof, r.claim.sesoi, r.family_size,
                                                                              cfg.alpha)
    return results


def _counted(n: int, what: str) -> str:
    return f"{n:,} {what}"


def losses_sentence(result: ClaimResult) -> str:
    """How many councils the claim lost at each step of the join, and why, as sentences for the evidence review.

    '' for a claim that has no open data measure (it was never joined). Only the steps that lost councils
    are named; the numbers add up: population = used + every loss.
    """
    lo = result.losses
    if not lo:
        return ""
    wave = result.info.get("wave")
    in_wave = f" in {wave}" if wave else ""
    if lo.get("kind") == "assessment_agreement":
        why = [f"{lo['no_assessment']:,} had no usable self-assessment{in_wave}"] if lo["no_assessment"] else []
        if lo["no_outcome"]:
            why.append(f"{lo['no_outcome']:,} of those self-assessed had no independent assessment")
    else:
        period = result.info.get("period")
        exposure = "the overall level" if result.claim.exposure == "overall" else \
            f"the dimension {result.claim.exposure.replace('_', ' ')}"
        missing = ", ".join(f"{word} {n:,}" for word, n in lo.get("missing_by_control", {}).items())
        why = [text for n, text in (
            (lo["no_assessment"], f"{lo['no_assessment']:,} had no usable self-assessment{in_wave}"),
            (lo["no_outcome"], f"{lo['no_outcome']:,} had no value of the outcome"
                               + (f" for {period}" if period else " (no outcome data)")),
            (lo["missing_control"], f"{lo['missing_control']:,} lacked a control"
                                    + (f" (councils lacking each: {missing})" if missing else "")),
            (lo["no_exposure"], f"{lo['no_exposure']:,} had no level for {exposure}")) if n]
    text = f"Of the {_counted(lo['population'], 'councils')} in the claim's population, {lo['used']:,} " \
           + ("was" if lo["used"] == 1 else "were") + " used"
    text += (": " + (", ".join(why[:-1]) + " and " + why[-1] if len(why) > 1 else why[0]) + ".") if why else "."
    if lo.get("outcome_not_assessed"):
        what = "an independent assessment" if lo.get("kind") == "assessment_agreement" else "the outcome"
        text += (f" {lo['outcome_councils']:,} councils of the population have {what}; "
                 f"{lo['outcome_not_assessed']:,} of them could not be used because "
                 + ("they had no self-assessment." if lo.get("kind") != "assessment_agreement" else
                    "they had no usable self-assessment."))
    return text


def losses_table(results: list[ClaimResult]) -> pd.DataFrame:
    """One row per claim: the councils kept at each step of the join (population, assessed, with_outcome,
    with_controls, used), the councils lost and why (no_assessment, no_outcome, missing_control, no_exposure,
    missing_by_control as text), the councils with the outcome (outcome_councils, outcome_not_assessed) and
    ``sentence``, the same as the evidence review's wording (:func:`losses_sentence`)."""
    keys = ("population", "assessed", "with_outcome", "with_controls", "used", "no_assessment", "no_outcome",
            "missing_control", "no_exposure", "outcome_councils", "outcome_not_assessed")
    rows = []
    for r in results:
        lo = r.losses
        rows.append({"id": r.claim.id, **{k: lo.get(k, pd.NA) for k in keys},
                     "missing_by_control": "; ".join(f"{w}: {n}" for w, n in lo.get("missing_by_control", {}).items()),
                     "sentence": losses_sentence(r)})
    out = pd.DataFrame(rows)
    for k in keys:
        out[k] = out[k].astype("Int64") if len(out) else out.get(k)
    return out


def results_table(results: list[ClaimResult]) -> pd.DataFrame:
    """One row per claim with every figure a sceptic needs (the JSON of `dqm claims` is the first 10 columns)."""
    rows = []
    for r in results:
        c = r.claim
        sens = r.info.get("sensitivity") or {}
        rows.append({
            "id": c.id, "verdict": r.verdict, "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
            "p_adjusted": r.p_adjusted, "n": r.n, "mde": r.mde, "spec_curve_share": r.spec_curve_share,
            "exploratory": c.exploratory, "statement": c.statement, "source": c.source, "side": c.side,
            "family": c.family, "exposure": c.exposure, "outcome": c.outcome, "direction": c.direction,
            "sesoi": c.sesoi, "period": r.info.get("period"), "p_value": r.p_value,
            "adj_ci_low": r.adj_ci_low, "adj_ci_high": r.adj_ci_high, "adj_level": r.adj_level,
            "ci90_low": r.ci90_low, "ci90_high": r.ci90_high, "equivalent": r.equivalent, "p_tost": r.p_tost,
            "spearman": r.spearman, "spearman_low": r.spearman_low, "spearman_high": r.spearman_high,
            "specifications": r.spec_distinct, "specifications_counted": r.spec_counted,
            "spec_joint_p": r.spec_joint_p, "spec_share_against": (r.spec_share_neg if c.direction == "positive" else
                                                                   r.spec_share_pos if c.direction == "negative" else np.nan),
            "spec_confounding_median": r.spec_confounding_median, "spec_counted_median": r.spec_counted_median,
            "family_size": r.family_size, "simul_ci_low": r.simul_ci_low, "simul_ci_high": r.simul_ci_high,
            "simul_level": r.simul_level, "eq_level": r.eq_level, "eq_ci_low": r.eq_ci_low, "eq_ci_high": r.eq_ci_high,
            "equivalence_reachable": r.info.get("equivalence_reachable", False), "reason_code": r.reason_code,
            "null_resamples": r.info.get("null_resamples", 0), "equivalent_unadjusted": r.info.get("equivalent_unadjusted"),
            "reason": r.reason,
            "settle_with": c.settle_with, "registered": c.registered.isoformat(),
            # a logistic or count claim: the estimate is a log ratio; the ratio per SD of digital level and its 95% CI
            "model": getattr(c, "model", "ols"), "effect_measure": getattr(r, "effect_measure", "standardised effect"),
            "ratio": getattr(r, "ratio", np.nan), "ratio_ci_low": getattr(r, "ratio_ci_low", np.nan),
            "ratio_ci_high": getattr(r, "ratio_ci_high", np.nan), "events": getattr(r, "events", np.nan),
            "superseded_by": ", ".join(getattr(c, "superseded_by", ())),
            "wave": r.info.get("wave"), "timing": outcome_timing(r.info.get("period"), r.info["wave"]) if r.info.get(
                "wave") and c.kind == "association" else "",
            "councils_needed": r.info.get("councils_needed", np.nan),
            "councils_needed_reach": r.info.get("councils_needed_reach", np.nan),
            "equivalence_chance_at_zero": r.info.get("equivalence_chance_at_zero", np.nan),
            "population_councils": r.info.get("population_councils"),
            "supersedes": ", ".join(c.supersedes), "supersedes_because": c.supersedes_why,
            "superseded_because": c.superseded_why,
            "kind": c.kind,
            # the councils lost on the way to n, and why (see losses_table)
            "lost_no_assessment": r.losses.get("no_assessment", np.nan), "lost_no_outcome": r.losses.get("no_outcome", np.nan),
            "lost_missing_control": r.losses.get("missing_control", np.nan),
            "lost_no_exposure": r.losses.get("no_exposure", np.nan), "join_losses": losses_sentence(r),
            # the exposure: per SD of the true between-council level, corrected for measurement error, and what
            # the measurement model had to assume (in words; empty when it estimated everything)
            "exposure_scale": r.info.get("exposure_scale", ""), "exposure_sd_true": r.info.get("exposure_sd_true", np.nan),
            "exposure_reliability": r.info.get("exposure_reliability", np.nan),
            "measurement_notes": r.info.get("measurement_notes", ""),
            **{k: sens.get(k, "" if k in ("sens_benchmark", "sens_evalue_scale") else np.nan) for k in SENSITIVITY_COLUMNS},
        })
    return pd.DataFrame(rows)


def results_json(results: list[ClaimResult]) -> list[dict]:
    def clean(v):
        if isinstance(v, (float, np.floating)):
            return None if not np.isfinite(v) else round(float(v), 6)
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        return v

    tab = results_table(results)
    return [{k: clean(row[k]) for k in RESULT_COLUMNS} for _, row in tab.iterrows()]
