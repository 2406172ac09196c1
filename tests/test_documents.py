"""The model's own documents: survey questions, assessment pack and calculator, action plan, handbook."""
from __future__ import annotations

import csv
import io
import json
import subprocess

import pandas as pd

from dqm.cli import main
from dqm.documents.questions import questions_csv, survey_questions
from dqm.store import connect, ingest_file, load


def test_questions_export_ingests_without_renaming(tmp_path, model):
    """A form set up from `dqm questions` exports columns that are exactly the question texts."""
    q = survey_questions(model)
    opts = dict(zip(q["id"], q["options"]))
    answers = {"council": "Bristol City Council", "respondent_role": "Head of Digital", "assessment_type": "Peer"}
    for i, d in enumerate(model.dimension_ids):
        answers[d] = opts[d][i % 5] if i != 3 else "Don't know"
        answers[f"{d}_target"] = opts[f"{d}_target"][4]
        answers[f"{d}_evidence"] = f"Evidence for {d}, <b>bold</b>"
    path = tmp_path / "form.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Timestamp", *q["question"]])
        w.writerow(["10/03/2026 10:00:00", *[answers[i] for i in q["id"]]])
    con = connect(tmp_path / "s.duckdb")
    res = ingest_file(con, path, 2026, model=model)
    con.close()
    assert (res.stored, res.rejected, res.ignored_columns) == (1, 0, [])
    a = load(tmp_path / "s.duckdb", 2026, model).answers.set_index("dimension_id")
    assert a.loc["leadership", "level"] == 1 and a.loc["strategy", "level"] == 2
    assert pd.isna(a.loc["capacity", "level"]) and a.loc["capacity", "level_status"] == "dont_know"
    assert (a["target_level"] == 5).all() and a.loc["data", "evidence"] == "Evidence for data, <b>bold</b>"
    assert (a["assessment_type"] == "peer").all()


