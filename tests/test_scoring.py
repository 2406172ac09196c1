"""Scoring: formulas against hand-worked examples and libraries, and recovery of the demo's planted truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import dqm
from dqm.reference import councils
from dqm.scoring import (
    assessment_gap,
    coherence,
    council_change,
    council_levels,
    council_scores,
    cronbach_alpha,
    icc_oneway,
    mcdonald_omega,
    monte_carlo_ranks,
    nearest_neighbours,
    overall_level,
    panel_change,
    rank_statement,
    respondent_agreement,
    sector_trend,
    target_realism,
)
from dqm.scoring.sector import mean_with_ci

# Shrout and Fleiss (1979), table 2: 6 targets rated by 4 judges
SF = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])


def _sf_long():
    return pd.DataFrame([{"council": i, "level": v} for i, row in enumerate(SF) for v in row])


def test_icc_matches_shrout_and_fleiss():
    r = icc_oneway(_sf_long(), "council", "level")
    assert round(r["icc1"], 2) == 0.17 and round(r["icc1k"], 2) == 0.44  # published values
    assert r["k0"] == 4 and r["groups"] == 6


def test_icc_mean_squares_match_statsmodels_anova():
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    df = pd.DataFrame({"council": list("aaabbcccc"), "level": [3, 4, 3, 2, 2, 5, 4, 4, 5]})
    fit = anova_lm(smf.ols("level ~ C(council)", data=df).fit())
    msb, msw = fit["mean_sq"].iloc[0], fit["mean_sq"].iloc[1]
    r = icc_oneway(df, "council", "level")
    k0 = (9 - (9 + 4 + 16) / 9) / 2
    assert r["k0"] == pytest.approx(k0)
    assert r["icc1"] == pytest.approx((msb - msw) / (msb + (k0 - 1) * msw))
    assert r["f"] == pytest.approx(fit["F"].iloc[0])
    assert r["icc1_low"] < r["icc1"] < r["icc1_high"]


def test_icc_interval_covers_truth_in_simulation():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(200):
        groups = np.repeat(np.arange(60), 3)
        y = rng.normal(0, 1, 60)[groups] + rng.normal(0, 1, len(groups))  # true ICC(1) = 0.5
        r = icc_oneway(pd.DataFrame({"g": groups, "y": y}), "g", "y")
        hits += r["icc1_low"] <= 0.5 <= r["icc1_high"]
    assert 0.9 <= hits / 200 <= 0.99


def test_overall_rules_hand_worked():
    df = pd.DataFrame({"a": [1, 3, 2, np.nan], "b": [2, 4, 2, 4], "c": [4, 4, 5, 4], "d": [4, 1, 3, 4]})
    assert overall_level(df, "rounded_mean", 3).tolist() == [3.0, 3.0, 3.0, 4.0]  # 2.75, 3.0, 3.0, 4.0
    assert overall_level(df, "median", 3).tolist() == [3.0, 4.0, 3.0, 4.0]  # 3.0, 3.5 -> 4, 2.5 -> 3, 4
    gm = np.exp(np.log([1, 2, 4, 4]).mean())
    assert overall_level(df, "geometric_mean", 3).iloc[0] == np.floor(gm + 0.5)
    assert overall_level(df, "threshold", 3).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert overall_level(df, "rounded_mean", 4).isna().tolist() == [False, False, False, True]  # coverage


def test_council_levels_take_the_median_of_respondents(model):
    dims = model.dimension_ids
    rows = []
    for sub, levels in enumerate([[2] * 10, [3] * 10, [5] * 10]):
        rows += [{"submission_id": sub, "council_code": "BST", "wave": 2026, "assessment_type": "self",
                  "dimension_id": d, "level": lv} for d, lv in zip(dims, levels)]
    out = council_levels(pd.DataFrame(rows), model)
    assert out.loc[0, "leadership"] == 3 and out.loc[0, "n_respondents"] == 3 and out.loc[0, "overall_level"] == 3


def test_cronbach_alpha_hand_worked():
    x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    item_var = x.var(ddof=1).sum()  # 2.5 + 2.3 + 1.5 = 6.3
    total_var = x.sum(axis=1).var(ddof=1)  # totals 4, 7, 9, 13, 14 -> 69.2 / 4 = 17.3
    assert item_var == pytest.approx(6.3) and total_var == pytest.approx(17.3)
    assert cronbach_alpha(x) == pytest.approx(1.5 * (1 - 6.3 / 17.3))  # 0.954


def test_omega_recovers_a_known_one_factor_structure():
    rng = np.random.default_rng(3)
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.4])
    f = rng.normal(size=20000)
    x = pd.DataFrame(f[:, None] * lam + rng.normal(size=(20000, 5)) * np.sqrt(1 - lam ** 2))
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam ** 2).sum())
    assert mcdonald_omega(x) == pytest.approx(truth, abs=0.01)


def test_coherence_flags_a_dimension_that_does_not_belong():
    rng = np.random.default_rng(4)
    f = rng.normal(size=300)
    x = pd.DataFrame({f"d{i}": f + rng.normal(scale=0.6, size=300) for i in range(5)})
    x["noise"] = rng.normal(size=300)
    summary, per = coherence(x, list(x.columns))
    assert per.set_index("dimension_id").loc["noise", "flag"]
    assert not per.set_index("dimension_id").drop("noise")["flag"].any()
    assert 0 < summary["first_component_share"] < 1


def test_mean_interval_matches_scipy():
    v = pd.Series([2.1, 2.9, 3.4, 3.0, 2.2, 4.1])
    m, lo, hi, n = mean_with_ci(v)
    ci = stats.ttest_1samp(v, 0).confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((ci.low, ci.high)) and n == 6


def test_rank_statement():
    assert rank_statement(1, 25, 100) == "in the top quarter"
    assert rank_statement(1, 26, 100) == "in the top half"
    assert rank_statement(76, 100, 100) == "in the bottom quarter"
    assert rank_statement(40, 60, 100) == "not clearly different from the middle"


def _toy_answers(model, n_councils=40, n_resp=2, seed=0):
    rng = np.random.default_rng(seed)
    codes = councils()["local-authority-code"].iloc[:n_councils]
    rows, sid = [], 0
    for i, c in enumerate(codes):
        true = 1 + 4 * i / n_councils
        for _ in range(n_resp):
            sid += 1
            for d in model.dimension_ids:
                rows.append({"submission_id": sid, "council_code": c, "wave": 2026, "assessment_type": "self",
                             "dimension_id": d, "level": int(np.clip(np.rint(true + rng.normal(0, 0.3)), 1, 5))})
    return pd.DataFrame(rows)


def test_monte_carlo_is_seeded_and_orders_councils(model):
    a = _toy_answers(model)
    r1 = monte_carlo_ranks(a, model, n_draws=200, seed=5)
    r2 = monte_carlo_ranks(a, model, n_draws=200, seed=5)
    pd.testing.assert_frame_equal(r1, r2)
    # the weights matter: near-equal weights give narrower score intervals than wildly unequal ones
    tight = monte_carlo_ranks(a, model, n_draws=400, seed=5, weight_concentration=1000)
    loose = monte_carlo_ranks(a, model, n_draws=400, seed=5, weight_concentration=0.5)
    width = lambda r: (r["score_p95"] - r["score_p5"]).mean()
    assert width(loose) > width(tight)
    assert (r1["rank_p5"] <= r1["rank_median"]).all() and (r1["rank_median"] <= r1["rank_p95"]).all()
    # the council planted highest is ranked near the top, the lowest near the bottom
    assert r1.iloc[-1]["rank_median"] <= 3 and r1.iloc[0]["rank_median"] >= 38


def test_councils_below_min_coverage_are_not_ranked(model):
    a = _toy_answers(model, n_councils=5)
    first = a["council_code"].iloc[0]
    a = a[~((a["council_code"] == first) & a["dimension_id"].isin(model.dimension_ids[:5]))]
    r = monte_carlo_ranks(a, model, n_draws=50)
    assert first not in set(r["council_code"]) and len(r) == 4


def test_nearest_neighbours():
    nn = nearest_neighbours(councils())
    per = nn.groupby("council_code").size()
    assert per.max() == 15 and per.min() == 10  # Northern Ireland has 11 councils: 10 peers each
    assert (nn["council_code"] != nn["peer_code"]).all()
    # peers are of a comparable type
    tg = councils().set_index("local-authority-code")["type_group"]
    districts = nn[nn["council_code"].map(tg) == "District council"]
    assert (districts["peer_code"].map(tg) == "District council").all()
    # distances grow with peer rank
    assert (nn.groupby("council_code")["distance"].apply(lambda s: s.is_monotonic_increasing)).all()
    # hand check on the features: the nearest peer is nearer than the 15th
    assert nn.query("council_code == 'BST'")["distance"].iloc[0] < nn.query("council_code == 'BST'")["distance"].iloc[-1]


def test_change_beyond_noise_rule(model):
    rows, sid = [], 0
    # 30 councils with 3 respondents each who disagree by +/-1; one council jumps 2 levels
    for w in (2025, 2026):
        for _i, c in enumerate(councils()["local-authority-code"].iloc[:30]):
            base = 3 + (2 if (c == "ABC" and w == 2026) else 0) - (1 if c == "ABC" else 0)
            for off in (-1, 0, 1):
                sid += 1
                for d in model.dimension_ids:
                    rows.append({"submission_id": sid, "council_code": c, "wave": w, "assessment_type": "self",
                                 "dimension_id": d, "level": base + off})
    answers = pd.DataFrame(rows)
    lv = council_levels(answers, model)
    ch = council_change(lv, answers, model, 2025, 2026)
    lead = ch[ch["dimension_id"] == "leadership"].set_index("council_code")
    # within-council sd is 1; se of change = sqrt(1/3 + 1/3) = 0.816; 2 levels > 1.96 * 0.816 = 1.6
    assert lead.loc["ABC", "se"] == pytest.approx(np.sqrt(2 / 3))
    assert lead.loc["ABC", "beyond_noise"] and not lead.drop("ABC")["beyond_noise"].any()


# ---------------------------------------------------------------- recovery of the demo's planted truth
@pytest.fixture(scope="module")
def demo_data(demo_store, model):
    store, _ = demo_store
    return dqm.load(store, model=model)


def test_recovers_ordering_of_council_types(demo_data, demo_truth, model):
    lv = demo_data.councils
    est = sector_trend(lv, model, by="type_group")
    est = est[est["wave"] == 2026].set_index("type_group")["mean"]
    planted = pd.Series(demo_truth["params"]["type_effect"])
    rho = stats.spearmanr(planted.reindex(est.index), est).statistic
    print(f"\ncouncil-type ordering: Spearman rho between planted effects and estimated means = {rho:.2f}")
    print(pd.DataFrame({"planted effect": planted, "estimated 2026 mean": est}).round(2).to_string())
    assert rho >= 0.8


def test_recovers_growth_between_waves(demo_data, demo_truth, model):
    planted = demo_truth["params"]["growth_per_wave"]
    two = panel_change(demo_data.councils, model, 2024, 2026).set_index("dimension_id").loc["overall_mean"]
    print(f"\ngrowth 2024 to 2026 (panel of {two['councils']} councils): planted {2 * planted:.2f}, "
          f"estimated {two['change']:.2f} ({two['ci_low']:.2f} to {two['ci_high']:.2f})")
    # levels are rounded and capped at 5, which slightly attenuates change: tolerance 0.08
    assert abs(two["change"] - 2 * planted) <= 0.08


def test_recovers_self_versus_independent_gap(demo_data, demo_truth, model):
    planted = demo_truth["params"]["optimism"]["self"] - demo_truth["params"]["optimism"]["independent"]
    gap = assessment_gap(demo_data.councils, model)
    overall = gap[gap["dimension_id"] == "overall_mean"]
    pooled = np.average(overall["gap"], weights=overall["councils"])
    print(f"\nself minus independent (overall): planted {planted:.2f}; by wave "
          + ", ".join(f"{w}: {g:.2f} ({lo:.2f} to {hi:.2f}, n={n})" for w, g, lo, hi, n in
                      overall[["wave", "gap", "ci_low", "ci_high", "councils"]].itertuples(index=False))
          + f"; pooled {pooled:.2f}")
    assert abs(pooled - planted) <= 0.1


def test_agreement_and_targets_on_demo(demo_data, model):
    agree = respondent_agreement(demo_data.answers, model)
    lead = agree[(agree["wave"] == 2026) & (agree["dimension_id"] == "leadership")].iloc[0]
    assert 0.2 < lead["icc1"] < 0.9 and lead["icc1_low"] < lead["icc1"] < lead["icc1_high"]
    real = target_realism(demo_data.councils, demo_data.answers, model, 2026)
    assert real["share_targets_beyond_p90"].between(0, 1).all()
    assert (real["mean_target_gap"] > real["mean_achieved_change"]).all()  # targets outrun achieved change


def test_council_scores_table(demo_data, model):
    s = council_scores(demo_data.councils, demo_data.answers, model, 2026, n_draws=200)
    assert s["council_code"].is_unique
    assert {"overall_level", "rank_p5", "rank_p95", "position"} <= set(s.columns)


def test_renamed_dimension_in_a_later_model_version(tmp_path, demo_store):
    """Earlier waves stored under an old dimension id load under the new id via renamed_dimensions."""
    import yaml

    from dqm.model import load_model
    from dqm.paths import model_path

    raw = yaml.safe_load(model_path().read_text())
    for d in raw["dimensions"]:
        if d["id"] == "data":
            d["id"] = "data_and_insight"
    raw["renamed_dimensions"] = {"data": "data_and_insight"}
    p = tmp_path / "model-v2.yaml"
    p.write_text(yaml.safe_dump(raw))
    new = load_model(p)
    store, _ = demo_store
    data = dqm.load(store, model=new)
    assert "data" not in set(data.answers["dimension_id"]) and "data_and_insight" in set(data.answers["dimension_id"])
    assert data.councils["data_and_insight"].notna().sum() > 100
    bad = dict(raw, renamed_dimensions={"data": "nonexistent"})
    p.write_text(yaml.safe_dump(bad))
    with pytest.raises(Exception, match="renamed_dimensions.data"):
        load_model(p)


# ---------------------------------------------------------------- honest uncertainty (issue 10)
def test_within_council_covariance_recovers_a_known_spread(model):
    from dqm.scoring.uncertainty import within_council_covariance

    rng = np.random.default_rng(2)
    dims = model.dimension_ids
    n = 3000  # 1,000 councils of 3 respondents; deviations sd 0.5, correlated 0.5 across dimensions (shared lenience)
    dev = rng.normal(0, np.sqrt(0.125), (n, 1)) + rng.normal(0, np.sqrt(0.125), (n, len(dims)))
    council = np.arange(n) // 3
    answers = pd.DataFrame({"council_code": np.repeat([f"C{c}" for c in council], len(dims)),
                            "submission_id": np.repeat(np.arange(n), len(dims)), "dimension_id": np.tile(dims, n),
                            "level": (3 + np.repeat(council % 2, len(dims)) + dev.reshape(-1))})
    cov, groups = within_council_covariance(answers, dims)
    assert groups == 1000  # 2,000 degrees of freedom: the SE of each variance is about 0.008
    assert np.diag(cov) == pytest.approx(np.full(len(dims), 0.25), abs=0.03)
    assert cov[0, 1] == pytest.approx(0.125, abs=0.03)


def test_single_respondent_councils_get_respondent_error_too(model):
    a = _toy_answers(model, n_councils=40, n_resp=2)
    single = a[a["submission_id"] % 2 == 0]  # half the councils keep one respondent
    mixed = pd.concat([a[a["council_code"].isin(a["council_code"].unique()[:20])],
                       single[single["council_code"].isin(a["council_code"].unique()[20:])]])
    with_err = monte_carlo_ranks(mixed, model, n_draws=300, seed=1).set_index("council_code")
    without = monte_carlo_ranks(mixed, model, n_draws=300, seed=1, respondent_error=False).set_index("council_code")
    ones = with_err.index[with_err["n_respondents"] == 1]
    w = lambda r: (r["score_p95"] - r["score_p5"])
    assert (w(with_err.loc[ones]) > w(without.loc[ones])).all()


def test_rank_intervals_cover_true_ranks_fast(model):
    from dqm.scoring.uncertainty import rank_coverage

    honest = rank_coverage(model, reps=3, n_councils=150, n_draws=300)
    print(f"\nrank interval coverage: {honest['coverage']:.3f} (MC s.e. {honest['mc_se']:.3f}); "
          f"by respondents {honest['by_respondents']}")
    assert honest["coverage"] >= 0.90
    # teeth: leaving out respondent disagreement misses the true rank far too often
    assert rank_coverage(model, reps=1, n_councils=150, n_draws=300, respondent_error=False)["coverage"] < 0.80


@pytest.mark.slow
def test_rank_intervals_cover_true_ranks_slow(model):
    from dqm.scoring.uncertainty import rank_coverage

    r = rank_coverage(model, reps=30, n_councils=200, n_draws=1000)
    print(f"\nrank interval coverage: {r['coverage']:.3f} (MC s.e. {r['mc_se']:.3f}); by respondents {r['by_respondents']}")
    assert r["coverage"] >= 0.90 and min(r["by_respondents"].values()) >= 0.90


def test_change_flags_are_calibrated_fast(model):
    from dqm.scoring.change import false_flag_rate

    r = false_flag_rate(model, reps=1, n_councils=300, draws=400)
    print(f"\nfalse flags per dimension: {r['rate']:.4f} (MC s.e. {r['mc_se']:.4f})")
    assert abs(r["rate"] - 0.05) <= 2 * r["mc_se"]
    # teeth: the mean-of-respondents formula on medians of whole numbers flags too often
    m = false_flag_rate(model, reps=1, n_councils=300, method="mean")
    assert m["rate"] > 0.05 + 2 * m["mc_se"]


@pytest.mark.slow
def test_change_flags_are_calibrated_slow(model):
    from dqm.scoring.change import false_flag_rate

    r = false_flag_rate(model, reps=6, n_councils=400, draws=1000)
    print(f"\nfalse flags per dimension: {r['rate']:.4f} (MC s.e. {r['mc_se']:.4f}); {r['per_dimension']}")
    assert abs(r["rate"] - 0.05) <= 2 * r["mc_se"]


def test_omega_keeps_the_sign_of_a_reversed_item():
    rng = np.random.default_rng(5)
    lam = np.array([0.8, 0.7, 0.6, 0.5, -0.5])  # one item runs the other way
    f = rng.normal(size=20000)
    x = pd.DataFrame(f[:, None] * lam + rng.normal(size=(20000, 5)) * np.sqrt(1 - lam ** 2))
    signed = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam ** 2).sum())
    assert mcdonald_omega(x) == pytest.approx(signed, abs=0.01)  # absolute loadings would give about 0.79
