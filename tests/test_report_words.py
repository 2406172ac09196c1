"""The reports' words (issue #20): levels in the model's words, the council summary a director can read,
change as one table, honest tables and legends, plain verdicts, registered and user claims apart, the claims'
registration and join losses in the evidence review, and a batch index sorted, filterable and grammatical.

Each test pins a wording the old reports got wrong, so it fails on them.
"""
from __future__ import annotations

import html as html_lib
import json
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from dqm.documents.handbook import handbook_file_name
from dqm.reports import narrative


def _text(markup) -> str:
    return BeautifulSoup(str(markup), "html.parser").get_text(" ", strip=True)


# ---------------------------------------------------------------- a council's profile, made up
DIMS = ["leadership", "strategy", "culture", "capacity", "decision_making", "user_centred_services", "data",
        "technology", "skills", "partnerships"]


def _profile(model, levels, targets=None, type_median=3.0, peers=True):
    """Peers' figures as interpolated quantiles give them (2.7, 4.8, 3.75); the type median the same throughout."""
    targets = targets or [5.0] * len(levels)
    lows, highs, medians = [3.0, 2.7] * 5, [4.8, 4.0] * 5, [3.5, 3.75] * 5
    rows = [{"dimension_id": d, "dimension": model.dimension_name(d), "level": lv, "target": t,
             "peer_median": m if peers else np.nan, "peer_low": lo if peers else np.nan,
             "peer_high": hi if peers else np.nan, "type_median": type_median}
            for d, lv, t, lo, hi, m in zip(DIMS, levels, targets, lows, highs, medians)]
    rows.append({"dimension_id": "overall_mean", "dimension": "Overall", "level": float(np.mean(levels)),
                 "target": float(np.mean(targets)), "peer_median": 3.7 if peers else np.nan,
                 "peer_low": 3.1 if peers else np.nan, "peer_high": 4.15 if peers else np.nan, "type_median": 3.2})
    info = {"peers_defined": 15, "peers_responding": 15 if peers else 2, "peers_shown": peers,
            "type_group": "English unitary", "type_responding": 48, "pool": "English single-tier"}
    return pd.DataFrame(rows), info


MIXED = [4.0, 3.0, 3.0, 3.0, 4.0, 3.0, 3.0, 3.0, 4.0, 4.0]  # four at 4, six at 3: the demo's Milton Keynes
# its row of the measurement model's positions (dqm.scoring.positions.council_positions), as far as the words read it
MINE = {"level": 3.4, "level_low": 3.1, "level_high": 3.7, "rank_low": 40, "rank_high": 120, "councils_ranked": 224,
        "n_respondents": 2, "position": "not clearly different from the middle"}


# ---------------------------------------------------------------- levels in the model's words
def test_a_level_is_said_in_the_models_words(model):
    levels = model.levels.set_index("value")
    words = narrative.level_words(3.4, model)
    assert words.startswith("3.4: between Impactful (") and ") and Mainstreamed (" in words
    for v in (3, 4):  # each level's own description from the model file, in brackets
        assert levels.loc[v, "description"].rstrip(".")[1:] in words
    assert narrative.level_words(4.0, model, meanings=False) == "4.0: Mainstreamed"
    assert narrative.level_phrase(2.6, model) == "between Developing and Impactful"
    # on one dimension, that dimension's own descriptor
    lead = model.descriptors.query("dimension_id == 'leadership' and level == 2")["descriptor"].iloc[0]
    assert lead.rstrip(".")[1:] in narrative.level_words(2.0, model, "leadership")
    assert narrative.level_words(float("nan"), model) == "not answered"
    assert narrative.level_words(5.7, model, meanings=False) == "5.7: Transformative"  # held to the scale's end


