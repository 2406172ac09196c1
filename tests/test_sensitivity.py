"""Sensitivity to unmeasured confounding (Cinelli and Hazlett 2020) and what a verdict can reach at this n.

The formulas are checked against the paper's worked example (Darfur: the effect of being directly harmed on
attitudes to peace), as published with the sensemakr package: estimate 0.09731582, classical s.e.
0.02325654, 783 residual degrees of freedom; benchmark "female" with t = -9.789 in the outcome regression and
t = -2.680 in the treatment regression.
"""
from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from dqm.claims import sensitivity as sens

EST, SE, DOF = 0.09731582, 0.02325654, 783
# published bounds for confounders 1, 2 and 3 times as strong as "female" (sensemakr's Darfur example)
R2DZ = [0.00916428667504862, 0.0183285733500972, 0.0274928600251459]
R2YZ = [0.12464092303637, 0.249324064199975, 0.374050471038094]
ADJ_EST = [0.0752202698486415, 0.0529151689180575, 0.0303960178770157]
ADJ_SE = [0.0218733298036818, 0.0203500639944344, 0.0186700665753491]
ADJ_LO = [0.0322829603180086, 0.0129680276030601, -0.00625329133645187]
ADJ_HI = [0.118157579379274, 0.092862310233055, 0.0670453270904833]


def test_robustness_values_match_the_papers_darfur_example():
    t = EST / SE
    assert t == pytest.approx(4.18445, abs=1e-4)
    assert sens.partial_r2(t, DOF) == pytest.approx(0.02187309, abs=1e-6)
    assert sens.robustness_value(t, DOF) == pytest.approx(0.1387764, abs=1e-6)
    assert sens.robustness_value(t, DOF, alpha=0.05) == pytest.approx(0.07625797, abs=1e-6)
    # a confounder with partial R² equal to RV_q with both brings the estimate exactly to zero (q = 1) or half way
    for q in (1.0, 0.5):
        rv = sens.robustness_value(t, DOF, q=q)
        assert sens.bias(SE, DOF, rv, rv) == pytest.approx(q * EST, rel=1e-9)
    # and one at RV_{q,alpha} leaves the adjusted t at the critical value
    rva = sens.robustness_value(t, DOF, alpha=0.05)
    adj = sens.adjusted(EST, SE, DOF, rva, rva)
    assert float(adj["adjusted_t"].iloc[0]) == pytest.approx(1.963, abs=2e-3)
    # not significant to begin with: RV_{q,alpha} is 0; an overwhelming t: the edge case applies
    assert sens.robustness_value(1.0, 100, alpha=0.05) == 0
    big = sens.robustness_value(60.0, 100, alpha=0.05)
    fq, fc = 60 / np.sqrt(100), 1.984217 / np.sqrt(99)
    assert big == pytest.approx((fq ** 2 - fc ** 2) / (1 + fq ** 2), rel=1e-4)


def test_benchmark_bounds_match_the_published_darfur_bounds():
    # from the published t statistics of "female" (3 significant figures in the paper's tables)
    r2d, r2y = sens.partial_r2(-2.680, 783), sens.partial_r2(-9.789, 783)
    b = sens.benchmark_bounds(r2d, r2y, kd=[1, 2, 3])
    assert b["r2dz_x"].to_numpy() == pytest.approx(R2DZ, rel=2e-3)
    assert b["r2yz_dx"].to_numpy() == pytest.approx(R2YZ, rel=2e-3)
    # exactly: recover female's partial R² from the published 1x bound, then the 2x and 3x bounds must follow
    r2d_exact = R2DZ[0] / (1 + R2DZ[0])
    r2zxj = r2d_exact ** 2 / ((1 - r2d_exact) * (1 - r2d_exact))
    odds_y = R2YZ[0] / ((1 + np.sqrt(r2zxj)) ** 2 / (1 - r2zxj))
    b = sens.benchmark_bounds(r2d_exact, odds_y / (1 + odds_y), kd=[1, 2, 3])
    assert b["r2dz_x"].to_numpy() == pytest.approx(R2DZ, rel=1e-9)
    assert b["r2yz_dx"].to_numpy() == pytest.approx(R2YZ, rel=1e-9)
    adj = sens.adjusted(EST, SE, DOF, b["r2dz_x"].to_numpy(), b["r2yz_dx"].to_numpy())
    assert adj["adjusted_estimate"].to_numpy() == pytest.approx(ADJ_EST, rel=1e-6)
    assert adj["adjusted_se"].to_numpy() == pytest.approx(ADJ_SE, rel=1e-6)
    assert adj["adjusted_ci_low"].to_numpy() == pytest.approx(ADJ_LO, abs=1e-7)
    assert adj["adjusted_ci_high"].to_numpy() == pytest.approx(ADJ_HI, abs=1e-7)
    # either direction: the bound is symmetric around the estimate
    assert (adj["bound_high"] - EST).to_numpy() == pytest.approx((EST - adj["bound_low"]).to_numpy())
    # an impossible multiple gives no bound rather than a wrong one
    assert np.isnan(sens.benchmark_bounds(0.6, 0.1, kd=[2.0])["r2dz_x"].iloc[0])


