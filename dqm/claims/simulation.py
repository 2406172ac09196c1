"""Proving the engine honest: the real pipeline run on synthetic councils where the truth is known.

**The synthetic councils** have what real data has: confounding (digital level and outcome both
depend on deprivation, population and council type), heavy-tailed errors (Student t with 8 degrees
of freedom) and heteroskedastic noise (the spread of the outcome grows with the distance of the
digital level from its mean, to the power 1.5). The confounders are **not exactly the engine's
controls**: rurality, a milder confounder, reaches the engine measured with error (reliability
``RURALITY_RELIABILITY``), and population also acts on the outcome through a curve (its square) that
the engine's linear control does not model. A little residual confounding therefore remains, as in
real data; it is kept small (rurality's part in both is fixed, so stronger confounding does not grow
it; the mean-estimate check allows ``BIAS_MARGIN``) so that the checks test the
engine's calibration rather than the limits of any regression on mismeasured controls. (Deprivation
measured with reliability 0.95 instead would bias the estimate by about 0.03 standard deviations, 12%
of a planted effect of 0.25, and every estimator that adjusts for it would fail the checks.)

**The truth is defined without the estimator.** A planted standardised effect is the structural
coefficient of digital level on the outcome times the standard deviation of digital level, divided
by the within-type standard deviation of the outcome: population moments of the data-generating
process (computed once from a large sample), never the engine's own estimate.

**The checks** (one row each, with the Monte Carlo standard error of the figure; the tolerance is 2
standard errors):

* main estimate: false-positive rate, interval coverage of the true effect, the mean estimate
  against the truth, confounding mistaken for an effect, equivalence at the SESOI and with no effect,
  Holm's family-wise error and the joint coverage of the simultaneous intervals;
* the **whole verdict pipeline** (main estimate, specification curve with its joint test, Holm over a
  family of two claims, the verdict rule) under a confounded null and with a planted effect: how often
  the specification curve counts as agreeing (target at most 10%), whether its joint test holds its
  level, and how often the verdict says *supported* with no effect;
* scoring: change flags with no true change (5% within 2 standard errors) and rank-interval coverage
  of true ranks (at least 90%).

The same checks run on **deliberately broken engines** (``BROKEN_ENGINES``), each of which must fail
at least one check, to show the checks have teeth.
"""
from __future__ import annotations

import datetime as dt
import functools
import gc
from dataclasses import replace

import numpy as np
import pandas as pd

from .engine import ClaimResult, EngineConfig, holm_adjust, main_estimate, specification_curve, verdict
from .registry import Claim

SETTINGS = {
    # replications of the main-estimate checks, of the whole pipeline, null resamples per specification curve,
    # simulated councils for the change-flag check, replications of the rank-coverage check, and whether the
    # pipeline runs for every engine or only the honest one and those whose fault is in the specification curve
    "fast": {"reps": 200, "pipeline_reps": 30, "null_boot": 40, "change_councils": 300, "rank_reps": 2,
             "pipeline_all": False},
    "slow": {"reps": 2000, "pipeline_reps": 200, "null_boot": 100, "change_councils": 1200, "rank_reps": 20,
             "pipeline_all": True},
}
SESOI_N_FACTOR = 40  # the equivalence checks use 40 times as many councils (6,000), so that equivalence is reachable
RURALITY_RELIABILITY = 0.90
BIAS_MARGIN = 0.10  # the mean estimate may differ from the truth by 10% (residual confounding), or 2 MC s.e.
EFFECT = 0.25
PIPELINE_EFFECT = 0.40
TYPES = ["County council", "District council", "English unitary", "London borough", "Metropolitan borough"]
BASE_CLAIM = Claim(id="simulated", statement="simulated", source="simulation", exposure="overall",
                   outcome="simulated", direction="positive",
                   controls=("council_type", "log_population", "deprivation", "rurality"), sesoi=0.10,
                   family="simulated", registered=dt.date(2026, 11, 22))

