"""Issue #22, "The first hour", the remaining items: council-name variants, figures in the guides checked against
their sources, verifiable registration of the claims, and the councils each claim loses on the way to n.

Each test failed on the code this work started from.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dqm
import dqm.api
import dqm.model
import dqm.reference
import dqm.store
from dqm.claims import losses_sentence, losses_table
from dqm.claims.engine import ClaimResult, EngineConfig
from dqm.claims.frame import LOSS_STEPS, analysis_frame, join_losses
from dqm.claims.registration import (
    claim_registration_note,
    day_words,
    differences,
    from_git,
    has_history,
    read_registration,
    registration_path,
    registration_sentence,
    registration_table,
    wave_dates,
)
from dqm.claims.registration import (
    main as registration_main,
)
from dqm.claims.registry import load_claims
from dqm.datadir import PROJECT_ROOT
from dqm.errors import DQMError
from dqm.paths import data_dir, reference_dir
from dqm.reference import _name_words, match_council, normalise_name, principal_councils

# ---------------------------------------------------------------- 1. council-name variants
MATCHED = [
    ("Saint Helens", "SHN"), ("Saint Helens Metropolitan Borough Council", "SHN"), ("Saint Albans", "SAL"),
    ("Hants", "HAM"), ("East Hants", "EHA"), ("North Herts", "NHE"), ("Staffs", "STS"), ("Glos", "GLS"),
    ("Oxon", "OXF"), ("NE Lincs", "NEL"), ("Bath & NE Somerset", "BAS"), ("BANES", "BAS"), ("B&NES", "BAS"),
    ("RBKC", "KEC"), ("RBWM", "WNM"), ("BCP Council", "BPC"),
    ("LB Camden", "CMD"), ("Leeds CC", "LDS"), ("Kent CC", "KEN"), ("Arun DC", "ARU"), ("Dacorum BC", "DAC"),
    ("Medway Unitary Authority", "MDW"), ("Medway Council (Unitary)", "MDW"), ("Bristol Local Authority", "BST"),
    ("Cyngor Dinas a Sir Abertawe", "SWA"), ("Dinas a Sir Abertawe", "SWA"), ("Cyngor Conwy", "CWY"),
    ("Bwrdeistref Sirol Wrecsam", "WRX"),
]


@pytest.mark.parametrize("name, code", MATCHED)
def test_common_variants_are_matched(name, code):
    m = match_council(name)
    assert (m.code, m.method) == (code, "exact"), m.explanation


# (name, the codes suggested first, words the suggestion's name must show)
SUGGESTED = [
    ("Richmond", ["RIC", "NYE"], "Richmondshire, now part of North Yorkshire"),
    ("Richmondshre", ["NYE"], "Richmondshire, now part of North Yorkshire"),
    ("Scarboro", ["NYE"], "Scarborough, now part of North Yorkshire"),
    ("Taunton", ["SMT"], "Somerset West and Taunton, now part of Somerset"),
    ("Cumbra", ["CBD", "WAF"], "Cumbria, partly now Cumberland"),
]


@pytest.mark.parametrize("name, codes, shown", SUGGESTED)
def test_a_former_councils_name_suggests_its_successor_saying_so(name, codes, shown):
    m = match_council(name)
    assert m.code is None and [c for c, _ in m.suggestions][:len(codes)] == codes, m.suggestions
    assert shown in m.explanation and "Did you mean" in m.explanation


@pytest.mark.parametrize("name", ["Gotham City Council", "TEST - please ignore", "asdf", "Gotham", "Springfield Council"])
def test_noise_names_still_get_no_suggestion_now_former_councils_are_suggested(name):
    assert not match_council(name).suggestions and _name_words()


def test_every_name_word_is_used_and_none_makes_two_councils_one():
    """Each row of data/reference/name_words.csv changes how some name reads, and every current council's
    official and short name still matches that council alone."""
    rows = _name_words()
    assert len(rows) >= 30
    for written, read_as in rows:
        assert normalise_name(f"Somewhere {written}") == " ".join(["somewhere", *read_as.split()]), written
    c = principal_councils()
    wrong = [(n, code, match_council(n).code) for col in ("official-name", "nice-name")
             for n, code in zip(c[col], c["local-authority-code"]) if match_council(n).code != code]
    assert not wrong


def _reference_copy(tmp_path, monkeypatch, name_words: str) -> Path:
    folder = tmp_path / "reference"
    shutil.copytree(reference_dir(), folder)
    (folder / "name_words.csv").write_text(name_words, encoding="utf-8")
    monkeypatch.setattr("dqm.reference.reference_dir", lambda: folder)
    return folder


@pytest.mark.parametrize("text, said", [
    ("word,means\nhants,hampshire\n", "needs the columns written,read_as,why"),
    ("written,read_as,why\n,hampshire,blank\n", "row 2, column 'written': the word in column 'written' is blank"),
    ("written,read_as,why\nhants,hampshire,a\nhants,hertfordshire,b\n", "row 3, column 'read_as': 'hants' is read two ways"),
], ids=["header", "blank-word", "two-readings"])
def test_a_bad_name_words_file_is_refused_naming_file_and_row(tmp_path, monkeypatch, text, said):
    folder = _reference_copy(tmp_path, monkeypatch, text)
    with pytest.raises(DQMError) as err:
        match_council("Hants")
    assert str(folder / "name_words.csv") in str(err.value) and said in str(err.value), str(err.value)


# ---------------------------------------------------------------- 2. figures in the README and guides
NUMBER_WORDS = {10: "Ten", 11: "Eleven", 12: "Twelve", 13: "Thirteen", 14: "Fourteen"}


def _demo_councils(ctx) -> str:
    return str(len(ctx["data"].took_part(2026)))


def _limit(name, scale=1):
    return lambda ctx: f"{ctx['limits'][name] / scale:,.0f}"


def _first_population_band(ctx) -> str:
    return dqm.compare(by="population", dimension="overall", data=ctx["data"])["population_band"].iloc[0]


def _levels(ctx) -> str:
    return ", ".join(f"{v} {n}" for v, n in ctx["model"].level_names.items())


def _reference_counts(ctx):
    c = dqm.reference.councils()
    return c, c[c["principal"]]


def _pay_months(ctx) -> str:
    snaps = pd.read_csv(data_dir() / "sources" / "govuk_pay_services" / "snapshots.csv")
    first, last = (pd.Timestamp(d) for d in (snaps["snapshot_date"].min(), snaps["snapshot_date"].max()))
    return f"monthly from {first:%B %Y} to {last:%B %Y}"


def _suppress(ctx) -> str:
    from dqm.scoring.sector import SUPPRESS_BELOW

    assert inspect.signature(dqm.compare).parameters["min_councils"].default == SUPPRESS_BELOW
    return str(SUPPRESS_BELOW)


def _broken_engines(ctx) -> str:
    from dqm.claims.simulation import BROKEN_ENGINES

    return NUMBER_WORDS.get(len(BROKEN_ENGINES), str(len(BROKEN_ENGINES)))


def _known_limit(ctx) -> str:
    from dqm.claims.simulation import DEPRIVATION_RELIABILITY, LIMIT_N

    return f"reliability {DEPRIVATION_RELIABILITY} ({LIMIT_N} councils)"


def _waves(ctx) -> str:
    waves = sorted(pd.read_csv(data_dir() / "demo" / "exports" / "manifest.csv")["wave"].unique())
    return f"waves {waves[0]} to {waves[-1]}"


def _argtypes(ctx) -> str:
    from dqm.argtypes import FIRST_YEAR, LAST_YEAR, MOST_DRAWS

    return f"a year from {FIRST_YEAR} to {LAST_YEAR}, `--draws` at most {MOST_DRAWS:,}"


def _nations(ctx) -> str:
    c, _ = _reference_counts(ctx)
    n = c["nation"].value_counts()
    return (f"the {len(c)} rows with `current-authority == True` (England {n['England']}, Scotland {n['Scotland']}, "
            f"Wales {n['Wales']}, Northern Ireland {n['Northern Ireland']})")


def _principal(ctx) -> str:
    c, p = _reference_counts(ctx)
    combined = int((c["local-authority-type"] == "COMB").sum())
    return f"Of these, {len(p)} are *principal councils* (every type except the {combined} combined authorities"


def _welsh(ctx) -> str:
    _, p = _reference_counts(ctx)
    return f"the Welsh names of the {int((p['nation'] == 'Wales').sum())} Welsh principal councils"


def _name_variants(ctx) -> str:
    n = len(pd.read_csv(reference_dir() / "lookup_name_to_registry.csv", dtype=str))
    return f"`lookup_name_to_registry.csv` ({n:,} name variants)"


def _pay_names(ctx) -> str:
    pay = pd.read_csv(data_dir() / "sources" / "govuk_pay_services" / "govuk_pay_services_by_organisation_monthly.csv")
    snaps = pd.read_csv(data_dir() / "sources" / "govuk_pay_services" / "snapshots.csv")
    return f"({len(snaps)} snapshots, {pay['organisation'].nunique()} organisation names)"


README, SECTOR, SOURCES = "README.md", "docs/sector-body.md", "data/reference/SOURCES.md"
# Every figure of the README and the guides that comes from the code, the model, the demo or the reference data:
# (file, the text around it with {} where the figure goes, how to compute the figure). The one place that says
# where each figure comes from; the test below computes each and finds the text.
FIGURES = [
    (README, "technology on {} dimensions", lambda ctx: str(len(ctx["model"].dimension_ids))),
    (README, "each on {} levels", lambda ctx: str(len(ctx["model"].level_values))),
    (README, "levels ({})", _levels),
    (README, "the reports of all {} demo councils with a self-assessment in 2026", _demo_councils),
    (SECTOR, "took part ({} reports on the demo data", _demo_councils),
    (README, "the council's {} nearest neighbours",
     lambda ctx: str(inspect.signature(dqm.peers).parameters["k"].default)),
    (README, "groups of fewer than {} councils blanked", _suppress),
    (README, "suppresses any breakdown of fewer than {} councils", _suppress),
    (SECTOR, "suppresses groups of fewer than {};", _suppress),
    (README, "is cut into {} labelled bands", lambda ctx: str(dqm.api.BANDS)),
    (README, '(`population_band`: "{}" ...)', _first_population_band),
    (README, "{} deliberately broken engines", _broken_engines),
    (README, "deprivation measured at {}", _known_limit),
    (README, "write synthetic exports for {}", _waves),
    (README, "the size of an export ({} MB)", _limit("max_file_mb")),
    (README, "its rows ({})", _limit("max_rows")),
    (README, "the characters in a cell ({}, Excel's own maximum", _limit("max_cell_chars")),
    (README, "the cells of an export ({} million", _limit("max_cells", 1_000_000)),
    (README, "one line of a CSV ({} MB)", _limit("max_line_kb", 1024)),
    (README, "the length of a council name ({})", _limit("max_council_chars")),
    (README, "the size of a YAML file ({} MB)", _limit("max_yaml_kb", 1024)),
    (README, "all its parts together ({} MB)", _limit("max_unzipped_mb")),
    (README, "any one part ({} MB)", _limit("max_part_mb")),
    (README, "any part's compression ratio ({};", _limit("max_zip_ratio")),
    (README, "(a wave is {} a seed", lambda ctx: _argtypes(ctx) + ","),
    (README, "live payment services per organisation, {}", _pay_months),
    (SOURCES, "{}", _nations),
    (SOURCES, "{}", _principal),
    (SOURCES, "{}", _welsh),
    (SOURCES, "{}", _name_variants),
    (SOURCES, "{}", _pay_names),
]


@pytest.fixture(scope="module")
def figure_context(demo_store):
    from dqm.limits import _defaults

    return {"data": dqm.load(demo_store[0]), "model": dqm.model.load_model(), "limits": _defaults(str(data_dir()))}


def _text(path: str) -> str:
    return " ".join((PROJECT_ROOT / path).read_text(encoding="utf-8").split())


def test_figures_in_the_readme_and_guides_are_true(figure_context):
    """Each figure is computed from where it comes from and found in the text (the guides once said 222, 223 and
    224 demo councils)."""
    wrong = []
    for path, around, compute in FIGURES:
        expected = around.format(compute(figure_context))
        if expected not in _text(path):
            pattern = re.escape(around).replace(r"\{\}", "(.{1,80}?)")
            found = re.search(pattern, _text(path))
            wrong.append(f"{path}: expected {expected!r}, found {found.group(0) if found else 'no such text'!r}")
    assert not wrong, "\n".join(wrong)


def test_every_count_of_councils_in_the_guides_is_checked(figure_context):
    """A new "N councils" or "N reports" figure in the README or a guide must be added to FIGURES above (only the
    benchmark's extrapolation to 400 councils, a hypothetical number, is not a figure of the data)."""
    covered = {}
    for path, around, compute in FIGURES:
        expected = around.format(compute(figure_context))
        covered.setdefault(path, []).extend(m.span() for m in re.finditer(re.escape(expected), _text(path)))
    unchecked = []
    for path in [README, *sorted(f"docs/{p.name}" for p in (PROJECT_ROOT / "docs").glob("*.md"))]:
        text = _text(path)
        for m in re.finditer(r"\b(\d[\d,]*) (?:demo )?(?:councils|reports)\b", text):
            inside = any(a <= m.start() and m.end() <= b for a, b in covered.get(path, []))
            if not inside and m.group(1) != "400":
                unchecked.append(f"{path}: ...{text[max(0, m.start() - 40):m.end()]}")
    assert not unchecked, "figures not in FIGURES:\n" + "\n".join(unchecked)


# ---------------------------------------------------------------- 3. verifiable registration of the claims
needs_git = pytest.mark.skipif(not has_history(), reason="no full git history here (a tarball or shallow clone)")


@needs_git
def test_the_registration_file_agrees_with_the_git_history():
    assert differences(read_registration(), from_git()) == []


def test_every_registered_claim_has_its_commit():
    table = registration_table(load_claims())
    assert (table["status"] == "committed").all(), table.loc[table["status"] != "committed", ["claim_id", "status"]]
    assert table["first_commit"].str.fullmatch(r"[0-9a-f]{40}").all()
    assert (table["commit_date"] >= "2026-11-22").all() and (table["registered"] <= table["commit_date"]).all()


def test_the_table_names_claims_without_a_commit_and_users_own_claims():
    claims = load_claims()
    new = dataclasses.replace(claims[0], id="not-yet-recorded")
    mine = dataclasses.replace(claims[1], id="my-claim", layer="user")
    table = registration_table([claims[0], new, mine]).set_index("claim_id")
    assert table["status"].to_dict() == {claims[0].id: "committed", "not-yet-recorded": "not recorded",
                                         "my-claim": "your own claim"}
    text = registration_sentence(table.reset_index())
    assert "No commit is recorded for not-yet-recorded" in text and "Your own claims (my-claim)" in text


def _table(*commit_dates: str) -> pd.DataFrame:
    return pd.DataFrame({"claim_id": [f"c{i}" for i in range(len(commit_dates))], "layer": "bundled",
                         "registered": list(commit_dates), "first_commit": "a" * 40, "commit": "a" * 12,
                         "commit_date": list(commit_dates), "status": "committed"})


WAVE = {"wave": 2026, "first": dt.date(2026, 3, 2), "last": dt.date(2026, 5, 20)}


@pytest.mark.parametrize("dates, said", [
    (("2026-11-22", "2026-11-29"), "given from 2 March 2026 to 20 May 2026, before any claim was fixed: the claims were "
                                   "fixed before they were tested, not before these data existed"),
    (("2026-01-10",), "after every claim was fixed: the claims were written before these data existed"),
    (("2026-01-10", "2026-04-01"), "1 of the claims were fixed before the first of them and 1 after it"),
], ids=["after-the-data", "before-the-data", "between"])
def test_the_review_says_what_was_fixed_before_which_data(dates, said):
    text = registration_sentence(_table(*dates), WAVE)
    assert said in text and "in commit aaaaaaaaaaaa of " + day_words(dates[0]) in text, text


def test_a_claims_own_note_gives_its_commit_and_the_data_dates():
    row = registration_table(load_claims()).iloc[0]
    note = claim_registration_note(row, WAVE)
    assert note == (f"Registered on {day_words(row['registered'])} in commit {row['first_commit'][:12]} of "
                    f"data/claims.yaml (committed {day_words(row['commit_date'])}), after the 2026 self-assessments it "
                    "is tested on were given (from 2 March 2026 to 20 May 2026).")


def test_wave_dates_are_the_current_self_assessments():
    subs = pd.DataFrame({"wave": [2026, 2026, 2026, 2025, 2026],
                         "assessment_type": ["self", "self", "independent", "self", "self"],
                         "submitted_at": pd.to_datetime(["2026-03-05 10:00", "2026-04-01 09:00", "2026-01-01 09:00",
                                                         "2025-01-01 09:00", "2026-02-01 09:00"]),
                         "current": [True, True, True, True, False]})  # the last was superseded
    assert wave_dates(subs, "2026") == {"wave": 2026, "first": dt.date(2026, 3, 5), "last": dt.date(2026, 4, 1)}


def _data_copy(tmp_path, monkeypatch, csv_text: str) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(data_dir() / "limits.yaml", folder / "limits.yaml")
    (folder / "claims_registration.csv").write_text(csv_text, encoding="utf-8")
    monkeypatch.setenv("DQM_DATA_DIR", str(folder))
    return folder / "claims_registration.csv"


GOOD_ROW = "efficiency-central-costs,2026-11-22," + "c" * 40 + ",2026-11-22T07:20:14+00:00\n"
HEADER = "claim_id,registered,first_commit,commit_date\n"


@pytest.mark.parametrize("text, said", [
    ("id,date\nx,2026-01-01\n", "row 1: the columns are id, date; they must be claim_id, registered, first_commit"),
    (HEADER + "x,2026-11-22,abc,2026-11-22\n", "row 2: each row needs a claim id, a 40-character commit hash"),
    (HEADER + GOOD_ROW + GOOD_ROW, "claim 'efficiency-central-costs' is listed twice"),
], ids=["header", "short-hash", "twice"])
def test_a_bad_registration_file_is_refused_naming_it(tmp_path, monkeypatch, text, said):
    path = _data_copy(tmp_path, monkeypatch, text)
    with pytest.raises(DQMError) as err:
        read_registration()
    assert str(path) in str(err.value) and said in str(err.value), str(err.value)


@needs_git
def test_check_finds_a_registration_that_does_not_match_the_history(tmp_path, monkeypatch, capsys):
    committed = (PROJECT_ROOT / "data" / "claims_registration.csv").read_text(encoding="utf-8")
    path = _data_copy(tmp_path, monkeypatch, committed.replace("2026-11-22T07:20:14", "2026-01-01T07:20:14", 1))
    assert registration_main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "commit_date is '2026-01-01T07:20:14+00:00' in the file" in out and "1 difference(s)" in out
    assert path.read_text(encoding="utf-8") != committed  # --check writes nothing
    assert registration_main([]) == 0 and path.read_text(encoding="utf-8") == committed  # written again from git


def test_without_git_history_the_command_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("dqm.claims.registration.PROJECT_ROOT", tmp_path)
    assert registration_main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a git clone" in err and "Traceback" not in err
    assert registration_path().exists()  # the committed file is left as it was


# ---------------------------------------------------------------- 4. the councils each claim loses, and why
def _small_frames():
    """Six councils: A used; B assessed with no outcome; C an outcome but no assessment; D no deprivation;
    E no level for leadership; W in Wales, outside the claim's population."""
    codes = ["A", "B", "C", "D", "E", "W"]
    ref = pd.DataFrame({"local-authority-code": codes, "principal": True,
                        "nation": ["England"] * 5 + ["Wales"], "type_group": "District council",
                        "population": 100_000.0, "area_km2": 50.0,
                        "deprivation_score": [20.0, 20.0, 20.0, np.nan, 20.0, 20.0], "urban_share": 0.5})
    exp = pd.DataFrame({"council_code": ["A", "B", "D", "E", "W"], "overall_mean": 3.0,
                        "leadership": [3.0, 2.0, 4.0, np.nan, 3.0]})
    out = pd.DataFrame({"measure": "m", "period": "2026", "local-authority-code": ["A", "C", "D", "E", "W"],
                        "value": 1.0})
    return exp, out, ref


def test_the_analysis_frame_counts_each_loss_and_its_reason():
    exp, out, ref = _small_frames()
    df, info = analysis_frame(exp, out, ref, "m", population={"nation": "England"}, exposure="leadership")
    lo = info["losses"]
    assert {k: lo[k] for k in LOSS_STEPS} == {"population": 5, "assessed": 4, "with_outcome": 3, "with_controls": 2,
                                              "used": 1}
    assert {k: lo[k] for k in ("no_assessment", "no_outcome", "missing_control", "no_exposure")} == \
        {"no_assessment": 1, "no_outcome": 1, "missing_control": 1, "no_exposure": 1}
    assert lo["missing_by_control"] == {"deprivation": 1}
    assert (lo["outcome_councils"], lo["outcome_not_assessed"]) == (4, 1)
    assert len(df) == 2 and df["leadership"].notna().sum() == lo["used"]  # the frame itself is unchanged


def test_no_outcome_data_loses_every_assessed_council():
    exp, out, ref = _small_frames()
    _, info = analysis_frame(exp, out, ref, "another measure", population={"nation": "England"})
    assert {k: info["losses"][k] for k in ("population", "assessed", "no_outcome", "used")} == \
        {"population": 5, "assessed": 4, "no_outcome": 4, "used": 0}


def _result(losses, exposure="overall", period="2022-23"):
    claim = dataclasses.replace(load_claims()[0], exposure=exposure)
    return ClaimResult(claim, "inconclusive", n=losses.get("used", 0), info={"wave": 2026, "period": period},
                       losses=losses)


@pytest.mark.parametrize("losses, said", [
    (join_losses(*_small_frames(), {"nation": "England"}),
     "Of the 5 councils in the claim's population, 0 were used: 1 had no usable self-assessment in 2026 and 4 had no "
     "value of the outcome for 2022-23. 4 councils of the population have the outcome; 1 of them could not be used "
     "because they had no self-assessment."),
    ({"population": 300, "assessed": 200, "with_outcome": 150, "with_controls": 148, "used": 147, "no_assessment": 100,
      "no_outcome": 50, "missing_control": 2, "no_exposure": 1, "outcome_councils": 150, "outcome_not_assessed": 0,
      "missing_by_control": {"deprivation": 2}},
     "Of the 300 councils in the claim's population, 147 were used: 100 had no usable self-assessment in 2026, 50 had "
     "no value of the outcome for 2022-23, 2 lacked a control (councils lacking each: deprivation 2) and 1 had no "
     "level for the dimension data."),
    ({"kind": "assessment_agreement", "population": 382, "assessed": 221, "with_outcome": 28, "with_controls": 28,
      "used": 28, "no_assessment": 161, "no_outcome": 193, "missing_control": 0, "no_exposure": 0,
      "outcome_councils": 30, "outcome_not_assessed": 2, "missing_by_control": {}},
     "Of the 382 councils in the claim's population, 28 were used: 161 had no usable self-assessment in 2026 and 193 "
     "of those self-assessed had no independent assessment. 30 councils of the population have an independent "
     "assessment; 2 of them could not be used because they had no usable self-assessment."),
    ({}, ""),
], ids=["small-frame", "every-reason", "agreement", "never-joined"])
def test_the_review_sentence_says_how_many_were_lost_and_why(losses, said):
    exposure = "data" if losses.get("no_exposure") else "overall"
    assert losses_sentence(_result(losses, exposure)) == said


@pytest.fixture(scope="module")
def demo_results(demo_store):
    from dqm.claims import evaluate_claims
    from dqm.claims.registry import load_evidence

    model = dqm.model.load_model()
    ev = load_evidence(None, None, None, model=model)
    data = dqm.store.load(demo_store[0], model=model)
    return evaluate_claims(ev.claims, data.councils, ev.outcomes, model, 2026,
                           EngineConfig(n_boot=20, n_null_boot=0, spec_curve=False))


def test_every_claim_result_accounts_for_its_population(demo_results):
    table = losses_table(demo_results).set_index("id")
    for r in demo_results:
        lo = r.losses
        if not r.claim.testable:
            assert lo == {} and table.loc[r.claim.id, "sentence"] == ""
            continue
        assert lo["used"] == r.n, r.claim.id
        assert lo["population"] == r.n + lo["no_assessment"] + lo["no_outcome"] + lo["missing_control"] + lo["no_exposure"]
        assert lo["population"] == r.info["population_councils"] or lo.get("kind") == "assessment_agreement"
        assert table.loc[r.claim.id, "sentence"].startswith(f"Of the {lo['population']:,} councils")
    # the demo's prevention claim: adult social care outcomes exist for about 150 councils, far fewer are used
    prevention = table.loc["prevention-reablement"]
    assert prevention["outcome_councils"] > prevention["used"] and prevention["outcome_not_assessed"] > 0
