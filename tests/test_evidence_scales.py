"""The evidence review's words match its figures: the interval a plain verdict rests on is named beside the one
printed, nothing prints as '-0.00', the exposure is described as the measurement model's level with what the model
assumed, ratio claims read as ratios with their units, a 'contradicted' whose interval reaches inside the allowed
gap says so, and the registration count is exact (findings items 5, 6, 7, 9 and the smaller evidence-review
items)."""
import datetime as dt
import math
import re
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dqm.reports import narrative
from dqm.reports.narrative.words import estimate_interval, number

NEGATIVE_ZERO = re.compile(r"-0\.0+(?![0-9])")  # '-0.00', but not '-0.001'


def _row(**kw) -> dict:
    """A tested association claim like efficiency-central-costs on the demo: the 95% interval just excludes 0,
    the Holm-adjusted one (four claims in the family) reaches a small rise."""
    row = {"id": "c1", "verdict": "inconclusive", "kind": "association", "direction": "negative", "sesoi": 0.1,
           "estimate": -0.1227, "ci_low": -0.2444, "ci_high": -0.00104, "adj_ci_low": -0.2783, "adj_ci_high": 0.0329,
           "adj_level": 0.9875, "family_size": 4, "exposure": "overall", "outcome": "central", "n": 179,
           "effect_measure": "standardised effect", "superseded_by": "", "settle_with": "", "timing": "",
           "exploratory": False, "side": "promoters", "statement": "Digital saves money.", "period": "2017-18",
           "wave": 2026, "equivalence_reachable": True, "spec_curve_share": 0.5, "spec_share_against": 0.1,
           "specifications_counted": 10}
    row.update(kw)
    return row


# ---------------------------------------------------------------- item 6: the interval the words rest on; no -0.00
def test_nothing_rounds_to_a_negative_zero():
    assert number(-0.001, 2) == "0.00" and number(-0.4) == "0" and number(-0.0, 1) == "0.0"
    assert number(-0.006, 2) == "-0.01" and number(-1234.5) == "-1,234"  # real negatives keep their sign
    assert not NEGATIVE_ZERO.search(estimate_interval(-0.12, -0.244, -0.001, 2))


def test_the_effect_cell_never_shows_an_end_as_zero_that_is_not():
    cell = narrative.effect_cell(_row())
    assert not NEGATIVE_ZERO.search(cell) and "-0.001)" in cell and cell.endswith("standard deviations")


def test_the_plain_verdict_names_the_adjusted_interval_it_rests_on():
    s = narrative.plain_verdict(_row())
    assert "a small rise" in s  # the words rest on the adjusted interval, whose upper end is above 0
    assert "98.75% interval, allowing for the 4 claims tested with it by Holm's method: -0.28 to 0.03" in s
    assert "standard deviations of the outcome" in s
    alone = narrative.plain_verdict(_row(family_size=1, adj_level=0.95, adj_ci_low=-0.2444, adj_ci_high=-0.00104))
    assert "(95% interval: -0.244 to -0.001 standard deviations of the outcome)" in alone


# ---------------------------------------------------------------- item 9: ratio claims on their own scale
def _ratio_row(**kw) -> dict:
    est, lo, hi = -0.1458, -0.5971, 0.3055
    return _row(effect_measure="odds ratio", estimate=est, ci_low=lo, ci_high=hi, adj_ci_low=-0.662,
                adj_ci_high=0.370, adj_level=0.975, family_size=2, sesoi=0.18, ratio=math.exp(est),
                ratio_ci_low=math.exp(lo), ratio_ci_high=math.exp(hi), events=66, direction="positive",
                outcome="govuk_pay_any", **kw)


def test_a_ratio_claim_reads_as_a_ratio_in_the_table_and_the_plain_verdict():
    assert narrative.effect_cell(_ratio_row()) == "odds ratio 0.86 (0.55 to 1.36)"
    s = narrative.plain_verdict(_ratio_row(), measure_name="using GOV.UK Pay")
    assert "odds ratio 0.52 to 1.45" in s and "standard deviations" not in s
    agreement = _row(kind="assessment_agreement", direction="none", sesoi=0.25, estimate=0.344, ci_low=0.2474,
                     ci_high=0.4407, adj_ci_low=0.2474, adj_ci_high=0.4407, adj_level=0.95, family_size=1,
                     verdict="contradicted")
    assert narrative.effect_cell(agreement) == "0.344 (0.247 to 0.441) levels"


