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


# ---------------------------------------------------------------- GOV.UK Pay
PAY_SRC = "govuk_pay_services/govuk_pay_services_by_organisation_monthly.csv"


def _pay_log():
    log = pd.read_csv(outcomes_dir() / "mapping_log.csv", dtype=str, keep_default_na=False)
    return log[log["source"] == "GOV.UK Pay"].set_index("source_name")


def test_every_govuk_pay_organisation_is_accounted_for_once():
    from dqm.outcomes import PAY_CATEGORIES
    from dqm.paths import sources_dir

    names = set(pd.read_csv(sources_dir() / PAY_SRC)["organisation"])
    log = _pay_log()
    assert not log.index.duplicated().any()
    assert set(log.index) == names
    assert log["category"].isin(PAY_CATEGORIES).all()
    assert not (log["category"] == "unclassified").any(), log[log["category"] == "unclassified"].index.tolist()
    counts = log["category"].value_counts()
    print("\nGOV.UK Pay organisations by category:\n" + counts.to_string())
    assert counts["matched council"] >= 100


def test_govuk_pay_names_are_settled_the_right_way():
    log = _pay_log()
    expect = {
        "Adur & Worthing Councils": ("joint service", "ADU,WOT"),
        "Bracknell Forest Borough Council": ("duplicate spelling", "BRC"),
        "Bracknell Forest Council": ("matched council", "BRC"),
        "Bracknell Town Council": ("parish or town council", ""),
        "Allerdale Borough Council": ("former council with successor", "CBD"),
        "Cumbria County Council": ("former council with successor", ""),  # split: not attributed
        "Somerset County Council": ("former council with successor", "SMT"),
        "City of London Police": ("police", ""),
        "London Fire Brigade (LFB)": ("fire and rescue", ""),
        "NHS Devon ICB": ("NHS", ""),
        "Scottish Government": ("other public body", ""),
        "The City of Edinburgh Council": ("matched council", "EDH"),
    }
    for name, (category, codes) in expect.items():
        assert (log.loc[name, "category"], log.loc[name, "local-authority-code"]) == (category, codes), name
    assert log.loc["Cumbria County Council", "action"] == "dropped"


def test_govuk_pay_values_recomputed_from_the_source():
    """Services at the last March snapshot, summed over a council's names, per 100,000 residents (2020)."""
    from dqm.paths import sources_dir

    src = pd.read_csv(sources_dir() / PAY_SRC)
    date = max(d for d in src["snapshot_date"].unique() if d.startswith("2026-03"))
    snap = src[src["snapshot_date"] == date].set_index("organisation")["live_services"]
    pop = councils().set_index("local-authority-code")["population"]
    o = load_outcomes()
    level = o[(o["measure"] == "govuk_pay_services_per_100k") & (o["period"] == "2026-03")].set_index("local-authority-code")["value"]
    brc = snap.get("Bracknell Forest Council", 0) + snap.get("Bracknell Forest Borough Council", 0)
    assert brc > 0 and abs(level["BRC"] - brc / pop["BRC"] * 1e5) < 1e-3
    joint = snap["Adur & Worthing Councils"] / (pop["ADU"] + pop["WOT"]) * 1e5  # shared by population: one rate for both
    assert abs(level["ADU"] - joint) < 1e-3 and abs(level["WOT"] - joint) < 1e-3
    # a council absent from the snapshot has no live GOV.UK Pay service: 0, not missing
    principal = set(councils().query("principal")["local-authority-code"])
    assert set(level.index) == principal
    assert (level == 0).sum() > 100
    # the change is the difference between consecutive reference dates
    added = o[(o["measure"] == "govuk_pay_services_added_per_100k") & (o["period"] == "2026-03")].set_index("local-authority-code")["value"]
    before = o[(o["measure"] == "govuk_pay_services_per_100k") & (o["period"] == "2025-03")].set_index("local-authority-code")["value"]
    assert abs(added["BRC"] - (level["BRC"] - before["BRC"])) < 1e-3
