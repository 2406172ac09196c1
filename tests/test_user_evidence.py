"""Bring your own claims and outcome data: the user layer, the join report, protected families, `dqm match`,
and the README's steps followed exactly."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dqm.claims import EngineConfig, evaluate_claims, load_claims
from dqm.claims.registry import load_evidence, protect_families
from dqm.cli import main
from dqm.errors import DQMError
from dqm.outcomes import load_outcome_data, load_outcomes
from dqm.reference import councils

ROOT = Path(__file__).resolve().parent.parent
FAST = EngineConfig(n_boot=100, n_null_boot=20, spec_curve=False, workers=1)


def _claim(**kw) -> dict:
    c = {"id": "my-claim", "statement": "Better digital does not mean more efficient.", "source": "me",
         "exposure": "overall", "outcome": "central_services_per_head", "direction": "none",
         "controls": ["council_type", "log_population"], "sesoi": 0.10, "family": "counter-claims",
         "registered": "2026-11-25"}
    c.update(kw)
    return c


def _folder(tmp_path, claims=(), measures=(), files=None) -> Path:
    d = tmp_path / "mine"
    d.mkdir(parents=True, exist_ok=True)
    if claims:
        (d / "claims.yaml").write_text(yaml.safe_dump(list(claims)))
    if measures:
        (d / "measures.yaml").write_text(yaml.safe_dump(list(measures)))
    for name, text in (files or {}).items():
        (d / name).write_text(text)
    return d


def _names_csv(n=40, period="2025-26") -> str:
    c = councils()
    c = c[c["principal"] & (c["nation"] == "England")].head(n)
    return pd.DataFrame({"Council": c["official-name"], "Year": period,
                         "Value": [i * 1.5 + 2 for i in range(len(c))]}).to_csv(index=False)


MEASURE = {"id": "my_cost", "name": "Cost per transaction", "unit": "pounds", "better": "lower", "file": "cost.csv"}


# ---------------------------------------------------------------- the user layer adds, never replaces
def test_user_layer_is_added_to_the_bundled_registry_and_outcomes(tmp_path):
    d = _folder(tmp_path, [_claim(outcome="my_cost")], [MEASURE], {"cost.csv": _names_csv()})
    ev = load_evidence(d)
    bundled = load_claims()
    assert [c.id for c in ev.claims] == [c.id for c in bundled] + ["my-claim"]
    mine = ev.claims[-1]
    assert mine.layer == "user" and mine.exploratory and mine.file == "claims.yaml"
    o = ev.outcomes
    assert len(o) == len(load_outcomes()) + 40 and (o["measure"] == "my_cost").sum() == 40
    assert {"my_cost", "govuk_pay_services_per_100k"} <= set(ev.measures.index)
    assert ev.measures.loc["my_cost", "layer"] == "user"
    # provenance names the user's own files (file names, no folders)
    labels = set(ev.files)
    assert "Your claims claims.yaml" in labels and "Your outcome file cost.csv (measure my_cost)" in labels
    assert not any(str(tmp_path) in label for label in labels)


def test_a_user_measure_or_claim_cannot_replace_a_bundled_one(tmp_path):
    d = _folder(tmp_path, measures=[{**MEASURE, "id": "central_services_per_head"}], files={"cost.csv": _names_csv()})
    with pytest.raises(DQMError, match="already a bundled measure"):
        load_evidence(d)
    d = _folder(tmp_path / "b", [_claim(id="efficiency-central-costs")])
    with pytest.raises(DQMError, match="already used by a claim in data/claims.yaml"):
        load_evidence(d)


# ---------------------------------------------------------------- pre-registered results are protected
def test_user_claims_never_change_a_preregistered_adjusted_result(demo_store, model, tmp_path):
    import dqm

    data = dqm.load(demo_store[0], model=model)
    registry = [c for c in load_claims() if c.family == "counter-claims" and c.testable]
    # even a claim that says it is pre-registered (exploratory: false) and names the registry's family
    d = _folder(tmp_path, [_claim(exploratory=False, outcome="asc_user_quality_of_life")])
    mine = [c for c in load_evidence(d).claims if c.layer == "user"]
    assert mine[0].family == "counter-claims (your claims)"
    before = evaluate_claims(registry, data.councils, load_outcomes(), model, 2026, FAST)
    after = evaluate_claims(registry + mine, data.councils, load_outcomes(), model, 2026, FAST)
    for a, b in zip(before, after):
        assert a.p_adjusted == b.p_adjusted and a.verdict == b.verdict
    # the check can fail: in the registry's own family the same claim does move the adjusted p-values
    from dataclasses import replace

    mixed = evaluate_claims(registry + [replace(mine[0], family="counter-claims")], data.councils, load_outcomes(),
                            model, 2026, FAST)
    assert any(a.p_adjusted != b.p_adjusted for a, b in zip(before, mixed))


def test_exploratory_claims_leave_a_preregistered_family():
    claims = load_claims()
    from dataclasses import replace

    late = replace(claims[0], id="late", exploratory=True)
    out = protect_families([*claims, late])
    assert out[-1].family == f"{claims[0].family} (exploratory)"
    assert [c.family for c in out[:-1]] == [c.family for c in claims]
    assert protect_families(out) == out  # applying it again changes nothing


# ---------------------------------------------------------------- every claim key is validated
@pytest.mark.parametrize("change, words", [
    ({"population": {"country": "England"}}, ["'population'", "'country' is not a reference column", "nation"]),
    ({"population": {"nation": "Englnd"}}, ["'Englnd' is not a value of nation", "England"]),
    ({"colour": "blue"}, ["'colour'", "is not a claim key"]),
    ({"outcome": "happiness"}, ["'outcome'", "dqm outcomes add"]),
    ({"exploratory": "yes"}, ["'exploratory'", "true or false"]),
    ({"sesoi": True}, ["'sesoi'"]),
    ({"id": "two words"}, ["'id'"]),
])
def test_bad_user_claim_is_a_one_line_error(tmp_path, capsys, change, words):
    d = _folder(tmp_path, [_claim(**change)])
    with pytest.raises(DQMError) as exc:
        load_evidence(d)
    for w in words:
        assert w in str(exc.value)
    assert main(["claims", "--wave", "2026", "--user-data", str(d)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_implausibly_large_sesoi_is_flagged(tmp_path):
    ev = load_evidence(_folder(tmp_path, [_claim(sesoi=0.5)]))
    assert any("implausibly large" in w for w in ev.warnings)
    assert not load_evidence(_folder(tmp_path / "ok", [_claim(sesoi=0.1)])).warnings
    assert not any(c.warnings for c in load_claims())


# ---------------------------------------------------------------- outcome files keyed the way users have them
def test_outcome_file_keyed_by_names_codes_and_gss_reports_every_row(tmp_path):
    text = ("council,period,value\nBristol City Council,2025,1\nE06000023,2024,2\nLDS,2025,3\n"
            "Taunton Deane,2025,4\nAtlantis District Council,2025,5\nLeeds,2024,n/a\nLeeds,2023,\n")
    d = _folder(tmp_path, measures=[MEASURE], files={"cost.csv": text})
    data = load_outcome_data(d)
    mine = data.outcomes[data.outcomes["measure"] == "my_cost"]
    assert sorted(zip(mine["local-authority-code"], mine["period"])) == [("BST", "2024"), ("BST", "2025"), ("LDS", "2025")]
    j = data.join.set_index("row")
    assert list(j.index) == [2, 3, 4, 5, 6, 7, 8]  # every row of the file, numbered as in a spreadsheet
    assert j.loc[5, "status"] == "former council with successor" and "Somerset" in j.loc[5, "reason"]
    assert j.loc[6, "status"] in ("no match", "ambiguous")
    assert j.loc[7, "status"] == "not a number" and j.loc[8, "status"] == "not a number"
    s = data.join_summary().iloc[0]
    assert (s["rows"], s["matched"], s["not_used"]) == (7, 3, 4)


def test_names_of_other_bodies_are_refused_and_a_council_map_confirms_near_spellings(tmp_path):
    text = "council,period,value\nBirmingam,2025,1\nNorth Yorkshire Police,2025,2\nLeeds,2025,3\n"
    j = load_outcome_data(_folder(tmp_path, measures=[MEASURE], files={"cost.csv": text})).join.set_index("row")
    assert j.loc[2, "status"] == "ambiguous" and "BIR" in j.loc[2, "reason"]  # a near spelling is never guessed
    assert j.loc[3, "status"] == "not a principal council"
    mapped = {**MEASURE, "council_map": "map.csv"}
    d = _folder(tmp_path / "m", measures=[mapped], files={"cost.csv": text, "map.csv": "name,local_authority_code\nBirmingam,BIR\n"})
    data = load_outcome_data(d)
    j = data.join.set_index("row")
    assert j.loc[2, "status"] == "matched" and j.loc[2, "local-authority-code"] == "BIR"
    assert j.loc[3, "status"] == "not a principal council"
    assert "Your council map map.csv (measure my_cost)" in data.files


def test_a_user_claims_file_is_read_safely(tmp_path):
    d = _folder(tmp_path)
    (d / "claims.yaml").write_text("- &a\n  id: x\n- *a\n")
    with pytest.raises(DQMError, match="aliases|anchors"):
        load_evidence(d)


def test_report_options_are_threaded_only_to_the_reports_that_read_claims(tmp_path):
    import argparse

    from dqm.cli import _user_parameters

    d = _folder(tmp_path, [_claim()])
    ns = argparse.Namespace(kind="evidence", user_data=str(d), claims=None, outcomes=None)
    assert _user_parameters(ns) == {"user_data": str(d.resolve()), "extra_claims": "", "extra_outcomes": ""}
    assert _user_parameters(argparse.Namespace(kind="annual", user_data=None, claims=None, outcomes=None)) is None
    with pytest.raises(DQMError, match="does not read claims"):
        _user_parameters(argparse.Namespace(kind="council", user_data=str(d), claims=None, outcomes=None))
    bad = _folder(tmp_path / "bad", [_claim(population={"country": "England"})])
    with pytest.raises(DQMError, match="'country'"):  # checked before a kernel starts
        _user_parameters(argparse.Namespace(kind="annual", user_data=str(bad), claims=None, outcomes=None))


def test_duplicate_rows_are_an_error_naming_them_unless_the_measure_combines(tmp_path):
    text = "council,period,value\nBristol City Council,2025,1\nBristol,2025,2\nLeeds,2025,3\n"
    d = _folder(tmp_path, measures=[MEASURE], files={"cost.csv": text})
    with pytest.raises(DQMError) as exc:
        load_outcome_data(d)
    assert "BST in 2025: rows 2, 3" in str(exc.value) and "combine" in str(exc.value)
    d = _folder(tmp_path / "sum", measures=[{**MEASURE, "combine": "sum"}], files={"cost.csv": text})
    o = load_outcome_data(d).outcomes.query("measure == 'my_cost'").set_index("local-authority-code")["value"]
    assert o["BST"] == 3 and o["LDS"] == 3


def test_build_outcomes_leaves_the_user_layer_alone(tmp_path):
    from dqm.outcomes import build_outcomes

    d = _folder(tmp_path, measures=[MEASURE], files={"cost.csv": _names_csv(25)})
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    fresh, _ = build_outcomes(tmp_path / "rebuilt")
    assert "my_cost" not in set(fresh["measure"])
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    assert (load_outcome_data(d).outcomes["measure"] == "my_cost").sum() == 25


# ---------------------------------------------------------------- the commands
def test_claims_add_appends_a_dated_exploratory_claim_and_refuses_a_bad_one(tmp_path, capsys):
    import datetime as dt

    d = tmp_path / "mine"
    args = ["claims", "add", "--user-data", str(d), "--id", "sceptic-1", "--statement", "No gain.",
            "--outcome", "central_services_per_head", "--direction", "none", "--family", "counter-claims"]
    assert main(args) == 0
    raw = yaml.safe_load((d / "claims.yaml").read_text())
    assert raw[0]["registered"] == dt.date.today().isoformat() and raw[0]["exploratory"] is True
    assert "counter-claims (your exploratory claims)" in capsys.readouterr().out
    before = (d / "claims.yaml").read_text()
    bad = [*args[:4], "--id", "sceptic-2", *args[6:], "--population", "country=England"]
    assert main(bad) == 2
    assert "'country' is not a reference column" in capsys.readouterr().err
    assert (d / "claims.yaml").read_text() == before  # nothing written


def test_match_csv_and_json_give_status_and_suggestions(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("Bristol, City of\nTaunton Deane\nAtlantis\n")
    assert main(["match", "E08000035", "--file", str(names), "--json"]) == 0
    out = {r["text"]: r for r in json.loads(capsys.readouterr().out)}
    assert out["E08000035"]["local_authority_code"] == "LDS" and out["E08000035"]["method"] == "gss"
    assert out["Bristol, City of"]["status"] == "matched"
    assert out["Taunton Deane"]["status"] == "former council with successor"
    assert "SMT" in out["Taunton Deane"]["successors"]
    assert out["Atlantis"]["status"] in ("no match", "ambiguous") and out["Atlantis"]["local_authority_code"] == ""
    csv_path = tmp_path / "out.csv"
    assert main(["match", "Leeds", "--csv", str(csv_path)]) == 0
    tab = pd.read_csv(csv_path)
    assert list(tab.columns)[:6] == ["text", "local_authority_code", "name", "method", "score", "status"]


@pytest.mark.parametrize("args", [["claims", "add"], ["outcomes", "add"], ["outcomes", "check"], ["match"]])
def test_help_of_the_new_commands(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*args, "--help"])
    assert exc.value.code == 0 and "usage: dqm" in capsys.readouterr().out


# ---------------------------------------------------------------- the README's steps, exactly
def _readme_steps() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Bring your own claims and outcome data", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line) for line in block.splitlines() if line.startswith(".venv/bin/dqm ")]


def test_readme_bring_your_own_steps(demo_store, tmp_path, monkeypatch, capsys):
    """Follow the README: a user outcome file keyed by names and a user claim, then `dqm claims` shows the
    user's verdict while every pre-registered result is unchanged."""
    import shutil

    (tmp_path / "data" / "demo" / "byo").mkdir(parents=True)
    shutil.copy(ROOT / "data/demo/byo/cost_per_transaction.csv", tmp_path / "data/demo/byo/")
    (tmp_path / "reports" / "_build").mkdir(parents=True)
    shutil.copy(demo_store[0], tmp_path / "reports/_build/demo.duckdb")
    monkeypatch.chdir(tmp_path)
    steps = _readme_steps()
    assert [s[1] for s in steps] == ["outcomes", "claims", "claims", "report"]
    for step in steps[:2]:
        assert main(step[1:]) == 0, step
    added = capsys.readouterr().out
    assert "318 rows; 316 joined to councils; 2 not used" in added  # the join report of `dqm outcomes add`
    assert main([*steps[2][1:], "--json", "--bootstrap", "200", "--null-bootstrap", "50"]) == 0  # fewer resamples only
    results = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    mine = results["sceptic-cost-per-transaction"]
    assert mine["exploratory"] is True and mine["n"] >= 100
    assert mine["verdict"] in ("supported", "contradicted", "no meaningful effect", "inconclusive")
    # the registry's results are those of the known-good record made without any user data (same settings)
    record = json.loads((ROOT / "tests/backtest/demo-2026.json").read_text())["claims"]
    assert set(record) < set(results)
    for cid, (verdict, estimate, ci_low, ci_high, n) in record.items():
        got = results[cid]
        assert (got["verdict"], got["n"]) == (verdict, n), cid
        for key, want in (("estimate", estimate), ("ci_low", ci_low), ("ci_high", ci_high)):
            assert want is None and got[key] is None or abs(got[key] - want) < 1e-5, (cid, key)
    # the join report: the example's former council and the value that is not a number are not used
    ev = load_evidence(tmp_path / "work" / "my-evidence")
    bad = ev.join[ev.join["status"] != "matched"]
    assert set(bad["status"]) == {"former council with successor", "not a number"}


