"""Damaged assessment packs: every one is refused with a clear message naming the key, and nothing is stored.

One row per case: (id, damage, expected message fragments). A case makes a real pack with ``write_pack``,
fills it as a council would (levels, a role), damages it with openpyxl as a careless or hostile editor could
(the very hidden ``_dqm`` sheet says where every answer is) and ingests it twice: with
``dqm.store.ingest_files`` into a new store, which must raise an IngestError and leave the store's ingests,
submissions, answers and rejects tables empty; and with the CLI, which must print one line, no traceback and
never "unexpected error".

The evidence table case of issue 17 item 9 (a long evidence cell squeezed the Dimension and Role columns of
the council PDF to 2 or 3 letters a line) is at the end.
"""
from __future__ import annotations

import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from dqm.cli import main
from dqm.documents.pack import pack_metadata, write_pack
from dqm.errors import IngestError
from dqm.store import connect, ingest_files

WAVE = 2026
COUNCIL = "BST"  # the pack is made for Bristol: its Cover names "Bristol City Council" in B4


def _fill(path, model):
    """Fill a fresh pack as a council would: a level for every dimension, the assessor's role, some evidence."""
    meta = pack_metadata(path)
    wb = load_workbook(path)

    def put(key, value):
        sheet, cell = meta[f"cell.{key}"].split("!")
        wb[sheet][cell] = value

    put("respondent_role", "Head of Digital")
    for d in model.dimension_ids:
        put(f"{d}.level", "3 - Impactful")
        put(f"{d}.evidence", f"Board minutes for {d}")
    return wb


def _meta_row(wb, key):
    """The row of the _dqm sheet that holds ``key``."""
    ws = wb["_dqm"]
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == key)


def _set(key, value):
    """Damage: set a _dqm entry's value (its address, or the format version)."""
    def damage(wb, meta):
        wb["_dqm"].cell(_meta_row(wb, key), 2).value = value
    return damage


def _drop(key):
    """Damage: delete a _dqm entry."""
    def damage(wb, meta):
        wb["_dqm"].delete_rows(_meta_row(wb, key))
    return damage


def _add(key, value):
    """Damage: add a _dqm entry (a repeated or unknown key)."""
    def damage(wb, meta):
        ws = wb["_dqm"]
        ws.cell(ws.max_row + 1, 1, key)
        ws.cell(ws.max_row, 2, value)
    return damage


def _repoint_council(wb, meta):
    """Damage: another council's name typed in the e-mail cell, and cell.council pointed at it."""
    wb["Cover"]["B6"] = "Leeds City Council"
    _set("cell.council", "Cover!B6")(wb, meta)


def _second_council_row(wb, meta):
    """Damage (red-team): a hidden Cover row 60 labelled "Council" naming another council, and _dqm pointed there;
    the Cover as the council sees it still names Bristol in B4."""
    cover = wb["Cover"]
    cover["A60"], cover["B60"] = "Council", "Manchester City Council"
    cover.row_dimensions[60].hidden = True
    _set("cell.council", "Cover!B60")(wb, meta)


def _swap_answers(wb, meta):
    """Damage: Leadership's level read from Strategy's row."""
    _set("cell.leadership.level", meta["cell.strategy.level"])(wb, meta)


def _level_from_target(wb, meta):
    """Damage: Leadership's level read from its target column."""
    _set("cell.leadership.level", meta["cell.leadership.target"])(wb, meta)


def _remove(sheet):
    def damage(wb, meta):
        wb.remove(wb[sheet])
    return damage