def test_the_council_summary_names_the_level_shows_ties_and_links_the_handbook(model):
    profile, info = _profile(model, MIXED)
    mine = MINE
    out = narrative.council_summary("Milton Keynes", mine, profile, model)
    text = _text(out)
    assert "Milton Keynes's model level is 3.4: between Impactful and Mainstreamed; 90% interval" in text  # #18
    assert "on the 5-level scale" not in text
    assert ("Highest in its respondents' own answers: Leadership, Decision-making, Skills and inclusion and Partnerships and collaboration "
            "(4: Mainstreamed).") in text
    assert ("Lowest: Strategy, Culture, Capacity, Users and services, Data and insight and Technology and "
            "infrastructure (3: Impactful).") in text
    link = BeautifulSoup(str(out), "html.parser").find("a")
    assert link["href"] == "../../" + handbook_file_name(model)  # reports/councils/YEAR/ to reports/
    # every dimension at one level: said once, not as a highest and a lowest
    same = narrative.council_summary("X", mine, _profile(model, [3.0] * 10)[0], model)
    assert "Every answered dimension is at the same level in its respondents' own answers (3: Impactful)." in _text(same)
    assert "Highest" not in _text(same)


def test_a_target_below_the_current_level_is_remarked_on(model):
    targets = [3.0] + [5.0] * 9  # Leadership: at 4, aiming for 3
    profile, info = _profile(model, MIXED, targets)
    text = _text(narrative.council_summary("X", MINE, profile, model))
    assert "The target is below the current level on Leadership (level 4, target 3)" in text
    assert narrative.targets_below_level(_profile(model, MIXED)[0]) == ""
    focus = profile.assign(below_peers=0.0, stretch=False).iloc[:1]
    assert "aiming for 3, below where it is now" in _text(narrative.focus_sentences(focus)[0])


def test_the_profile_table_has_no_column_the_same_on_every_row_and_ranges_at_the_datas_precision(model):
    profile, info = _profile(model, MIXED)
    table = narrative.profile_table(profile, info)
    assert "Median of English unitary councils" not in table.columns  # 3 on every dimension
    assert "Overall" not in set(table["Dimension"])  # said in its own sentence
    assert list(table["Peers' middle 80%"])[:2] == ["3 to 5", "2.5 to 4"]  # not "3.0 to 4.8", "2.7 to 4.0"
    assert set(table["Your level"]) == {"4", "3"}
    note = narrative.peer_note(info, table)
    assert "Median of English unitary councils: 3 on every row of the table." in note
    overall = narrative.overall_sentence(profile, info)
    assert "peers' median 3.7 (middle 80%: 3.1 to 4.2)" in overall and "English unitary councils 3.2" in overall
    # a column that differs is kept
    varied = profile.assign(type_median=[3.0, 3.5] * 5 + [3.2])
    assert "Median of English unitary councils" in narrative.profile_table(varied, info).columns
    assert narrative.level_range(2.2, 3.4) == "2 to 3.5" and narrative.level_range(3.0, 3.0) == "3"


def test_withheld_peers_are_not_in_the_table_note_or_legend(model, monkeypatch):
    import matplotlib.axes

    from dqm.reports import plots

    profile, info = _profile(model, MIXED, peers=False)
    table = narrative.profile_table(profile, info)
    assert not any("Peers" in c for c in table.columns)
    assert "withheld" in narrative.peer_note(info, table)
    labels = []
    real = matplotlib.axes.Axes.legend
    monkeypatch.setattr(matplotlib.axes.Axes, "legend",
                        lambda ax, *a, **k: labels.extend(ax.get_legend_handles_labels()[1]) or real(ax, *a, **k))
    chart = plots.council_profile(profile[profile["dimension_id"] != "overall_mean"], "X", "t", "s")
    assert labels and not any("peer" in label for label in labels), labels
    assert "peers' median nan" not in chart.alt and "withheld" in chart.alt


# ---------------------------------------------------------------- change since the last wave
def _changes(model, flagged=()):
    """A council's rows of the measurement model's changes (dqm.scoring.positions.dimension_changes)."""
    dims = DIMS + ["overall"]
    return pd.DataFrame({
        "council_code": "MIK", "wave": 2026, "wave_from": 2025, "dimension": dims,
        "change": [0.5, 0, 0, 0.4, 0.5, 0.4, 0, -0.4, 0, 0, 0.2], "change_low": -0.2, "change_high": 0.9,
        "prob_moved_one_level": 0.001, "p_value": [0.01 if d in flagged else 0.5 for d in dims],
        "flagged": [d in flagged for d in dims], "power_one_level": [0.4] * 10 + [0.9]})


