"""The council report reads the measurement model (issue #18): its level with a 90% interval in the model's words, its
rank interval among the wave's councils, its change with the test's power stated once, other aggregation rules as a
sensitivity line, and, from a store where no council has two respondents, what the model could not tell, wider
intervals and never an interval of no width."""
from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from dqm.reports import narrative

WAVE = 2026


def _report_text(path) -> str:
    soup = BeautifulSoup(path.read_text(), "html.parser")
    for tag in soup.find_all(["script", "style", "table", "details"]):  # the words, not the charts' data tables
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


def _no_interval_of_no_width(text: str) -> None:
    """Every interval the report states has two different ends: 'between A and B', 'A to B', 'Nth and Mth'."""
    ranks = re.findall(r"between ([\d,]+)(?:st|nd|rd|th) and ([\d,]+)(?:st|nd|rd|th)", text)
    levels = re.findall(r"(?:between|interval) ([-+]?\d+\.\d+) (?:and|to) ([-+]?\d+\.\d+)", text)
    spans = re.findall(r"\(([-+]?\d+\.\d+) to ([-+]?\d+\.\d+)\)", text)
    assert ranks and levels, text[:2000]
    for lo, hi in ranks + levels + spans:
        assert lo != hi, f"an interval of no width: {lo} to {hi}"
    assert not re.search(r"\bat [\d,]+(?:st|nd|rd|th) of", text)


@pytest.fixture(scope="module")
def data(demo_store, model):
    from dqm.store import load

    return load(demo_store[0], model=model)


@pytest.fixture(scope="module")
def one_respondent_store(demo_store, tmp_path_factory):
    """The demo store with one self-assessment kept per council and wave (the first current one) and nothing
    else: no council has two respondents, none has an independent or peer assessment."""
    from dqm.store import connect

    store = tmp_path_factory.mktemp("one") / "one.duckdb"
    shutil.copyfile(demo_store[0], store)
    con = connect(store)
    try:
        con.execute("CREATE TEMP TABLE keep AS SELECT min(submission_id) AS submission_id FROM submissions "
                    "WHERE superseded_by IS NULL AND assessment_type = 'self' GROUP BY council_code, wave")
        con.execute("DELETE FROM answers WHERE submission_id NOT IN (SELECT submission_id FROM keep)")
        con.execute("DELETE FROM submissions WHERE submission_id NOT IN (SELECT submission_id FROM keep)")
    finally:
        con.close()
    return store


def _both_waves(data) -> list:
    lv = data.councils[data.councils["assessment_type"] == "self"]
    return sorted(set(lv.loc[lv["wave"] == WAVE - 1, "council_code"]) & set(lv.loc[lv["wave"] == WAVE, "council_code"]))


# ------------------------------------------------------------------------------------------ the wave's inputs
def test_the_waves_inputs_hold_the_models_positions_and_changes(demo_store, data, model):
    from dqm.reports.wave import compute_wave_inputs
    from dqm.scoring.positions import council_positions, dimension_changes

    code = _both_waves(data)[0]
    inputs = compute_wave_inputs(demo_store[0], WAVE, 20, councils=[code])
    pd.testing.assert_frame_equal(inputs.positions, council_positions(data, model, WAVE))
    every = dimension_changes(data, model, WAVE)
    pd.testing.assert_frame_equal(inputs.changes, every[every["council_code"] == code].reset_index(drop=True))
    assert inputs.wave_from == WAVE - 1 and inputs.change_councils == [code]
    assert inputs.position_notes == list(council_positions(data, model, WAVE).attrs["notes"])
    # the other rules: the answers as given, no respondent error; councils without an overall score have no row
    s = inputs.sensitivity
    assert set(s["council_code"]) <= set(inputs.positions["council_code"]) and (s["rank_p5"] <= s["rank_p95"]).all()


def test_a_councils_batch_hash_follows_the_models_figures_for_it(demo_store, data):
    """The model is fitted to every council's answers, so a council's report can change when only others' answers
    do: the batch's hash of what a report shows covers its rows of the model's tables and the model's notes."""
    from dqm.reports.manifest import council_hashes
    from dqm.reports.wave import compute_wave_inputs

    a, b = _both_waves(data)[:2]
    inputs = compute_wave_inputs(demo_store[0], WAVE, 20, councils=[a, b])
    before = dict(council_hashes(inputs, [a, b]))
    inputs.positions.loc[inputs.positions["council_code"] == a, "level_high"] += 0.1
    after = dict(council_hashes(inputs, [a, b]))
    assert after[a] != before[a] and after[b] == before[b]
    inputs.changes.loc[inputs.changes["council_code"] == b, "flagged"] = True
    inputs.position_notes = inputs.position_notes + ["A new assumption."]
    again = dict(council_hashes(inputs, [a, b]))
    assert again[b] != after[b] and again[a] != after[a]


