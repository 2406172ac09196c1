"""Issue #22, "The first hour": the analyst's API takes what a pandas user types, and the command line matches it.

Each test failed on the code this work started from.
"""
from __future__ import annotations

import csv
import datetime as dt
import re

import pandas as pd
import pytest

import dqm
from dqm.cli import EXIT_NOTHING_STORED, main
from dqm.errors import DQMError
from dqm.reference import match_council


@pytest.fixture(scope="module")
def data(demo_store):
    return dqm.load(demo_store[0])


def _glued(message: str) -> list[str]:
    """Places where two sentences run together ("no confident match Nearest: ...", ": . 'Avon")."""
    return re.findall(r"[a-z] (?:Nearest|Did you mean)|: \.|\.\.(?!\.)|[a-z] [A-Z][a-z]+:", message)


# ---------------------------------------------------------------- the analyst's API
@pytest.mark.parametrize("wave", ["2026", 2026, 2026.0, " 2026 "])
def test_waves_as_numbers_or_strings(data, wave):
    assert dqm.compare(by="nation", dimension="overall", data=data, wave=wave).attrs["dqm"]["wave"] == 2026
    assert data.took_part(wave) == data.took_part(2026)


def test_scores_take_a_wave_as_text(data):
    assert set(dqm.scores(data, wave="2025")["wave"]) == {2025}


@pytest.mark.parametrize("wave, said", [("2027", "Did you mean 2026?"), ("soon", "a wave is a year such as 2026")])
def test_unknown_wave_says_what_is_held(data, wave, said):
    with pytest.raises(DQMError, match=re.escape(said)):
        dqm.scores(data, wave=wave)


@pytest.mark.parametrize("name", ["Leadership", "leadership", "LEADERSHIP", " leadership "])
def test_dimensions_by_id_or_display_name(data, name):
    assert set(dqm.compare(by="nation", data=data, dimension=name)["dimension_id"]) == {"leadership"}
    assert set(dqm.trend(name, data=data)["dimension_id"]) == {"leadership"}


def test_unknown_dimension_suggests_the_nearest(data):
    with pytest.raises(DQMError) as err:
        dqm.compare(data=data, dimension="Leadershp")
    assert "Did you mean 'Leadership'?" in str(err.value) and not _glued(str(err.value))


def test_chart_draws_scores_as_a_caterpillar_of_rank_intervals(data):
    c = dqm.chart(dqm.scores(data))
    assert c.png[:4] == b"\x89PNG" and c.alt.startswith("Caterpillar chart")
    assert {"Council", "Median rank", "Rank, 5th percentile", "Rank, 95th percentile"} <= set(c.data.columns)


@pytest.mark.parametrize("thing", [[1, 2], "scores", None, pd.DataFrame({"a": [1]})],
                         ids=["list", "text", "none", "plain-frame"])
def test_chart_refuses_anything_else_with_a_clear_message(thing):
    with pytest.raises(DQMError, match="chart\\(\\) draws"):
        dqm.chart(thing)


def test_compare_by_a_number_makes_labelled_quintile_bands(data):
    t = dqm.compare(by="population", dimension="overall", data=data)
    assert list(t.columns[:1]) == ["population_band"] and len(t) == 5 and not t["suppressed"].any()
    assert t["population_band"].iloc[0].startswith("1 (lowest): ") and t["population_band"].iloc[-1].startswith("5 (highest)")
    assert t["n"].sum() == dqm.compare(by="nation", dimension="overall", data=data)["n"].sum()  # every council, once
    rule = t["population_band_rule"].iloc[0]
    assert "5 bands of equal numbers of councils" in rule and t.attrs["dqm"]["bands"]["population_band"] == rule
    assert dqm.chart(t).title == "Average overall level by population band, 2026"


def test_compare_by_a_category_is_not_banded(data):
    assert "deprivation_quintile" in dqm.compare(by="deprivation", dimension="overall", data=data)


def test_every_association_verdict_has_a_reason(data):
    r = dqm.associate("Overall", "population", controls=["council_type"], data=data, bootstrap=50, null_bootstrap=10,
                      spec_curve=False)
    assert r["reason"].iloc[0].strip(), r[["verdict", "reason"]].to_dict("records")


@pytest.mark.parametrize("council, said", [
    ("Bristl", "Did you mean City of Bristol (BST)?"),
    ("Shrosphire", "No confident match. Did you mean Shropshire (SHR)?"),
    ("Avon and Somerset Police", "names a police body ('police'), not a council"),
])
def test_council_messages_are_whole_sentences(data, council, said):
    with pytest.raises(DQMError) as err:
        dqm.profile(council, data=data)
    assert said in str(err.value) and not _glued(str(err.value)), str(err.value)


def test_match_command_prints_whole_sentences(capsys):
    assert main(["match", "Shrosphire", "Gotham City Council"]) == 0
    out = capsys.readouterr().out
    assert "No confident match. Did you mean Shropshire (SHR)?" in out and not _glued(out), out


# ---------------------------------------------------------------- noise names get no suggestion
@pytest.mark.parametrize("name", ["Gotham City Council", "Gotham City", "TEST - please ignore", "asdf"])
def test_noise_names_get_no_suggestion(name):
    m = match_council(name)
    assert m.code is None and not m.suggestions, m.suggestions


@pytest.mark.parametrize("name, code", [("Birmingam", "BIR"), ("Saint Helen", "SHN"), ("Shrosphire", "SHR"),
                                        ("Bristol City Councl", "BST")])
