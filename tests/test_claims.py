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
from dqm.claims.engine import ClaimResult, decide, holm_adjust, mde, specification_curve, tost, verdict_chances
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
        assert (r.adj_ci_low > 0) == bool(rej)  # the test-inversion interval excludes 0 exactly when Holm rejects
        assert r.adj_ci_low <= r.estimate - 1.96 * r.se + 1e-9
        # the simultaneous (Bonferroni) interval is at 1 - 0.05/4 and never narrower than the Holm one
        assert r.simul_level == pytest.approx(1 - 0.05 / 4) and r.simul_ci_low <= r.adj_ci_low + 1e-12


@pytest.mark.parametrize("kw, expected, code", [
    ({}, "supported", "supported"),
    ({"share_pos": 0.3}, "inconclusive", "in_direction_specs"),  # the counted specifications do not agree
    ({"joint_pos": 0.2}, "inconclusive", "in_direction_specs"),
    ({"estimate": 0.06}, "inconclusive", "in_direction_small"),  # significant but inside the SESOI
    ({"estimate": -0.3}, "inconclusive", "against_specs"),  # the other way, but the specifications do not agree
    ({"estimate": -0.3, "share_neg": 0.9, "joint_neg": 0.01}, "contradicted", "contradicted"),
    ({"estimate": -0.06, "share_neg": 0.9, "joint_neg": 0.01}, "inconclusive", "against_small"),
    ({"estimate": 0.01, "reject": False, "equivalent": True}, "no meaningful effect", "equivalent"),
    ({"estimate": 0.2, "reject": False}, "inconclusive", "not_rejected"),
    ({"direction": "negative", "estimate": -0.3, "share_neg": 0.9, "joint_neg": 0.01}, "supported", "supported"),
    ({"direction": "none", "estimate": 0.01, "reject": False, "equivalent": True, "share_eq": 0.7}, "supported",
     "none_supported"),
    ({"direction": "none", "estimate": 0.01, "reject": False, "equivalent": True, "share_eq": 0.2}, "inconclusive",
     "none_equivalent_specs"),
    ({"direction": "none"}, "contradicted", "none_contradicted"),
    ({"direction": "none", "estimate": 0.07}, "inconclusive", "none_rejected_small"),  # a negligible effect refutes no sceptic
    ({"direction": "none", "share_pos": 0.1}, "inconclusive", "none_rejected_specs"),
])
def test_verdict_rule(kw, expected, code):
    args = dict(direction="positive", estimate=0.3, reject=True, equivalent=False, share_pos=0.8, share_neg=0.0,
                share_eq=0.0, joint_pos=0.01, joint_neg=1.0, sesoi=0.10)
    args.update(kw)
    direction = args.pop("direction")
    v, c = decide(direction, **args)
    assert (v[0], c[0]) == (expected, code)


def test_untestable_verdict():
    r = ClaimResult(BASE_CLAIM, "", n=10, estimate=0.3)
    assert verdict(r) == "untestable"


def test_verdict_rule_cannot_contradict_itself():
    """On a grid of every combination: a claim and its counter-claim are never both supported, the rule is the same
    in both directions, and every branch is reachable."""
    grid = np.array(np.meshgrid([-0.4, -0.1, -0.05, 0, 0.05, 0.1, 0.4], [0, 1], [0, 1], [0.2, 0.8], [0.2, 0.8],
                                [0.2, 0.8], [0.01, 0.5], [0.01, 0.5])).reshape(8, -1)
    est, rej, eqv, sp, sn, se_, jp, jn = grid
    eqv = eqv.astype(bool) & (np.abs(est) < 0.1)  # equivalence implies an estimate inside the SESOI
    kw = dict(estimate=est, reject=rej.astype(bool), equivalent=eqv, share_pos=sp, share_neg=sn, share_eq=se_,
              joint_pos=jp, joint_neg=jn, sesoi=0.10)
    promoter, _ = decide("positive", **kw)
    sceptic, _ = decide("none", **kw)
    assert not ((promoter == "supported") & (sceptic == "supported")).any()
    mirrored, _ = decide("negative", **{**kw, "estimate": -est, "share_pos": sn, "share_neg": sp, "joint_pos": jn,
                                         "joint_neg": jp})
    assert (mirrored == promoter).all()
    for v in ("supported", "contradicted", "no meaningful effect", "inconclusive"):
        assert (promoter == v).any()
    assert {"supported", "contradicted", "inconclusive"} <= set(sceptic)