def test_change_is_one_table_and_one_sentence_not_a_bullet_per_dimension(model):
    quiet = _changes(model)
    table = narrative.council_change_table(quiet, model)
    # the chance of a whole level and the verdict: the same on every row, so said once
    assert list(table.columns) == ["Dimension", "Change in level (90% interval)"]
    assert len(table) == 11 and list(table.iloc[0]) == ["Leadership", "+0.5 (-0.2 to +0.9)"]
    assert table.iloc[-1, 0] == "Overall" and table.iloc[1, 1] == "0.0 (-0.2 to +0.9)"
    said = narrative.council_change_summary(quiet, model, 2025, 0.05)
    assert said.startswith("Since 2025 its model level is up about 0.2 levels overall (90% interval -0.2 to +0.9), "
                           "within what differences between respondents")  # issue #18: the overall change said
    assert "a real change of one whole level on a dimension would be flagged about 4 in 10 times (on the model " \
           "level overall, about 9 in 10 times)" in said
    one = _changes(model, flagged=("leadership",))
    assert "Leadership (up 0.5 levels) changed by more than that; no other dimension did." in \
        narrative.council_change_summary(one, model, 2025, 0.05)
    table = narrative.council_change_table(one, model)
    assert table.shape[1] == 3 and table.iloc[0, 2] == "larger than disagreement explains"


def test_a_first_wave_report_says_once_why_there_is_no_change(model):
    from dqm.reports import sections

    first = sections.council_change_section("A", "Adur", _changes(model).iloc[:0], model, 2024, None)
    assert len(first) == 1 and "2024 is the first wave" in first[0].data
    new = sections.council_change_section("C", "Cheshire East", _changes(model), model, 2025, 2024)
    assert "Cheshire East did not take part in 2024" in new[0].data


# ---------------------------------------------------------------- the annual report
def _means(model, scored=221):
    dims = model.dimension_ids
    rows = [{"dimension_id": d, "dimension": model.dimension_name(d), "mean": 2.9 + 0.04 * i, "ci_low": 2.8,
             "ci_high": 3.3, "councils": 220} for i, d in enumerate(dims)]
    rows.append({"dimension_id": "overall_mean", "dimension": "Overall", "mean": 3.14, "ci_low": 3.07, "ci_high": 3.2,
                 "councils": scored})
    return pd.DataFrame(rows)


def test_the_annual_summary_uses_the_level_names_and_its_counts_add_up(model):
    gaps = pd.DataFrame({"dimension": ["Data and insight"], "gap": [1.3]})
    # the model's share of councils at each level (overall), each with its interval
    bands = pd.DataFrame({"dimension": "overall", "level": [1, 2, 3, 4, 5], "share": [0.02, 0.16, 0.47, 0.29, 0.06],
                          "share_low": [0.01, 0.12, 0.42, 0.25, 0.04], "share_high": [0.03, 0.2, 0.52, 0.33, 0.08],
                          "councils": 224})
    out = narrative.annual_summary(2026, 223, 382, _means(model, 224), None, gaps, model, bands)
    text = _text(out)
    for name in ("Passive", "Developing", "Impactful", "Mainstreamed", "Transformative"):
        assert name in text, name
    assert "on the 5-level scale: between Impactful (" in text
    assert ("of the 224 councils 2% (95% interval 1% to 3%) were Passive (1), 16% (95% interval 12% to 20%) "
            "Developing (2)") in text and "6% (95% interval 4% to 8%) Transformative (5)" in text
    # the figures are of the councils that self-assessed, said once (the model places them from every answer)
    assert "Every figure in this report is of these 223 councils" in text and "in any way" not in text
    assert BeautifulSoup(str(out), "html.parser").find("a")["href"] == handbook_file_name(model)
    # only in a wave with no self-assessment are the figures of the councils assessed by others
    none = _text(narrative.annual_summary(2026, 0, 382, _means(model, 12), None, gaps, model))
    assert "No council completed a self-assessment in 2026, so the levels below are of the 12 councils" in none