def test_real_near_misses_are_still_suggested(name, code):
    m = match_council(name)
    assert m.code is None and m.suggestions[0][0] == code


def test_a_council_named_test_is_still_matched():
    assert match_council("Test Valley Borough Council").code == "TES"


# ---------------------------------------------------------------- the command line
def _export(survey, tmp_path, councils):
    for i, council in enumerate(councils):
        survey.add(council=council, email=f"r{i}@example.gov.uk", when=dt.datetime(2026, 3, 1 + i, 9))
    return survey.googleforms(tmp_path / "export.csv")


def test_ingest_that_stores_nothing_exits_non_zero(tmp_path, survey, capsys):
    path = _export(survey, tmp_path, ["Gotham City Council", "TEST - please ignore"])
    assert main(["ingest", str(path), "--wave", "2026", "--store", str(tmp_path / "s.duckdb")]) == EXIT_NOTHING_STORED
    assert "Nothing was stored" in capsys.readouterr().err
    # the same file again changes nothing, which is not a failure
    assert main(["ingest", str(path), "--wave", "2026", "--store", str(tmp_path / "s.duckdb")]) == 0


def test_ingest_exit_codes_are_documented(capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    assert f"{EXIT_NOTHING_STORED} a file was read but stored nothing" in " ".join(capsys.readouterr().out.split())
    from dqm.paths import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    assert f"exit code {EXIT_NOTHING_STORED}" in readme and "--write-map" in readme


def test_ingest_quarantine_lines_are_whole_sentences(tmp_path, survey, capsys):
    path = _export(survey, tmp_path, ["Bristol, City of", "Avon and Somerset Police", "Birmingam"])
    assert main(["ingest", str(path), "--wave", "2026", "--store", str(tmp_path / "s.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "not a council 'Avon and Somerset Police': 'Avon and Somerset Police' names a police body" in out
    assert not _glued(out), out


def test_write_map_drafts_every_quarantined_name_and_is_taken_back(tmp_path, survey, capsys):
    path = _export(survey, tmp_path, ["Bristol, City of", "Birmingam", "Gotham City Council", "TEST - please ignore",
                                      "Avon and Somerset Police", "Birmingam"])
    store, draft = tmp_path / "s.duckdb", tmp_path / "map.csv"
    assert main(["ingest", str(path), "--wave", "2026", "--store", str(store), "--write-map", str(draft)]) == 0
    rows = list(csv.DictReader(draft.open(encoding="utf-8")))
    assert list(rows[0]) == ["name", "local_authority_code", "suggestion", "reason"]
    by_name = {r["name"]: r for r in rows}
    assert sorted(by_name) == sorted(["Birmingam", "Gotham City Council", "TEST - please ignore",
                                      "Avon and Somerset Police"])
    assert (by_name["Birmingam"]["local_authority_code"], by_name["Birmingam"]["suggestion"]) == ("BIR", "Birmingham (BIR)")
    for noise in ("Gotham City Council", "TEST - please ignore", "Avon and Somerset Police"):
        assert (by_name[noise]["local_authority_code"], by_name[noise]["suggestion"]) == ("", "none")
        assert by_name[noise]["reason"].endswith(".")
    capsys.readouterr()
    # ticked through as written: the confirmed near miss is stored, the rest stay quarantined
    path.write_text(path.read_text().replace("r0@", "again-r0@"))  # a changed file is a new ingest
    assert main(["ingest", str(path), "--wave", "2026", "--store", str(store), "--council-map", str(draft)]) == 0
    assert "BIR" in set(dqm.load(store).councils["council_code"])


def test_write_map_refuses_a_folder_before_ingesting(tmp_path, survey):
    path = _export(survey, tmp_path, ["Birmingam"])
    assert main(["ingest", str(path), "--wave", "2026", "--store", str(tmp_path / "s.duckdb"),
                 "--write-map", str(tmp_path)]) == 2
    assert not (tmp_path / "s.duckdb").exists()


def test_report_council_takes_a_name(demo_store, monkeypatch, capsys):
    import dqm.reports.notebook

    seen = {}

    def fake_run_report(kind, wave, **kw):
        seen.update(kw, kind=kind)
        raise DQMError("stopped by the test")

    monkeypatch.setattr(dqm.reports.notebook, "run_report", fake_run_report)
    assert main(["report", "council", "City of Bristol", "--wave", "2026", "--store", str(demo_store[0])]) == 2
    assert seen["council"] == "BST"


def test_report_council_refuses_a_non_council_with_its_note(demo_store, monkeypatch, capsys):
    import dqm.reports.notebook

    monkeypatch.setattr(dqm.reports.notebook, "run_report", lambda *a, **k: pytest.fail("a report was started"))
    assert main(["report", "council", "Avon and Somerset Police", "--wave", "2026", "--store", str(demo_store[0])]) == 2
    assert "names a police body ('police'), not a council" in capsys.readouterr().err


def test_score_csv_matches_the_api_and_is_rounded_for_people(demo_store, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    for wave in (2024, 2026):
        assert main(["score", "--wave", str(wave), "--store", str(demo_store[0]), "--out", str(out)]) == 0
        text = out.read_text()
        df = pd.read_csv(out)
        assert list(df.columns[:2]) == ["council_code", "council_name"]
        assert pd.api.types.is_integer_dtype(df["councils_ranked"]), wave
        assert re.search(r"\d\.\d{3,}", text) is None  # 2 decimals at most
        ranked = df.dropna(subset=["rank_low"])
        assert (ranked["rank_low"] == ranked["rank_low"].round()).all()
