"""One notion of "council" (issue #17, item 2 and the Welsh names of item 9).

Principal councils only, from the reference table: combined authorities and the Greater London Authority
are refused by the matcher with a status saying what they are, so `dqm match`, ingest and user outcome files
never take them; a store that already holds them (made by an older dqm) does not rank them, and says so;
the councils' Welsh names are known variants (from data/reference/welsh_council_names.csv).

Table-driven like test_inputs.py: one parametrised row per name, code or file, asserting the message, that
nothing was stored or joined, and the row accounting (rows read = stored + superseded + quarantined).
"""
from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from dqm.cli import main, match_table
from dqm.outcomes import load_outcome_data, read_user_outcomes
from dqm.reference import match_council, not_a_council, principal_councils

WAVE = 2026

CA = "a combined authority, not a council"
GLA = "the Greater London Authority, a regional authority, not a council"

# (what a user writes, the body it names, what the refusal says)
NOT_COUNCILS = [
    ("Greater Manchester Combined Authority", "GMCA", CA),
    ("Greater London Authority", "GLA", GLA),
    ("West Midlands Combined Authority", "WMCA", CA),
    ("West of England Combined Authority", "WECA", CA),
    ("Liverpool City Region Combined Authority", "LCR", CA),
    ("South Yorkshire Mayoral Combined Authority", "SCR", CA),
    ("E47000001", "GMCA", CA),  # GSS code of Greater Manchester Combined Authority
    ("E61000001", "GLA", GLA),  # GSS code of the GLA
    ("E47000005", "NECA", CA),  # a former GSS code of North East Combined Authority
    ("GMCA", "GMCA", CA),  # a local-authority-code
    ("South Yorkshire Combined Authority", "SCR", CA),  # without "Mayoral"
    ("South Yorkshire MCA", "SCR", CA),
    ("West Yorkshire Mayoral Combined Authority", "WYCA", CA),  # with "Mayoral" where the real name has none
    ("West Midlands CA", "WMCA", CA),
    ("Greater Manchester CA", "GMCA", CA),
    ("Hull and East Yorkshire MCA", "HYCA", CA),
    ("East Midlands CCA", "EMCA", CA),
    ("East Midlands Combined County Authority", "EMCA", CA),
    ("greater manchester combined authority ", "GMCA", CA),
    ("Greater London", "GLA", GLA),
]
SIX = [n for n, _, _ in NOT_COUNCILS[:6]]


@pytest.mark.parametrize("text, body, says", NOT_COUNCILS, ids=[n.strip() for n, _, _ in NOT_COUNCILS])
def test_match_refuses_combined_authorities_and_the_gla(text, body, says):
    m = match_council(text)
    assert m.code is None and m.method == "refused" and not m.suggestions
    assert says in m.note and "never matched" in m.note
    if body != "GLA":
        assert not_a_council(body) in m.note or m.note.startswith(f"{text.strip()!r} is a combined authority")
    row = match_table([text]).iloc[0]  # what `dqm match` shows
    assert row["status"] == "not a principal council" and row["local_authority_code"] == "" and says in row["note"]


