"""The annual report's sector figures: one population (the councils that self-assessed), the disclosure rule on
every count and share a sector table or chart shows, and change words that say what the test says.

The hand-made store is built to have small cells: 10 councils of type "Low" whose every answer is 2 and 3 of type
"High" whose every answer is 4 (so level 4 holds 3 councils), two self-assessors each, one level either side of the
council's level in a balanced pattern, an independent assessor for half of them, and one council "X99" assessed only
independently (by one assessor at level 3). The second wave's answers are one level higher."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from sector_data import SectorData

from dqm.reports import narrative, plots, sections
from dqm.scoring import positions as P
from dqm.scoring.latent import load_config
from dqm.scoring.sector_levels import population, suppress_bands

FAST = load_config().replace(vc_draws=8, draws_per_vc=40)
LOW, HIGH = 10, 3  # self-assessing councils of each type; HIGH is under the threshold of 5
SELF = LOW + HIGH
WAVES = (2025, 2026)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    """An empty in-process cache, its own HMAC key and the fast settings for calls that take the default."""
    monkeypatch.setattr(P, "_MEMORY", {})
    monkeypatch.setattr(P, "load_config", lambda: FAST)
    monkeypatch.setenv("DQM_CACHE_KEY", "0123456789abcdef" * 4)


def Data(answers):  # noqa: N802  (what dqm.store.load gives, as the sector figures read it)
    return SectorData(answers, quintile=5.0, self_only=False)


def _answers(model) -> pd.DataFrame:
    rows, sub = [], 0
    councils = [(f"L{i:02d}", 2) for i in range(LOW)] + [(f"H{i:02d}", 4) for i in range(HIGH)]
    for w, wave in enumerate(WAVES):
        plan = [(code, level + w, [("self", -1), ("self", 1)] + ([("independent", 0)] if c % 2 else []))
                for c, (code, level) in enumerate(councils)]
        plan.append(("X99", 3, [("independent", 0)]))  # assessed by others only
        for code, level, kinds in plan:
            for r, (kind, shift) in enumerate(kinds):
                sub += 1
                for d, dim in enumerate(model.dimension_ids):
                    off = shift if d % 2 else -shift
                    rows.append({"submission_id": sub, "council_code": code, "wave": wave, "assessment_type": kind,
                                 "respondent_key": f"{code}-{kind}-{r}", "dimension_id": dim,
                                 "level": int(np.clip(level + off, 1, 5)), "target_level": int(min(level + 1, 5))})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def store(model):
    return Data(_answers(model))


def _tables(html: str) -> dict:
    """caption -> rows of cell texts, for every table in some HTML."""
    soup = BeautifulSoup(html, "html.parser")
    return {t.find("caption").get_text(" ", strip=True): [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
                                                          for tr in t.find_all("tr") if tr.find_all("td")]
            for t in soup.find_all("table")}


def _text(parts) -> str:
    return BeautifulSoup(" ".join(p.data for p in parts), "html.parser").get_text(" ")


# ---------------------------------------------------------------- one population
def test_every_sector_figure_counts_the_councils_that_self_assessed(store, model, tmp_path):
    wave = 2026
    assert "X99" in set(P.council_positions(store, model, wave, tmp_path)["council_code"])  # the model places it
    levels = P.sector_levels(store, model, wave, tmp_path)
    assert (levels["councils"] == SELF).all()
    bands = P.level_bands(store, model, wave, tmp_path, threshold=0)
    assert (bands["councils"] == SELF).all()
    for by in ("type_group", "nation", "deprivation_quintile"):  # no group can be differenced against participation
        g = P.group_levels(store, model, wave, by, tmp_path, threshold=0)
        assert g["councils"].sum() == SELF, by
    ch = P.sector_change(store, model, wave, tmp_path).set_index("dimension")
    assert (ch["councils"] == SELF).all() and (ch["tested"] == SELF).all()
    # the annual findings say the same count as the participation sentence, and whom the figures describe, once
    gaps = pd.DataFrame({"dimension": ["Leadership"], "gap": [1.0]})
    text = _text(sections.annual_findings(store, model, wave, 20, gaps, tmp_path))
    assert f"{SELF} of 20 principal councils" in text
    assert f"Every figure in this report is of these {SELF} councils" in text
    assert not re.search(rf"\b{SELF + 1} councils\b", text) and "in any way" not in text


def test_the_population_falls_back_to_every_council_only_in_a_wave_nobody_self_assessed():
    rows = pd.DataFrame({"council_code": ["A", "B", "C", "D"], "wave": [1, 1, 2, 2], "n_self": [1, 0, 0, 0]})
    assert population(rows).values.tolist() == [["A", 1], ["C", 2], ["D", 2]]


# ---------------------------------------------------------------- the disclosure rule
def test_shares_of_fewer_than_five_councils_are_blanked_with_a_second_where_one_could_be_worked_out(store, model):
    b = P.level_bands(store, model, 2025, config=FAST)
    o = b[b["dimension"] == "overall"].set_index("level")
    assert bool(o.loc[4, "small"]) and o.loc[4, ["share", "share_low", "share_high", "count"]].isna().all()
    raw = P.level_bands(store, model, 2025, config=FAST, threshold=0)
    assert raw["suppressed"].sum() == 0 and raw.groupby("dimension")["share"].sum().to_numpy() == pytest.approx(1.0)
    assert (raw.loc[b["small"].to_numpy(), "count"] < 5).all()
    assert (b.loc[~b["suppressed"], "count"] >= 5).all()
    for dim, g in b.groupby("dimension"):  # one blank in a dimension could be worked out from its total
        assert g["suppressed"].sum() != 1, dim
    # secondary suppression: the smallest cell left is blanked too, and only where one cell alone was small
    one = pd.DataFrame({"wave": 1, "dimension": "d", "level": [1, 2, 3, 4], "share": [0.03, 0.2, 0.07, 0.7],
                        "share_low": 0.0, "share_high": 1.0, "councils": 100})
    out = suppress_bands(one)
    assert out["small"].tolist() == [True, False, False, False]
    assert out["suppressed"].tolist() == [True, False, True, False]


def test_the_level_chart_and_its_data_table_show_no_count_under_five(store, model, tmp_path):
    parts = sections.sector_levels_section(store, model, 2025, "src", tmp_path)
    html = " ".join(p.data for p in parts)
    rows = next(v for k, v in _tables(html).items() if k.startswith("Data behind the chart: Share of councils"))
    cols = {"dimension": 0, "level": 1, "share": 2, "councils": 3, "interval": 4}
    assert any(r[cols["councils"]] == "[c]" for r in rows)
    for r in rows:
        if r[cols["councils"]] == "[c]":  # a blanked count takes its share and interval with it
            assert r[cols["share"]] == "–" and r[cols["interval"]] == "[c]", r
        else:
            assert int(r[cols["councils"]].replace(",", "")) >= 5, r
            assert float(r[cols["share"]]) * SELF / 100 >= 4.5, r  # no share reveals a small count either
    assert "Levels held by fewer than 5 councils are not shown" in _text(parts)


def test_the_headline_says_fewer_than_five_instead_of_a_small_share(store, model):
    bands = P.level_bands(store, model, 2025, config=FAST)
    text = narrative.level_shares_sentence(bands, model)
    o = bands[bands["dimension"] == "overall"].set_index("level")
    for lv in o.index[o["suppressed"]]:
        assert not re.search(rf"\d+% \(95% interval [^)]*\) (were )?{model.level_name(lv)}", text), lv
    assert f"Fewer than 5 councils were {model.level_name(4)} (4)" in text or "Fewer than 5 councils were at each of" \
        in text


def test_small_counts_of_flagged_councils_and_targets_are_not_printed(model):
    change = pd.DataFrame({"dimension": ["a", "b", "overall"], "name": ["A", "B", "Overall"], "wave": 2026,
                           "wave_from": 2025, "councils": 40, "change": [0.3, 0.02, 0.16], "ci_low": [0.2, -0.1, 0.1],
                           "ci_high": [0.4, 0.14, 0.22], "simul_low": [0.2, -0.1, 0.1], "simul_high": [0.4, 0.14, 0.22],
                           "clear": [True, False, True], "tested": 40, "flagged": [6, 2, 3], "expected_flags": 2.0})
    text = narrative.change_sentences(change)
    assert "model level of fewer than 5 of 40 councils" in text
    assert "flagged at most 6 councils per dimension (fewer than 5 on some)" in text
    assert not re.search(r"flagged (the (overall|model) level of )?[0-4] ", text)
    gaps = pd.DataFrame({"dimension": ["Leadership", "Strategy"], "current": [3.1, 2.9], "target": [4.0, 4.1],
                         "gap": [0.9, 1.2], "councils": [30, 4]})
    t = narrative.gap_table(gaps).set_index("Dimension")
    assert t.loc["Strategy"].tolist() == ["[c]"] * 4 and t.loc["Leadership", "Councils"] == "30"


# ---------------------------------------------------------------- what "clear" change means, and its precision
def _family(model) -> pd.DataFrame:
    """The demo's change from 2025 to 2026 on its 10 dimensions (means and spreads of the draws): Strategy's
    simultaneous interval only just leaves out zero, Leadership's only just reaches it."""
    change = pd.DataFrame({
        "wave": 2026, "wave_from": 2025, "dimension": [*model.dimension_ids, "overall"], "councils": 149,
        "change": [0.118329, 0.127902, 0.233258, 0.192691, 0.218257, 0.2028, 0.152753, 0.166315, 0.21583, 0.211511,
                   0.183965],
        "sd": [0.043179, 0.044441, 0.045158, 0.044136, 0.043867, 0.042699, 0.043214, 0.044177, 0.042958, 0.043124,
               0.015248],
        "tested": 149, "flagged": [9, 12, 13, 6, 8, 14, 5, 9, 11, 9, 24], "expected_flags": 7.45})
    change["ci_low"], change["ci_high"] = change["change"] - 1.96 * change["sd"], change["change"] + 1.96 * change["sd"]
    fam = narrative.change_family(change)
    fam["name"] = [("Overall" if d == "overall" else model.dimension_name(d)) for d in fam["dimension"]]
    return fam