BROKEN_ENGINES = {
    "controls dropped": EngineConfig(use_controls=False),
    "classical standard errors": EngineConfig(robust=False),
    "halves every effect": EngineConfig(effect_scale=0.5),
    "equivalence never succeeds": EngineConfig(equivalence_possible=False),
    "specification curve counts unadjusted fits": EngineConfig(count_unadjusted=True),
    "change test uses the mean formula on medians": EngineConfig(change_test="mean"),
}


def _structure(n: int, rng, confound: float, hetero: float):
    code = rng.integers(0, len(TYPES), size=n)
    type_fx = np.array([0.6, -0.5, 0.2, 0.4, 0.1])[code]
    logpop = rng.normal(12, 0.7, n)
    dep = rng.normal(20, 8, n)
    urban = rng.uniform(0, 1, n)
    zdep, zpop = (dep - 20) / 8, (logpop - 12) / 0.7
    zurb = (urban - 0.5) / np.sqrt(1 / 12)
    x = 3 + type_fx + confound * (0.5 * zpop - 0.5 * zdep) + 0.1 * zurb + rng.normal(0, 0.5, n)
    zx = (x - 3.1) / 0.75  # a fixed centring and scale (population values), so the noise does not depend on the sample
    noise = rng.standard_t(8, n) / np.sqrt(8 / 6) * (1 + hetero * np.abs(zx)) ** 1.5
    y0 = 2 * type_fx + confound * (0.6 * zpop - 1.0 * zdep) + 0.2 * zurb + 0.2 * (zpop ** 2 - 1) + 0.8 * noise
    return code, logpop, dep, urban, x, y0


@functools.lru_cache(maxsize=16)
def _moments(confound: float, hetero: float, n: int = 400_000, seed: int = 99) -> tuple:
    """Population moments of the process: sd of x, and the within-type variance of y0, of x and their covariance."""
    code, _, _, _, x, y0 = _structure(n, np.random.default_rng(seed), confound, hetero)
    dx = x - np.bincount(code, x)[code] / np.bincount(code)[code]
    dy = y0 - np.bincount(code, y0)[code] / np.bincount(code)[code]
    return float(x.std()), float((dy ** 2).mean()), float((dx ** 2).mean()), float((dx * dy).mean())


def structural_coefficient(effect: float, confound: float = 1.0, hetero: float = 1.0) -> float:
    """The raw coefficient gamma of x in the outcome that makes the true standardised effect equal ``effect``.

    effect = gamma * sd(x) / sd_within_type(y0 + gamma * x), solved exactly (a quadratic in gamma).
    """
    if effect == 0:
        return 0.0
    sx, a, v, c = _moments(confound, hetero)
    e2 = effect ** 2
    # gamma^2 (sx^2 - e2 v) - 2 e2 c gamma - e2 a = 0
    qa, qb, qc = sx ** 2 - e2 * v, -2 * e2 * c, -e2 * a
    roots = np.roots([qa, qb, qc])
    roots = roots[np.isreal(roots)].real
    return float(roots[np.sign(roots) == np.sign(effect)][0])


def synthetic_councils(n: int, rng, effect: float = 0.0, confound: float = 1.0, hetero: float = 1.0) -> pd.DataFrame:
    """Councils with confounded exposure, heavy-tailed heteroskedastic noise and a true standardised ``effect``.

    The engine sees rurality with measurement error; the outcome also depends on population squared.
    """
    code, logpop, dep, urban, x, y0 = _structure(n, rng, confound, hetero)
    y = y0 + structural_coefficient(effect, confound, hetero) * x
    err_sd = np.sqrt(1 / 12) * np.sqrt(1 / RURALITY_RELIABILITY - 1)
    return pd.DataFrame({"overall_mean": x, "overall_median": x + rng.normal(0, 0.15, n),
                         "overall_geomean": x - 0.05 + rng.normal(0, 0.05, n), "overall_min": x - 1 + rng.normal(0, 0.3, n),
                         "outcome": y, "type_group": pd.Categorical.from_codes(code, TYPES), "log_population": logpop,
                         "deprivation_score": dep, "urban_share": urban + rng.normal(0, err_sd, n),
                         "log_density": logpop - rng.normal(5, 0.8, n), "population": np.exp(logpop)})