def test_the_bias_formula_is_exact_for_a_real_omitted_variable():
    """Leave a covariate out of a regression: the bound computed from it, at k = 1, is the bias actually seen."""
    rng = np.random.default_rng(7)
    n = 400
    x, z = rng.normal(size=n), rng.normal(size=n)
    d = 0.5 * x + 0.4 * z + rng.normal(size=n)
    y = 0.3 * d + 0.2 * x + 0.5 * z + rng.normal(size=n)
    full = sm.OLS(y, sm.add_constant(np.column_stack([d, x, z]))).fit()
    short = sm.OLS(y, sm.add_constant(np.column_stack([d, x]))).fit()
    r2dz = sens.partial_r2(sm.OLS(d, sm.add_constant(np.column_stack([x, z]))).fit().tvalues[2], n - 3)
    r2yz = sens.partial_r2(full.tvalues[3], full.df_resid)
    b = sens.bias(short.bse[1], short.df_resid, r2dz, r2yz)
    assert b == pytest.approx(abs(short.params[1] - full.params[1]), rel=1e-9)
    assert sens.adjusted_se(short.bse[1], short.df_resid, r2dz, r2yz) == pytest.approx(full.bse[1], rel=1e-9)


def test_sensitivity_of_a_design_benchmarks_the_named_column():
    rng = np.random.default_rng(11)
    n = 200
    dep = rng.normal(size=n)
    other = rng.normal(size=n)
    d = 0.3 * dep + rng.normal(size=n)
    y = 0.3 * d + 0.3 * dep + 0.3 * other + rng.normal(size=n)
    X = np.column_stack([np.ones(n), d, other, dep])
    out = sens.sensitivity(X, y, benchmark_col=3)
    ref = sm.OLS(y, X).fit()
    assert out["sens_t_classical"] == pytest.approx(ref.tvalues[1]) and out["sens_dof"] == n - 4
    assert out["sens_partial_r2"] == pytest.approx(ref.tvalues[1] ** 2 / (ref.tvalues[1] ** 2 + ref.df_resid))
    assert out["sens_r2yxj_dx"] == pytest.approx(ref.tvalues[3] ** 2 / (ref.tvalues[3] ** 2 + ref.df_resid))
    treat = sm.OLS(d, X[:, [0, 2, 3]]).fit()
    assert out["sens_r2dxj_x"] == pytest.approx(treat.tvalues[2] ** 2 / (treat.tvalues[2] ** 2 + treat.df_resid))
    # twice as strong as the benchmark moves the estimate further than once as strong
    assert out["sens_bias_2x"] > out["sens_bias_1x"] > 0
    assert out["sens_bound_low_1x"] < ref.params[1] < out["sens_bound_high_1x"]
    none = sens.sensitivity(X, y, benchmark_col=None)
    assert none["sens_benchmark"] == "" and np.isnan(none["sens_bias_1x"]) and none["sens_rv"] == out["sens_rv"]


