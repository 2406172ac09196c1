"""The analyst's API (dqm.api, re-exported as dqm.*) and the default store."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import dqm
from dqm.errors import DQMError
from dqm.paths import resolve_store


@pytest.fixture(scope="module")
def data(demo_store):
    return dqm.load(demo_store[0])


# ---------------------------------------------------------------- the default store
@pytest.fixture
def empty_project(tmp_path, monkeypatch):
    """No DQM_STORE, a data folder without a store (the project's data files linked in) and no reports."""
    from dqm.paths import data_dir

    monkeypatch.delenv("DQM_STORE", raising=False)
    (tmp_path / "data").mkdir()
    for sub in data_dir().iterdir():
        if sub.name != "dqm.duckdb":
            (tmp_path / "data" / sub.name).symlink_to(sub)
    monkeypatch.setenv("DQM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DQM_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path


def test_default_store_order(empty_project, monkeypatch, demo_store):
    with pytest.raises(DQMError) as err:
        resolve_store(None)
    msg = str(err.value)
    assert "reports/_build/demo.duckdb" in msg and "make report" in msg and "dqm ingest" in msg
    demo = empty_project / "reports" / "_build" / "demo.duckdb"
    demo.parent.mkdir(parents=True)
    demo.write_bytes(demo_store[0].read_bytes())
    path, note = resolve_store(None)
    assert path == demo and "demo store" in note and "synthetic" in note
    own = empty_project / "data" / "dqm.duckdb"
    own.write_bytes(b"")
    assert resolve_store(None)[0] == own  # the user's own store wins over the demo
    monkeypatch.setenv("DQM_STORE", str(demo_store[0]))
    path, note = resolve_store(None)
    assert path == demo_store[0] and "DQM_STORE" in note
    assert resolve_store("x.duckdb")[0].name == "x.duckdb"  # a named store always wins


def test_load_and_cli_use_the_demo_store_and_say_so(empty_project, demo_store):
    demo = empty_project / "reports" / "_build" / "demo.duckdb"
    demo.parent.mkdir(parents=True)
    demo.write_bytes(demo_store[0].read_bytes())
    data = dqm.load()
    assert data.store == demo and "demo store" in repr(data)
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "score", "--wave", "2026", "--json"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "demo store" in p.stderr and p.stderr.count("\n") == 1  # one line on stderr, the JSON on stdout
    assert pd.read_json(__import__("io").StringIO(p.stdout)).shape[0] > 100


def test_no_store_is_one_paragraph_naming_the_demo_store(empty_project):
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "score", "--wave", "2026"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "make report" in p.stderr and "demo.duckdb" in p.stderr


# ---------------------------------------------------------------- what load returns
def test_repr_is_short_and_says_what_is_there(data):
    text = repr(data)
    assert len(text.splitlines()) <= 5 and len(text) < 800
    assert "3 waves (2024 to 2026)" in text and "SYNTHETIC" in text and "respondents" in text
    assert "councils" in text and "answers" in text
    model_text = repr(data.model)
    assert len(model_text) < 200 and "10 dimensions" in model_text


def test_every_frame_the_api_returns_is_snake_case(data):
    frames = {
        "councils": dqm.councils(), "load.councils": data.councils,
        "scores": dqm.scores(data=data), "profile": dqm.profile("BST", data=data),
        "peers": dqm.peers("BST", data=data), "compare": dqm.compare(by="region", data=data),
        "trend": dqm.trend("data", data=data),
        "associate": dqm.associate("overall", "population", data=data, bootstrap=50, spec_curve=False),
    }
    for name, df in frames.items():
        bad = [c for c in df.columns if not str(c).replace("_", "a").isalnum() or str(c).lower() != str(c)]
        assert not bad, (name, bad)


# ---------------------------------------------------------------- comparisons
def test_dimension_means_uses_self_assessments_only_unless_asked(data):
    from dqm.scoring import dimension_means

    lv = data.councils[data.councils["wave"] == 2026]
    selfs = dimension_means(lv, data.model, by=["region"]).set_index(["region", "dimension_id"])
    both = dimension_means(lv, data.model, by=["region"], assessment_type=None).set_index(["region", "dimension_id"])
    n_self = lv[(lv["assessment_type"] == "self") & (lv["region"] == "London")]["council_code"].nunique()
    assert selfs.loc[("London", "overall_mean"), "councils"] == n_self
    assert both.loc[("London", "overall_mean"), "councils"] > n_self  # independent assessments would be counted twice


def test_compare_blanks_groups_under_five_councils_and_keeps_their_n(data):
    t = dqm.compare(by=["region", "type"], dimension="overall", data=data)
    small = t[t["n"] < 5]
    assert len(small) and small["suppressed"].all() and small["mean"].isna().all() and small["ci_low"].isna().all()
    big = t[t["n"] >= 5]
    assert not big["suppressed"].any() and (big["ci_low"] < big["mean"]).all() and (big["mean"] < big["ci_high"]).all()
    # the n is councils, and self-assessments only: it matches a count done by hand
    lv = data.councils[(data.councils["wave"] == 2026) & (data.councils["assessment_type"] == "self")]
    by_hand = lv.dropna(subset=["overall_mean"]).groupby(["region", "type_group"]).size()
    assert t.set_index(["region", "type_group"])["n"].to_dict() == by_hand.to_dict()


def test_compare_and_trend_errors_are_plain(data):
    with pytest.raises(DQMError, match="cannot compare by 'shoe_size'"):
        dqm.compare(by="shoe_size", data=data)
    with pytest.raises(DQMError, match="no dimension 'vibes'"):
        dqm.trend("vibes", data=data)
    with pytest.raises(DQMError, match="no self-assessments for wave 2019"):
        dqm.compare(data=data, wave=2019)
    with pytest.raises(DQMError, match="not a council I can identify"):
        dqm.peers("Nowhere Shire Council", data=data)


def test_trend_same_councils_change_is_paired(data):
    t = dqm.trend("overall", data=data).set_index("wave")
    lv = data.councils[data.councils["assessment_type"] == "self"]
    both = lv[lv["wave"] == 2025].merge(lv[lv["wave"] == 2026], on="council_code").dropna(
        subset=["overall_mean_x", "overall_mean_y"])
    assert t.loc[2026, "same_councils_n"] == len(both)
    assert t.loc[2026, "same_councils_change"] == pytest.approx((both["overall_mean_y"] - both["overall_mean_x"]).mean())
    assert t.loc[2024, "same_councils_n"] == 0


def test_peers_are_the_nearest_neighbours_and_say_who_took_part(data):
    from dqm.reference import councils
    from dqm.scoring import nearest_neighbours

    g = dqm.peers("Bristol, City of", data=data)
    nn = nearest_neighbours(councils())
    assert g["council_code"].tolist() == nn[nn["council_code"] == "BST"].sort_values("peer_rank")["peer_code"].tolist()
    took = set(data.councils.query("wave == 2026 and assessment_type == 'self'")["council_code"])
    assert g["took_part"].tolist() == [c in took for c in g["council_code"]]
    assert g.loc[~g["took_part"], "overall_mean"].isna().all()


# ---------------------------------------------------------------- ad-hoc associations
def test_associate_is_the_registry_engine_on_a_claim_built_for_you(data):
    from dqm.claims import Claim, EngineConfig, evaluate_claims
    from dqm.reference import councils

    r = dqm.associate("overall", "net_current_expenditure_per_head", controls=["council_type", "deprivation"],
                      data=data, bootstrap=100, null_bootstrap=10)
    assert r["exploratory"].iloc[0] and "not pre-registered" in r["note"].iloc[0] and "not evidence" in r["note"].iloc[0]
    from dqm.outcomes import load_outcomes

    claim = Claim("x", "x", "x", "overall", "net_current_expenditure_per_head", "positive",
                  ("council_type", "deprivation"), 0.1, "f", dt.date.today(), exploratory=True)
    ref = evaluate_claims([claim], data.councils, load_outcomes(), data.model, 2026,
                          EngineConfig(n_boot=100, n_null_boot=10), reference=councils(), measurement=data)[0]
    assert r["estimate"].iloc[0] == pytest.approx(ref.estimate) and r["n"].iloc[0] == ref.n
    assert r["verdict"].iloc[0] == ref.verdict and r["ci_low"].iloc[0] == pytest.approx(ref.ci_low)


def test_the_promote_command_registers_the_question(data, tmp_path):
    import shlex

    r = dqm.associate("overall", "net_current_expenditure_per_head", controls=["council_type"], data=data,
                      bootstrap=50, spec_curve=False)
    args = shlex.split(r["promote"].iloc[0])
    args[args.index("--user-data") + 1] = str(tmp_path / "mine")
    p = subprocess.run([sys.executable, "-m", "dqm.cli", *args[1:]], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "mine" / "claims.yaml").read_text()
    assert "exploratory: true" in text and "exploratory-overall-net_current_expenditure_per_head" in text


def test_associate_takes_your_own_outcome_table(data):
    codes = data.councils.query("wave == 2026 and assessment_type == 'self'")[["council_code", "overall_mean"]].dropna()
    rng = np.random.default_rng(1)
    mine = pd.DataFrame({"council_code": codes["council_code"],
                         "value": 2 * codes["overall_mean"] + rng.normal(0, 0.3, len(codes))})
    mine.attrs["name"] = "my planted outcome"
    r = dqm.associate("overall", mine, controls=[], data=data, bootstrap=100, spec_curve=False)
    assert r["outcome"].iloc[0] == "my planted outcome" and r["n"].iloc[0] == len(codes)
    assert r["ci_low"].iloc[0] > 0.5  # the planted association is found


def test_associate_refuses_what_it_cannot_test(data):
    with pytest.raises(DQMError, match="no outcome 'happiness'"):
        dqm.associate("overall", "happiness", data=data)
    with pytest.raises(DQMError, match="also a control"):
        dqm.associate("overall", "population", controls=["log_population"], data=data)
    with pytest.raises(DQMError, match="unknown control"):
        dqm.associate("overall", "population", controls=["weather"], data=data)


# ---------------------------------------------------------------- charts and controls
def test_charts_are_in_the_reports_style_and_leave_out_suppressed_groups(data):
    from dqm.reports.plots import Chart

    t = dqm.compare(by=["region", "type"], dimension="overall", data=data)
    c = dqm.chart(t)
    assert isinstance(c, Chart) and c.png[:4] == b"\x89PNG" and "synthetic" in c.source
    assert len(c.data) == int((~t["suppressed"]).sum())
    assert 'alt="' in c._repr_html_()
    for table in (dqm.trend("data", data=data), dqm.profile("BST", data=data)):
        assert isinstance(dqm.chart(table), Chart)
    with pytest.raises(DQMError, match="draws tables returned by"):
        dqm.chart(pd.DataFrame({"a": [1]}))


def test_interact_falls_back_to_defaults_without_a_lab_session(monkeypatch, capsys):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("DQM_WIDGETS", raising=False)
    dqm.interact(lambda council, wave: f"{council} {wave}", council=["BST", "MIK"], wave=([2025, 2026], 2026))
    assert capsys.readouterr().out == "BST 2026\n"
    monkeypatch.setenv("JPY_SESSION_NAME", "explore.ipynb")  # a kernel started by JupyterLab
    assert dqm.api.widgets_available()
    monkeypatch.setenv("DQM_WIDGETS", "0")
    assert not dqm.api.widgets_available()


def test_run_no_reports_builds_only_the_store(tmp_path, demo_exports):
    """What `make lab` runs when the demo store is missing: ingest, no reports."""
    import shutil

    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(demo_exports / "dqm-2026-independent-googleforms.csv", exports)
    (exports / "manifest.csv").write_text("file,wave,assessment_type,tool\n"
                                          "dqm-2026-independent-googleforms.csv,2026,independent,googleforms\n")
    out = tmp_path / "reports"
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "run", "--no-reports", "--exports", str(exports),
                        "--out-dir", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (out / "_build" / "demo.duckdb").exists() and not list(out.glob("*.html"))
    assert "no reports" in p.stdout