CASES = [
    pytest.param(_set("cell.council", "CoverB4"), ["cell.council", "'CoverB4'", "not a cell address"], id="no-bang"),
    pytest.param(_set("cell.council", "Nope!B4"), ["cell.council", "no sheet 'Nope'"], id="missing-sheet"),
    pytest.param(_set("cell.council", "Cover!A1:B2"), ["cell.council", "'Cover!A1:B2'", "a range"], id="range"),
    pytest.param(_set("cell.council", "Cover!ZZZ0"), ["cell.council", "'Cover!ZZZ0'", "not a cell reference"],
                 id="bad-reference"),
    pytest.param(_set("cell.council", "Cover!B4!"), ["cell.council", "no sheet 'Cover!B4'"], id="trailing-bang"),
    pytest.param(_set("cell.council", "Cover!B999"), ["cell.council", "outside the cells the Cover sheet uses"],
                 id="outside-the-sheet"),
    pytest.param(_set("cell.council", ""), ["cell.council", "not a cell address"], id="empty-address"),
    pytest.param(_drop("cell.council"), ["no cell.council"], id="missing-council-key"),
    pytest.param(_repoint_council, ["cell.council", "'Cover!B6'", "Leeds City Council", "B4", "Bristol"],
                 id="council-repointed-to-another-council"),
    pytest.param(_second_council_row, ["cell.council", "'Cover!B60'", "labels 2 rows 'Council'", "rows 4, 60"],
                 id="a-second-council-label"),
    pytest.param(_set("cell.council", "Cover!C4"), ["cell.council", "'Cover!C4'", "'Council' cell is B4"],
                 id="council-repointed-to-the-note"),
    pytest.param(_set("cell.council", "Assessment!B5"), ["cell.council", "belongs on the Cover sheet"],
                 id="council-on-another-sheet"),
    pytest.param(_set("cell.leadership.level", "Cover!B4"), ["cell.leadership.level", "belongs on the Assessment"],
                 id="answer-on-the-cover"),
    pytest.param(_swap_answers, ["cell.leadership.level", "row of 'Strategy'", "row of 'Leadership'"],
                 id="answer-from-another-dimension"),
    pytest.param(_level_from_target, ["cell.leadership.level", "under 'Target level'"], id="level-from-target-column"),
    pytest.param(_drop("cell.leadership.evidence"), ["no cell.leadership.evidence"], id="missing-answer-key"),
    pytest.param(_set("cell.calc.overall_level", "Calculator!B1:B9"), ["cell.calc.overall_level", "a range"],
                 id="calculator-range"),
    pytest.param(_add("cell.council", "Cover!B5"), ["cell.council appears twice"], id="repeated-key"),
    pytest.param(_add("cell.bogus", "Cover!B4"), ["cell.bogus", "not a cell this pack format has"], id="unknown-key"),
    pytest.param(_set("format_version", "7"), ["format_version", "'7'", "reads version 1"], id="unknown-version"),
    pytest.param(_drop("format_version"), ["no format_version"], id="missing-version"),
    pytest.param(_set("format", "something-else"), ["_dqm", "format", "'something-else'"], id="wrong-format"),
    pytest.param(_remove("_dqm"), ["_dqm sheet", "missing"], id="dqm-sheet-deleted"),
    pytest.param(_remove("Cover"), ["Cover sheet is missing"], id="cover-deleted"),
    pytest.param(_remove("Assessment"), ["Assessment sheet is missing"], id="assessment-deleted"),
]


def _counts(store) -> dict:
    con = connect(store, read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("ingests", "submissions", "answers", "rejects")}
    finally:
        con.close()


def _pack(tmp_path, model, damage=None):
    path = write_pack(tmp_path / "bristol.xlsx", model, WAVE, council=COUNCIL)
    meta = pack_metadata(path)
    wb = _fill(path, model)
    if damage:
        damage(wb, meta)
    wb.save(path)
    return path