# ---------------------------------------------------------------- what the equivalence test can reach
def test_councils_needed_is_where_the_equivalence_test_first_can_succeed():
    from dqm.claims.engine import councils_needed, t_ppf

    se, n, dof, sesoi, m = 0.0747, 179, 170.0, 0.10, 2
    assert t_ppf(1 - 0.05 / m, dof) * se > sesoi  # out of reach at this n, as the audit found
    N = councils_needed(se, n, dof, sesoi, m)
    p_used = n - dof
    ok = lambda k: t_ppf(1 - 0.05 / m, k - p_used) * se * np.sqrt(n / k) < sesoi
    assert ok(N) and not ok(N - 1)
    assert 300 < N < 450
    # already reachable: the smallest n with a positive residual dof that passes is returned, no more than n
    assert councils_needed(0.02, 200, 190.0, 0.10, 1) <= 200
    # a larger family needs more councils; so does a higher chance
    assert councils_needed(se, n, dof, sesoi, 4) > N
    N80 = councils_needed(se, n, dof, sesoi, m, power=0.8)
    assert N80 > N and 900 < N80 < 1300  # the audit's "about 1,300" is of this order
    assert np.isnan(councils_needed(np.nan, n, dof, sesoi, m))


def test_the_chance_at_zero_is_the_simulated_chance_of_equivalence():
    """At the number of councils said to give an 80% chance, simulated data with no relation reach it ~80% of the time."""
    from dqm.claims.engine import councils_needed, equivalence_chance_at_zero, tost

    rng = np.random.default_rng(21)
    sd_e, sesoi, m = 1.0, 0.25, 2
    n0 = 60
    se0 = sd_e / np.sqrt(n0)  # the slope's s.e. with a standardised exposure is about sd_e / sqrt(n)
    N = int(councils_needed(se0, n0, n0 - 2.0, sesoi, m, power=0.8))
    reps, hits = 2000, 0
    for _ in range(reps):
        x = rng.normal(size=N)
        y = rng.normal(size=N) * sd_e
        x = (x - x.mean()) / x.std(ddof=1)
        b = (x @ (y - y.mean())) / (x @ x)
        e = y - y.mean() - b * x
        se = np.sqrt(e @ e / (N - 2) / (x @ x))
        hits += tost(b, se, N - 2, sesoi, 0.05 / m)[0]
    rate, mc_se = hits / reps, np.sqrt(0.8 * 0.2 / reps)
    assert abs(rate - 0.8) < 3 * mc_se + 0.02, (rate, mc_se, N)
    assert equivalence_chance_at_zero(0.2, 100, 0.1, 2) == 0.0  # an interval wider than the SESOI can never pass
    assert equivalence_chance_at_zero(0.01, 1000, 0.1, 1) > 0.999


def test_outcome_timing_reads_financial_years_months_and_years():
    from dqm.claims.run import outcome_timing

    assert outcome_timing("2017-18", 2026) == "before" and outcome_timing("2025-26", 2026) == "same year"
    assert outcome_timing("2026-03", 2026) == "same year" and outcome_timing("2027-28", 2026) == "after"
    assert outcome_timing("2026", 2026) == "same year" and outcome_timing("latest", 2026) == ""
    assert outcome_timing("1999-00", 2026) == "before"


# ---------------------------------------------------------------- wording: associations, never causes
def test_every_causal_statement_is_shown_as_an_association():
    from dqm.claims import load_claims
    from dqm.reports import narrative

    claims = load_claims()
    causal = [c for c in claims if narrative.causal_words_in(c.statement)]
    # the audit's examples are caught: "prevent", "make it easier", "adapt ... faster"
    assert {"prevention-reablement", "resident-experience-information", "agility"} <= {c.id for c in causal}
    wording = narrative.claim_wording()["association"]
    assert set(wording) <= {c.id for c in claims}  # no wording for a claim that does not exist
    for c in claims:
        shown = narrative.association_statement(c)
        assert shown and not narrative.causal_words_in(shown), (c.id, shown)
    # a claim of your own with causal words and no wording entry gets a generated association sentence
    from dataclasses import replace

    mine = replace(causal[0], id="my-claim", layer="user", statement="Digital prevents homelessness.")
    shown = narrative.association_statement(mine)
    assert "higher" in shown and not narrative.causal_words_in(shown)
    none = replace(mine, direction="none")
    assert "no association of a size that matters" in narrative.association_statement(none)