def _mc_se(p: float, reps: int) -> float:
    return float(np.sqrt(max(p * (1 - p), 1e-4) / reps))


def _family(est: list[dict], alpha: float) -> list[ClaimResult]:
    fam = []
    for k, d in enumerate(est):
        r = ClaimResult(replace(BASE_CLAIM, id=f"c{k}"), "")
        r.estimate, r.se, r.dof, r.p_value = d["estimate"], d["se"], d["dof"], d["p_value"]
        fam.append(r)
    holm_adjust(fam, alpha)
    return fam


def main_estimate_checks(cfg: EngineConfig, reps: int, n: int, seed: int, alpha: float = 0.05) -> list[tuple]:
    """(check, value, target, rule, mc_se) for the main estimate, on the same data for every engine (the seed)."""
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(["null", "cover", "conf", "power", "sesoi_eq", "zero_eq", "fwer", "simul"], 0)
    ratios = []
    for _ in range(reps):
        d0 = main_estimate(synthetic_councils(n, rng, 0.0), BASE_CLAIM, cfg)
        hits["null"] += d0["p_value"] < alpha
        de = main_estimate(synthetic_councils(n, rng, EFFECT), BASE_CLAIM, cfg)
        hits["cover"] += de["ci_low"] <= EFFECT <= de["ci_high"]
        hits["power"] += (de["p_value"] < alpha) and de["estimate"] > 0
        ratios.append(de["estimate"] / EFFECT)
        dc = main_estimate(synthetic_councils(n, rng, 0.0, confound=2.0), BASE_CLAIM, cfg)
        hits["conf"] += (dc["p_value"] < alpha) and dc["estimate"] > 0
        big = SESOI_N_FACTOR * n
        ds = main_estimate(synthetic_councils(big, rng, BASE_CLAIM.sesoi), BASE_CLAIM, cfg)
        hits["sesoi_eq"] += ds["equivalent"]
        dz = main_estimate(synthetic_councils(big, rng, 0.0), BASE_CLAIM, cfg)
        hits["zero_eq"] += dz["equivalent"]
        fam = _family([main_estimate(synthetic_councils(n, rng, 0.0), BASE_CLAIM, cfg) for _ in range(5)], alpha)
        hits["fwer"] += any(r.p_adjusted < alpha for r in fam)
        hits["simul"] += all(r.simul_ci_low <= 0 <= r.simul_ci_high for r in fam)
    rate = {k: v / reps for k, v in hits.items()}
    ratio = np.array(ratios)
    return [
        ("false-positive rate, true null (confounders partly unmeasured)", rate["null"], alpha, "within", _mc_se(alpha, reps)),
        (f"95% interval coverage of the true effect ({EFFECT})", rate["cover"], 0.95, "at least", _mc_se(0.95, reps)),
        (f"mean estimate / true effect ({EFFECT})", float(ratio.mean()), 1.0, "within",
         float(ratio.std(ddof=1) / np.sqrt(reps)), BIAS_MARGIN),
        ("strong confounding, no effect: predicted effect found", rate["conf"], alpha / 2, "at most", _mc_se(alpha / 2, reps)),
        (f"power for a true effect of {EFFECT} (n = {n})", rate["power"], None, "report", _mc_se(rate["power"], reps)),
        (f"equivalence declared when the effect equals the SESOI (n = {SESOI_N_FACTOR * n})", rate["sesoi_eq"], alpha,
         "at most", _mc_se(alpha, reps)),
        (f"equivalence found when there is no effect (n = {SESOI_N_FACTOR * n})", rate["zero_eq"], 0.80, "at least",
         _mc_se(0.80, reps)),
        ("Holm family-wise error, 5 true nulls", rate["fwer"], alpha, "at most", _mc_se(alpha, reps)),
        ("simultaneous (Bonferroni) intervals cover all 5 true effects", rate["simul"], 0.95, "at least",
         _mc_se(0.95, reps)),
    ]