def _cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_questions_cli_csv_and_md(model, capsys):
    code, text, err = _cli(capsys, "questions", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text == questions_csv(model)
    assert [r["question"] for r in rows[:1]] == [model.metadata_questions["council"]["question"]]
    assert rows[3]["options"] == "1 - Passive | 2 - Developing | 3 - Impactful | 4 - Mainstreamed | 5 - Transformative | Don't know"
    assert len(rows) == 3 + 3 * len(model.dimension_ids)
    code, md, _ = _cli(capsys, "questions", "--format", "md")
    assert code == 0 and "**Leadership: which level best describes your council today?**" in md


# ---------------------------------------------------------------- assessment pack and calculator
import datetime as dt  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from openpyxl import load_workbook  # noqa: E402
from xlsx_formulas import Workbook as Evaluator  # noqa: E402

from dqm.documents.pack import pack_metadata, write_pack  # noqa: E402
from dqm.errors import IngestError  # noqa: E402
from dqm.model import load_model  # noqa: E402
from dqm.scoring import council_levels, overall_level  # noqa: E402

MODEL_FILE = load_model().path


def _variant(tmp_path, name="model.yaml", **changes):
    """A copy of the model file with some changes: rule, min_coverage, version, a renamed dimension, a prompt."""
    raw = yaml.safe_load(open(MODEL_FILE, encoding="utf-8"))
    if "rule" in changes:
        raw["overall"]["rule"] = changes["rule"]
    if "min_coverage" in changes:
        raw["overall"]["min_coverage"] = changes["min_coverage"]
    if "version" in changes:
        raw["version"] = changes["version"]
    if "rename" in changes:
        d = raw["dimensions"][1]
        d["id"], d["name"] = "strategy_and_planning", "Strategy and planning"
        for k in ("question", "target_question", "evidence_question"):
            d[k] = d[k].replace("Strategy:", "Strategy and planning:")
        d["prompts"].append("Is the strategy published where residents can read it?")
    p = tmp_path / name
    p.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_model(p)


@pytest.mark.parametrize("rule, min_coverage", [("rounded_mean", 8), ("median", 6), ("geometric_mean", 8),
                                                ("threshold", 10)])
def test_calculator_formulas_agree_with_dqm(tmp_path, rule, min_coverage):
    """The workbook's own formulas, evaluated on 100 random answer sets per rule, give dqm's overall level."""
    model = _variant(tmp_path, rule=rule, min_coverage=min_coverage)
    path = write_pack(tmp_path / "pack.xlsx", model, 2026)
    meta, wb = pack_metadata(path), load_workbook(path)
    options = [f"{v} - {model.level_name(v)}" for v in model.level_values]
    rng = np.random.default_rng(len(rule) * 100 + min_coverage)
    dims = model.dimension_ids
    levels = np.where(rng.random((100, len(dims))) < 0.12, np.nan, rng.integers(1, 6, (100, len(dims))))
    targets = np.where(rng.random((100, len(dims))) < 0.1, np.nan,
                       np.minimum(5, np.nan_to_num(levels, nan=2) + rng.integers(0, 3, (100, len(dims)))))
    want = overall_level(pd.DataFrame(levels, columns=dims), model.overall_rule, model.min_coverage)
    want_target = overall_level(pd.DataFrame(targets, columns=dims), model.overall_rule, model.min_coverage)
    for i in range(100):
        inputs = {}
        for j, d in enumerate(dims):
            # a missing level is a blank or "Don't know"; numbers typed over the drop-down count as blank
            inputs[meta[f"cell.{d}.level"]] = options[int(levels[i, j]) - 1] if levels[i, j] == levels[i, j] else (
                "Don't know" if j % 2 else None)
            inputs[meta[f"cell.{d}.target"]] = options[int(targets[i, j]) - 1] if targets[i, j] == targets[i, j] else None
        ev = Evaluator(wb, inputs)
        got = ev.value(meta["cell.calc.overall_level"])
        assert (got == "" and np.isnan(want[i])) or got == want[i], (i, levels[i], got, want[i])
        got_t = ev.value(meta["cell.calc.overall_target"])
        assert (got_t == "" and np.isnan(want_target[i])) or got_t == want_target[i]
        for j, _d in enumerate(dims):  # each dimension's gap to target
            gap = ev.value(f"Calculator!D{5 + j}")
            expect = targets[i, j] - levels[i, j]
            assert (gap == "" and np.isnan(expect)) or gap == expect
        if got != "":
            assert ev.value(meta["cell.calc.overall_name"]).startswith(f"{int(got)} - ")


def _fill(path, meta, values: dict):
    """Fill a pack as a council would in a spreadsheet program (cells by their recorded addresses)."""
    wb = load_workbook(path)
    for key, v in values.items():
        sheet, cell = meta[f"cell.{key}"].split("!")
        wb[sheet][cell] = v
    wb.save(path)
    return path


def test_pack_round_trip_through_ingest(tmp_path, model, capsys):
    path = write_pack(tmp_path / "bristol.xlsx", model, 2026, council="BST", assessment_type="peer")
    meta = pack_metadata(path)
    wb = load_workbook(path)
    assert wb["Cover"].protection.sheet and wb["Calculator"].protection.sheet
    assert not wb["Assessment"][meta["cell.leadership.level"].split("!")[1]].protection.locked
    assert wb["Calculator"]["B5"].protection.locked and wb["_dqm"].sheet_state == "veryHidden"
    assert wb["Cover"][meta["cell.model_version"].split("!")[1]].value == model.version
    chosen = {d: (i % 5) + 1 for i, d in enumerate(model.dimension_ids)}
    values = {"respondent_role": "Chief Digital Officer", "email": "cdo@example.gov.uk",
              "submitted_at": dt.datetime(2026, 2, 3)}
    for d, v in chosen.items():
        values[f"{d}.level"] = f"{v} - {model.level_name(v)}"
        values[f"{d}.target"] = f"{min(v + 1, 5)} - {model.level_name(min(v + 1, 5))}"
        values[f"{d}.evidence"] = f"Board minutes, {d} <script>alert(1)</script>"
    values["culture.level"] = "Don't know"
    _fill(path, meta, values)
    store = tmp_path / "s.duckdb"
    code, text, err = _cli(capsys, "ingest", str(path), "--wave", "2026", "--store", str(store), "--json")
    assert code == 0, err
    res = json.loads(text)
    assert (res["shape"], res["rows_read"], res["stored"], res["rejected"]) == ("pack", 1, 1, 0)
    data = load(store, 2026, model)
    a = data.answers.set_index("dimension_id")
    for d, v in chosen.items():
        if d == "culture":
            assert pd.isna(a.loc[d, "level"]) and a.loc[d, "level_status"] == "dont_know"
        else:
            assert a.loc[d, "level"] == v
        assert a.loc[d, "target_level"] == min(v + 1, 5)
        assert a.loc[d, "evidence"] == f"Board minutes, {d} <script>alert(1)</script>"
    assert (a["council_code"] == "BST").all() and (a["assessment_type"] == "peer").all()
    assert (a["respondent_role"] == "Chief Digital Officer").all()
    assert "cdo@example" not in store.read_bytes().decode("latin-1")  # the e-mail is hashed, never stored
    # the calculator in the filled pack says what dqm says
    lv = council_levels(data.answers, model)
    ev = Evaluator(load_workbook(path))
    assert ev.value(meta["cell.calc.overall_level"]) == lv["overall_level"].iloc[0]
    assert ev.value(meta["cell.calc.overall_mean"]) == pytest.approx(lv["overall_mean"].iloc[0])


def test_a_folder_of_packs_and_the_model_version_check(tmp_path, model):
    folder = tmp_path / "packs"
    for code, council_level in (("BST", "2 - Developing"), ("MAN", "4 - Mainstreamed")):
        p = write_pack(folder / f"{code}.xlsx", model, 2026, council=code)
        _fill(p, pack_metadata(p), {f"{d}.level": council_level for d in model.dimension_ids})
    wrong_wave = write_pack(folder / "LDS.xlsx", model, 2025, council="LDS")
    _fill(wrong_wave, pack_metadata(wrong_wave), {f"{d}.level": "3" for d in model.dimension_ids})
    from dqm.store import ingest_files

    results = ingest_files([folder], wave=2026, store=tmp_path / "s.duckdb", model=model)
    assert [(r.file, r.stored, r.rejected) for r in results] == [("BST.xlsx", 1, 0), ("LDS.xlsx", 0, 1), ("MAN.xlsx", 1, 0)]
    assert results[1].reasons == {"wave mismatch": 1}  # quarantined with its reason, like any export row
    other = _variant(tmp_path, version="9.9")
    old = write_pack(tmp_path / "old.xlsx", other, 2026, council="BST")
    with pytest.raises(IngestError, match=r"made for the quality model lg-dqm version 9\.9.*model in use is lg-dqm "
                       r"version " + model.version.replace(".", r"\.")):
        ingest_files([old], wave=2026, store=tmp_path / "s.duckdb", model=model)


# ---------------------------------------------------------------- action library and action plan
from dqm.documents.actions import load_actions, plan_rows  # noqa: E402
from dqm.errors import ModelError  # noqa: E402


def test_action_library_covers_the_model_and_names_broken_keys(tmp_path, model):
    lib = load_actions(model)
    assert lib.gaps == [] and len(lib.actions) >= 2 * 4 * len(model.dimension_ids)
    assert all(g["url"].startswith("https://") for gs in lib.actions["guidance"] for g in gs)
    raw = yaml.safe_load(open(lib.path, encoding="utf-8"))
    for mutate, key in [(lambda r: r["actions"]["culture"]["2-3"][0].pop("rationale"), "actions.culture.2-3[0].rationale"),
                        (lambda r: r["actions"]["data"].update({"5-6": __import__("copy").deepcopy(r["actions"]["data"]["1-2"])}), "actions.data.5-6"),
                        (lambda r: r["actions"]["skills"]["1-2"][0].update(guidance=["nowhere"]), "actions.skills.1-2[0].guidance"),
                        (lambda r: r.update(model="another-model"), "'model'")]:
        broken = yaml.safe_load(yaml.safe_dump(raw))
        mutate(broken)
        p = tmp_path / "actions.yaml"
        p.write_text(yaml.safe_dump(broken), encoding="utf-8")
        with pytest.raises(ModelError) as exc:
            load_actions(model, p)
        assert key in str(exc.value) and "actions.yaml" in str(exc.value)


def test_action_plan_suggests_the_steps_to_each_target(tmp_path, model, survey, capsys):
    over = {model.dimensions.set_index("id").loc["technology", "target_question"]: "3",
            model.dimensions.set_index("id").loc["leadership", "target_question"]: "2",
            model.dimensions.set_index("id").loc["data", "question"]: "Don't know"}
    path = survey.add(level="2 - Developing", target="3", overrides=over).googleforms(tmp_path / "g.csv")
    store = tmp_path / "s.duckdb"
    assert main(["ingest", str(path), "--wave", "2026", "--store", str(store)]) == 0
    data = load(store, 2026, model)
    lib = load_actions(model)
    rows = plan_rows("BST", 2026, data, model, lib)
    strategy = rows[rows["dimension"] == "Strategy"]
    assert list(strategy["suggested_action"]) == [a["action"] for a in lib.for_step("strategy", 2)]
    assert set(strategy["step"]) == {"2 Developing to 3 Impactful"} and (strategy["status"] == "Not started").all()
    assert list(rows.loc[rows["dimension"] == "Leadership", "suggested_action"]) == ["At or above the target: keep it there."]
    assert rows.loc[rows["dimension"] == "Data and insight", "suggested_action"].iloc[0].startswith("Not answered")
    out = tmp_path / "plan.xlsx"
    assert main(["action-plan", "BST", "--wave", "2026", "--store", str(store), "--out", str(out)]) == 0
    ws = load_workbook(out)["Action plan"]
    assert [c.value for c in ws[1]] == ["Dimension", "Current level", "Target level", "Step", "Suggested action", "Why",
                                        "Guidance", "Owner", "Due date", "Status"]
    assert ws.max_row == len(rows) + 1
    assert main(["action-plan", "MAN", "--wave", "2026", "--store", str(store), "--out", str(out)]) == 2
    assert "no self-assessment" in capsys.readouterr().err


# ---------------------------------------------------------------- handbook, and a changed model changes every document
from bs4 import BeautifulSoup  # noqa: E402

from dqm.documents.handbook import handbook_html, write_handbook  # noqa: E402


def _accessible(soup):
    """The reports' page checks: language, one h1, a contents list, headings in order, captioned tables."""
    assert soup.html["lang"] == "en-GB" and len(soup.find_all("h1")) == 1
    assert soup.find("nav", class_="dqm-contents") is not None and soup.find("a", class_="skip")
    levels = [int(h.name[1]) for h in soup.find_all(["h1", "h2", "h3", "h4"])]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:]))
    for table in soup.find_all("table"):
        assert table.find("caption").get_text(strip=True) and table.find("th", scope="col")