def test_a_first_wave_targets_table_has_no_column_of_not_available(model):
    gaps = pd.DataFrame({"dimension_id": DIMS[:3], "dimension": ["Leadership", "Strategy", "Culture"],
                         "current": [3.3, 3.2, 3.1], "target": [4.5, 4.4, 4.4], "gap": [1.2, 1.2, 1.3],
                         "councils": [213, 221, 216]})
    first = pd.DataFrame({"dimension_id": DIMS[:3], "share_targets_beyond_p90": np.nan})
    table = narrative.target_table(gaps, first)
    assert "not available" not in table.to_string() and narrative.REALISM_COLUMN not in table.columns
    assert "cannot be judged yet" in _text(narrative.target_note(table, 2024))
    later = narrative.target_table(gaps, first.assign(share_targets_beyond_p90=[0.35, 0.32, 0.33]))
    assert narrative.REALISM_COLUMN in later.columns and str(narrative.target_note(later, 2026)) == ""
    same = narrative.target_table(gaps, first.assign(share_targets_beyond_p90=0.0))
    assert narrative.REALISM_COLUMN not in same.columns
    assert f"{narrative.REALISM_COLUMN}: 0% on every row" in _text(narrative.target_note(same, 2025))


def test_a_count_of_councils_is_across_not_over():
    per = pd.DataFrame({"dimension": ["A"], "flag": [False]})
    text = _text(narrative.coherence_sentence({"councils": 185, "alpha": 0.9, "omega": 0.9,
                                               "first_component_share": 0.6}, per))
    assert "Across the 185 councils" in text and "Over 185" not in text


# ---------------------------------------------------------------- verdicts in plain words, claims apart
def _row(**kw):
    base = {"id": "c1", "verdict": "inconclusive", "estimate": -0.08, "ci_low": -0.23, "ci_high": 0.07, "sesoi": 0.1,
            "n": 179, "exploratory": False, "side": "promoters", "statement": "Councils with more digital spend less.",
            "exposure": "overall", "outcome": "central_services_per_head", "direction": "negative",
            "kind": "association", "period": "2017-18", "timing": "before", "wave": 2026,
            "equivalence_reachable": True, "superseded_by": "", "supersedes": "", "reason": "", "settle_with": "",
            "effect_measure": "standardised effect"}
    return base | kw


MEASURE = "Central services expenditure per resident"


def test_each_verdict_has_one_plain_sentence(model):
    assert narrative.plain_verdict(_row(), model, MEASURE) == (
        "We can't tell: for councils with higher digital levels, the data fit anything from a sizeable fall to a "
        "small rise in central services expenditure per resident (95% interval: -0.23 to 0.07 standard deviations of "
        "the outcome).")  # the interval the words rest on is named (tests/test_evidence_scales.py)
    yes = narrative.plain_verdict(_row(verdict="supported", estimate=-0.3, ci_low=-0.45, ci_high=-0.15), model, MEASURE)
    assert yes.startswith("Yes, as a pattern: councils with higher digital levels had lower central services")
    none = narrative.plain_verdict(_row(verdict="supported", direction="none"), model, MEASURE)
    assert none.startswith("Yes: any link between digital levels and central services")
    assert narrative.plain_verdict(_row(verdict="untestable", settle_with="incident data"), model).startswith(
        "We can't check this yet: there are no open data")
    agree = narrative.plain_verdict(_row(verdict="contradicted", kind="assessment_agreement", estimate=0.34,
                                         ci_low=0.25, ci_high=0.44, sesoi=0.25), model)
    assert agree.startswith("No: self-assessments were on average 0.34 levels higher than independent")
    pay = narrative.plain_verdict(_row(effect_measure="odds ratio"), model, "GOV.UK Pay in use")
    assert "the odds of GOV.UK Pay in use" in pay  # a proper name keeps its capitals