def pipeline_once(df: pd.DataFrame, other: pd.DataFrame, cfg: EngineConfig, alpha: float = 0.05) -> dict:
    """The whole verdict pipeline on one synthetic claim (with a second, null claim in its Holm family)."""
    claim = replace(BASE_CLAIM, id="claim")
    r = ClaimResult(claim, "", n=len(df), eq_possible=cfg.equivalence_possible)
    for k, v in main_estimate(df, claim, cfg).items():
        setattr(r, k, v)
    r.specs, summary = specification_curve(df, claim, cfg)
    r.set_spec_summary(summary, claim.direction)
    r2 = ClaimResult(replace(BASE_CLAIM, id="other"), "", n=len(other), eq_possible=cfg.equivalence_possible)
    for k, v in main_estimate(other, r2.claim, cfg).items():
        setattr(r2, k, v)
    holm_adjust([r, r2], alpha)
    return {"spec_agrees": bool(r.spec_curve_share >= 0.5 and r.spec_joint_p < 0.05),
            "joint": bool(r.spec_joint_p < 0.05), "verdict": verdict(r)}


def pipeline_checks(cfg: EngineConfig, reps: int, n: int, null_boot: int, seed: int,
                    alpha: float = 0.05) -> list[tuple]:
    rng = np.random.default_rng(seed + 1)
    cfg = replace(cfg, n_null_boot=null_boot, spec_shown=False)
    null = [pipeline_once(synthetic_councils(n, rng, 0.0), synthetic_councils(n, rng, 0.0), cfg, alpha)
            for _ in range(reps)]
    eff = [pipeline_once(synthetic_councils(n, rng, PIPELINE_EFFECT), synthetic_councils(n, rng, 0.0), cfg, alpha)
           for _ in range(reps)]
    share = lambda rows, f: float(np.mean([f(x) for x in rows]))
    agree = share(null, lambda x: x["spec_agrees"])
    joint = share(null, lambda x: x["joint"])
    sup0 = share(null, lambda x: x["verdict"] == "supported")
    sup1 = share(eff, lambda x: x["verdict"] == "supported")
    con1 = share(eff, lambda x: x["verdict"] == "contradicted")
    return [
        (f"specification curve counted as agreeing, confounded null (n = {n})", agree, 0.10, "at most", _mc_se(max(agree, 0.10), reps)),
        ("joint test of the specification curve, p < 0.05 under the confounded null", joint, alpha, "at most", _mc_se(alpha, reps)),
        ("whole pipeline: verdict 'supported' under the confounded null", sup0, alpha / 2, "at most", _mc_se(alpha / 2, reps)),
        (f"whole pipeline: verdict 'supported' for a true effect of {PIPELINE_EFFECT}", sup1, None, "report", _mc_se(sup1, reps)),
        (f"whole pipeline: verdict 'contradicted' for a true effect of {PIPELINE_EFFECT}", con1, alpha / 2, "at most",
         _mc_se(alpha / 2, reps)),
    ]


def scoring_checks(cfg: EngineConfig, settings: dict, seed: int) -> list[tuple]:
    from ..model import load_model
    from ..scoring.change import false_flag_rate
    from ..scoring.uncertainty import rank_coverage

    model = load_model()
    ff = false_flag_rate(model, reps=1, n_councils=settings["change_councils"], method=cfg.change_test, seed=seed,
                         draws=400 if settings["change_councils"] <= 300 else 1000)
    rc = _rank_coverage_cached(settings["rank_reps"], seed)
    return [
        ("change flags per dimension with no true change", ff["rate"], 0.05, "within", ff["mc_se"]),
        ("rank intervals (5th to 95th percentile) hold the true rank, 1 to 3 respondents", rc[0], 0.90, "at least", 0.0),
    ]


@functools.lru_cache(maxsize=4)
def _rank_coverage_cached(reps: int, seed: int) -> tuple:
    from ..model import load_model
    from ..scoring.uncertainty import rank_coverage

    r = rank_coverage(load_model(), reps=reps, n_councils=200, n_draws=400, seed=seed)
    return r["coverage"], r["mc_se"]


