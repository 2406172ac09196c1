"""The sector's figures from the measurement model (dqm.scoring.positions.sector_levels, group_levels, level_bands,
sector_change), the annual report's words that read them, and `dqm.scores()` / `dqm score` reading the model.

The hand-made store has a known structure: 10 councils of type "Low" whose every answer is 2 and 4 of type "High"
whose every answer is 4 (so the High group is under the suppression threshold of 5), three self-assessors each
with answers one level either side of the council's level in a balanced pattern, an independent assessor for half
the councils, and a second wave in which every council's answers are one level higher."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from sector_data import SectorData

from dqm.cli import main
from dqm.reports import narrative
from dqm.scoring import positions as P
from dqm.scoring import target_gaps
from dqm.scoring.latent import load_config

FAST = load_config().replace(vc_draws=8, draws_per_vc=40)
LOW, HIGH = 10, 4  # councils of each type (HIGH is below the suppression threshold)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    """Each test starts with an empty in-process cache and its own HMAC key."""
    monkeypatch.setattr(P, "_MEMORY", {})
    monkeypatch.setenv("DQM_CACHE_KEY", "0123456789abcdef" * 4)


def Data(answers):  # noqa: N802  (what dqm.store.load gives, as the sector figures read it)
    return SectorData(answers)


def _answers(model, independent=True, waves=(2025, 2026), rise=1) -> pd.DataFrame:
    rows, sub = [], 0
    councils = [(f"L{i:02d}", 2) for i in range(LOW)] + [(f"H{i:02d}", 4) for i in range(HIGH)]
    for w, wave in enumerate(waves):
        for c, (code, level) in enumerate(councils):
            level = level + rise * w
            kinds = [("self", -1), ("self", 0), ("self", 1)] + ([("independent", 0)] if independent and c % 2 else [])
            for r, (kind, shift) in enumerate(kinds):
                sub += 1
                for d, dim in enumerate(model.dimension_ids):
                    off = shift if d % 2 else -shift  # each respondent one level either side, balanced
                    rows.append({"submission_id": sub, "council_code": code, "wave": wave, "assessment_type": kind,
                                 "respondent_key": f"{code}-{kind}-{r}", "dimension_id": dim,
                                 "level": int(np.clip(level + off, 1, 5)), "target_level": int(min(level + 1 + r % 2, 5))})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def store(model):
    return Data(_answers(model))


# ---------------------------------------------------------------- the figures
def test_sector_levels_are_the_councils_average_with_an_interval_from_the_draws(store, model):
    t = P.sector_levels(store, model, 2025, config=FAST).set_index("dimension")
    truth = (LOW * 2 + HIGH * 4) / (LOW + HIGH)
    assert list(t.index) == [*model.dimension_ids, "overall"]
    assert (t["councils"] == LOW + HIGH).all()
    o = t.loc["overall"]
    assert o["mean"] == pytest.approx(truth, abs=0.1)
    assert o["ci_low"] < o["mean"] < o["ci_high"] and o["ci_high"] - o["ci_low"] < 0.6
    assert t.attrs["scale"] == "independent" and "estimated from the 7 councils" in t.attrs["scale_note"]


def test_group_levels_suppress_groups_under_five_councils_as_before(store, model):
    g = P.group_levels(store, model, 2025, "type_group", config=FAST).set_index("group")
    assert g.loc["Low", "councils"] == LOW and g.loc["Low", "mean"] == pytest.approx(2, abs=0.15)
    assert g.loc["Low", "ci_low"] < g.loc["Low", "mean"] < g.loc["Low", "ci_high"]
    high = g.loc["High"]
    assert bool(high["suppressed"]) and high[["councils", "mean", "ci_low", "ci_high"]].isna().all()
    table = narrative.group_table(g.reset_index().rename(columns={"group": "type_group"}), "type_group", "council type")
    assert table.set_index("Council type").loc["High"].tolist() == ["[c]", "[c]", "[c]"]
    assert "1 council type group with fewer than 5" in narrative.suppression_note(g, "council type")


def test_a_groups_figures_are_kept_with_the_fit_and_not_refitted(store, model, tmp_path):
    P.council_positions(store, model, 2025, tmp_path, FAST)
    fitted = P._MEMORY[next(iter(P._MEMORY))]
    P._MEMORY.clear()
    again = P.group_levels(store, model, 2026, "nation", tmp_path, FAST)  # read back from the build folder
    assert P._MEMORY[next(iter(P._MEMORY))].fit_cpu_seconds == fitted.fit_cpu_seconds
    assert again["councils"].tolist() == [LOW + HIGH]
    with pytest.raises(Exception, match="Group by one of"):
        P.group_levels(store, model, 2025, "colour", tmp_path, FAST)


def test_the_share_at_each_level_is_of_the_nearest_whole_level_and_adds_up(store, model):
    b = P.level_bands(store, model, 2025, config=FAST, threshold=0)  # every share (the report blanks small ones)
    assert b.groupby("dimension")["share"].sum().to_numpy() == pytest.approx(1.0)
    o = b[b["dimension"] == "overall"].set_index("level")
    assert o.loc[2, "share"] == pytest.approx(LOW / (LOW + HIGH), abs=0.08)
    assert o.loc[4, "share"] == pytest.approx(HIGH / (LOW + HIGH), abs=0.08)
    # the mean of a count's draws can sit just outside its central 95% (most draws at 10 of 14, a few at 9): within
    # one council of it
    step = 1 / (LOW + HIGH)
    assert (o["share_low"] - step <= o["share"]).all() and (o["share"] <= o["share_high"] + step).all()
    assert (o["share_low"] <= o["share_high"]).all()


def test_sector_change_counts_flags_against_what_the_tests_level_alone_would_flag(store, model):
    ch = P.sector_change(store, model, 2026, config=FAST).set_index("dimension")
    o = ch.loc["overall"]
    assert o["councils"] == LOW + HIGH and o["change"] == pytest.approx(1.0, abs=0.15)
    assert o["ci_low"] > 0.5 and o["sd"] > 0
    assert o["tested"] == LOW + HIGH and o["flagged"] > o["expected_flags"]
    assert o["expected_flags"] == pytest.approx(FAST.alpha * o["tested"])
    first = P.sector_change(store, model, 2025, config=FAST)
    assert first.empty and "first wave in the store" in first.attrs["notes"][0]


# ---------------------------------------------------------------- the annual report's words
def _summary(store, model, gaps=None, **kw) -> str:
    levels = P.sector_levels(store, model, 2026, config=FAST)
    change = P.sector_change(store, model, 2026, config=FAST)
    bands = P.level_bands(store, model, 2026, config=FAST)
    gaps = target_gaps(store.answers[store.answers["wave"] == 2026], model) if gaps is None else gaps
    out = narrative.annual_summary(2026, LOW + HIGH, 20, narrative.sector_means(levels, model), change, gaps, model,
                                   bands, **kw)
    return BeautifulSoup(str(out), "html.parser").get_text(" ")


def test_the_annual_summary_names_the_scale_and_what_was_assumed(store, model):
    text = _summary(store, model, said=3.4)
    assert "on the scale of independent assessment" in text and "(3.4 overall)" in text
    assert "estimated from the 7 councils with both a self-assessment and an independent" in text
    assert "councils that self-assessed in both 2025 and 2026" in text and "its level alone would flag about" in text
    # with no independent assessment the levels stay on the self-assessment scale, and the assumption is a note
    alone = Data(_answers(model, independent=False))
    levels = P.sector_levels(alone, model, 2026, config=FAST)
    assert levels.attrs["scale"] == "self" and any("cannot be estimated" in n for n in levels.attrs["notes"])
    assert "on the self-assessment scale" in narrative.scale_sentence(levels.attrs["scale"])


def test_the_annual_notebook_reads_the_model_through_the_sections():
    nb = json.load(open("notebooks/state_of_digital.ipynb"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for call in ("sections.annual_findings(", "sections.sector_levels_section(", "sections.group_overall_section(data,",
                 "sections.sector_change_section(data,"):
        assert call in code, call
    assert "dimension_means" not in code and "level_shares" not in code
    assert "scale of independent assessment" in text and "the medians of its respondents' answers" in text
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_ties_in_the_headline_are_compared_as_printed_and_all_named(model):
    means = pd.DataFrame({"dimension_id": ["a", "b", "c", "overall_mean"], "dimension": ["Alpha", "Beta", "Gamma", "Overall"],
                          "mean": [2.941, 2.949, 2.501, 2.8], "ci_low": 2.7, "ci_high": 2.9, "councils": 14})
    gaps = pd.DataFrame({"dimension": ["Alpha", "Beta", "Gamma"], "gap": [1.24, 1.32, 1.349]})
    text = BeautifulSoup(str(narrative.annual_summary(2026, 14, 20, means, None, gaps, model)), "html.parser").get_text()
    assert "highest on Alpha and Beta (average 2.9" in text and "lowest on Gamma (average 2.5" in text
    assert "is in Beta and Gamma (1.3 levels" in text
    assert narrative.tied(pd.Series([2.04, 2.06]), pd.Series(["x", "y"]), largest=False) == ["x"]
    assert narrative.tied(pd.Series([2.04, 2.05]), pd.Series(["x", "y"]), largest=False) == ["x", "y"]  # both "2.0"


def test_targets_are_counted_per_council_from_the_median_of_its_respondents(model):
    a = pd.DataFrame({"council_code": ["A"] * 3 + ["B"], "dimension_id": model.dimension_ids[0],
                      "level": [2, 2, 5, 3], "target_level": [3, 5, 5, 3]})
    g = target_gaps(a, model).set_index("dimension_id").loc[model.dimension_ids[0]]
    assert g["councils"] == 2  # four answers, two councils
    assert g["current"] == pytest.approx((2 + 3) / 2) and g["target"] == pytest.approx((5 + 3) / 2)
    assert g["gap"] == pytest.approx(((5 - 2) + 0) / 2) and g["below_current"] == 0
    table = narrative.gap_table(target_gaps(a, model).dropna(subset=["gap"]))
    assert "Councils" in table.columns and "Answers" not in table.columns


# ---------------------------------------------------------------- dqm.scores() and dqm score
def test_dqm_score_gives_the_models_columns_and_rules_on_request(demo_store, model, capsys):
    store = str(demo_store[0])
    assert main(["score", "--wave", "2026", "--store", store, "--json"]) == 0
    s = pd.DataFrame(json.loads(capsys.readouterr().out))
    assert list(s.columns) == [*P.POSITION_COLUMNS, *model.dimension_ids]
    assert ((s["rank_low"] <= s["rank"]) & (s["rank"] <= s["rank_high"])).all()
    assert (s["councils_ranked"] == len(s)).all()
    assert main(["score", "--wave", "2026", "--store", store, "--method", "rules", "--draws", "20", "--json"]) == 0
    rules = pd.DataFrame(json.loads(capsys.readouterr().out))
    assert {"score_median", "rank_p5", "rank_p95", "overall_level"} <= set(rules.columns)
    assert main(["score", "--wave", "2026", "--store", store, "--draws", "20"]) == 2
    err = capsys.readouterr().err
    assert "--method rules" in err and "Traceback" not in err


def test_dqm_scores_says_what_the_model_assumed_and_refuses_draws_without_rules(model):
    import dqm
    from dqm.errors import DQMError

    data = Data(_answers(model, independent=False))
    data.model, data.store, data.synthetic = model, None, False
    with pytest.raises(DQMError, match="method='rules'"):
        dqm.scores(data, 2026, draws=20)
    with pytest.raises(DQMError, match="Did you mean 'rules'"):
        dqm.scores(data, 2026, method="rule")
    assert re.search("cannot be estimated", " ".join(dqm.scores(data, 2026).attrs["notes"]))