def test_the_verdict_table_reads_plainly_and_keeps_user_claims_apart(model):
    table = pd.DataFrame([_row(), _row(id="c2", verdict="untestable", settle_with="data"),
                          _row(id="mine", exploratory=True, side="exploratory", statement="Mine.")])
    claims = [SimpleNamespace(id="c1", layer="bundled"), SimpleNamespace(id="c2", layer="bundled"),
              SimpleNamespace(id="mine", layer="user")]
    parts = narrative.verdict_tables(table, claims, model=model)
    assert [caption for _, caption in parts] == ["Verdicts on the registered claims",
                                                 "Verdicts on the claims added by the user (exploratory: not in the registry)"]
    assert len(parts[0][0]) == 2 and len(parts[1][0]) == 1
    assert parts[0][0]["Verdict"].iloc[0].startswith("We can't tell:")
    counts = narrative.verdict_counts(table, claims)
    assert counts.startswith("Of 2 registered claims: 1 inconclusive and 1 untestable.")
    assert "Of 1 claim added by the user (exploratory" in counts and "3 registered" not in counts


def test_the_verdict_rule_is_a_short_list_with_the_rule_in_full_behind_it():
    from dqm.claims import VERDICT_RULE

    soup = BeautifulSoup(str(narrative.verdict_rule()), "html.parser")
    items = [li.get_text() for li in soup.find("ul").find_all("li")]
    assert len(items) >= 5 and all(len(i) < 300 for i in items)
    assert items[0].startswith("Supported:") and any(i.startswith("Untestable:") for i in items)
    detail = soup.find("details")
    assert detail.summary.get_text() == "The rule in full"
    paragraphs = detail.find_all("p")
    assert len(paragraphs) >= 3 and paragraphs[1].strong.get_text() == "Effects inside the SESOI."
    assert " ".join(VERDICT_RULE.split())[-60:] in " ".join(detail.get_text(" ").split())


# ---------------------------------------------------------------- registration and join losses (issue #22)
def test_the_registration_of_each_claim_is_said_and_tabled():
    import datetime as dt

    table = pd.DataFrame({"claim_id": ["a", "mine"], "layer": ["bundled", "user"], "registered": "2026-11-22",
                          "first_commit": ["c" * 40, ""], "commit": ["c" * 12, ""], "commit_date": ["2026-11-22", ""],
                          "status": ["committed", "your own claim"]})
    reg = {"table": table, "dates": {"wave": 2026, "first": dt.date(2026, 3, 2), "last": dt.date(2026, 5, 20)}}
    said = _text(narrative.registration_summary(reg))
    assert said.startswith("When the claims were fixed. The 1 registered claim was fixed on 22 November 2026")
    assert "written down before the data were analysed" not in said
    assert "after the 2026 self-assessments it is tested on were given" in narrative.registration_note(reg, "a")
    assert narrative.registration_note(reg, "nothing") == "" and narrative.registration_note(None, "a") == ""
    shown = narrative.registration_display(reg)
    assert list(shown.columns[:3]) == ["Claim", "Registered", "Commit"]
    assert list(shown["Commit"]) == ["c" * 12, "your own claim: not in the registry"]


def test_each_claims_section_says_when_it_was_fixed_and_which_councils_it_lost(model):
    """An untestable claim's section: the header, its registration and its join losses, nothing computed."""
    import datetime as dt

    from dqm.claims.registry import load_claims
    from dqm.reports import sections

    claim = next(c for c in load_claims() if not c.testable)
    losses = {"population": 317, "assessed": 189, "with_outcome": 0, "with_controls": 0, "used": 0,
              "no_assessment": 128, "no_outcome": 189, "missing_control": 0, "no_exposure": 0}
    result = SimpleNamespace(claim=claim, verdict="untestable", losses=losses, info={"wave": 2026}, spec_null=None,
                             specs=pd.DataFrame())
    reg = {"table": pd.DataFrame({"claim_id": [claim.id], "layer": "bundled", "registered": "2026-11-22",
                                  "first_commit": "c" * 40, "commit": "c" * 12, "commit_date": "2026-11-22",
                                  "status": "committed"}),
           "dates": {"wave": 2026, "first": dt.date(2026, 3, 2), "last": dt.date(2026, 5, 20)}}
    row = pd.Series(_row(id=claim.id, verdict="untestable", reason="No open data.", settle_with="x"))
    parts = sections.claim_section(result, row, model, pd.DataFrame(columns=["name"]), pd.DataFrame(), pd.DataFrame(),
                                   2026, False, "src", reg)
    text = _text(parts[0].data)
    assert "When it was fixed. Registered on 22 November 2026 in commit cccccccccccc" in text
    assert "Councils used. Of the 317 councils in the claim's population, 0 were used: 128 had no usable self-assessment" in text


