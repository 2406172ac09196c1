"""The measurement model (dqm.scoring.latent, latent_ranks): its likelihood against statsmodels, what it refuses
to pretend, determinism, and a short version of the simulation study in studies/measurement/ (a few
scenarios, few replications, bounds loose but failed by the old engine where issue #18 says it fails)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dqm.scoring.latent import COMPONENTS, fit_latent, load_config
from dqm.scoring.latent_ranks import (
    calibrated_effect,
    exposure_draws,
    exposure_table,
    latent_change,
    latent_levels,
    latent_ranks,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies" / "measurement"))
import study  # noqa: E402

FAST = load_config().replace(vc_draws=10, draws_per_vc=40)


def _answers(sc_name, n, seed, **kw):
    return study.simulate(study.SCENARIOS[sc_name], n, np.random.default_rng(seed), **kw)


def test_likelihood_matches_statsmodels_and_its_maximum_is_at_least_as_high(model):
    """Same nested model (council, council x dimension, respondent, residual) as a statsmodels MixedLM: statsmodels'
    log-likelihood at our estimates equals ours, and its own maximum is no higher than ours."""
    import warnings

    import statsmodels.formula.api as smf
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    answers, *_ = _answers("two_respondents", 30, 3)
    cfg = FAST.replace(assumed={**FAST.assumed, "self_bias": 0.0})  # no independents: no self-bias term
    fit = fit_latent(answers, model, config=cfg)
    df = answers.assign(level=answers["level"].astype(float))
    m = smf.mixedlm("level ~ 0 + C(dimension_id)", df, groups="council_code", re_formula="1",
                    vc_formula={"dim": "0 + C(dimension_id)", "resp": "0 + C(respondent_key)"})
    m.reml, m.cov_pen, m.fe_pen = False, None, None
    sd = fit.sd_hat
    s2e = sd["residual"] ** 2
    rel = {"dim": sd["council_dimension"] ** 2 / s2e, "resp": sd["leniency"] ** 2 / s2e}
    params = MixedLMParams.from_components(np.zeros(10), cov_re=np.array([[sd["council"] ** 2 / s2e]]),
                                           vcomp=np.array([rel[n] for n in m.exog_vc.names]))
    assert m.loglike(params, profile_fe=True) == pytest.approx(fit.optimiser["loglik"], abs=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = m.fit(reml=False, method="lbfgs")
    assert r.llf <= fit.optimiser["loglik"] + 1e-6


def test_no_two_respondents_and_no_independents_are_said_and_widen(model):
    answers, *_ = _answers("one_respondent_each", 80, 4)
    fit = fit_latent(answers, model, config=FAST)
    notes = fit.assumptions().set_index("topic")
    assert notes.loc["respondents", "status"] == "assumed"
    assert notes.loc["self-assessment bias", "status"] == "assumed"
    assert "cannot be estimated" in notes.loc["self-assessment bias", "text"]
    vc = fit.variance_components().set_index("component")
    assert vc.loc["residual", "status"] == FAST.assumed["residual"] and vc.loc["residual", "sd_mean"] > 0
    assert vc.loc["self_bias", "sd_mean"] == pytest.approx(FAST.assumed["self_bias"])
    # nothing silently zero: one answer per council and dimension still leaves each level uncertain
    lv = latent_levels(fit, model, 2024)
    assert (lv["level_sd"] > 0.15).all()


def test_identical_answers_give_identical_levels_and_flags(model):
    answers, *_ = _answers("mixed_1_to_3", 40, 5, waves=2, change_share=0.3)
    twin = answers[answers["council_code"] == "C0003"].assign(council_code="C9999",
                                                                respondent_key=lambda d: d["respondent_key"] + "-twin",
                                                                submission_id=lambda d: d["submission_id"] + 10 ** 6)
    both = pd.concat([answers, twin], ignore_index=True)
    fit = fit_latent(both, model, config=FAST)
    ch = latent_change(fit, model, 2024, 2025).set_index(["council_code", "dimension_id"])
    a, b = ch.loc["C0003"], ch.loc["C9999"]
    assert (a["flag"] == b["flag"]).all() and np.allclose(a["z"], b["z"])
    again = latent_change(fit_latent(both, model, config=FAST), model, 2024, 2025)
    assert again["flag"].tolist() == ch["flag"].tolist()


def test_outputs_have_snake_case_columns_and_sensible_values(model):
    answers, *_ = _answers("mixed_1_to_3", 60, 6)
    fit = fit_latent(answers, model, config=FAST)
    r = latent_ranks(fit, 2024)
    assert (r["rank_p5"] <= r["rank_median"]).all() and (r["rank_median"] <= r["rank_p95"]).all()
    assert r["councils_ranked"].iloc[0] == 60
    ex = exposure_table(fit, 2024)
    assert ex["between_sd"].iloc[0] > ex["exposure_mean"].std()  # the true spread, not the shrunk one
    assert len(exposure_draws(fit, 2024, n=5)) == 5 * 60
    for frame in (r, ex, latent_levels(fit, model), fit.variance_components()):
        assert all(c == c.lower() and " " not in c for c in frame.columns)
    assert set(fit.variance_components()["component"]) == set(COMPONENTS)


@pytest.mark.parametrize("scenario", ["one_respondent_each", "inflation_indep_25pct"])
def test_rank_intervals_cover_where_the_old_engine_does_not(scenario):
    """The issue: the old engine covers 0.61 with one respondent each and 0.77 with three respondents sharing their
    council's self-rating inflation. Two replications of 120 councils; the bound 0.85 is loose for the new model
    (target 0.90) and still failed by the old one."""
    rows = []
    for seed in (11, 12):
        rows += study.rank_replication(study.SCENARIOS[scenario], 120, seed, old_draws=200, config=FAST)
    res = pd.DataFrame(rows).groupby("method")["coverage"].mean()
    assert res["latent"] >= 0.85
    assert res["old_engine"] < 0.85


def test_exposure_calibration_removes_attenuation():
    rows = []
    for seed in range(6):
        rows += study.exposure_replication(300, 100 + seed)
    res = pd.DataFrame(rows).groupby("method")["estimate"].mean() / 0.25
    assert res["naive_plug_in"] < 0.95  # attenuated by the exposure's measurement error
    assert abs(res["latent_calibrated"] - 1) < abs(res["naive_plug_in"] - 1)


def test_calibrated_effect_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 4000)
    w = 0.8 * x + rng.normal(0, 0.4, 4000)  # a calibrated prediction: E[x | w] = w's regression line
    pred = w * 0.8 / (0.64 + 0.16)
    y = 0.25 * x + np.sqrt(1 - 0.0625) * rng.normal(size=4000)
    r = calibrated_effect(y, pred, between_sd=1.0)
    assert r["ci_low"] < 0.25 < r["ci_high"]


@pytest.mark.slow
def test_full_study_beats_the_old_engine_where_it_fails(tmp_path, monkeypatch):
    """The full study (studies/measurement/run.py, about 7 CPU minutes): where issue #18 says the old engine fails,
    the model holds coverage; change flags stay at or below 6%; the calibrated exposure is not attenuated."""
    import run

    monkeypatch.setattr(run, "OUT", tmp_path)
    run.main(["--reps", "30", "--councils", "150"])
    r = pd.read_csv(tmp_path / "ranks_replications.csv").groupby(["scenario", "method"])["coverage"].mean()
    for sc in ("one_respondent_each", "inflation_indep_10pct", "inflation_indep_25pct"):
        assert r[(sc, "latent")] >= 0.88 and r[(sc, "old_engine")] < 0.85
    c = pd.read_csv(tmp_path / "change_replications.csv").groupby("method")["false_flag"].mean()
    assert c["latent"] <= 0.06
    e = pd.read_csv(tmp_path / "exposure_replications.csv").groupby("method")["estimate"].mean() / 0.25
    assert abs(e["latent_calibrated"] - 1) < 0.1 and e["naive_plug_in"] < 0.95


def test_mixture_deconvolution_recovers_a_skewed_council_distribution():
    """dqm.scoring.latent_mixture: measurements with known, unequal errors of levels drawn from a skewed two-part
    distribution; the fitted mixture's components are near the true ones and its posterior draws cover the truth
    about as often as they should."""
    from dqm.scoring.latent_mixture import fit_mixture, mixture_draws

    rng = np.random.default_rng(5)
    n = 3000
    low = rng.random(n) < 0.7
    x = np.where(low, rng.normal(2.5, 0.2, n), rng.normal(3.4, 0.5, n))
    s2 = rng.uniform(0.02, 0.1, n)
    W = x + np.sqrt(s2) * rng.standard_normal(n)
    mix = fit_mixture(W, s2, float(W.mean()), float(x.var()))
    order = np.argsort(mix["means"])
    assert mix["means"][order] == pytest.approx([2.5, 3.4], abs=0.1)
    assert mix["sd"][order] == pytest.approx([0.2, 0.5], abs=0.1)
    assert mix["pi"][order][0] == pytest.approx(0.7, abs=0.07)
    d = mixture_draws(W, s2, mix, 400, np.random.default_rng(1))
    lo, hi = np.percentile(d, 5, axis=0), np.percentile(d, 95, axis=0)
    assert 0.87 <= ((lo <= x) & (x <= hi)).mean() <= 0.93