def test_handbook_is_accessible_and_escapes_the_model(tmp_path, model):
    html, pdf = write_handbook(tmp_path, model, pdf=True)
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    _accessible(soup)
    text = soup.get_text(" ")
    for d in model.dimensions.itertuples():
        section = soup.find(id=f"dim-{d.id.replace('_', '-')}").parent
        assert ("provisional" in section.get_text(" ")) == d.provisional
        for p in model.dimension_prompts(d.id):
            assert p in section.get_text(" ")
    assert all(desc in text for desc in model.descriptors["descriptor"])
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # a hostile model file reaches the page as text
    raw = yaml.safe_load(open(MODEL_FILE, encoding="utf-8"))
    raw["dimensions"][0]["name"] = "<script>alert(1)</script>"
    raw["dimensions"][0]["prompts"] = ['<img src=x onerror="alert(2)">']
    p = tmp_path / "hostile.yaml"
    p.write_text(yaml.safe_dump(raw), encoding="utf-8")
    page = handbook_html(load_model(p))
    assert "<script>alert" not in page and "<img src=x" not in page and "&lt;script&gt;alert(1)" in page


def test_a_changed_model_changes_every_document_together(tmp_path, model):
    changed = _variant(tmp_path, rename=True, rule="median", version="0.3-test")
    new_q = "Strategy and planning: which level best describes your council today?"
    extra = "Is the strategy published where residents can read it?"
    # questions
    assert new_q in list(survey_questions(changed)["question"]) and new_q not in list(survey_questions(model)["question"])
    # handbook
    page = handbook_html(changed)
    assert "Strategy and planning" in page and extra in page and "0.3-test" in page and "median" in page
    # pack and calculator
    path = write_pack(tmp_path / "p.xlsx", changed, 2026)
    meta = pack_metadata(path)
    wb = load_workbook(path)
    assert meta["model_version"] == "0.3-test" and "cell.strategy_and_planning.level" in meta
    row = int(meta["cell.strategy_and_planning.level"].split("!")[1][1:])
    assert wb["Assessment"].cell(row, 1).value == "Strategy and planning" and extra in wb["Assessment"].cell(row, 8).value
    assert "MEDIAN(" in wb["Calculator"][meta["cell.calc.overall_level"].split("!")[1]].value
    # the action library is checked against the changed model: the old id is named as the problem
    with pytest.raises(ModelError, match=r"actions\.strategy.*not a dimension of the model lg-dqm version 0\.3-test"):
        load_actions(changed)