@pytest.mark.slow  # a full evidence review: about 40 s on an idle machine, minutes on a busy one
def test_evidence_review_shows_the_users_claim_verdict_and_files(demo_store, tmp_path, monkeypatch):
    """The README's last step: the evidence review with --user-data lists the user's claim and verdict, how the
    user's file joined, and the user's files (by name, with hashes) in the provenance."""
    from bs4 import BeautifulSoup

    from dqm.cli import QUICK
    from dqm.reports.notebook import run_report

    monkeypatch.chdir(tmp_path)
    steps = _readme_steps()
    shutil_copy = __import__("shutil").copy
    (tmp_path / "data/demo/byo").mkdir(parents=True)
    shutil_copy(ROOT / "data/demo/byo/cost_per_transaction.csv", tmp_path / "data/demo/byo/")
    for step in steps[:2]:
        assert main(step[1:]) == 0, step
    res = run_report("evidence", 2026, store=demo_store[0], out_dir=tmp_path / "out",
                     extra={**QUICK["evidence"], "check_replications": 20, "user_data": str(tmp_path / "work" / "my-evidence")})
    html = res.html.read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    text = soup.get_text(" ")
    assert soup.find(id="claim-sceptic-cost-per-transaction") is not None
    assert "Claims and outcome data added by the user" in text
    assert re.search(r"sceptic-cost-per-transaction: (supported|contradicted|no meaningful effect|inconclusive)", text)
    assert "How the user's outcome files joined to councils" in [c.get_text() for c in soup.find_all("caption")]
    assert "Your outcome file outcomes/cost_per_transaction.csv (measure cost_per_transaction)" in text
    assert "Your claims claims.yaml" in text and "data/claims.yaml" not in text.split("Provenance")[-1]
    assert str(tmp_path) not in html  # no local paths
    # the GOV.UK Pay claims line up with the waves: their panel view is estimated
    for cid in ("platform-adoption", "platform-adoption-growth"):
        part = html.split(f'id="claim-{cid}"', 1)[1].split('id="claim-', 1)[0]
        assert "within the same councils, a change of one standard deviation" in part.lower(), cid


