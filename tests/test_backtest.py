"""Backtest (RAP): the key published figures of the demo run, compared with a known-good record.

Any change to a figure the reports publish must be deliberate: if a change to code or data moves one,
this test fails and shows which. After checking the change is intended, rewrite the record with
    DQM_UPDATE_BACKTEST=1 .venv/bin/python -m pytest tests/test_backtest.py
and commit it with a message saying why the figures moved.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import dqm
from dqm.claims import EngineConfig, evaluate_claims, load_claims
from dqm.outcomes import load_outcomes
from dqm.reference import councils
from dqm.scoring import assessment_gap, dimension_means, monte_carlo_ranks, panel_change, response_rates

RECORD = Path(__file__).parent / "backtest" / "demo-2026.json"


def key_figures(store, model, wave=2026) -> dict:
    data = dqm.load(store, model=model)
    lv = data.councils
    this = lv[(lv["wave"] == wave) & (lv["assessment_type"] == "self")]
    rates = response_rates(this["council_code"], councils(), "nation").set_index("group")
    means = dimension_means(this, model).set_index("dimension_id")
    panel = panel_change(lv, model, wave - 1, wave).set_index("dimension_id")
    gap = assessment_gap(lv, model).query("wave == @wave").set_index("dimension_id")
    mc = monte_carlo_ranks(data.answers[data.answers["wave"] == wave], model, n_draws=200)
    claims = evaluate_claims(load_claims(), lv, load_outcomes(), model, wave,
                             EngineConfig(n_boot=200, n_null_boot=50, workers=1), measurement=data)
    from dqm.claims import results_table
    from dqm.reports.narrative import dimension_family

    limits = results_table(claims).set_index("id")
    family = dimension_family(panel.reset_index())
    r = lambda x: None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)
    return {
        "councils_taking_part": int(this["council_code"].nunique()),
        "response_rate_by_nation": {k: r(v) for k, v in rates["rate"].items()},
        "mean_level": {k: [r(v["mean"]), r(v["ci_low"]), r(v["ci_high"])] for k, v in means.iterrows()},
        "panel_change_overall": [r(panel.loc["overall_mean", c]) for c in ("change", "ci_low", "ci_high")],
        "self_minus_independent_overall": [r(gap.loc["overall_mean", c]) for c in ("gap", "ci_low", "ci_high")],
        "rank_interval_width_median": r((mc["rank_p95"] - mc["rank_p5"]).median()),
        "claims": {c.claim.id: [c.verdict, r(c.estimate), r(c.ci_low), r(c.ci_high), c.n] for c in claims},
        # each verdict's limits as the review prints them: timing, the councils the equivalence test would need
        # (80% chance at no relation), and the Cinelli-Hazlett robustness values and deprivation bounds
        "claims_limits": {i: [row["timing"], r(row["councils_needed"]), r(row["sens_rv"]), r(row["sens_rv_alpha"]),
                              r(row["sens_bound_low_1x"]), r(row["sens_bound_high_1x"])]
                          for i, row in limits.iterrows() if row["verdict"] != "untestable"},
        "panel_change_clear_after_holm": sorted(family.loc[(family["dimension_id"] != "overall_mean")
                                                           & (family["p_holm"] < 0.05), "dimension_id"]),
    }


def same(a, b) -> bool:
    """Equal, with numbers allowed to differ in the last digits (linear algebra libraries differ by machine)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5)
    return a == b


def test_published_figures_match_the_record(demo_store, model):
    store, _ = demo_store
    figures = json.loads(json.dumps(key_figures(store, model)))
    if os.environ.get("DQM_UPDATE_BACKTEST"):
        RECORD.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    assert RECORD.exists(), f"no backtest record at {RECORD}; create it with DQM_UPDATE_BACKTEST=1"
    record = json.loads(RECORD.read_text())
    moved = {k: {"record": record.get(k), "now": v} for k, v in figures.items() if not same(record.get(k), v)}
    assert not moved, "published figures moved (see the module docstring):\n" + json.dumps(moved, indent=1)


def test_the_backtest_can_fail():
    record = json.loads(RECORD.read_text())
    nudged = json.loads(json.dumps(record))
    nudged["panel_change_overall"][0] += 0.01
    assert same(record, record) and not same(record, nudged)