def test_a_borderline_change_is_printed_on_its_side_of_zero_and_not_called_clear(model):
    fam = _family(model).set_index("dimension")
    assert fam.loc["leadership", "simul_low"] < 0 < fam.loc["strategy", "simul_low"] < 0.005
    fam = fam.reset_index()
    shown = sections._shown(fam, "name", "change", "simul_low", "simul_high", "Change", "Interval", off_zero=True)
    low = dict(zip(shown["Dimension"], shown["Interval, low"]))
    assert low["Leadership"] < 0 < low["Strategy"] and {round(low["Leadership"], 3), round(low["Strategy"], 3)} == {
        low["Leadership"], low["Strategy"]}
    assert shown.set_index("Dimension").loc["Culture", "Interval, low"] == round(fam.iloc[2]["simul_low"], 2)
    table = plots.dot_interval(shown, "Dimension", "Change", "Interval, low", "Interval, high", "t", "x", "src",
                               xlim=(-1, 1)).data.set_index("Dimension")  # the chart's table keeps those places
    assert table.loc["Leadership", "Interval, low"] == low["Leadership"] != 0
    text = narrative.change_sentences(fam)
    assert "clearly" not in text
    assert "rose by more than chance would explain with 10 dimensions compared at once on Strategy, Culture" in text
    assert "by 0.13 to 0.23 of a level" in text and "On Leadership the change (+0.12 of a level) could be chance" in text
    assert re.search(r"close call on Leadership \(interval -0\.00\d to 0\.2\d\d\) and Strategy \(interval 0\.00\d", text)
    assert narrative.change_interval(-0.0029, 0.2396) == "-0.003 to 0.240"
    assert "-0.00 " not in text and "(0.0 to" not in text


def test_the_sector_levels_are_printed_at_two_places_so_the_interval_is_not_lopsided(model):
    assert narrative.level_figure(2.791, 2.734, 2.852) == "2.79 (95% interval 2.73 to 2.85)"
    t = narrative.group_table(pd.DataFrame({"g": ["A", "B"], "councils": [81, None], "mean": [2.47, None],
                                            "ci_low": [2.41, None], "ci_high": [2.53, None]}), "g", "group")
    assert t.iloc[0].tolist() == ["A", "81", "2.47", "2.41 to 2.53"] and t.iloc[1].tolist()[1:] == ["[c]"] * 3