def test_dqm_match_prints_the_status(capsys):
    assert main(["match", *SIX, "E47000001", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in rows] == ["not a principal council"] * 7
    assert all(r["local_authority_code"] == "" for r in rows)
    assert GLA in rows[1]["note"] and CA in rows[0]["note"] and CA in rows[6]["note"]


def test_principal_councils_are_the_one_definition():
    """Every current body of the reference table is either a principal council, matched by its code, GSS code
    and official name, or not one, refused by each of them."""
    from dqm.reference import councils

    p = principal_councils()
    assert len(p) == 382 and not set(p["local-authority-code"]) & {"GMCA", "GLA", "WMCA", "WECA", "LCR", "SCR"}
    for r in councils().itertuples():
        code, gss, official = r._1, r._2, r._4
        for text in (code, gss, official):
            m = match_council(text)
            if r.principal:
                assert m.code == code, text
            else:
                assert m.code is None and m.method == "refused" and not_a_council(code).split(", ")[-1] in m.note, text


@pytest.mark.parametrize("text, code", [
    ("Cyngor Caerdydd", "CRF"), ("Cyngor Dinas Caerdydd", "CRF"), ("cyngor caerdydd", "CRF"), ("CYNGOR CAERDYDD ", "CRF"),
    ("Cyngor Gwynedd", "GWN"), ("Cyngor Sir Gwynedd", "GWN"), ("Cyngor Bwrdeistref Sirol Wrecsam", "WRX"),
    ("Cyngor Sir Gâr", "CMN"), ("Cyngor Sir Gar", "CMN"), ("Cyngor Sir a Dinas Abertawe", "SWA"),
    ("Cyngor Dinas Casnewydd", "NWP"), ("Cyngor Bro Morgannwg", "VGL"), ("Cyngor Sir Powys", "POW"),
    ("Cyngor Bwrdeistref Sirol Castell-nedd Port Talbot", "NTL"), ("Cyngor Sir y Fflint", "FLN"),
])
def test_welsh_names_match_their_council(text, code):
    m = match_council(text)
    assert m.code == code and m.method == "exact", m


def test_every_welsh_principal_council_has_a_welsh_name():
    from dqm.paths import reference_dir

    names = pd.read_csv(reference_dir() / "welsh_council_names.csv", dtype=str, keep_default_na=False, comment="#")
    wales = set(principal_councils().query("nation == 'Wales'")["local-authority-code"])
    assert set(names["local-authority-code"]) == wales and len(wales) == 22
    assert (names["source"].str.strip() != "").all()
    for r in names.itertuples():
        assert match_council(r._1).code == r._2, r._1


# ---------------------------------------------------------------- ingest: quarantined with the reason, none lost
def test_ingest_quarantines_them_and_stores_the_rest(tmp_path, survey, capsys):
    real = ["Bristol, City of", "Manchester", "Cyngor Caerdydd"]
    for i, council in enumerate(real + SIX + ["E47000001"]):
        survey.add(council=council, email=f"r{i}@example.gov.uk")
    export = survey.googleforms(tmp_path / "export.csv")
    store = tmp_path / "s.duckdb"
    assert main(["ingest", str(export), "--wave", str(WAVE), "--store", str(store), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    out = out[0] if isinstance(out, list) else out
    assert out["rows_read"] == 10
    assert out["stored"] == 3 and out["rejected"] == 7
    assert out["rows_read"] == out["stored"] + out["superseded"] + out["rejected"]  # rows lost: 0
    assert out["reasons"] == {"not a council": 7}
    con = duckdb.connect(str(store), read_only=True)
    try:
        stored = sorted(c for (c,) in con.execute("SELECT council_code FROM submissions").fetchall())
        rejects = con.execute("SELECT source_row, reason, detail, raw_json FROM rejects ORDER BY source_row").df()
    finally:
        con.close()
    assert stored == ["BST", "CRF", "MAN"]
    assert len(rejects) == 7 and set(rejects["reason"]) == {"not a council"}
    cq = survey.model.metadata_questions["council"]["question"]
    for r, council in zip(rejects.itertuples(), SIX + ["E47000001"]):
        assert (GLA if "London" in council or council == "E61000001" else CA) in r.detail
        raw = json.loads(r.raw_json)  # the quarantined row keeps its values
        assert council in raw.values() or raw.get(cq) == council, raw
        assert "3 - Impactful" in raw.values()


# ---------------------------------------------------------------- scoring: a store made by an older dqm
def _add_body(store, body: str) -> None:
    """Copy the first submission and its answers as if an older dqm had stored them for ``body``."""
    con = duckdb.connect(str(store))
    try:
        sid = con.execute("SELECT max(submission_id) + 1 FROM submissions").fetchone()[0]
        first = con.execute("SELECT min(submission_id) FROM submissions").fetchone()[0]
        con.execute(f"""INSERT INTO submissions SELECT {sid}, ingest_id, source_row + 100, '{body}', '{body}', wave,
                        assessment_type, respondent_key || '{body}', respondent_role, submitted_at, NULL, synthetic
                        FROM submissions WHERE submission_id = {first}""")
        con.execute(f"""INSERT INTO answers SELECT {sid}, dimension_id, 5, level_status, target_level, evidence
                        FROM answers WHERE submission_id = {first}""")
    finally:
        con.close()


@pytest.mark.parametrize("body", ["GMCA", "GLA", "SCR"])
def test_a_store_holding_one_is_not_ranked(tmp_path, survey, capsys, body):
    for i, council in enumerate(["Bristol, City of", "Manchester", "Leeds", "Cyngor Caerdydd"]):
        survey.add(council=council, email=f"r{i}@example.gov.uk", level=f"{1 + i % 4}")
    export = survey.googleforms(tmp_path / "export.csv")
    store = tmp_path / "s.duckdb"
    assert main(["ingest", str(export), "--wave", str(WAVE), "--store", str(store)]) == 0
    _add_body(store, body)
    capsys.readouterr()
    assert main(["score", "--wave", str(WAVE), "--store", str(store), "--json"]) == 0
    cap = capsys.readouterr()
    scores = pd.DataFrame(json.loads(cap.out))
    assert body not in set(scores["council_code"])
    assert set(scores["council_code"]) == {"BST", "MAN", "LDS", "CRF"}
    assert set(scores["councils_ranked"]) == {4}
    warning = [ln for ln in cap.err.splitlines() if ln.startswith("Warning:")]
    assert len(warning) == 1 and body in warning[0] and "not a council" in warning[0] and "not scored, ranked" in warning[0]
    assert "Traceback" not in cap.err


def test_the_library_scoring_leaves_them_out_with_a_warning(tmp_path, survey, model):
    from dqm.scoring import NotACouncilWarning, council_scores
    from dqm.store import load

    for i, council in enumerate(["Bristol, City of", "Manchester", "Leeds"]):
        survey.add(council=council, email=f"r{i}@example.gov.uk")
    store = tmp_path / "s.duckdb"
    assert main(["ingest", str(survey.googleforms(tmp_path / "e.csv")), "--wave", str(WAVE), "--store", str(store)]) == 0
    _add_body(store, "WMCA")
    with pytest.warns(NotACouncilWarning, match="WMCA: West Midlands Combined Authority, a combined authority"):
        data = load(store, wave=WAVE, model=model)
        s = council_scores(data.councils, data.answers, model, WAVE, n_draws=30)
    assert "WMCA" not in set(data.councils["council_code"]) and "WMCA" not in set(s["council_code"])
    assert set(s["councils_ranked"]) == {3}


# ---------------------------------------------------------------- outcome joins
@pytest.mark.parametrize("council", SIX + ["E47000001", "GMCA", "E61000001"])
def test_user_outcome_rows_for_them_are_not_joined_and_are_reported(tmp_path, council):
    f = tmp_path / "mine.csv"
    pd.DataFrame({"council": ["Bristol, City of", council, "Cyngor Caerdydd"], "period": ["2025"] * 3,
                  "value": ["1", "2", "3"]}).to_csv(f, index=False)
    rows, report = read_user_outcomes(f, {"id": "my_measure"}, "mine.csv")
    assert sorted(rows["local-authority-code"]) == ["BST", "CRF"]
    bad = report[report["status"] != "matched"]
    assert len(bad) == 1 and bad.iloc[0]["council"] == council and bad.iloc[0]["row"] == 3
    assert bad.iloc[0]["status"] == "not a principal council"
    assert (GLA if "London" in council or council == "E61000001" else CA) in bad.iloc[0]["reason"]


def test_an_outcomes_file_reports_them_and_joins_the_rest(tmp_path, capsys):
    f = tmp_path / "extra.csv"
    pd.DataFrame({"council": ["BST", "Greater London Authority", "West Midlands Combined Authority", "MAN"],
                  "measure": ["my_measure"] * 4, "period": ["2025"] * 4, "value": ["1", "2", "3", "4"]}).to_csv(f, index=False)
    data = load_outcome_data(outcomes_file=f)
    mine = data.outcomes[data.outcomes["measure"] == "my_measure"]
    assert sorted(mine["local-authority-code"]) == ["BST", "MAN"]
    summary = data.join_summary().iloc[0]
    assert (summary["rows"], summary["matched"], summary["not_used"]) == (4, 2, 2)  # every row accounted for
    assert set(data.join.loc[data.join["status"] != "matched", "council"]) == {"Greater London Authority",
                                                                               "West Midlands Combined Authority"}


def test_bundled_outcomes_never_join_them(monkeypatch, tmp_path):
    """A bundled table holding rows for a combined authority (as a rebuild by an older dqm could) joins none."""
    import dqm.outcomes as outcomes

    real = outcomes.load_outcomes()
    planted = pd.concat([real, pd.DataFrame({"local-authority-code": ["GMCA", "GLA"], "measure": [real["measure"].iloc[0]] * 2,
                                             "period": [real["period"].iloc[0]] * 2, "value": [1.0, 2.0]})],
                        ignore_index=True)
    monkeypatch.setattr(outcomes, "load_outcomes", lambda *a, **k: planted)
    data = outcomes.load_outcome_data()
    assert not set(data.outcomes["local-authority-code"]) & {"GMCA", "GLA"}
    assert len(data.outcomes) == len(real)


def test_a_council_map_cannot_make_one_a_council(tmp_path):
    from dqm.errors import DQMError
    from dqm.reference import load_council_map

    p = tmp_path / "map.csv"
    p.write_text("name,local_authority_code\nGM,GMCA\n", encoding="utf-8")
    with pytest.raises(DQMError, match="not the code of a current council.*a combined authority"):
        load_council_map(p)