@pytest.mark.parametrize("damage, fragments", CASES)
def test_a_damaged_pack_is_refused_and_nothing_is_stored(tmp_path, model, capsys, damage, fragments):
    path = _pack(tmp_path, model, damage)
    store = tmp_path / "s.duckdb"
    with pytest.raises(IngestError) as exc:
        ingest_files([path], wave=WAVE, store=store, model=model)
    message = str(exc.value)
    assert str(path) in message and "dqm pack" in message, message  # names the file and what to do
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert _counts(store) == {"ingests": 0, "submissions": 0, "answers": 0, "rejects": 0}
    cli_store = tmp_path / "cli.duckdb"
    code = main(["ingest", str(path), "--wave", str(WAVE), "--store", str(cli_store)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "unexpected error" not in err, err
    assert fragments[0] in err and len(err.strip().splitlines()) == 1, err
    assert _counts(cli_store)["submissions"] == 0


def test_an_intact_filled_pack_is_stored_for_the_council_its_cover_names(tmp_path, model):
    path = _pack(tmp_path, model)
    store = tmp_path / "s.duckdb"
    [res] = ingest_files([path], wave=WAVE, store=store, model=model)
    assert (res.shape, res.stored, res.rejected) == ("pack", 1, 0)
    con = connect(store, read_only=True)
    try:
        assert con.execute("SELECT council_code, respondent_role FROM submissions").fetchall() == [
            (COUNCIL, "Head of Digital")]
        assert con.execute("SELECT count(*) FROM answers WHERE level = 3").fetchall()[0][0] == len(model.dimension_ids)
    finally:
        con.close()


def test_a_workbook_that_is_not_a_pack_is_still_read_as_an_export(tmp_path, model, survey):
    """A survey export in XLSX (no _dqm sheet, no pack Cover) is not mistaken for a damaged pack."""
    path = survey.add().msforms(tmp_path / "forms.xlsx")
    assert pack_metadata(path) is None
    [res] = ingest_files([path], wave=WAVE, store=tmp_path / "s.duckdb", model=model)
    assert res.shape != "pack" and res.stored == 1


# ---------------------------------------------------------------- the evidence table in the council PDF
def test_a_long_evidence_cell_leaves_dimension_and_role_words_whole_in_the_pdf(model):
    """Issue 17 item 9: the evidence table's Dimension and Role columns keep whole words beside long evidence."""
    from pypdf import PdfReader

    from dqm.reports import plots
    from dqm.reports.html import TEMPLATE_DIR
    from dqm.reports.pdf import pdf_from_html

    names = list(model.dimensions["name"])
    long_text = "Board minutes and the digital strategy " * 25 + "x" * 800  # 1,800 characters with a long 'word'
    df = pd.DataFrame({"Dimension": names, "Respondent's role": ["Head of Digital Transformation"] * len(names),
                       "Evidence": [long_text if i % 3 == 0 else "Minutes" for i in range(len(names))]})
    css = (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")
    table = plots.html_table(df, "Evidence given by Bristol's respondents, 2026", css_class="dqm-evidence")
    page = (f'<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Evidence</title><style>{css}</style>'
            f"</head><body><main><h1>Evidence</h1>{table}</main></body></html>")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_from_html(page))).pages)
    words = set(text.split())
    wanted = {w for n in names for w in n.split()} | {"Head", "Digital", "Transformation", "Dimension", "Respondent's"}
    assert wanted <= words, sorted(wanted - words)


@pytest.mark.slow
def test_the_council_report_pdf_keeps_the_dimension_whole_beside_long_evidence(tmp_path, model, survey):
    """End to end: the council report notebook gives its evidence table the fixed layout (a kernel run; slow)."""
    from pypdf import PdfReader

    from dqm.reports.notebook import run_report

    survey.add(council="Bristol, City of", evidence="Board minutes and the digital strategy " * 25 + "x" * 700)
    store = tmp_path / "s.duckdb"
    ingest_files([survey.googleforms(tmp_path / "e.csv")], wave=WAVE, store=store, model=model)
    res = run_report("council", WAVE, store=store, out_dir=tmp_path / "out", council=COUNCIL, extra={"draws": 50},
                     pdf=True)
    assert 'class="dqm-table dqm-evidence"' in res.html.read_text(encoding="utf-8")
    text = "\n".join(p.extract_text() for p in PdfReader(res.pdf).pages)
    evidence = text[text.index("Evidence given by"):]
    words = set(evidence.split())
    assert {w for n in model.dimensions["name"] for w in n.split()} | {"Head", "Digital"} <= words
