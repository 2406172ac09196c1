"""The evidence review reads its verdicts beside the engine's own checks: a failed check of the printed verdict
chances, the known limit of a control measured with error, and outcomes measured before the assessment."""
import pandas as pd
import pytest

from dqm.reports import narrative

LIMIT = "known limit: deprivation measured at reliability 0.8 (n = 220), no true effect: "


def _checks(chance_passed: bool, printed: float = 0.722, observed: float = 0.6) -> pd.DataFrame:
    rows = [
        ("honest", LIMIT + "false-positive rate", 0.145, 0.018, 0.05, "known limit", 0.035, True),
        ("honest", LIMIT + "mean estimate (the SESOI is 0.1)", 0.121, 0.007, 0.0, "known limit", 0.013, True),
        ("honest", "printed chance of 'supported' (verdict_chances) at a true effect of 0.4, against the verdicts "
                   "observed", observed, 0.05, printed, "within", 0.112, chance_passed),
        ("controls dropped", "printed chance of 'supported' (verdict_chances) at a true effect of 0.4, against the "
                             "verdicts observed", 0.1, 0.05, 0.7, "within", 0.1, False),
    ]
    t = pd.DataFrame(rows, columns=["engine", "check", "value", "mc_se", "target", "rule", "tolerance", "passed"])
    return t.assign(replications=400)


def test_a_failed_chance_check_is_said_beside_the_table_of_chances():
    s = narrative.chance_check_sentence(_checks(False))
    assert "72% chance of 'supported' against 60% observed in 400" in s
    assert "optimistic" in s and "11.2 percentage points" in s
    assert narrative.chance_check_sentence(_checks(True)) == ""  # a passed check (or a broken engine's) says nothing
    assert narrative.chance_check_sentence(None) == ""
    low = narrative.chance_check_sentence(_checks(False, printed=0.45, observed=0.6))
    assert "approximate" in low and "optimistic" not in low


def _sens_row(**kw) -> dict:
    row = {"verdict": "inconclusive", "kind": "association", "sens_rv": 0.2, "sens_rv_alpha": 0.05,
           "sens_partial_r2": 0.03, "sens_benchmark": True, "sens_r2dxj_x": 0.1, "sens_r2yxj_dx": 0.2,
           "estimate": -0.12, "sens_bound_low_1x": -0.13, "sens_bound_high_1x": -0.11,
           "sens_bound_low_2x": -0.15, "sens_bound_high_2x": -0.10}
    row.update(kw)
    return row


def test_the_confounder_bound_is_read_beside_the_mismeasured_control_limit():
    s = narrative.sensitivity_sentence(_sens_row(), checks=_checks(True))
    assert "could not bring it to zero" in s
    assert "averaged 0.12" in s and "smallest effect of interest of 0.1" in s and "14.5% of tests" in s
    assert "treats deprivation as measured without error" in s
    assert "known limit" not in narrative.sensitivity_sentence(_sens_row())  # no checks given: nothing invented
    unbenchmarked = narrative.sensitivity_sentence(_sens_row(sens_benchmark=False), checks=_checks(True))
    assert "does not control for deprivation" in unbenchmarked and "measured without error" not in unbenchmarked


def _table(timings) -> pd.DataFrame:
    rows = []
    for i, (verdict, timing) in enumerate(timings):
        rows.append({"id": f"c{i}", "verdict": verdict, "exploratory": False, "direction": "negative",
                     "timing": timing, "period": "2017-18" if timing == "before" else "2026-27", "wave": 2026,
                     "equivalence_reachable": True})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("timings, expect", [
    ([("inconclusive", "before"), ("contradicted", "before"), ("inconclusive", "after"), ("untestable", "before")],
     "2 of the 3 verdicts reached (1 inconclusive and 1 contradicted) rest on outcomes measured before the assessment"),
    ([("inconclusive", "after"), ("untestable", "")], None),
])
def test_verdicts_on_outcomes_measured_before_the_assessment_are_counted_apart(timings, expect):
    s = narrative.earlier_outcomes_sentence(_table(timings))
    if expect is None:
        assert s == ""
    else:
        assert expect in s and "2017\u201118" in s and "cannot show a consequence" in s
        assert expect in narrative.verdict_counts(_table(timings))


def test_a_table_never_prints_negative_zero():
    from dqm.reports.plots import html_table

    t = html_table(pd.DataFrame({"estimate": [-0.0004, 0.25]}).round(3), "Estimates")
    assert "-0.0" not in str(t) and "<td>0.0</td>" in str(t)
