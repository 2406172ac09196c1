"""The council report a director reads in five minutes (issue #20): a first screen with the level in words,
strengths and gaps with ties, what changed in one sentence and the next three actions picked by a stated rule,
on one printed A4 page; and the figures of the council report at one precision, never an interval that reads as
a point or an end that passes for the threshold a verdict is judged against.

The fast tests pin the words; the slow one makes the demo council reports as PDFs (for the council whose first
screen is the longest in the demo, and the one with the most dimensions named in its ties, picked by computing
every council's first screen) and reads their pages (tests/pdf_layout.py's library, pypdfium2).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from dqm.documents.actions import load_actions
from dqm.reports import narrative
from dqm.scoring.levels import round_half_up
from dqm.scoring.profile import at_step, council_profile, focus_areas, level_step

WAVE = 2026
DIMS = ["leadership", "strategy", "culture", "capacity", "decision_making", "user_centred_services", "data",
        "technology", "skills", "partnerships"]
MINE = {"level": 2.6, "level_low": 2.3, "level_high": 2.8, "rank_low": 102, "rank_high": 185, "councils_ranked": 224,
        "n_respondents": 3, "position": "not clearly different from the middle"}


def _text(markup) -> str:
    return BeautifulSoup(str(markup), "html.parser").get_text(" ", strip=True)


def _profile(model, levels, peer_median=3.5):
    rows = [{"dimension_id": d, "dimension": model.dimension_name(d), "level": lv, "target": 4.0,
             "peer_median": peer_median, "peer_low": 3.0, "peer_high": 4.0, "type_median": 3.0}
            for d, lv in zip(DIMS, levels)]
    rows.append({"dimension_id": "overall_mean", "dimension": "Overall", "level": float(np.nanmean(levels)),
                 "target": 4.0, "peer_median": 3.5, "peer_low": 3.1, "peer_high": 3.9, "type_median": 3.2})
    return pd.DataFrame(rows)


def _changes(flagged=()):
    dims = DIMS + ["overall"]
    return pd.DataFrame({"council_code": "CHW", "wave": WAVE, "wave_from": 2025, "dimension": dims,
                         "change": [0.3 if d in flagged else 0.1 for d in dims], "change_low": 0.16,
                         "change_high": 0.24, "prob_moved_one_level": 0.001,
                         "p_value": [0.01 if d in flagged else 0.5 for d in dims],
                         "flagged": [d in flagged for d in dims], "power_one_level": 0.5})


# ---------------------------------------------------------------- the first screen's words
def test_the_first_screen_says_the_level_ties_change_and_the_next_three_actions_by_one_rule(model):
    levels = [3.0, 3.0, 3.0, 3.0, 3.0, 2.5, 2.5, 3.0, 3.0, 3.0]  # two tied at the bottom, eight at the top
    profile = _profile(model, levels)
    library = load_actions(model)
    actions = narrative.next_actions(profile, None, model, library)
    # the rule: the dimensions in the order of "Where to focus", the library's first action for each next level
    order = focus_areas(profile, None, top=len(profile))["dimension_id"].head(3)
    expected = [library.for_step(d, int(round_half_up(lv)))[0]["action"] for d, lv in
                zip(order, profile.set_index("dimension_id").loc[order, "level"])]
    assert list(actions["Action"]) == expected and len(actions) == 3
    assert list(actions["Dimension"]) == [model.dimension_name(d) for d in order]
    change = narrative.change_line("CHW", "Cheshire West and Chester", _changes(("decision_making",)), model, WAVE, 2025)
    screen = narrative.first_screen("Cheshire West and Chester", MINE, profile, model, change, actions)
    soup = BeautifulSoup(str(screen), "html.parser")
    section = soup.find("section", class_="dqm-first-screen")
    assert section is not None and section.find("h2").get_text() == "Summary"
    text = _text(section)
    # issue #18: the model level and the answers' figures are named apart (pinned words changed deliberately)
    assert ("Cheshire West and Chester's model level is 2.6: between Developing and Impactful; 90% interval 2.3 to "
            "2.8, on the scale of independent assessment.") in text  # the meanings: the position section, and linked
    assert "Lowest: Users and services and Data and insight (2.5: between Developing and Impactful)." in text
    assert ("Highest in its respondents' own answers: Leadership, Strategy, Culture, Capacity, Decision-making, "
            "Technology and infrastructure") in text
    assert ("What changed. Since 2025 its model level is up about 0.10 levels overall (90% interval +0.16 to +0.24), "
            "within what differences between respondents and rounding to whole levels could explain. "
            "Decision-making (up 0.3 levels) changed by more than that; no other dimension did.") in text
    assert section.find("h3").get_text() == "The next three actions"
    assert [li.find("strong").get_text() for li in section.find("ol").find_all("li")] == list(actions["Dimension"])
    assert "Picked by one rule" in text and "first action" in text
    # the last thing on the screen is the link to the handbook (the slow test looks for it on page 1)
    assert section.find_all(recursive=False)[-1].get("class") == ["dqm-handbook"]


def test_a_council_at_the_top_level_skips_to_the_next_dimension_with_a_step(model):
    levels = [5.0, 2.0] + [4.0] * 8
    profile = _profile(model, levels, peer_median=5.0)  # leadership at the top level but "below" nobody
    profile.loc[0, "target"] = 5.0
    actions = narrative.next_actions(profile, None, model, load_actions(model))
    assert "Leadership" not in set(actions["Dimension"]) and len(actions) == 3
    every = narrative.next_actions(_profile(model, [5.0] * 10), None, model, load_actions(model))
    screen = _text(narrative.first_screen("X", MINE, _profile(model, [5.0] * 10), model, "c.", every))
    assert every.empty and "The action library has no next step" in screen


def test_what_changed_is_one_sentence_or_why_there_is_none(model):
    assert narrative.change_line("CHW", "Cheshire West and Chester", _changes(), model, WAVE, None).startswith(
        "2026 is the first wave in this store")
    assert narrative.change_line("ZZZ", "Nowhere", _changes(), model, WAVE, 2025) == (
        "Nowhere did not take part in 2025, so there is no change to report.")
    quiet = narrative.change_line("CHW", "X", _changes(), model, WAVE, 2025)
    assert quiet.endswith("No dimension changed by more than that, so none is a change to be sure of.")


# ---------------------------------------------------------------- one precision, one way of printing an interval
def test_an_interval_never_reads_as_a_point_and_the_change_shows_the_same_places(model):
    table = narrative.council_change_table(_changes(), model)
    cells = table["Change in level (90% interval)"]
    assert set(cells) == {"+0.10 (+0.16 to +0.24)"}  # not "+0.1 (+0.2 to +0.2)"
    assert narrative.estimate_interval(0.2, 0.16, 0.24) == "0.20 (0.16 to 0.24)"
    assert narrative.estimate_interval(0.2, -0.04, 0.31, sign=True) == "+0.2 (0.0 to +0.3)"


def test_peers_median_and_range_are_at_the_precision_of_the_data(demo_store, model):
    from dqm.reference import councils
    from dqm.store import load

    assert level_step([3.0, 3.5, np.nan]) == 0.5 and level_step([3.0, 4.0]) == 1.0 and level_step([3.14]) == 0.1
    assert (at_step(3.75, 0.5), at_step(2.7, 0.5, "down"), at_step(4.8, 0.5, "up")) == (4.0, 2.5, 5.0)
    data = load(demo_store[0], model=model)
    codes = sorted(data.councils.query("wave == @WAVE and assessment_type == 'self'")["council_code"])[:25]
    medians = []
    for code in codes:
        profile, info = council_profile(code, data.councils, data.answers, councils(), model, WAVE)
        dims = profile[profile["dimension_id"] != "overall_mean"]
        assert info["step"] == 0.5 and info["overall_step"] == 0.1
        for col in ("peer_median", "peer_low", "peer_high", "type_median"):
            v = dims[col].dropna().to_numpy()
            assert np.allclose(v * 2, np.round(v * 2)), (code, col, v)  # whole or half levels, like the council's
        o = profile[profile["dimension_id"] == "overall_mean"].iloc[0]
        assert all(np.isclose(o[c] * 10, round(o[c] * 10)) for c in ("peer_median", "peer_low", "peer_high")
                   if o[c] == o[c])
        medians += list(narrative.profile_table(profile, info).get("Peers' median", []))
    assert medians and not [m for m in medians if m.endswith((".2", ".8", ".25", ".75"))], medians


def test_a_figure_judged_against_a_threshold_never_prints_as_it():
    """The review's case: 'contradicted' (the estimate, 0.34, is at least the 0.25 the claim allows) beside an
    interval whose lower end, 0.247, printed as 0.25. The verdict is decided on the estimate; the figures now show
    on which side of 0.25 each lies."""
    row = {"verdict": "contradicted", "kind": "assessment_agreement", "estimate": 0.34, "ci_low": 0.247,
           "ci_high": 0.44, "sesoi": 0.25, "direction": "none"}
    assert narrative.estimate_cell(row) == "0.340 (0.247 to 0.440)"
    assert narrative.estimate_cell({**row, "ci_low": 0.26}) == "0.34 (0.26 to 0.44)"  # nothing to tell apart
    assert narrative.estimate_cell({**row, "kind": "association"}) == "0.34 (0.25 to 0.44)"  # not judged on its ends
    unsure = narrative.plain_verdict({**row, "verdict": "inconclusive", "estimate": 0.2496, "ci_high": 0.3})
    assert "anything from 0.247 to 0.300 levels" in unsure
    assert narrative.figure_words(0.247, 2, (0.25,)) == "0.247" and narrative.figure_words(0.25, 2, (0.25,)) == "0.25"
    assert narrative.figure_words(0.34, 2, (0.25,)) == "0.34"


# ---------------------------------------------------------------- the first screen on paper
def _first_screens(inputs, model) -> pd.DataFrame:
    """Every council's first screen, computed as the report computes it: its text length and how many dimensions
    its strengths and gaps name."""
    from dqm.scoring.profile import council_profile as profile_of
    from dqm.scoring.profile import model_comparison

    ref = inputs.ref.set_index("local-authority-code")
    positions = inputs.positions.set_index("council_code")
    rows = []
    for code in positions.index:
        if code not in set(inputs.data.councils.query("wave == @WAVE and assessment_type == 'self'")["council_code"]):
            continue  # assessed only independently: it has no council report
        name = ref.loc[code, "nice-name"]
        profile, _ = profile_of(code, inputs.data.councils, inputs.data.answers, inputs.ref, model, WAVE,
                                neighbours=inputs.neighbours)
        change = narrative.change_line(code, name, inputs.changes, model, WAVE, inputs.wave_from)
        actions = narrative.next_actions(profile, inputs.realism, model, inputs.actions)
        mine = model_comparison(code, inputs.positions, inputs.data.councils, inputs.ref, WAVE, inputs.neighbours)
        screen = _text(narrative.first_screen(name, mine, profile, model, change, actions))
        ties = " ".join(narrative.strengths_and_gaps(profile, model))
        rows.append({"code": code, "length": len(screen), "tied": sum(d in ties for d in profile["dimension"])})
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_the_first_screen_fits_page_one_of_the_pdf(demo_store, model, tmp_path, monkeypatch):
    from dqm.reports.wave import compute_wave_inputs

    monkeypatch.setenv("DQM_REPORTS_DIR", str(tmp_path / "reports"))  # the model's fit, shared with the batch
    store = demo_store[0]
    inputs = compute_wave_inputs(store, WAVE, 20, None)
    screens = _first_screens(inputs, model)
    longest = screens.sort_values(["length", "code"], ascending=[False, True])["code"].iloc[0]
    most_tied = screens[screens["code"] != longest].sort_values(["tied", "length"], ascending=False)["code"].iloc[0]
    picked = [longest, most_tied]
    print(f"\nfirst screens: longest {longest}, most dimensions named in ties {most_tied}")
    out = tmp_path / "councils"
    env = {**os.environ, "DQM_REPORTS_DIR": str(tmp_path / "reports")}
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "report", "councils", "--wave", str(WAVE), "--store",
                        str(store), "--councils", ",".join(picked), "--pdf", "--draws", "20", "--jobs", "2",
                        "--out-dir", str(out)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    for code in picked:
        html = (out / f"council-{code}-{WAVE}.html").read_text(encoding="utf-8")
        section = BeautifulSoup(html, "html.parser").find("section", class_="dqm-first-screen")
        last = " ".join(section.find_all(recursive=False)[-1].get_text().split())  # the handbook line
        pdf = out / f"council-{code}-{WAVE}.pdf"
        texts = _page_texts(pdf)
        where = [k + 1 for k, t in enumerate(texts) if last[-60:] in t]
        assert where == [1], f"{code}: the first screen's last line ({last[-60:]!r}) is on page(s) {where}, not 1"
        assert "The next three actions" in texts[0] and "Picked by one rule" in texts[0], code
        # the detail starts page 2: nothing of the first screen runs over (the running header is drawn after)
        assert texts[1].startswith("Levels and targets by dimension"), (code, texts[1][:200])


def _page_texts(pdf) -> list[str]:
    """Each page's text, whitespace collapsed (pypdfium2, as tests/pdf_layout.py reads pages)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        out = []
        for k in range(len(doc)):
            page = doc[k]
            tp = page.get_textpage()
            out.append(" ".join(tp.get_text_range().split()))
            tp.close()
            page.close()
        return out
    finally:
        doc.close()