def test_outcomes_add_again_with_a_council_map_replaces_the_measure(tmp_path, capsys):
    src, cmap = tmp_path / "cost.csv", tmp_path / "map.csv"
    src.write_text("council,period,value\nBirmingam,2025,1\nLeeds,2025,2\n")
    cmap.write_text("name,local_authority_code\nBirmingam,BIR\n")
    d = tmp_path / "mine"
    args = ["outcomes", "add", str(src), "--user-data", str(d), "--measure", "my_cost", "--unit", "pounds", "--better", "lower"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2 rows; 1 joined to councils; 1 not used" in out and "--council-map" in out
    assert main([*args, "--council-map", str(cmap)]) == 0
    assert "2 rows; 2 joined to councils; 0 not used" in capsys.readouterr().out
    assert [m["id"] for m in yaml.safe_load((d / "measures.yaml").read_text())] == ["my_cost"]
    # a bad addition leaves the folder as it was
    before = (d / "measures.yaml").read_text()
    bad = tmp_path / "dup.csv"
    bad.write_text("council,period,value\nLeeds,2025,1\nLDS,2025,2\n")
    assert main(["outcomes", "add", str(bad), "--user-data", str(d), "--measure", "other", "--unit", "u", "--better", "higher"]) == 2
    assert (d / "measures.yaml").read_text() == before and not (d / "outcomes" / "dup.csv").exists()


def test_user_layer_section_of_the_evidence_review(tmp_path):
    """What the evidence review shows about the user's own claims and files (the full review is a slow test)."""
    from dqm.reports.sections import user_layer_section, user_parameters

    d = _folder(tmp_path, [_claim(outcome="my_cost", statement="<b>cheap</b>")], [MEASURE],
                {"cost.csv": _names_csv(30) + "North Yorkshire Police,2025-26,1\n"})
    ev = load_evidence(d)
    table = pd.DataFrame({"id": [c.id for c in ev.claims], "verdict": "inconclusive"})
    html = "".join(p.data for p in user_layer_section(ev, table))
    assert "<h2>Claims and outcome data added by the user</h2>" in html
    assert "my-claim: inconclusive" in html and "from claims.yaml" in html
    assert "How the user&#39;s outcome files joined to councils" in html or "How the user's outcome files" in html
    assert ">31<" in html and ">30<" in html and ">1<" in html  # rows, joined, not used
    assert user_layer_section(load_evidence(), table) == []  # nothing added: no section
    assert user_parameters(str(d), "", str(tmp_path / "x.csv")) == {"user data folder": "mine", "extra outcome file": "x.csv"}
