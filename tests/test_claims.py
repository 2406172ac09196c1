"""The claims engine: registry validation, formulas against statsmodels and scipy, verdicts, and the demo run."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml

import dqm
from dqm.claims import EngineConfig, evaluate_claims, load_claims, results_json, verdict
from dqm.claims.engine import ClaimResult, holm_adjust, mde, specification_curve, tost
from dqm.claims.ols import ols_hc3
from dqm.claims.panel import panel_view
from dqm.claims.registry import claims_path
from dqm.claims.simulation import BASE_CLAIM, synthetic_councils
from dqm.errors import DQMError
from dqm.outcomes import load_outcomes


# ---------------------------------------------------------------- the registry
def test_registry_loads_and_covers_the_required_claims():
    claims = load_claims()
    ids = {c.id for c in claims}
    assert {"efficiency-central-costs", "prevention-reablement", "resident-experience-information", "agility",
            "risk-reduction", "sceptic-no-efficiency-gain", "sceptic-agile-least-digital",
            "assessment-self-matches-independent"} <= ids
    sides = {c.side for c in claims}
    assert {"promoters", "sceptics"} <= sides
    assert all(c.settle_with for c in claims if not c.testable)
    assert any(c.exploratory for c in claims)


@pytest.mark.parametrize("mutate, key", [
    (lambda c: c[0].pop("sesoi"), "'sesoi'"),
    (lambda c: c[0].update(exposure="vibes"), "'exposure'"),
    (lambda c: c[0].update(outcome="happiness_index"), "'outcome'"),
    (lambda c: c[0].update(direction="up"), "'direction'"),
    (lambda c: c[0].update(controls=["astrology"]), "'controls'"),
    (lambda c: c[0].update(registered="last Tuesday"), "'registered'"),
    (lambda c: c[1].update(id=c[0]["id"]), "'id'"),
    (lambda c: c[4].pop("settle_with"), "'settle_with'"),
    (lambda c: c[0].update(transform="cube"), "'transform'"),
])
def test_bad_claim_names_claim_and_key(tmp_path, mutate, key):
    raw = yaml.safe_load(claims_path().read_text())
    mutate(raw)
    p = tmp_path / "claims.yaml"
    p.write_text(yaml.safe_dump(raw))
    with pytest.raises(DQMError) as exc:
        load_claims(p)
    assert key in str(exc.value) and "claim '" in str(exc.value)


# ---------------------------------------------------------------- formulas
def test_ols_hc3_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(80), rng.normal(size=80), rng.normal(size=80)])
    y = X @ [1, 0.5, -0.2] + rng.normal(size=80) * (1 + np.abs(X[:, 1]))
    ref = sm.OLS(y, X).fit(cov_type="HC3")
    b, se, dof = ols_hc3(X, y[:, None])
    assert b[0] == pytest.approx(ref.params[1]) and se[0] == pytest.approx(ref.bse[1]) and dof == 77
    classical = sm.OLS(y, X).fit()
    b2, se2, _ = ols_hc3(X, y[:, None], robust=False)
    assert se2[0] == pytest.approx(classical.bse[1])
    # batched over resamples with 0/1 weights equals fitting the kept rows
    w = (rng.random(80) > 0.3).astype(float)
    kept = sm.OLS(y[w == 1], X[w == 1]).fit(cov_type="HC3")
    bb, sb, _ = ols_hc3(X[None].repeat(3, 0), y[None, :, None].repeat(3, 0), w=np.tile(w, (3, 1)))
    assert bb[1, 0] == pytest.approx(kept.params[1]) and sb[2, 0] == pytest.approx(kept.bse[1])


def test_tost_and_mde_by_hand():
    from scipy import stats

    # estimate 0.02, se 0.03, dof 100: 90% interval 0.02 +/- 1.660 * 0.03 = (-0.030, 0.070) lies inside +/-0.1
    eq, p = tost(0.02, 0.03, 100, 0.10)
    assert eq and p == pytest.approx(stats.t.sf((0.10 - 0.02) / 0.03, 100))
    assert not tost(0.02, 0.06, 100, 0.10)[0]
    assert mde(0.05, 1e6) == pytest.approx((1.959964 + 0.841621) * 0.05, rel=1e-5)


def test_holm_matches_statsmodels_and_intervals_agree_with_decisions():
    from statsmodels.stats.multitest import multipletests

    ests = [0.30, 0.05, 0.20, 0.12]
    ses = [0.08, 0.10, 0.08, 0.06]
    res = []
    for i, (e, s) in enumerate(zip(ests, ses)):
        r = ClaimResult(replace(BASE_CLAIM, id=f"c{i}"), "")
        r.estimate, r.se, r.dof = e, s, 200
        from dqm.claims.engine import t_two_sided_p

        r.p_value = float(t_two_sided_p(e / s, 200))
        res.append(r)
    holm_adjust(res)
    reject, p_adj, _, _ = multipletests([r.p_value for r in res], method="holm")
    assert [r.p_adjusted for r in res] == pytest.approx(list(p_adj))
    for r, rej in zip(res, reject):
        assert (r.adj_ci_low > 0) == bool(rej)  # the adjusted interval excludes 0 exactly when Holm rejects
        assert r.adj_ci_low <= r.estimate - 1.96 * r.se + 1e-9


def _result(direction="positive", adj=(0.1, 0.5), eq=False, share=0.8, joint=0.01, n=100):
    r = ClaimResult(replace(BASE_CLAIM, direction=direction), "", n=n)
    r.estimate = (adj[0] + adj[1]) / 2
    r.adj_ci_low, r.adj_ci_high = adj
    r.equivalent, r.spec_curve_share, r.spec_joint_p = eq, share, joint
    return r


@pytest.mark.parametrize("kw, expected", [
    ({}, "supported"),
    ({"share": 0.3}, "inconclusive"),  # the specification curve does not agree
    ({"joint": 0.2}, "inconclusive"),
    ({"adj": (-0.5, -0.1)}, "contradicted"),
    ({"adj": (-0.05, 0.05), "eq": True}, "no meaningful effect"),
    ({"adj": (-0.1, 0.4)}, "inconclusive"),
    ({"direction": "negative", "adj": (-0.5, -0.1)}, "supported"),
    ({"direction": "none", "adj": (-0.05, 0.05), "eq": True}, "supported"),
    ({"direction": "none", "adj": (0.1, 0.5)}, "contradicted"),
    ({"n": 10}, "untestable"),
])
def test_verdict_rule(kw, expected):
    assert verdict(_result(**kw)) == expected


def test_specification_curve_has_enough_specifications_and_a_joint_test():
    rng = np.random.default_rng(8)
    df = synthetic_councils(160, rng, beta=1.0)
    df["council_code"] = [f"C{i}" for i in range(160)]
    df["population"] = np.exp(df["log_population"])
    specs, share, joint_p = specification_curve(df, BASE_CLAIM, EngineConfig(n_null_boot=100))
    assert len(specs) >= 48
    assert set(specs["controls"]) == {"none", "council type", "claim", "claim + density"}
    assert set(specs["outliers"]) == {"none", "cooks"}
    assert share > 0.5 and joint_p < 0.05  # a planted effect is found by most specifications
    null = synthetic_councils(160, np.random.default_rng(9), beta=0.0, confound=0.0)
    _, share0, joint0 = specification_curve(null, BASE_CLAIM, EngineConfig(n_null_boot=100))
    assert share0 < 0.5 and joint0 > 0.05


def test_panel_view_recovers_a_planted_within_council_effect():
    rng = np.random.default_rng(3)
    rows, outs = [], []
    codes = [f"C{i:03d}" for i in range(120)]
    base = rng.normal(3, 0.6, 120)
    x = {w: base + rng.normal(0, 0.4, 120) for w in (2020, 2021, 2022, 2023)}
    for w in x:
        rows += [{"council_code": c, "wave": w, "assessment_type": "self", "overall_mean": v} for c, v in zip(codes, x[w])]
        if w > 2020:  # the outcome in year t follows the exposure at t - 1, plus a council effect
            y = 5 * base + 0.8 * x[w - 1] + rng.normal(0, 0.3, 120)
            outs += [{"local-authority-code": c, "measure": "m", "period": f"{w}-{str(w + 1)[2:]}", "value": v}
                     for c, v in zip(codes, y)]
    res = panel_view(pd.DataFrame(rows), pd.DataFrame(outs), None, "overall", "m")
    assert res["status"] == "estimated" and res["ci_low"] > 0 and res["councils"] == 120


def test_panel_view_says_why_it_cannot_be_estimated(demo_store, model):
    store, _ = demo_store
    data = dqm.load(store, model=model)
    res = panel_view(data.councils, load_outcomes(), model, "overall", "asc_ease_of_finding_information_users")
    assert res["status"] == "not estimable" and "do not overlap" in res["reason"]


# ---------------------------------------------------------------- the demo run
@pytest.fixture(scope="module")
def demo_results(demo_store, model):
    store, _ = demo_store
    data = dqm.load(store, model=model)
    return evaluate_claims(load_claims(), data.councils, load_outcomes(), model, 2026, EngineConfig(n_null_boot=100))


def test_demo_claims(demo_results):
    by_id = {r.claim.id: r for r in demo_results}
    assert by_id["agility"].verdict == "untestable" and by_id["risk-reduction"].verdict == "untestable"
    # the planted optimism (self 0.35 levels above independent) contradicts the assessment claim
    a = by_id["assessment-self-matches-independent"]
    assert a.verdict == "contradicted" and 0.2 < a.estimate < 0.5
    for r in demo_results:
        if r.verdict != "untestable":
            assert r.n >= 20 and r.ci_low < r.estimate < r.ci_high and r.mde > 0
            assert r.adj_ci_low <= r.ci_low  # adjusted intervals are never narrower
            if r.claim.kind == "association":
                assert len(r.specs) >= 48
    print("\n" + "\n".join(f"{r.claim.id}: {r.verdict}" for r in demo_results))


def test_results_json_has_the_documented_keys(demo_results):
    out = results_json(demo_results)
    assert [list(o) for o in out][0] == ["id", "verdict", "estimate", "ci_low", "ci_high", "p_adjusted", "n", "mde",
                                        "spec_curve_share", "exploratory"]
    json.dumps(out)  # serialisable: no NaN, no numpy types
    assert all(o["estimate"] is None for o in out if o["verdict"] == "untestable")


def test_claims_cli_json(demo_store):
    store, _ = demo_store
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "claims", "--store", str(store), "--wave", "2026", "--json",
                        "--null-bootstrap", "20", "--bootstrap", "200"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {o["id"] for o in out} == {c.id for c in load_claims()}