@pytest.mark.slow
@pytest.mark.skipif(__import__("shutil").which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_computes_the_calculator_as_dqm_does(tmp_path, model):
    """A real spreadsheet program recalculates filled packs and gets dqm's overall level (slow; needs soffice)."""
    rng = np.random.default_rng(7)
    options = [f"{v} - {model.level_name(v)}" for v in model.level_values]
    expected, files = {}, []
    for k in range(12):
        p = write_pack(tmp_path / f"pack{k}.xlsx", model, 2026)
        levels = [None if rng.random() < 0.15 else int(rng.integers(1, 6)) for _ in model.dimension_ids]
        _fill(p, pack_metadata(p), {f"{d}.level": options[v - 1] if v else None for d, v in zip(model.dimension_ids, levels)})
        want = overall_level(pd.DataFrame([levels], columns=model.dimension_ids, dtype=float), model.overall_rule,
                             model.min_coverage).iloc[0]
        expected[p.stem], files = want, files + [str(p)]
    out = tmp_path / "out"
    subprocess.run(["soffice", "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), *files],
                   check=True, capture_output=True, timeout=300)
    for stem, want in expected.items():
        meta = pack_metadata(tmp_path / f"{stem}.xlsx")
        sheet, cell = meta["cell.calc.overall_level"].split("!")
        got = load_workbook(out / f"{stem}.xlsx", data_only=True)[sheet][cell].value
        assert (got in ("", None) and np.isnan(want)) or got == want, (stem, got, want)