def test_the_forest_chart_names_each_rows_scale():
    t = pd.DataFrame([_row(), _ratio_row(id="c2"), _row(id="c3", effect_measure="rate ratio")])
    t = t.assign(simul_ci_low=t["adj_ci_low"], simul_ci_high=t["adj_ci_high"])
    assert narrative.forest_rows(t)["label"].tolist() == ["c1 (SD)", "c2 (log odds ratio)", "c3 (log rate ratio)"]


def test_a_kept_battery_keeps_a_ratio_claims_measure():
    """`dqm run` reads the claims battery back from disk (dqm.serial keeps declared fields only): a logistic claim
    must still read as an odds ratio, not as a standardised effect in standard deviations."""
    from dqm.claims.engine import ClaimResult
    from dqm.claims.registry import load_claims
    from dqm.serial import dumps, loads

    claim = load_claims()[0]
    r = ClaimResult(claim, "inconclusive", n=179, estimate=-0.15)
    r.effect_measure, r.ratio, r.ratio_ci_low, r.ratio_ci_high, r.events = "odds ratio", 0.86, 0.55, 1.36, 66
    back = loads(dumps(r), (ClaimResult, type(claim)))
    assert (back.effect_measure, back.ratio, back.events) == ("odds ratio", 0.86, 66)


# ---------------------------------------------------------------- item 7: the exposure is the model's level
def test_the_exposure_is_described_as_the_measurement_models_level_with_its_notes():
    from dqm.claims.registry import load_claims

    claim = next(c for c in load_claims() if c.kind == "association" and c.testable)
    notes = ("The spread of self-rating bias was assumed. Because of that assumed spread (0.30 levels) the correction "
             "for measurement error is larger than it would be without it: if councils' self-ratings share no bias at "
             "all, this effect is overstated by up to about 12%.")
    row = _row(exposure_scale="per standard deviation of the true between-council level (0.57 levels)",
               measurement_notes=notes)
    caveats = " ".join(narrative.claim_caveats(row, claim, {}, 2026, False))
    assert "overstated by up to about 12%" in caveats and "measurement model" in caveats
    assert "own self-assessments, not verified" not in caveats
    nothing = " ".join(narrative.claim_caveats(_row(exposure_scale="per standard deviation", measurement_notes=""),
                                               claim, {}, 2026, False))
    assert "What the model assumed: nothing" in nothing


def test_no_association_claim_is_worded_as_tested_on_self_assessed_levels(model):
    from dqm.claims.registry import load_claims

    for c in load_claims():
        shown = narrative.association_statement(c, model)
        if c.kind == "association":
            assert "self-assessed" not in shown.lower(), (c.id, shown)
            assert "self-assessed" not in narrative.exposure_words(c, model)
        else:  # the one claim about self-assessments keeps its words
            assert "self-assessed" in shown
    mine = replace(load_claims()[0], id="mine", layer="user", statement="Digital causes savings.")
    assert "measurement model" in narrative.association_statement(mine, model)


def test_the_result_sentence_gives_the_step_of_the_true_spread():
    from dqm.claims.registry import load_claims

    claim = next(c for c in load_claims() if c.id == "efficiency-central-costs")
    row = _row(exposure_sd_true=0.5707, p_adjusted=0.19, reason_code="not_rejected", eq_level=0.9875,
               eq_ci_low=-0.26, eq_ci_high=0.02, mde=0.27, simul_ci_low=-0.2783, simul_ci_high=0.0329,
               specifications_counted=10, spec_curve_share=0.5)
    text = " ".join(narrative.claim_sentences(pd.Series(row), claim, SimpleNamespace(dimension_name=str),
                                              "Central services"))
    assert "one standard deviation of the true spread between councils (0.57 levels)" in text
    assert "-0.244 to -0.001" in text and not NEGATIVE_ZERO.search(text) and "before adjustment" not in text
    assert "98.75% equivalence interval" in text  # not '98.8%'