def run_checks(setting: str | dict = "fast", n: int = 150, seed: int = 20261122, engines: dict | None = None,
               pipeline: bool | None = None, scoring: bool = True) -> pd.DataFrame:
    """Every check on the honest engine and the broken ones; one row per check and engine.

    Columns: engine, check, value, mc_se, target, rule, tolerance (2 Monte Carlo SE), passed, replications, n.
    A broken engine's fault often touches only some stages; a stage it cannot change is run once for the
    honest engine and shared (``shared`` = True on those rows), so the table stays fast. In the fast
    setting the whole pipeline runs only for the honest engine and the one whose fault is in the
    specification curve (the others fail earlier checks); the slow setting runs it for every engine.
    """
    settings = SETTINGS[setting] if isinstance(setting, str) else dict(SETTINGS["fast"], **setting)
    engines = engines or {"honest": EngineConfig(), **BROKEN_ENGINES}
    gc.freeze()  # statsmodels' Holm calls gc.collect() each time; freezing the objects that exist keeps that cheap
    try:
        rows = []
        honest = EngineConfig()
        cache: dict = {}
        touches_main = lambda c: (c.use_controls, c.robust, c.effect_scale, c.equivalence_possible)
        touches_pipe = lambda c: touches_main(c) + (c.count_unadjusted,)
        for name, cfg in engines.items():
            stages = [("main", touches_main(cfg), lambda: main_estimate_checks(cfg, settings["reps"], n, seed),
                       settings["reps"])]
            run_pipe = pipeline if pipeline is not None else (
                settings.get("pipeline_all", True) or name == "honest" or cfg.count_unadjusted)
            if run_pipe:
                stages.append(("pipe", touches_pipe(cfg), lambda: pipeline_checks(
                    cfg, settings["pipeline_reps"], n, settings["null_boot"], seed), settings["pipeline_reps"]))
            if scoring:
                stages.append(("score", (cfg.change_test,), lambda: scoring_checks(cfg, settings, seed), 1))
            for stage, key, run, reps in stages:
                shared = (stage, key) in cache
                if not shared:
                    cache[(stage, key)] = run()
                for check, value, target, rule, se, *floor in cache[(stage, key)]:
                    tol = max([2 * se, *floor])
                    if rule == "within":
                        ok = abs(value - target) <= tol
                    elif rule == "at most":
                        ok = value <= target + tol
                    elif rule == "at least":
                        ok = value >= target - tol
                    else:
                        ok = True
                    rows.append({"engine": name, "check": check, "value": float(value), "mc_se": float(se),
                                 "target": target, "rule": rule, "tolerance": tol, "passed": bool(ok),
                                 "replications": reps, "n": n, "shared": shared and key == _key(stage, honest)})
        return pd.DataFrame(rows)
    finally:
        gc.unfreeze()


def _key(stage: str, cfg: EngineConfig) -> tuple:
    if stage == "main":
        return (cfg.use_controls, cfg.robust, cfg.effect_scale, cfg.equivalence_possible)
    if stage == "pipe":
        return (cfg.use_controls, cfg.robust, cfg.effect_scale, cfg.equivalence_possible, cfg.count_unadjusted)
    return (cfg.change_test,)


def setting_for(replications: int) -> dict:
    """A setting scaled from the number of main-estimate replications (the evidence review's parameter):
    200 is the fast setting, 2,000 the slow one."""
    if replications >= 2000:
        return dict(SETTINGS["slow"], reps=replications)
    return dict(SETTINGS["fast"], reps=replications, pipeline_reps=max(10, replications * 3 // 20),
                change_councils=300 if replications >= 200 else 150, rank_reps=2 if replications >= 200 else 1)


def engine_table(checks: pd.DataFrame) -> pd.DataFrame:
    """One row per engine: checks run, checks failed and which, for the evidence review."""
    rows = []
    for name, g in checks.groupby("engine", sort=False):
        failed = g.loc[~g["passed"], "check"].tolist()
        rows.append({"engine": name, "checks": len(g), "failed": len(failed), "failed_checks": failed})
    return pd.DataFrame(rows)
