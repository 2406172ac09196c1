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