def test_specification_curve_counts_only_adjusted_fits_and_drops_duplicates():
    rng = np.random.default_rng(8)
    df = synthetic_councils(160, rng, effect=0.6)
    specs, summary = specification_curve(df, BASE_CLAIM, EngineConfig(n_null_boot=100))
    assert set(specs["controls"]) == {"none", "council type", "claim", "claim + density"}
    counted = specs[specs["role"] == "counted"]
    assert set(counted["controls"]) == {"claim", "claim + density"} and set(counted["outliers"]) == {"none"}
    assert set(specs.loc[specs["controls"].isin(["none", "council type"]) & (specs["outliers"] == "none"), "role"]) == {
        "confounding check"}
    assert set(specs.loc[specs["outliers"] == "cooks", "role"]) == {"outlier sensitivity"}
    assert summary["counted"] == len(counted) and summary["distinct"] == len(specs) and counted["main"].sum() == 1
    assert summary["share_pos"] > 0.5 and summary["joint_p_pos"] < 0.05  # a planted effect is found
    # no council under 50,000: the population variant would repeat every specification, so it is left out
    assert "without councils under 50,000" in set(specs["population"])
    big = df.assign(population=df["population"].clip(lower=60_000))
    specs2, summary2 = specification_curve(big, BASE_CLAIM, EngineConfig(n_null_boot=0))
    assert set(specs2["population"]) == {"claim population"} and summary2["distinct"] == len(specs) // 2
    assert not specs2.duplicated(["controls", "transform", "exposure", "outliers", "population"]).any()


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
                assert r.spec_counted >= 16 and r.spec_distinct == len(r.specs)
                assert not r.specs.duplicated(["controls", "transform", "exposure", "outliers", "population"]).any()
            # the power table agrees with the MDE: at the MDE the rule gives its decisive verdict 80% of the time
            if r.mde == r.mde:
                decisive = "contradicted" if r.claim.direction == "none" else "supported"
                sign = -1 if r.claim.direction == "negative" else 1
                assert verdict_chances(r, sign * r.mde)[decisive] == pytest.approx(0.80, abs=0.02)
    print("\n" + "\n".join(f"{r.claim.id}: {r.verdict}" for r in demo_results))


def test_results_json_has_the_documented_keys(demo_results):
    out = results_json(demo_results)
    from dqm.claims.run import RESULT_COLUMNS

    # the original ten keys first, in their order; then each verdict's limits: timing, reach and sensitivity
    assert [list(o) for o in out][0] == RESULT_COLUMNS
    assert RESULT_COLUMNS[:10] == ["id", "verdict", "estimate", "ci_low", "ci_high", "p_adjusted", "n", "mde",
                                   "spec_curve_share", "exploratory"]
    assert {"timing", "councils_needed", "sens_rv", "sens_rv_alpha", "sens_bound_low_1x"} <= set(RESULT_COLUMNS)
    json.dumps(out)  # serialisable: no NaN, no numpy types
    assert all(o["estimate"] is None for o in out if o["verdict"] == "untestable")


def test_claims_cli_json(demo_store):
    store, _ = demo_store
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "claims", "--store", str(store), "--wave", "2026", "--json",
                        "--null-bootstrap", "20", "--bootstrap", "200"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {o["id"] for o in out} == {c.id for c in load_claims()}