# ---------------------------------------------------------------- re-registration
def test_a_re_registration_supersedes_without_editing(tmp_path):
    import yaml

    from dqm.claims import load_claims
    from dqm.claims.registry import claims_path
    from dqm.errors import DQMError

    raw = yaml.safe_load(claims_path().read_text())
    old = next(c for c in raw if c["id"] == "sceptic-no-efficiency-gain")
    import copy

    new = {**copy.deepcopy(old), "id": "sceptic-no-efficiency-gain-v2", "registered": "2026-12-01", "direction": "positive",
           "supersedes": [old["id"]], "supersedes_why": "equivalence cannot be reached at this number of councils"}
    p = tmp_path / "claims.yaml"
    p.write_text(yaml.safe_dump(raw + [new]))
    by_id = {c.id: c for c in load_claims(p)}
    was = by_id["sceptic-no-efficiency-gain"]
    assert was.superseded_by == ("sceptic-no-efficiency-gain-v2",) and str(was.superseded_on) == "2026-12-01"
    assert was.statement == old["statement"] and was.direction == old["direction"]  # the old entry is unchanged
    assert by_id["sceptic-no-efficiency-gain-v2"].supersedes == (old["id"],)
    for bad, key in [({"supersedes_why": ""}, "supersedes_why"), ({"supersedes": ["no-such-claim"]}, "supersedes"),
                     ({"registered": "2026-01-01"}, "supersedes")]:
        p.write_text(yaml.safe_dump(raw + [{**copy.deepcopy(new), **bad}]))
        with pytest.raises(DQMError) as exc:
            load_claims(p)
        assert f"'{key}'" in str(exc.value)
    twice = {**copy.deepcopy(new), "id": "another"}  # one claim may be replaced by several (a claim split in two)
    p.write_text(yaml.safe_dump(raw + [new, twice]))
    assert {c.id: c for c in load_claims(p)}["sceptic-no-efficiency-gain"].superseded_by == (
        "sceptic-no-efficiency-gain-v2", "another")


# ---------------------------------------------------------------- the demo run, as a reader sees it
@pytest.fixture(scope="module")
def demo_table(demo_store, model):
    import dqm
    from dqm.claims import EngineConfig, evaluate_claims, load_claims, results_table
    from dqm.outcomes import load_outcomes

    store, _ = demo_store
    data = dqm.load(store, model=model)
    res = evaluate_claims(load_claims(), data.councils, load_outcomes(), model, 2026,
                          EngineConfig(n_boot=100, n_null_boot=30, workers=1))
    return results_table(res)


def test_every_verdict_cell_says_association_period_and_reach(demo_table):
    from dqm.reports import narrative

    t = demo_table.set_index("id")
    cells = {i: narrative.verdict_cell(r).replace("\u2011", "-") for i, r in t.iterrows()}  # read as typed
    for i, r in t.iterrows():
        if r["verdict"] == "untestable" or r["kind"] != "association":
            continue
        assert "association" in cells[i] and f"{r['period']} outcomes, 2026 assessments" in cells[i]
        sentence = narrative.sensitivity_sentence(r)
        if r["model"] != "ols":  # a ratio: its E-value (at least 1, and the interval's no larger than the estimate's)
            assert 1 <= r["sens_evalue_ci"] <= r["sens_evalue"] and "E-value" in sentence
            continue
        assert np.isfinite(r["sens_rv"]) and 0 <= r["sens_rv_alpha"] <= r["sens_rv"] < 1
        assert "residual variance" in sentence and "as strong as deprivation" in sentence
    # finance outcomes were measured eight years before the assessments, and the cell says so
    assert "2017-18 outcomes, 2026 assessments: outcome before assessment" in cells["efficiency-net-spend"]
    # the audit's finding: no claim of no meaningful effect can be supported at about 200 councils; the cell says so
    for i in ("sceptic-no-efficiency-gain", "sceptic-complex-cases-need-people"):
        r = t.loc[i]
        assert not r["equivalence_reachable"] and r["councils_needed"] > r["n"]
        assert "cannot be decided at this number of councils" in cells[i] and "would need about" in cells[i]
    assert "'no meaningful effect' cannot be reached" in cells["efficiency-central-costs"]
    # the estimate the review prints is the one the sensitivity bounds are built around
    r = t.loc["efficiency-net-spend"]
    assert r["sens_estimate_classical"] == pytest.approx(r["estimate"])
    assert r["sens_bound_low_1x"] < r["estimate"] < r["sens_bound_high_1x"]