# ---------------------------------------------------------------- the batch index
def _index(tmp_path, codes, statuses=None):
    from dqm.reference import councils
    from dqm.reports.index import index_table, write_index

    tmp_path.mkdir(parents=True, exist_ok=True)
    statuses = statuses or ["ok"] * len(codes)
    entries = {c: {"status": s, "html": "", "pdf": "", "finished_at": ""} for c, s in zip(codes, statuses)}
    table = index_table(entries, councils())
    return table, write_index(tmp_path, table, 2026, synthetic=False)[1]


def test_the_index_is_sorted_by_council_name_and_counts_grammatically(tmp_path):
    from dqm.reports.index import ready_sentence, showing_sentence

    table, page = _index(tmp_path, ["ABE", "ADU", "AGB", "ANN"])  # Aberdeen, Adur, Argyll and Bute, Armagh...
    assert list(table["council"]) == sorted(table["council"], key=str.casefold)
    assert list(table["council_code"]) != sorted(table["council_code"])
    rows = [th.get_text() for th in BeautifulSoup(page.read_text(), "html.parser").select("#councils tbody th")]
    assert rows == list(table["council"])
    one = _index(tmp_path / "one", ["ADU"])[1].read_text()
    assert "1 report is ready." in one and "Showing 1 council." in one
    assert "1 of 1 reports" not in one and "all 1 councils" not in one
    assert ready_sentence(1, 3) == "1 of 3 reports is ready." and ready_sentence(3, 3) == "3 reports are ready."
    assert showing_sentence(2) == "Showing all 2 councils."


def test_the_index_filters_by_type_and_region_and_works_without_its_script(tmp_path):
    table, page = _index(tmp_path, ["ABE", "ADU", "AGB", "BST", "KTT"])
    soup = BeautifulSoup(page.read_text(), "html.parser")
    types = [o["value"] for o in soup.select("#filter-type option")]
    regions = [o["value"] for o in soup.select("#filter-region option")]
    assert types[0] == "" and set(types[1:]) == set(table["type"])
    assert regions[0] == "" and set(regions[1:]) == set(table["region"])
    assert soup.find("form", id="filters").has_attr("hidden")  # no control that does nothing without the script
    assert not soup.find("script", src=True) and not soup.find("link", rel="stylesheet")
    tr = soup.select("#councils tbody tr")[0]
    assert tr["data-type"] == table["type"].iloc[0] and tr["data-region"] == table["region"].iloc[0]


def _chromium():
    return next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def test_the_index_filter_works_in_a_browser(tmp_path):
    """In headless Chromium: choosing a region shows only its councils and says how many, grammatically."""
    browser = _chromium()
    if not browser:
        pytest.skip("Chromium is not installed")
    table, page = _index(tmp_path, ["ABE", "AGB", "BST", "KTT", "ADU"])
    region = table.loc[table["council_code"] == "KTT", "region"].iloc[0]  # London: Kingston only
    probe = ("<script>window.addEventListener('load', function () {"
             "var s = document.getElementById('filter-region'); s.value = " + json.dumps(region) + ";"
             "s.dispatchEvent(new Event('change'));"
             "document.body.setAttribute('data-probe', JSON.stringify({form: document.getElementById('filters').hidden,"
             "status: document.getElementById('filter-count').textContent,"
             "shown: Array.prototype.filter.call(document.querySelectorAll('#councils tbody tr'),"
             "function (tr) { return !tr.hidden; }).length}));});</script>")
    probed = tmp_path / "probe.html"
    probed.write_text(page.read_text().replace("</body>", probe + "</body>"))
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--virtual-time-budget=4000",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probed.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = json.loads(html_lib.unescape(BeautifulSoup(dom, "html.parser").body["data-probe"]))
    assert found == {"form": False, "status": "Showing 1 of 5 councils.", "shown": 1}, found