# ---------------------------------------------------------------- item 5: a 'contradicted' that does not clear the gap
def test_a_contradiction_whose_interval_reaches_the_allowed_gap_says_so():
    from dqm.claims.registry import load_claims

    claim = next(c for c in load_claims() if c.kind == "assessment_agreement")
    row = _row(kind="assessment_agreement", direction="none", sesoi=claim.sesoi, estimate=0.344, ci_low=0.2474,
               ci_high=0.4407, adj_ci_low=0.2474, adj_ci_high=0.4407, adj_level=0.95, family_size=1,
               verdict="contradicted", reason_code="none_contradicted", p_adjusted=1e-7, spec_share_against=np.nan,
               period="2026", n=28, eq_level=0.9, eq_ci_low=0.26, eq_ci_high=0.42)
    text = " ".join(narrative.claim_sentences(pd.Series(row), claim, None, "independent assessment"))
    assert "reaches 0.247 levels" in text and "not ruled out" in text
    assert "the estimate itself, not every value in its interval" in text
    clear = " ".join(narrative.claim_sentences(pd.Series({**row, "ci_low": 0.26, "adj_ci_low": 0.26}), claim, None, ""))
    assert "not ruled out" not in clear
    rule = " ".join(narrative.claim_wording()["verdict_rule"])
    assert "the estimate itself reaches the smallest effect" in rule


# ---------------------------------------------------------------- smaller item: the registration count is exact
def test_the_count_says_how_many_claims_were_fixed_after_the_data_and_flags_re_registrations():
    table = pd.DataFrame([_row(id="a", exploratory=True), _row(id="b"),
                          _row(id="c", supersedes="b", verdict="untestable")])
    reg = {"table": pd.DataFrame({"claim_id": ["a", "b", "c"], "commit_date": ["2026-11-22", "2026-11-22",
                                                                                "2026-11-29"]}),
           "dates": {"wave": 2026, "first": dt.date(2026, 3, 2), "last": dt.date(2026, 5, 20)}}
    claims = [SimpleNamespace(id=i, layer="bundled") for i in "abc"]
    s = narrative.verdict_counts(table, claims, reg)
    assert "added after the data were seen" not in s  # it implied the others were not
    assert "1 of them registered as exploratory" in s and "all 3 fixed after the 2026 self-assessments" in s
    assert "1 re-registered on 29 November 2026" in s and "post hoc" in s
    early = {**reg, "dates": {"wave": 2026, "first": dt.date(2026, 11, 1), "last": dt.date(2026, 11, 25)}}
    assert "1 fixed after the 2026 self-assessments" in narrative.verdict_counts(table, claims, early)


@pytest.fixture(scope="module")
def model():
    from dqm.model import load_model

    return load_model()


# ---------------------------------------------------------------- smaller items: an untestable reason; the chance check
def test_an_untestable_reason_names_the_measure_and_ends_its_sentence():
    row = _row(verdict="untestable", outcome="govuk_pay_added_any_year_after", settle_with="",
               reason="no outcome data for govuk_pay_added_any_year_after in 2026-27, the year after wave 2026")
    s = narrative.plain_verdict(row, measure_name="Added a GOV.UK Pay service in the year after")
    assert "govuk_pay_added_any_year_after" not in s and "added a GOV.UK Pay service in the year after" in s
    assert s.endswith("wave 2026.")


def test_the_chance_check_is_not_read_as_a_check_of_a_claim_of_no_effect():
    from tests.test_evidence_words import _checks

    directional = narrative.chance_check_sentence(_checks(False), SimpleNamespace(direction="negative"))
    assert "optimistic" in directional
    none = narrative.chance_check_sentence(_checks(False), SimpleNamespace(direction="none"))
    assert "optimistic" not in none and "not for one like this" in none and "72% chance" in none