# ------------------------------------------------------------------------------------------ the words
def test_intervals_are_never_stated_without_width():
    assert narrative.interval_words(2.91, 2.94) == "2.91 to 2.94"
    assert narrative.interval_words(2.61, 3.24, joiner="and") == "2.6 and 3.2"
    assert narrative.interval_words(-0.04, 0.02, sign=True) == "-0.04 to +0.02"
    assert narrative.rank_range(3, 9, 224) == "between 3rd and 9th of 224 councils"
    assert narrative.in_tens(0.38) == "about 4 in 10 times" and narrative.in_tens(0.02) == "fewer than 1 in 10 times"


def test_the_council_report_reads_the_model(demo_store, data, model, tmp_path):
    """Made alone, as `dqm report council X` makes it: the level and its interval, the rank interval and the change
    are the model's; the power for a one-level change is said once; other rules are a sensitivity line."""
    from dqm.reports.notebook import run_report
    from dqm.scoring.positions import council_positions, dimension_changes

    code = _both_waves(data)[0]
    res = run_report("council", WAVE, store=demo_store[0], out_dir=tmp_path, council=code, extra={"draws": 50})
    text = _report_text(res.html)
    row = council_positions(data, model, WAVE).set_index("council_code").loc[code]
    assert f"model level is {narrative.level_words(row['level'], model)}" in text  # issue #18: named apart
    assert "; 90% interval " + narrative.interval_words(row["level_low"], row["level_high"]) + ", on the scale" in text
    assert narrative.rank_range(row["rank_low"], row["rank_high"], row["councils_ranked"]) in text
    assert "Under other defensible rules for building the overall score from the same answers" in text
    assert "it is not part of the interval above" in text
    assert len(re.findall(r"a real change of one whole level on a dimension would be flagged (about \d+ in 10|fewer)",
                          text)) == 1
    ch = dimension_changes(data, model, WAVE)
    mine = ch[ch["council_code"] == code]
    said = re.search(r"What changed\. (Since 2025 its model level is .*?) (The next|Next actions)", text).group(1)
    flagged = [model.dimension_name(d) for d in mine.loc[mine["flagged"] & (mine["dimension"] != "overall"), "dimension"]]
    assert ("No dimension changed" in said) == (not flagged) and all(f"{d} (" in said for d in flagged)
    assert "Monte Carlo" not in text
    _no_interval_of_no_width(text)


def test_a_store_where_no_council_has_two_respondents_says_what_it_cannot_tell(one_respondent_store, data, model,
                                                                               tmp_path):
    """The report states what the model had to assume (no two respondents anywhere; no independent assessment),
    its intervals are wider than the full store's for the same councils, and none has no width."""
    from dqm.reports.notebook import run_report
    from dqm.scoring.positions import council_positions
    from dqm.store import load

    one = load(one_respondent_store, model=model)
    assert one.submissions.groupby(["council_code", "wave"]).size().max() == 1
    code = _both_waves(one)[0]
    res = run_report("council", WAVE, store=one_respondent_store, out_dir=tmp_path, council=code, extra={"draws": 50})
    text = _report_text(res.html)
    assert "What the model had to assume." in text
    assert "No council has two respondents" in text and "independent or peer assessment" in text
    assert "its single respondent" in text
    assert text.count("No council has two respondents") == 1  # said once, not again in the change section
    _no_interval_of_no_width(text)
    # wider than the same councils' intervals from the store with every respondent
    thin = council_positions(one, model, WAVE).set_index("council_code")
    full = council_positions(data, model, WAVE).set_index("council_code").loc[thin.index]
    assert ((thin["level_high"] - thin["level_low"]).median() > (full["level_high"] - full["level_low"]).median())
    assert ((thin["rank_high"] - thin["rank_low"]).median() > (full["rank_high"] - full["rank_low"]).median())
    assert ((thin["level_high"] - thin["level_low"]) > 0.1).all() and (thin["rank_high"] > thin["rank_low"]).all()
