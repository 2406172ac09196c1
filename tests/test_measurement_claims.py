"""The claims engine uses the measurement model's exposure (dqm.scoring.latent_exposure), corrected for measurement
error: on simulated councils with a known true effect and exposure reliability about 0.8 it does not attenuate,
where the old plug-in (the council mean of respondents' medians) does; it says in words what its effect is per
and what the model had to assume; and the rest of a claim's result (specification curve, verdict) still works."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dqm.claims import EngineConfig, evaluate_claims, results_table
from dqm.claims.engine import main_estimate
from dqm.claims.frame import LATENT_COLUMN
from dqm.scoring.levels import council_levels

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies" / "measurement"))
import study  # noqa: E402

FAST = EngineConfig(n_boot=0, n_null_boot=0, spec_curve=False, workers=1)


def _world(model, effect, n=300, seed=7, scenario="mixed_1_to_3", answer_sd=0.75, confounder=0.0):
    """Simulated answers (reliability of the naive council mean about 0.8), an outcome with a known standardised
    effect of the true overall level, and the engine's inputs. Returns (answers, levels, outcomes, reference,
    claim, naive plug-in column, true level)."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    sc = replace(study.SCENARIOS[scenario], answer_sd=answer_sd)
    answers, theta, _, codes = study.simulate(sc, n, rng)
    x = theta[:, 0, :].mean(axis=1)
    zt = (x - x.mean()) / x.std(ddof=1)
    control, c = None, 0.0
    if confounder:
        control, c = confounder * zt + np.sqrt(1 - confounder ** 2) * rng.normal(size=n), 0.3
    y = effect * zt + c * (0.0 if control is None else control)
    y = y + np.sqrt(1 - np.var(y, ddof=1)) * rng.normal(size=n)
    outcomes, reference, claim = study.engine_inputs(answers, codes, y, control)
    lv = council_levels(answers, model)
    naive = lv[lv["assessment_type"] == "self"].set_index("council_code").loc[codes, "overall_mean"].to_numpy(float)
    return answers, lv, outcomes, reference, claim, naive, x, y, control


def _naive_estimate(claim, naive, y, control):
    import pandas as pd

    df = pd.DataFrame({"outcome": y, "overall_mean": naive, "type_group": "English unitary",
                       "deprivation_score": np.zeros(len(y)) if control is None else control})
    return main_estimate(df, claim, FAST)["estimate"]


@pytest.mark.parametrize("confounder", [0.0, 0.5])
def test_the_engine_does_not_attenuate_where_the_plug_in_does(model, confounder):
    """A strong true effect (so one replication is sharp): the plug-in is attenuated by about the square root of
    the reliability (about 0.9); the engine's estimate is the true effect within 6%, with a control correlated
    with the true level (the calibration must condition on it) as without."""
    effect = 0.8 if confounder else 0.9
    answers, lv, outcomes, ref, claim, naive, x, y, control = _world(model, effect, confounder=confounder)
    assert 0.7 < np.corrcoef(naive, x)[0, 1] ** 2 < 0.9  # the reliability the issue names
    r = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref, measurement=answers)[0]
    assert _naive_estimate(claim, naive, y, control) / effect < 0.94
    assert r.estimate / effect == pytest.approx(1.0, abs=0.06)
    assert r.ci_low <= effect <= r.ci_high


def test_the_engine_recovers_a_small_effect_on_average(model):
    """The issue's target effect, 0.25, over a few replications of 400 councils: the engine's mean estimate is
    above what the plug-in's attenuation (about 0.89 of the truth) would give, and near the truth."""
    ratios, naive_ratios = [], []
    for seed in range(6):
        answers, lv, outcomes, ref, claim, naive, x, y, control = _world(model, 0.25, n=400, seed=100 + seed)
        r = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref, measurement=answers)[0]
        ratios.append(r.estimate / 0.25)
        naive_ratios.append(_naive_estimate(claim, naive, y, control) / 0.25)
    # the same data: the engine's estimate exceeds the plug-in's by about 1 / sqrt(reliability) every time
    assert all(1.05 < a / b < 1.25 for a, b in zip(ratios, naive_ratios))
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.2)


def test_the_result_says_what_the_effect_is_per(model):
    answers, lv, outcomes, ref, claim, *_ = _world(model, 0.3, n=150)
    r = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref, measurement=answers)[0]
    row = results_table([r]).iloc[0]
    assert "per standard deviation of the true between-council level" in row["exposure_scale"]
    assert "regression calibration" in row["exposure_scale"]
    assert 0.3 < row["exposure_sd_true"] < 0.8  # simulated council SD 0.5 plus profile spread
    assert 0.5 < row["exposure_reliability"] < 1.0


@pytest.mark.parametrize("scenario, words", [
    ("one_respondent_each", "No council has two respondents of one kind"),
    ("mixed_1_to_3", "No council has an independent or peer assessment"),
])
def test_what_the_model_cannot_identify_is_said_in_the_result(model, scenario, words):
    answers, lv, outcomes, ref, claim, *_ = _world(model, 0.3, n=120, scenario=scenario)
    r = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref, measurement=answers)[0]
    notes = results_table([r]).iloc[0]["measurement_notes"]
    assert words in notes and "assume" in notes


