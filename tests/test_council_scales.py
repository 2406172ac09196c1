"""The council report on one scale per comparison, in words that are true (issues #18 and #20, brief f20).

* Two overall figures, named apart: the model level (the measurement model, on the scale of independent
  assessment) and the overall score (the mean of the respondents' own answers), beside the handbook's overall
  level; each compared with peers and councils of the same type on its own scale only.
* The change said with the overall estimate and its interval, and whether any dimension moved beyond noise.
* Peers described without a count that would tell which (publicly identifiable) neighbours took part.
* The rank-coverage sentence agrees with the measurement study's latest table; "about this report" says what is
  self-assessed and what is not.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from dqm.reports import narrative
from dqm.scoring.profile import MIN_PEERS, comparison_groups, council_profile, model_comparison

ROOT = Path(__file__).resolve().parents[1]
WAVE = 2026


def _text(markup) -> str:
    return BeautifulSoup(str(markup), "html.parser").get_text(" ", strip=True)


# ---------------------------------------------------------------- a small wave, built by hand
def _wave(model, responding_peers: int = 6, type_others: int = 7):
    """Council A; its neighbours P0..P9 (the first ``responding_peers`` self-assessed); councils T0.. of A's type
    that are not its neighbours (``type_others`` self-assessed); X, of another type, assessed only independently.
    Answers: every dimension at 4 for peers, 3 for A and councils of its type; model levels: peers 2.0 + i/10,
    type 3.0 + i/10, A 2.9."""
    dims = list(model.dimension_ids)
    peers = [f"P{i}" for i in range(10)]
    others = [f"T{i}" for i in range(type_others)]
    ref = pd.DataFrame({"local-authority-code": ["A", *peers, *others, "X"],
                        "type_group": ["English unitary"] * (1 + 10 + type_others) + ["District council"]})
    nn = pd.DataFrame({"council_code": "A", "peer_code": peers, "pool": "English single-tier"})
    selfs = ["A", *peers[:responding_peers], *others]
    lv = pd.DataFrame([{"council_code": c, "wave": WAVE, "assessment_type": "self",
                        **{d: (4.0 if c.startswith("P") else 3.0) for d in dims}} for c in selfs]
                      + [{"council_code": "X", "wave": WAVE, "assessment_type": "independent", **{d: 2.0 for d in dims}}])
    lv["overall_mean"] = lv[dims].mean(axis=1)
    lv["overall_level"] = np.floor(lv["overall_mean"] + 0.5)
    answers = pd.DataFrame([{"council_code": "A", "wave": WAVE, "assessment_type": "self", "dimension_id": d,
                             "target_level": 4} for d in dims])
    model_levels = {"A": 2.9, "X": 1.0, **{p: 2.0 + i / 10 for i, p in enumerate(peers)},
                    **{t: 3.0 + i / 10 for i, t in enumerate(others)}}
    pos = pd.DataFrame({"council_code": list(model_levels), "level": list(model_levels.values())})
    pos = pos.assign(wave=WAVE, level_low=pos["level"] - 0.2, level_high=pos["level"] + 0.2, rank_low=1, rank_high=9,
                     councils_ranked=len(pos), n_respondents=2, position="not clearly different from the middle")
    return lv, answers, ref, nn, pos


def test_peers_and_type_are_the_same_councils_on_both_scales(model):
    lv, answers, ref, nn, pos = _wave(model)
    profile, info = council_profile("A", lv, answers, ref, model, WAVE, neighbours=nn)
    defined, peer_set, type_set, tg = comparison_groups("A", lv, ref, WAVE, nn)
    assert (len(defined), len(peer_set), info["peers_responding"]) == (10, 6, 6)
    assert len(type_set) == info["type_responding"] == 6 + 7 and tg == "English unitary"  # X (independent only) is out
    mine = model_comparison("A", pos, lv, ref, WAVE, nn)
    # the model scale: the median of the same councils' model levels, not of their answers
    assert mine["peer_median"] == pytest.approx(np.median([2.0 + i / 10 for i in range(6)]), abs=0.05)
    type_levels = [2.0 + i / 10 for i in range(6)] + [3.0 + i / 10 for i in range(7)]
    assert mine["type_median"] == pytest.approx(round(np.median(type_levels), 1))
    assert mine["level"] == 2.9 and mine["rule_level"] == 3.0 and mine["type_group"] == "English unitary"
    # the answers' scale in the profile: peers at 4, type median of 4s and 3s
    overall = profile.set_index("dimension_id").loc["overall_mean"]
    assert overall["peer_median"] == 4.0 and overall["level"] == 3.0


def test_a_group_of_fewer_than_five_is_withheld_on_the_model_scale_too(model):
    lv, answers, ref, nn, pos = _wave(model, responding_peers=MIN_PEERS - 1, type_others=0)
    profile, info = council_profile("A", lv, answers, ref, model, WAVE, neighbours=nn)
    mine = model_comparison("A", pos, lv, ref, WAVE, nn)
    assert not info["peers_shown"] and math.isnan(mine["peer_median"]) and math.isnan(mine["type_median"])
    text = narrative.level_sentence("A", mine, model)
    assert "peers' median" not in text and "median of" not in text


def test_every_comparison_on_the_first_screen_is_made_on_one_named_scale(model):
    lv, answers, ref, nn, pos = _wave(model)
    profile, info = council_profile("A", lv, answers, ref, model, WAVE, neighbours=nn)
    mine = model_comparison("A", pos, lv, ref, WAVE, nn)
    lines = narrative.summary_lines("Anytown", mine, profile, model)
    model_line, score_line = lines[0], lines[1]
    # the model level beside the peers' and type's model levels, and nothing of the answers
    assert model_line.startswith("Anytown's model level is 2.9: between Developing and Impactful; 90% interval 2.7 "
                                 "to 3.1, on the scale of independent assessment. By it, Anytown ranks between 1st "
                                 "and 9th of")
    # the levels' meanings, left off the first screen to keep it on one page, open the position section
    assert narrative.scale_note("Anytown", mine, model).startswith("Anytown's model level is 2.9: between Developing (")
    assert f"On that scale its peers' median is {narrative.number(mine['peer_median'], 1)} and the median of " \
           f"English unitary councils {narrative.number(mine['type_median'], 1)}." in model_line
    o = profile.set_index("dimension_id").loc["overall_mean"]
    assert narrative.number(o["peer_median"], 1) not in model_line
    # the overall score beside the answers' medians, with the handbook's overall level it gives
    assert score_line.startswith("Its overall score, the mean of the dimension levels in its respondents' own "
                                 "answers, is 3.0 (overall level 3: Impactful, by the handbook's rule).")
    assert f"In those answers its peers' median is {narrative.number(o['peer_median'], 1)} and the median of " \
           f"English unitary councils {narrative.number(o['type_median'], 1)}." in score_line
    # the model figure is never called the overall level; strengths and gaps say their scale
    said = " ".join(lines)
    assert "overall level" not in said.replace("overall level 3: Impactful, by the handbook's rule", "")
    assert "Every answered dimension is at the same level in its respondents' own answers" in said
    # page 2's overall sentence: the answers first, then the model level on its own scale
    page2 = narrative.overall_sentence(profile, info, mine)
    assert page2.startswith("Overall score in its respondents' own answers: 3.0")
    assert "Model level, on the scale of independent assessment: 2.9. On that scale its peers' median is" in page2


def _changes(overall_flag=False, flagged=(), change=0.18, low=0.02, high=0.31):
    dims = ["leadership", "strategy", "overall"]
    return pd.DataFrame({"council_code": "A", "wave": WAVE, "wave_from": 2025, "dimension": dims,
                         "change": [0.3, 0.1, change], "change_low": [0.0, -0.1, low],
                         "change_high": [0.6, 0.3, high], "prob_moved_one_level": 0.01,
                         "p_value": 0.5, "flagged": [d in flagged for d in dims[:2]] + [overall_flag],
                         "power_one_level": 0.5})


def test_the_change_sentence_gives_the_overall_estimate_and_its_interval(model):
    quiet = narrative.change_headline(_changes(), model, 2025)
    assert quiet == ("Since 2025 its model level is up about 0.2 levels overall (90% interval 0.0 to +0.3), within "
                     "what differences between respondents and rounding to whole levels could explain. No dimension "
                     "changed by more than that, so none is a change to be sure of.")
    assert "Nothing changed" not in quiet
    moved = narrative.change_headline(_changes(overall_flag=True, flagged=("leadership",)), model, 2025)
    assert ", more than differences between respondents and rounding to whole levels could explain." in moved
    assert moved.endswith("Leadership (up 0.3 levels) changed by more than that; no other dimension did.")
    down = narrative.change_headline(_changes(change=-0.04, low=-0.2, high=0.1), model, 2025)
    assert down.startswith("Since 2025 its model level is about the same overall (90% interval -0.2 to +0.1)")
    every = narrative.change_headline(_changes(flagged=("leadership", "strategy")), model, 2025)
    assert every.endswith("Every dimension changed by more than that.")
    no_overall = narrative.change_headline(_changes().iloc[:2], model, 2025)
    assert no_overall.startswith("Since 2025: no dimension changed by more than what differences between")


def test_the_peer_note_does_not_count_the_neighbours_that_took_part(model):
    info = {"peers_defined": 15, "peers_responding": 12, "peers_shown": True, "type_group": "English unitary",
            "type_responding": 48, "pool": "English single-tier"}
    note = narrative.peer_note(info)
    assert "12" not in note and "of this council's 15 nearest neighbours among English single-tier councils" in note
    assert "that took part; how many is not given" in note
    withheld = narrative.peer_note({**info, "peers_responding": 3, "peers_shown": False})
    assert "3" not in withheld and withheld.startswith("Fewer than 5 of this council's 15 nearest neighbours")
    assert "peer figures are withheld" in withheld  # tests/test_batch.py looks for these words


def _notebook_text() -> str:
    nb = json.loads((ROOT / "notebooks" / "council_benchmark.ipynb").read_text(encoding="utf-8"))
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")  # committed without outputs
    return "\n".join("".join(c["source"]) for c in nb["cells"])


def test_the_rank_coverage_sentence_agrees_with_the_studys_latest_table():
    """studies/measurement/README.md, round 3: the table of the measured rank intervals the reports now use."""
    readme = (ROOT / "studies" / "measurement" / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| scenario | measured (the reports now) |"):]
    table = table[:table.index("\n\n")]
    rows = [r for r in table.splitlines()[2:] if r.startswith("|")]
    cov = [re.match(r"\|[^|]+\| ([\d.]+) / \**([\d.]+)\**(?: \([\d.]+\))? / \**([\d.]+)\**", r).groups() for r in rows]
    overall = [float(a) for a, _, _ in cov]
    tails = [float(x) for _, t, b in cov for x in (t, b)]
    assert len(rows) == 12
    text = " ".join(_notebook_text().split())
    assert f"{len(rows)} settings" in text
    assert f"held the true rank {round(100 * min(overall))}% to {round(100 * max(overall))}% of the time overall" in text
    assert f"at least {5 * math.floor(20 * min(tails))}% of the time for councils whose true rank was in the top or " \
           "bottom tenth, in every setting" in text
    assert "less often for councils at the very top or bottom" not in text


def test_about_this_report_and_the_handbook_name_the_figures_alike(model):
    text = " ".join(_notebook_text().split())
    assert "Levels are self-assessed and not verified" not in text
    assert ("The dimension levels, targets and overall score are your respondents' own answers, not verified. "
            "The model level is estimated from those answers") in text
    note = _text(narrative.council_model_note(model))
    assert "The overall level is the mean of the dimension levels, rounded half up" in note  # the handbook's rule
    assert "overall score is the mean of the dimension levels, unrounded" in note
    assert "model level is not the overall level" in note
    from dqm.documents.handbook import handbook_html

    handbook = " ".join(_text(handbook_html(model)).split())
    assert "The overall score is the mean of the dimension levels, unrounded" in handbook
    assert "The model level is the measurement model's estimate" in handbook
    assert "on the scale of independent assessment" in handbook and "on the scale of independent assessment" in note


def test_where_to_focus_and_the_evidence_say_what_their_figures_and_text_are():
    text = " ".join(_notebook_text().split())
    assert "the levels here, and the next levels the actions aim for, are those answers, not the model level" in text
    assert "a spreadsheet formula or an HTML tag appears as written and is never run" in text


def test_a_council_with_too_few_dimensions_gets_no_model_level_and_says_why_once(model):
    lv, answers, ref, nn, pos = _wave(model)
    profile, _ = council_profile("A", lv, answers, ref, model, WAVE, neighbours=nn)
    short = profile.copy()
    dims = short["dimension_id"] != "overall_mean"
    short.loc[dims & (short.index >= 5), "level"] = np.nan  # 5 of 10 answered
    short.loc[~dims, "level"] = np.nan
    lines = narrative.summary_lines("A", model_comparison("A", pos, lv, ref, WAVE, nn), short, model)
    said = " ".join(lines)
    assert lines[0] == ("A has no overall score in this wave, and so no model level and no place among other councils: "
                        f"its respondents answered 5 dimensions, and an overall score needs at least "
                        f"{model.min_coverage}.")
    assert "model level is" not in said and "ranks" not in said and said.count("too few") + said.count("needs") == 1