def test_the_verdict_table_shows_associations_and_limits(demo_table, model):
    from dqm.outcomes import load_measures
    from dqm.reports import narrative

    vt = narrative.verdict_table(demo_table, "", model, load_measures().set_index("id"))
    assert list(vt.columns)[:3] == ["Association tested", "Who makes it", "Verdict"]
    assert not any(narrative.causal_words_in(s) for s in vt["Association tested"])
    counts = narrative.verdict_counts(demo_table)
    assert "cannot be decided at this number of councils" in counts


# ---------------------------------------------------------------- the annual report's headlines
def test_headlines_say_among_responding_councils_and_use_holm(demo_store, model):
    import dqm
    from dqm import scoring
    from dqm.reports import narrative

    store, _ = demo_store
    data = dqm.load(store, model=model)
    lv = data.councils
    this = lv[(lv["wave"] == 2026) & (lv["assessment_type"] == "self")]
    gaps = scoring.target_gaps(data.answers[(data.answers["wave"] == 2026)], model)
    text = str(narrative.annual_summary(2026, 223, 382, scoring.dimension_means(this, model), None, gaps))
    assert "Among the councils that responded (58% of principal councils), the average model level (overall)" in text
    panel = scoring.panel_change(lv, model, 2025, 2026)
    fam = narrative.dimension_family(panel)
    dims = fam[fam["dimension_id"] != "overall_mean"]
    m = len(dims)
    assert (dims["family_size"] == m).all() and (dims["p_holm"] >= dims["p_value"]).all()
    # simultaneous intervals are wider than the unadjusted ones and agree with the p-values they came from
    assert ((dims["simul_low"] < dims["ci_low"]) & (dims["simul_high"] > dims["ci_high"])).all()
    from scipy import stats

    r = dims.iloc[0]
    se = (r["ci_high"] - r["ci_low"]) / 2 / stats.t.ppf(0.975, r["councils"] - 1)
    assert r["p_value"] == pytest.approx(2 * stats.t.sf(abs(r["change"]) / se, r["councils"] - 1))
    from statsmodels.stats.multitest import multipletests

    assert dims["p_holm"].to_numpy() == pytest.approx(multipletests(dims["p_value"], method="holm")[1])
    sentence = narrative.panel_sentences(panel)
    clear = dims[dims["p_holm"] < 0.05]
    up = [d for d, c in zip(clear["dimension"], clear["change"]) if c > 0]
    if up:
        assert f"The increase is clear for {narrative.list_words(up)} (after Holm adjustment over the {m} dimensions" in sentence
    noise = dims[dims["p_holm"] >= 0.05]["dimension"].tolist()
    if noise:
        assert f"For {narrative.list_words(noise)} the change could be noise" in sentence
    # a dimension clear only without adjustment is not called clear
    nudged = panel.copy()
    i = nudged.index[nudged["dimension_id"] != "overall_mean"][0]
    nudged.loc[i, ["change", "ci_low", "ci_high"]] = [0.05, 0.001, 0.099]  # unadjusted p just under 0.05
    name = nudged.loc[i, "dimension"]
    s = narrative.panel_sentences(nudged)
    assert f"For {name}" in s or f"{name} and" in s or f", {name}" in s
    assert "clear for " + name not in s


@pytest.mark.parametrize("ratio, lo, hi, odds, share, expected", [
    (3.9, 1.8, 8.7, False, None, (7.26, 3.0)),  # VanderWeele and Ding 2017, the breastfeeding example
    (1 / 3.9, 1 / 8.7, 1 / 1.8, False, None, (7.26, 3.0)),  # a protective ratio, inverted
    (0.88, 0.58, 1.33, True, 0.37, (1.33, 1.0)),  # an odds ratio of a common outcome: sqrt(OR) first; CI spans 1
    (2.0, 1.2, 3.3, True, 0.05, (3.41, 1.69)),  # a rare outcome: the odds ratio as it is
])
def test_e_values(ratio, lo, hi, odds, share, expected):
    from dqm.claims.sensitivity import e_value

    out = e_value(ratio, lo, hi, odds_ratio=odds, outcome_share=share)
    assert (round(out["sens_evalue"], 2), round(out["sens_evalue_ci"], 2)) == expected
