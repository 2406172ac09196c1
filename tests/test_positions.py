"""The reports' entry point to the measurement model (dqm.scoring.positions): one fit per store content, cached as
typed JSON with an HMAC under the build folder; pinned columns and types; identical data give identical tables; a
store where no council has two respondents says so and widens, never a zero variance."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dqm.errors import DQMError
from dqm.scoring import positions as P
from dqm.scoring.latent import load_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies" / "measurement"))
import study  # noqa: E402

FAST = load_config().replace(vc_draws=8, draws_per_vc=40)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    """Each test starts with an empty in-process cache and its own HMAC key."""
    monkeypatch.setattr(P, "_MEMORY", {})
    monkeypatch.setenv("DQM_CACHE_KEY", "0123456789abcdef" * 4)


class Data:
    """What dqm.store.load gives, as far as the positions read it."""

    def __init__(self, answers, names=True):
        self.answers = answers
        self.submissions = answers[["submission_id", "respondent_key"]].drop_duplicates().reset_index(drop=True)
        codes = sorted(answers["council_code"].unique())
        self.councils = pd.DataFrame({"council_code": codes, "nice-name": [f"Council {c}" for c in codes]}) \
            if names else pd.DataFrame({"council_code": codes})


def _store(scenario="mixed_1_to_3", n=50, seed=1, waves=2, **kw):
    answers, *_ = study.simulate(study.SCENARIOS[scenario], n, np.random.default_rng(seed), waves=waves, **kw)
    return answers


def test_columns_and_types_are_pinned(model):
    data = Data(_store())
    c = P.council_positions(data, model, 2025, config=FAST)
    assert c.dtypes.astype(str).to_dict() == {
        "council_code": "object", "council_name": "object", "wave": "int64", "level": "float64",
        "level_low": "float64", "level_high": "float64", "level_name": "object", "rank": "int64",
        "rank_low": "int64", "rank_high": "int64", "councils_ranked": "int64", "position": "object",
        "n_respondents": "int64", "n_self": "int64", "n_independent": "int64"}
    d = P.dimension_positions(data, model, 2025, config=FAST)
    assert d.dtypes.astype(str).to_dict() == {"council_code": "object", "wave": "int64", "dimension": "object",
                                              "level": "float64", "low": "float64", "high": "float64"}
    ch = P.dimension_changes(data, model, 2025, config=FAST)
    assert ch.dtypes.astype(str).to_dict() == {
        "council_code": "object", "wave": "int64", "wave_from": "int64", "dimension": "object", "change": "float64",
        "change_low": "float64", "change_high": "float64", "prob_moved_one_level": "float64", "p_value": "float64",
        "flagged": "bool", "power_one_level": "float64"}
    # every council of the wave, once; ranks within 1..n; the rank inside its interval; names from the reference
    assert len(c) == 50 and c["council_code"].is_unique and (c["councils_ranked"] == 50).all()
    assert ((1 <= c["rank_low"]) & (c["rank_low"] <= c["rank"]) & (c["rank"] <= c["rank_high"])
            & (c["rank_high"] <= 50)).all()
    assert ((c["level_low"] < c["level"]) & (c["level"] < c["level_high"])).all()
    assert (c["council_name"] == "Council " + c["council_code"]).all()
    assert (c["n_respondents"] == c["n_self"] + c["n_independent"]).all() and (c["n_respondents"] >= 1).all()
    assert len(d) == 50 * len(model.dimension_ids)
    assert set(ch["dimension"]) == set(model.dimension_ids) | {"overall"}
    assert ((ch["p_value"] < FAST.alpha) == ch["flagged"]).all()
    # without reference names the code stands in, never a blank
    bare = P.council_positions(Data(_store(), names=False), model, 2025, config=FAST)
    assert (bare["council_name"] == bare["council_code"]).all()


def test_identical_data_give_identical_tables_whatever_the_row_order(model):
    answers = _store(seed=2)
    shuffled = answers.sample(frac=1.0, random_state=3).reset_index(drop=True)
    first = [f(Data(answers), model, 2025, config=FAST) for f in (P.council_positions, P.dimension_positions,
                                                                  P.dimension_changes)]
    P._MEMORY.clear()  # a fresh fit, not the cached one
    again = [f(Data(shuffled), model, 2025, config=FAST) for f in (P.council_positions, P.dimension_positions,
                                                                   P.dimension_changes)]
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)
        assert a.attrs["notes"] == b.attrs["notes"]


def test_one_fit_per_content_kept_under_the_build_folder(model, tmp_path, monkeypatch):
    """The second call (even in a new process: the in-process cache emptied) reads the kept fit and does not fit;
    a changed file is not trusted but fitted again; different content is a different fit; no folder: nothing
    written."""
    data = Data(_store(seed=4, waves=1))
    calls = []
    real = P.fit_latent
    monkeypatch.setattr(P, "fit_latent", lambda *a, **k: calls.append(1) or real(*a, **k))
    a = P.council_positions(data, model, 2024, build_dir=tmp_path, config=FAST)
    P.dimension_positions(data, model, 2024, build_dir=tmp_path, config=FAST)
    assert len(calls) == 1
    kept = list((tmp_path / "cache").glob(P.CACHE_PREFIX + "*.jsonl"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b'{"format": "dqm-value"')
    P._MEMORY.clear()
    b = P.council_positions(data, model, 2024, build_dir=tmp_path, config=FAST)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(a, b)
    # someone edits the kept value: the HMAC no longer checks out, so it is fitted again
    text = kept[0].read_bytes().replace(b'"level_name"', b'"level_nime"', 1)
    kept[0].write_bytes(text)
    P._MEMORY.clear()
    c = P.council_positions(data, model, 2024, build_dir=tmp_path, config=FAST)
    assert len(calls) == 2
    pd.testing.assert_frame_equal(a, c)
    other = Data(_store(seed=5, waves=1))
    P.council_positions(other, model, 2024, build_dir=tmp_path, config=FAST)
    assert len(calls) == 3 and len(list((tmp_path / "cache").glob("*.jsonl"))) == 2
    P.council_positions(Data(_store(seed=6, waves=1)), model, 2024, config=FAST)
    assert len(list((tmp_path / "cache").glob("*.jsonl"))) == 2


def test_one_respondent_per_council_says_so_and_widens_never_zero(model):
    """Two respondents per council against the same councils with only the first respondent kept: the notes say
    what cannot be told and what is assumed; every interval is wider and none collapses to a point."""
    two = _store("two_respondents", n=60, seed=7, waves=1)
    one = two[two["respondent_key"].str.endswith("-s0")].reset_index(drop=True)
    c2 = P.council_positions(Data(two), model, 2024, config=FAST).set_index("council_code")
    c1 = P.council_positions(Data(one), model, 2024, config=FAST).set_index("council_code").loc[c2.index]
    notes = " ".join(c1.attrs["notes"])
    assert "No council has two respondents" in notes and "assumes" in notes
    assert "independent or peer assessment" in notes  # nor any independent assessment: also said
    assert "No council has two respondents" not in " ".join(c2.attrs["notes"])
    assert (c1["n_respondents"] == 1).all()
    w1, w2 = c1["level_high"] - c1["level_low"], c2["level_high"] - c2["level_low"]
    assert (w1 > w2).all() and w1.min() > 0.3
    assert (c1["rank_high"] - c1["rank_low"]).median() > (c2["rank_high"] - c2["rank_low"]).median()
    assert (c1["rank_high"] > c1["rank_low"]).all()
    d1 = P.dimension_positions(Data(one), model, 2024, config=FAST)
    assert ((d1["high"] - d1["low"]) > 0.3).all()
    ch = P.dimension_changes(Data(one), model, 2024, config=FAST)
    assert ch.empty and any("One wave only" in n for n in ch.attrs["notes"])


def test_first_wave_has_no_change_and_says_why(model):
    data = Data(_store(seed=8))
    ch = P.dimension_changes(data, model, 2024, config=FAST)
    assert ch.empty and any("first wave" in n for n in ch.attrs["notes"])
    later = P.dimension_changes(data, model, 2025, config=FAST)
    assert len(later) == 50 * (len(model.dimension_ids) + 1) and (later["wave_from"] == 2024).all()


@pytest.mark.parametrize("call, args, words", [
    ("council_positions", {"wave": 2031}, "wave 2031 has no answers in the store (waves 2024, 2025)"),
    ("dimension_changes", {"wave": 2031}, "wave 2031 has no answers in the store"),
])
def test_a_wave_the_store_lacks_is_refused_in_words(model, call, args, words):
    with pytest.raises(DQMError, match=words.replace("(", r"\(").replace(")", r"\)")):
        getattr(P, call)(Data(_store(seed=9, n=30)), model, config=FAST, **args)


def test_something_that_is_not_a_store_is_refused_in_words(model):
    with pytest.raises(DQMError, match="needs a store's data"):
        P.council_positions({"answers": []}, model, 2024, config=FAST)
