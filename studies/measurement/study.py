"""The simulation study of the measurement model (ADEMP; see README.md in this folder).

Data-generating mechanisms are written here, independently of ``dqm.demo`` and of the old engine's
own simulator (``dqm.scoring.uncertainty.simulate_answers``): council effects may be skewed or
heavy-tailed, respondents keep their leniency across waves, self-assessors of a council share its
inflation, and only some councils have an independent assessment.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from dqm.model import load_model
from dqm.scoring.change import council_change
from dqm.scoring.latent import fit_latent, load_config
from dqm.scoring.latent_ranks import calibrated_effect, exposure_table, latent_change, latent_ranks
from dqm.scoring.levels import council_levels
from dqm.scoring.uncertainty import monte_carlo_ranks


@dataclass(frozen=True)
class Scenario:
    name: str
    respondents: tuple = (1, 2, 3)
    probs: tuple = (0.5, 0.3, 0.2)
    council_sd: float = 0.5  # general level
    profile_sd: float = 0.3  # council x dimension
    answer_sd: float = 0.45  # respondent x dimension
    leniency_sd: float = 0.15  # respondent, every dimension, kept across waves
    shape: str = "normal"  # council effects: normal, skewed (log-normal), heavy (t with 3 df)
    inflation_mean: float = 0.0  # self-assessors' mean inflation
    inflation_sd: float = 0.0  # council-to-council spread of inflation (shared by its self-assessors)
    independent_share: float = 0.0  # councils that also have an independent assessment
    centre: float = 2.9
    clip: bool = True  # answers kept between levels 1 and 5 (False: the rounding only, any whole number)


SCENARIOS = {s.name: s for s in [
    Scenario("mixed_1_to_3"),
    Scenario("one_respondent_each", respondents=(1,), probs=(1.0,)),
    Scenario("two_respondents", respondents=(2,), probs=(1.0,)),
    Scenario("three_respondents", respondents=(3,), probs=(1.0,)),
    Scenario("five_respondents", respondents=(5,), probs=(1.0,)),
    Scenario("low_icc", answer_sd=0.8, leniency_sd=0.3),
    Scenario("high_icc", answer_sd=0.3, leniency_sd=0.1),
    Scenario("skewed_councils", shape="skewed"),
    Scenario("heavy_tailed_councils", shape="heavy"),
    Scenario("persistent_leniency", leniency_sd=0.35),
    Scenario("inflation_indep_10pct", respondents=(1, 2, 3, 4), probs=(0.4, 0.3, 0.2, 0.1), inflation_mean=0.35,
             inflation_sd=0.25, independent_share=0.10),
    Scenario("inflation_indep_25pct", respondents=(3,), probs=(1.0,), inflation_mean=0.35, inflation_sd=0.25,
             independent_share=0.25),
]}
# Round 3: each scenario with the answers' clipping at levels 1 and 5 turned off (the rounding kept), to test whether
# the clipping is what pulls extreme councils toward the middle. Run by name (--scenarios), not by default.
UNCLIPPED = {f"{n}_unclipped": replace(s, name=f"{n}_unclipped", clip=False) for n, s in SCENARIOS.items()}
ALL_SCENARIOS = {**SCENARIOS, **UNCLIPPED}


def _council_effects(sc: Scenario, n: int, rng) -> np.ndarray:
    if sc.shape == "skewed":
        x = rng.lognormal(0, 0.8, n)
    elif sc.shape == "heavy":
        x = rng.standard_t(3, n)
    else:
        x = rng.normal(0, 1, n)
    return sc.council_sd * (x - x.mean()) / x.std()


def simulate(sc: Scenario, n: int, rng, waves: int = 1, same_respondents: bool = True, change_share: float = 0.0,
             dims=None, whole_level: bool = False):
    """(answers with respondent_key, true latent levels councils x waves x dims, changed mask councils x dims).

    With ``waves=2`` nothing changes between waves, except for ``change_share`` of councils whose level on
    one random dimension moves by one whole level (up or down), or with ``whole_level`` whose overall level
    moves by one whole level (every dimension, in the same direction: toward the middle from the overall level).
    """
    dims = dims or load_model().dimension_ids
    D = len(dims)
    offsets = np.linspace(-0.25, 0.25, D)
    level = sc.centre + _council_effects(sc, n, rng)[:, None] + offsets[None] + rng.normal(0, sc.profile_sd, (n, D))
    theta = np.repeat(level[:, None, :], waves, axis=1)
    changed = np.zeros((n, D), bool)
    if waves > 1 and change_share > 0:
        who = rng.random(n) < change_share
        dim = rng.integers(D, size=n)
        sign = np.where(theta[np.arange(n), 0, dim] > sc.centre, -1.0, 1.0)  # move toward the middle: stays on scale
        if whole_level:
            sign = np.where(theta[:, 0].mean(axis=1) > sc.centre, -1.0, 1.0)
            theta[who, 1] += sign[who, None]
            changed[who] = True
        else:
            theta[who, 1, dim[who]] += sign[who]
            changed[who, dim[who]] = True
    inflation = sc.inflation_mean + sc.inflation_sd * rng.normal(size=n)
    k = rng.choice(sc.respondents, size=n, p=sc.probs)
    indep = rng.random(n) < sc.independent_share
    rows, sub = [], 0
    codes = np.array([f"C{i:04d}" for i in range(n)])
    for c in range(n):
        people = [(f"{codes[c]}-s{j}", "self") for j in range(k[c])] + ([(f"{codes[c]}-ind", "independent")] if indep[c] else [])
        len_ = {p: rng.normal(0, sc.leniency_sd) for p, _ in people}
        for w in range(waves):
            for p, kind in people:
                key = p if (same_respondents or w == 0) else f"{p}-w{w}"
                if key not in len_:
                    len_[key] = rng.normal(0, sc.leniency_sd)
                star = theta[c, w] + len_[key] + (inflation[c] if kind == "self" else 0.0) + rng.normal(0, sc.answer_sd, D)
                ans = np.floor(star + 0.5)
                ans = np.clip(ans, 1, 5) if sc.clip else ans
                rows.append(pd.DataFrame({"submission_id": sub, "council_code": codes[c], "wave": 2024 + w,
                                          "assessment_type": kind, "respondent_key": key, "dimension_id": dims,
                                          "level": ans}))
                sub += 1
    answers = pd.concat(rows, ignore_index=True)
    answers["level"] = answers["level"].astype("Int64")
    return answers, theta, changed, codes


def _rank_hits(table: pd.DataFrame, truth: pd.Series) -> pd.DataFrame:
    t = table.set_index("council_code")
    true_rank = pd.Series(rankdata(-truth.loc[t.index].to_numpy()), index=t.index)
    n = len(t)
    return pd.DataFrame({"hit": (t["rank_p5"] <= true_rank) & (true_rank <= t["rank_p95"]),
                         "width": t["rank_p95"] - t["rank_p5"], "top": true_rank <= n / 10, "bottom": true_rank > n - n / 10})


def rank_replication(sc: Scenario, n: int, seed: int, old: bool = True, old_draws: int = 300, config=None,
                     methods=("latent", "latent_plugin", "latent_mixture")) -> list[dict]:
    """One replication: coverage and width of the 5th-95th rank intervals, new model and old engine.

    ``latent``: the reports' rank intervals (each council as its answers measure it, among the others' posterior
    draws); ``latent_posterior``: the plain posterior rank interval of rounds 1-2 (the same fit).

    ``latent_mixture``: the ``latent`` fit with the councils' normal distribution of overall levels replaced by a
    two-component normal mixture (:func:`dqm.scoring.latent_mixture.mixture_ranks`)."""
    from dqm.scoring.latent_mixture import mixture_ranks

    model = load_model()
    rng = np.random.default_rng(seed)
    answers, theta, _, codes = simulate(sc, n, rng)
    truth = pd.Series(theta[:, 0, :].mean(axis=1), index=codes)
    cfg = config or load_config()
    out = []
    configs = {"latent": cfg, "latent_plugin": cfg.replace(vc_draws=1, draws_per_vc=cfg.vc_draws * cfg.draws_per_vc)}
    for name, c in configs.items():
        if name not in methods and not (name == "latent" and {"latent_mixture", "latent_posterior"} & set(methods)):
            continue
        fit = fit_latent(answers, model, config=c, seed=seed)
        if name in methods:
            out.append(_summ(sc.name, name, seed, _rank_hits(latent_ranks(fit, 2024), truth), fit.cpu_seconds))
        if name == "latent" and "latent_mixture" in methods:
            out.append(_summ(sc.name, "latent_mixture", seed, _rank_hits(mixture_ranks(fit, 2024), truth), np.nan))
        if name == "latent" and "latent_posterior" in methods:
            out.append(_summ(sc.name, "latent_posterior", seed,
                             _rank_hits(latent_ranks(fit, 2024, interval="posterior"), truth), np.nan))
    if old:
        mc = monte_carlo_ranks(answers, model, n_draws=old_draws, seed=seed)
        out.append(_summ(sc.name, "old_engine", seed, _rank_hits(mc, truth), np.nan))
    return out


def _summ(scenario, method, seed, h, cpu):
    return {"scenario": scenario, "method": method, "seed": seed, "coverage": h["hit"].mean(),
            "coverage_top": h.loc[h["top"], "hit"].mean(), "coverage_bottom": h.loc[h["bottom"], "hit"].mean(),
            "median_width": h["width"].median(), "councils": len(h), "fit_cpu_s": cpu}


def change_replication(sc: Scenario, n: int, seed: int, same: bool, change_share: float = 0.0, old: bool = True,
                       old_draws: int = 300, whole_level: bool = False) -> list[dict]:
    """One replication with two waves: false flags on unchanged (council, dimension) pairs, power on changed ones;
    and the same for the overall level (``overall_*``: unchanged councils; with ``whole_level``, the councils whose
    overall level moved one level)."""
    model = load_model()
    rng = np.random.default_rng(seed)
    answers, theta, changed, codes = simulate(sc, n, rng, waves=2, same_respondents=same, change_share=change_share,
                                              whole_level=whole_level)
    fit = fit_latent(answers, model, seed=seed)
    ch = latent_change(fit, model, 2024, 2025)
    ov = ch[ch["dimension_id"] == "overall"].join(pd.Series(changed.any(axis=1), index=codes, name="changed"),
                                                  on="council_code")
    moved = ov["changed"] if whole_level else pd.Series(False, index=ov.index)
    ch = ch[ch["dimension_id"] != "overall"]
    chg = pd.DataFrame(changed, index=codes, columns=model.dimension_ids).stack().rename("changed")
    res = ch.join(chg, on=["council_code", "dimension_id"])
    out = [{"scenario": sc.name, "method": "latent", "respondents": "same" if same else "new", "seed": seed,
            "false_flag": res.loc[~res["changed"], "flag"].mean(),
            "power": res.loc[res["changed"], "flag"].mean() if res["changed"].any() else np.nan,
            "stated_power": res.loc[res["changed"], "power_one_level"].mean() if res["changed"].any() else np.nan,
            "overall_false_flag": ov.loc[~ov["changed"], "flag"].mean(),
            "overall_power": ov.loc[moved, "flag"].mean() if moved.any() else np.nan,
            "overall_stated_power": ov.loc[moved, "power_one_level"].mean() if moved.any() else np.nan,
            "fit_cpu_s": fit.cpu_seconds}]
    if old:
        lv = council_levels(answers, model)
        oc = council_change(lv, answers, model, 2024, 2025, draws=old_draws, seed=seed)
        oc = oc[oc["dimension_id"] != "overall_mean"].join(chg, on=["council_code", "dimension_id"])
        out.append({"scenario": sc.name, "method": "old_engine", "respondents": "same" if same else "new", "seed": seed,
                    "false_flag": oc.loc[~oc["changed"], "beyond_noise"].mean(),
                    "power": oc.loc[oc["changed"], "beyond_noise"].mean() if oc["changed"].any() else np.nan,
                    "stated_power": np.nan, "fit_cpu_s": np.nan})
    return out


def exposure_replication(n: int, seed: int, effect: float = 0.25, answer_sd: float = 0.75) -> list[dict]:
    """One replication: a claim's standardised effect (truth ``effect``) from the naive plug-in (the old
    council mean of respondents' medians) and from the model's calibrated exposure."""
    model = load_model()
    rng = np.random.default_rng(seed)
    sc = replace(SCENARIOS["mixed_1_to_3"], answer_sd=answer_sd, name="exposure")
    answers, theta, _, codes = simulate(sc, n, rng)
    true_x = theta[:, 0, :].mean(axis=1)
    zt = (true_x - true_x.mean()) / true_x.std(ddof=1)
    y = effect * zt + np.sqrt(1 - effect ** 2) * rng.normal(size=n)
    lv = council_levels(answers, model).set_index("council_code").loc[codes]
    naive_x = lv["overall_mean"].to_numpy(float)
    reliability = np.corrcoef(naive_x, true_x)[0, 1] ** 2
    zx = (naive_x - naive_x.mean()) / naive_x.std(ddof=1)
    naive = calibrated_effect(y, zx, 1.0)
    fit = fit_latent(answers, model, seed=seed)
    ex = exposure_table(fit, 2024).set_index("council_code").loc[codes]
    cal = calibrated_effect(y, ex["exposure_mean"], float(ex["between_sd"].iloc[0]))
    return [{"method": m, "seed": seed, "estimate": r["estimate"], "covers": r["ci_low"] <= effect <= r["ci_high"],
             "reliability": reliability} for m, r in (("naive_plug_in", naive), ("latent_calibrated", cal))]


def engine_inputs(answers: pd.DataFrame, codes, y: np.ndarray, control: np.ndarray | None = None):
    """(outcomes, reference, claim) for running :func:`dqm.claims.evaluate_claims` on simulated councils.

    One outcome measure ``simulated`` (period 2024), one council type, population and area set so that no
    council is under 50,000 residents; ``control`` (optional) becomes the deprivation score and a control of
    the claim. The claim: overall level associated with the outcome, raw transform, OLS.
    """
    from dqm.claims import Claim

    n = len(codes)
    outcomes = pd.DataFrame({"local-authority-code": codes, "measure": "simulated", "period": "2024", "value": y})
    dep = np.zeros(n) if control is None else np.asarray(control, float)
    reference = pd.DataFrame({"local-authority-code": codes, "population": 100_000.0, "area_km2": 100.0,
                              "type_group": "English unitary", "principal": True, "deprivation_score": dep,
                              "urban_share": 0.5})
    claim = Claim(id="simulated-exposure", statement="simulated", source="simulation", exposure="overall",
                  outcome="simulated", direction="positive", controls=() if control is None else ("deprivation",),
                  sesoi=0.10, family="simulated", registered=dt.date(2026, 11, 22))
    return outcomes, reference, claim


EXPOSURE_VARIANTS = {  # the engine-exposure scenario's variants: what the self-assessments share, who is also assessed
    "no_independent": {},  # no inflation at all; nothing measures its spread, so the model assumes assumed.self_bias
    "indep_25pct": {"independent_share": 0.25, "inflation_mean": 0.35},  # a common offset only, measured
    "inflation_012": {"inflation_mean": 0.35, "inflation_sd": 0.12},  # the assumed spread is the real one
    "indep_25pct_inflation_012": {"independent_share": 0.25, "inflation_mean": 0.35, "inflation_sd": 0.12},
}


def engine_exposure_replication(n: int, seed: int, effect: float = 0.25, answer_sd: float = 0.75,
                                confounder: float = 0.0, variant: str = "no_independent") -> list[dict]:
    """One replication through the real claims engine (:func:`dqm.claims.evaluate_claims`): the standardised
    effect of the true overall level (truth ``effect``) estimated with the store's answers as the measurement
    (the model's calibrated exposure), beside the naive plug-in of the council mean of respondents' medians.

    ``confounder``: correlation of a control (entered as the claim's deprivation control) with the true level;
    the outcome then also depends on the control (0.3 SD per SD), so the claim must adjust for it, and the
    calibration must condition on it. The outcome's SD is 1, so ``effect`` is the standardised effect.
    ``variant``: one of :data:`EXPOSURE_VARIANTS` (independent assessments for some councils, a real spread of
    self-rating inflation); the true level is on the independent scale. ``stated_overstatement``: what the
    result's measurement notes say the effect may be overstated by if self-ratings share no bias (NaN when the
    model did not have to assume that spread).
    """
    import re

    from dqm.claims import EngineConfig, evaluate_claims
    from dqm.claims.engine import main_estimate

    model = load_model()
    rng = np.random.default_rng(seed)
    sc = replace(SCENARIOS["mixed_1_to_3"], answer_sd=answer_sd, name="exposure", **EXPOSURE_VARIANTS[variant])
    answers, theta, _, codes = simulate(sc, n, rng)
    true_x = theta[:, 0, :].mean(axis=1)
    zt = (true_x - true_x.mean()) / true_x.std(ddof=1)
    control, c = None, 0.0
    if confounder:
        control = confounder * zt + np.sqrt(1 - confounder ** 2) * rng.normal(size=n)
        c = 0.3
    noise_var = 1 - (effect ** 2 + c ** 2 + 2 * effect * c * confounder)
    y = effect * zt + c * (control if control is not None else 0.0) + np.sqrt(noise_var) * rng.normal(size=n)
    outcomes, reference, claim = engine_inputs(answers, codes, y, control)
    lv = council_levels(answers, model)
    cfg = EngineConfig(n_boot=0, n_null_boot=0, spec_curve=False, workers=1)
    r = evaluate_claims([claim], lv, outcomes, model, 2024, cfg, reference=reference, measurement=answers)[0]
    naive_lv = lv[lv["assessment_type"] == "self"].set_index("council_code").loc[codes]
    df = pd.DataFrame({"outcome": y, "overall_mean": naive_lv["overall_mean"].to_numpy(float),
                       "deprivation_score": control if control is not None else np.zeros(n),
                       "type_group": "English unitary"})
    naive = main_estimate(df, claim, cfg)
    reliability = np.corrcoef(naive_lv["overall_mean"].to_numpy(float), true_x)[0, 1] ** 2
    said = re.search(r"overstated by up to about (\d+)%", r.info.get("measurement_notes", ""))
    stated = float(said.group(1)) / 100 if said else np.nan
    return [{"method": m, "variant": variant, "confounder": confounder, "seed": seed, "estimate": e,
             "covers": lo <= effect <= hi, "reliability": reliability,
             "stated_overstatement": stated if m == "engine_latent" else np.nan}
            for m, e, lo, hi in (("engine_naive_plug_in", naive["estimate"], naive["ci_low"], naive["ci_high"]),
                                 ("engine_latent", r.estimate, r.ci_low, r.ci_high))]


def mc_summary(df: pd.DataFrame, keys: list, measures: list) -> pd.DataFrame:
    """Mean of each measure over replications with its Monte Carlo standard error (SD / sqrt(replications))."""
    g = df.groupby(keys)
    out = g[measures].mean()
    se = g[measures].std(ddof=1) / np.sqrt(g.size().to_numpy()[:, None])
    out = out.join(se.add_suffix("_mcse"))
    out["replications"] = g.size()
    return out.reset_index()
