import pandas as pd

from dqm.outcomes import OUTCOME_COLUMNS, build_outcomes, load_measures, load_outcomes
from dqm.paths import outcomes_dir
from dqm.reference import councils


def test_committed_outcomes_match_a_fresh_build(tmp_path):
    """Backtest: the committed table is exactly what the build script makes from data/sources."""
    fresh, log = build_outcomes(tmp_path)
    committed = load_outcomes()
    pd.testing.assert_frame_equal(fresh.reset_index(drop=True), committed.reset_index(drop=True), check_dtype=False)
    assert (tmp_path / "mapping_log.csv").read_text() == (outcomes_dir() / "mapping_log.csv").read_text()


def test_outcomes_shape_and_keys():
    o = load_outcomes()
    assert list(o.columns) == OUTCOME_COLUMNS
    assert not o.duplicated(["local-authority-code", "measure", "period"]).any()
    assert o["local-authority-code"].isin(set(councils()["local-authority-code"])).all()
    measures = load_measures()
    assert set(o["measure"]) == set(measures["id"])
    counts = o.groupby("measure")["local-authority-code"].nunique()
    print("\ncouncils per measure:\n" + counts.to_string())
    assert counts["net_current_expenditure_per_head"] >= 300
    assert counts["central_services_per_head"] >= 300
    assert counts["asc_ease_of_finding_information_users"] >= 145


def test_reorganised_councils_are_dropped_from_finance_with_a_reason(tmp_path):
    _, log = build_outcomes(tmp_path)
    fin = log[log["source"] == "RS 2017-18"]
    assert (fin["action"] == "dropped").all() and fin["reason"].str.len().gt(10).all()
    o = load_outcomes()
    finance = o[o["measure"] == "central_services_per_head"]
    # Somerset Council (SMT) absorbed the county and districts in 2023: its 2017-18 spending is not sound
    assert "SMT" not in set(finance["local-authority-code"])
    assert "BST" in set(finance["local-authority-code"])
    # social care for Somerset maps from the county, which had the same footprint
    asc = o[(o["measure"] == "asc_ease_of_finding_information_users")]
    assert "SMT" in set(asc["local-authority-code"])


def test_per_head_values_are_plausible():
    o = load_outcomes()
    v = o[o["measure"] == "net_current_expenditure_per_head"].set_index("local-authority-code")["value"]
    # Bristol, a unitary, spent of the order of £1,000 to £2,000 net per resident in 2017-18
    assert 800 < v["BST"] < 2500
    assert v.median() < v.max()