def test_given_only_council_levels_the_engine_says_it_fitted_to_medians(model):
    answers, lv, outcomes, ref, claim, *_ = _world(model, 0.3, n=120, scenario="two_respondents")
    given = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref, measurement=answers)[0]
    levels_only = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref)[0]
    assert "median answers" not in given.info["measurement_notes"]
    assert "median answers" in levels_only.info["measurement_notes"]
    assert "median answers" in levels_only.info["exposure_scale"]
    assert np.isfinite(levels_only.estimate)


def test_specification_curve_and_verdict_still_work_and_identical_data_give_identical_results(model):
    answers, lv, outcomes, ref, claim, *_ = _world(model, 0.4, n=150)
    cfg = EngineConfig(n_boot=50, n_null_boot=20, workers=1)
    a, b = (evaluate_claims([claim], lv, outcomes, model, 2024, cfg, reference=ref, measurement=answers.copy())[0]
            for _ in range(2))
    main = a.specs[a.specs["main"]]
    assert len(main) == 1 and main["exposure"].iloc[0] == LATENT_COLUMN
    assert {"overall_mean", "overall_median", "overall_min"} <= set(a.specs["exposure"])  # plug-ins stay as variants
    assert main["estimate"].iloc[0] == pytest.approx(a.estimate)
    assert a.verdict in {"supported", "inconclusive", "contradicted", "no meaningful effect"}
    assert np.isfinite(a.spec_curve_share) and np.isfinite(a.spec_joint_p)
    assert (a.estimate, a.ci_low, a.verdict) == (b.estimate, b.ci_low, b.verdict)


# ---------------------------------------------------------------- the change flag at 5%
def test_change_flags_are_calibrated_to_five_percent_with_the_same_and_new_respondents():
    """No council changes: about 5% of (council, dimension) pairs are flagged, with the same respondents in both
    waves as with new ones. The uncalibrated Wald flag gave 3.0% with the same respondents (the study's 30
    replications): whole-number answers made it conservative."""
    import pandas as pd

    rows = []
    for same in (True, False):
        for seed in range(4):
            rows += study.change_replication(study.SCENARIOS["mixed_1_to_3"], 150, 700 + seed, same=same, old=False)
    ff = pd.DataFrame(rows).groupby("respondents")["false_flag"].mean()
    assert 0.04 <= ff["same"] <= 0.06 and 0.04 <= ff["new"] <= 0.06


def test_change_flag_is_its_p_value_below_alpha_and_states_its_power(model):
    from dqm.scoring.latent import fit_latent
    from dqm.scoring.latent_ranks import latent_change

    answers, *_ = study.simulate(study.SCENARIOS["three_respondents"], 40, np.random.default_rng(3), waves=2,
                                 change_share=0.3)
    fit = fit_latent(answers, model)
    ch = latent_change(fit, model, 2024, 2025)
    assert ((ch["p_value"] < 0.05) == ch["flag"]).all()
    assert ch["p_value"].between(0, 1).all()
    # three respondents each wave: a one-level change is flagged most of the time, one respondent much less often
    assert ch.loc[ch["dimension_id"] != "overall", "power_one_level"].median() > 0.5


# ---------------------------------------------------------------- an assumed self-rating bias, said with its cost
def test_an_assumed_self_bias_says_how_much_the_effect_may_be_overstated(model):
    """No council has an independent assessment: the model assumes a spread of self-rating inflation, which enlarges
    the correction for measurement error. The notes say by how much the effect is overstated if self-ratings share
    no bias, and that figure is what fitting without the assumed spread actually changes (within 1.5 points)."""
    import re

    from dqm.scoring.latent import fit_latent, load_config

    answers, lv, outcomes, ref, claim, *_ = _world(model, 0.3, n=200, seed=11, confounder=0.5)
    r = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref, measurement=answers)[0]
    said = re.search(r"overstated by up to about (\d+)%", r.info["measurement_notes"])
    assert said, r.info["measurement_notes"]
    cfg = load_config()
    none = fit_latent(answers, model, config=cfg.replace(assumed={**cfg.assumed, "self_bias": 0.0}))
    r0 = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref, measurement=none)[0]
    assert 1 <= int(said.group(1)) <= 15
    assert r.estimate / r0.estimate - 1 == pytest.approx(int(said.group(1)) / 100, abs=0.015)


def test_no_overstatement_is_claimed_where_independent_assessments_measure_the_bias(model):
    answers, lv, outcomes, ref, claim, *_ = _world(model, 0.3, n=200, seed=12, scenario="inflation_indep_25pct")
    r = evaluate_claims([claim], lv, outcomes, model, 2024, FAST, reference=ref, measurement=answers)[0]
    assert "overstated" not in r.info["measurement_notes"]
