"""The assessment pack and calculator: an XLSX workbook generated from the model, and reading a
filled pack back as an ingest shape.

The workbook has four visible sheets and two hidden ones:

* ``Cover``: council, assessor role, assessor e-mail (optional, only used to recognise a
  resubmission and never stored), assessment type, assessment year, date, model id and version,
  and the steps of the assessment;
* ``Assessment``: one row per dimension with the level descriptors side by side, the points to
  consider, drop-down cells for the current and target level, and an evidence cell;
* ``Calculator``: spreadsheet formulas that turn the levels into the overall level by the model's
  rule (``overall.rule`` and ``overall.min_coverage``) and show each dimension's gap to its target;
* ``Guide``: the five levels and what they mean;
* ``Lists`` (hidden): the drop-down options; ``_dqm`` (very hidden): the pack format, model id and
  version and the address of every input cell, so that ingest reads the pack without guessing.

Every sheet is protected (no password: it prevents accidents, not determined editing); only the
input cells are unlocked.

>>> from dqm.model import load_model
>>> overall_formula("rounded_mean", "B5:B14", 8)
'IF(COUNT(B5:B14)>=8,INT(AVERAGE(B5:B14)+0.5),"")'
"""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties

from ..errors import DQMError, IngestError
from ..model import Model
from .questions import ASSESSMENT_TYPE_OPTIONS, DONT_KNOW, level_options

PACK_FORMAT = "dqm-assessment-pack"
PACK_FORMAT_VERSION = "1"
META_SHEET = "_dqm"
FIRST_ROW = 5  # first dimension row on the Assessment and Calculator sheets

_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # pale yellow: cells to fill in
_HEAD_FILL = PatternFill("solid", fgColor="D9D9D9")
_WRAP = Alignment(wrap_text=True, vertical="top")
_BOLD = Font(bold=True)


def overall_formula(rule: str, cells: str, min_coverage: int) -> str:
    """The spreadsheet formula for the model's overall rule over a range of numeric levels.

    ``INT(x + 0.5)`` rounds half up for positive x, as :func:`dqm.scoring.round_half_up` does; blank
    cells ("" from the level lookup) are ignored by COUNT, AVERAGE, MEDIAN, GEOMEAN and MIN alike.
    """
    body = {
        "rounded_mean": f"INT(AVERAGE({cells})+0.5)",
        "median": f"INT(MEDIAN({cells})+0.5)",
        "geometric_mean": f"INT(GEOMEAN({cells})+0.5)",
        "threshold": f"MIN({cells})",
    }.get(rule)
    if body is None:
        raise ValueError(f"no spreadsheet formula for the overall rule {rule!r}")
    return f'IF(COUNT({cells})>={min_coverage},{body},"")'


def _input(cell, fill=True):
    cell.protection = Protection(locked=False)
    if fill:
        cell.fill = _INPUT_FILL


def _list_validation(ws, source: str, prompt: str, strict: bool = True) -> DataValidation:
    dv = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=True,
                        showInputMessage=True, errorStyle="stop" if strict else "warning",
                        errorTitle="Choose from the list", error="Choose one of the options in the drop-down list.",
                        promptTitle="Choose from the list", prompt=prompt[:255])
    ws.add_data_validation(dv)
    return dv


def write_pack(path, model: Model, wave: int, council: str | None = None, assessment_type: str | None = None,
               today: dt.date | None = None) -> Path:
    """Write the assessment pack and calculator for the model to ``path`` (XLSX); returns the path.

    ``council`` is a local-authority-code: the pack is pre-filled with that council's name.
    """
    from ..cells import formula, put, xlsx_bytes
    from ..paths import output_file, write_atomic
    from ..reference import councils

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DQMError("the assessment pack is an Excel workbook; give an output file ending .xlsx.", file=path)
    output_file(path, "assessment pack", create=True)  # checked before the work
    ref = councils()
    council_name = None
    if council is not None:
        hit = ref[ref["local-authority-code"] == council]
        if hit.empty:
            from ..reference import match_council

            m = match_council(council)
            hint = f" Did you mean {m.code} ({m.name})?" if m.code else ""
            raise DQMError(f"{council!r} is not a council code (local-authority-code).{hint}")
        council_name = str(hit["official-name"].iloc[0]) if "official-name" in hit else str(hit["nice-name"].iloc[0])
    if assessment_type is not None and assessment_type not in ("self", "peer", "independent"):
        raise DQMError(f"assessment type {assessment_type!r} is not one of self, peer, independent.")

    dims = model.dimensions.reset_index(drop=True)
    n_levels = len(model.level_values)
    last = FIRST_ROW + len(dims) - 1
    wb = Workbook()
    cover = wb.active
    cover.title = "Cover"
    sheet = wb.create_sheet("Assessment")
    calc = wb.create_sheet("Calculator")
    guide = wb.create_sheet("Guide")
    lists = wb.create_sheet("Lists")
    meta = wb.create_sheet(META_SHEET)

    # Lists: drop-down options (A levels, B assessment types, C council names)
    options = level_options(model) + [DONT_KNOW]
    for i, o in enumerate(options, 1):
        put(lists.cell(i, 1), o)
    for i, o in enumerate(ASSESSMENT_TYPE_OPTIONS, 1):
        put(lists.cell(i, 2), o)
    names = sorted(set(ref.loc[ref["principal"], "nice-name"].astype(str)))
    for i, o in enumerate(names, 1):
        put(lists.cell(i, 3), o)
    level_range = f"Lists!$A$1:$A${n_levels}"  # levels only: "Don't know" does not match, so counts as blank
    lists.sheet_state = "hidden"

    # Cover
    cover.column_dimensions["A"].width = 34
    cover.column_dimensions["B"].width = 60
    put(cover["A1"], f"Digital Quality Model: assessment pack, {wave}")
    cover["A1"].font = Font(bold=True, size=16)
    put(cover["A2"], "Fill in the yellow cells here and on the Assessment sheet. The Calculator sheet works out the rest.")
    fields = [
        ("council", "Council", council_name or "", council is None),
        ("respondent_role", "Assessor's role (job title)", "", True),
        ("email", "Assessor's e-mail (optional)", "", True),
        ("assessment_type", "Assessment type",
         assessment_type.capitalize() if assessment_type else "", assessment_type is None),
        ("wave", "Assessment year", wave, False),
        ("submitted_at", "Date of assessment", today, True),
        ("model_id", "Quality model", model.id, False),
        ("model_version", "Model version", model.version, False),
    ]
    addresses = {}
    notes = {"council": "The council's name, or choose it from the list.",
             "email": "Only used to recognise a resubmission of this pack; never stored.",
             "assessment_type": "Self, peer or independent.", "submitted_at": "For example 10/03/2026.",
             "model_version": "Filled packs are read only with this version of the model."}
    cover.column_dimensions["C"].width = 64
    for r, (key, label, value, editable) in enumerate(fields, start=4):
        put(cover.cell(r, 1), label).font = _BOLD
        put(cover.cell(r, 3), notes.get(key)).alignment = _WRAP
        c = put(cover.cell(r, 2), value if value != "" else None)
        if editable:
            _input(c)
        addresses[key] = f"Cover!B{r}"
    cover_rows = {k: int(a.split("B")[1]) for k, a in addresses.items()}
    cover[f"B{cover_rows['submitted_at']}"].number_format = "d mmmm yyyy"
    if council is None:
        _list_validation(cover, f"Lists!$C$1:$C${len(names)}", "Choose or type the council's name.",
                         strict=False).add(f"B{cover_rows['council']}")
    if assessment_type is None:
        _list_validation(cover, "Lists!$B$1:$B$3", "Self, peer or independent.").add(f"B{cover_rows['assessment_type']}")
    dv = DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2100,12,31)",
                        allow_blank=True, showErrorMessage=True, error="Enter a date, for example 10/03/2026.")
    cover.add_data_validation(dv)
    dv.add(f"B{cover_rows['submitted_at']}")
    steps = [
        "How to use this pack",
        "1. Understand your context: read the Guide sheet and the handbook (dqm handbook).",
        "2. On the Assessment sheet, choose for each dimension the level whose description fits best, and record "
        "the evidence for it. Use the points to consider. \"Don't know\" is fine: it counts as not answered.",
        "3. The Calculator sheet shows your overall level, worked out by the model's rule: "
        f"{model.describe_overall_rule()}; at least {model.min_coverage} of {len(dims)} dimensions must be answered.",
        "4. Choose a target level for each dimension; the Calculator shows the gap to each target.",
        "5. Plan actions to reach the targets (dqm action-plan makes a pre-filled plan from the action library).",
        "Return the filled workbook as it is: it is read straight into the assessment store.",
    ]
    start = max(cover_rows.values()) + 2
    for i, s in enumerate(steps):
        c = put(cover.cell(start + i, 1), s)
        cover.merge_cells(start_row=start + i, start_column=1, end_row=start + i, end_column=3)
        c.alignment = _WRAP
        c.font = _BOLD if i == 0 else Font()
        cover.row_dimensions[start + i].height = 15 if i == 0 else 32

    # Assessment: one row per dimension, the descriptors side by side
    level_cols = list(range(3, 3 + n_levels))
    c_prompts, c_level, c_target, c_evidence = 3 + n_levels, 4 + n_levels, 5 + n_levels, 6 + n_levels
    put(sheet["A1"], "Assessment: choose a level and a target for each dimension, and record the evidence")
    sheet["A1"].font = Font(bold=True, size=14)
    put(sheet["A2"], "Each row is a dimension; the columns describe what each level looks like. Provisional "
                     "dimensions are placeholders until the model publishes them.")
    heads = ["Dimension", "Group"] + [f"{v} {model.level_name(v)}" for v in model.level_values] + [
        "Points to consider", "Current level", "Target level", "Evidence"]
    for j, h in enumerate(heads, 1):
        c = put(sheet.cell(FIRST_ROW - 1, j), h)
        c.font, c.fill, c.alignment = _BOLD, _HEAD_FILL, _WRAP
    widths = [22, 13] + [30] * n_levels + [40, 18, 18, 50]
    for j, w in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(j)].width = w
    desc = model.descriptors.set_index(["dimension_id", "level"])["descriptor"]
    level_dv = _list_validation(sheet, level_range, "Choose the level that fits best.")
    current_dv = _list_validation(sheet, f"Lists!$A$1:$A${n_levels + 1}",
                                  "Choose the level that fits best, or Don't know.")
    for i, d in dims.iterrows():
        r = FIRST_ROW + i
        put(sheet.cell(r, 1), d["name"] + (" (provisional)" if d["provisional"] else "")).font = _BOLD
        put(sheet.cell(r, 2), d["group"])
        for v, j in zip(model.level_values, level_cols):
            put(sheet.cell(r, j), desc[(d["id"], v)])
        put(sheet.cell(r, c_prompts), "\n".join(f"• {p}" for p in model.dimension_prompts(d["id"])))
        for j in range(1, c_evidence + 1):
            sheet.cell(r, j).alignment = _WRAP
        for j, key in ((c_level, "level"), (c_target, "target"), (c_evidence, "evidence")):
            _input(sheet.cell(r, j))
            addresses[f"{d['id']}.{key}"] = f"Assessment!{get_column_letter(j)}{r}"
        current_dv.add(sheet.cell(r, c_level))
        level_dv.add(sheet.cell(r, c_target))
        sheet.row_dimensions[r].height = 120
    sheet.freeze_panes = sheet.cell(FIRST_ROW, 3)
    sheet.page_setup.orientation = "landscape"
    sheet.print_title_rows = f"{FIRST_ROW - 1}:{FIRST_ROW - 1}"

    # Calculator: formulas only
    put(calc["A1"], "Calculator: your overall level and the gaps to your targets")
    calc["A1"].font = Font(bold=True, size=14)
    put(calc["A2"], f"Worked out from the Assessment sheet by the model's rule: {model.describe_overall_rule()}.")
    for j, h in enumerate(["Dimension", "Current level", "Target level", "Gap to target (levels)"], 1):
        c = put(calc.cell(FIRST_ROW - 1, j), h)
        c.font, c.fill, c.alignment = _BOLD, _HEAD_FILL, _WRAP
    calc.row_dimensions[FIRST_ROW - 1].height = sheet.row_dimensions[FIRST_ROW - 1].height = 32  # wrapped headers
    for j, w in enumerate([34, 16, 16, 16, 60], 1):
        calc.column_dimensions[get_column_letter(j)].width = w
    lvl, tgt = get_column_letter(c_level), get_column_letter(c_target)
    for i, d in dims.iterrows():
        r = FIRST_ROW + i
        put(calc.cell(r, 1), d["name"])
        formula(calc.cell(r, 2), f'=IFERROR(MATCH(Assessment!${lvl}${r},{level_range},0),"")')
        formula(calc.cell(r, 3), f'=IFERROR(MATCH(Assessment!${tgt}${r},{level_range},0),"")')
        formula(calc.cell(r, 4), f'=IF(AND(ISNUMBER(B{r}),ISNUMBER(C{r})),C{r}-B{r},"")')
    s = last + 2
    summary = [
        ("answered", "Dimensions answered", f"=COUNT(B{FIRST_ROW}:B{last})", None),
        ("overall_level", "Overall level", "=" + overall_formula(model.overall_rule, f"B{FIRST_ROW}:B{last}",
                                                                 model.min_coverage), None),
        ("overall_name", "Overall level, by name", f'=IF(ISNUMBER(B{s + 1}),INDEX({level_range},B{s + 1}),'
                                                   f'"Not enough dimensions answered (at least {model.min_coverage})")', None),
        ("overall_mean", "Mean of the dimension levels",
         f'=IF(COUNT(B{FIRST_ROW}:B{last})>={model.min_coverage},AVERAGE(B{FIRST_ROW}:B{last}),"")', "0.0"),
        ("target_answered", "Targets set", f"=COUNT(C{FIRST_ROW}:C{last})", None),
        ("overall_target", "Overall target level", "=" + overall_formula(model.overall_rule, f"C{FIRST_ROW}:C{last}",
                                                                        model.min_coverage), None),
        ("overall_gap", "Overall gap to target (levels)",
         f'=IF(AND(ISNUMBER(B{s + 1}),ISNUMBER(B{s + 5})),B{s + 5}-B{s + 1},"")', None),
    ]
    for k, (key, label, text, fmt) in enumerate(summary):
        put(calc.cell(s + k, 1), label).font = _BOLD
        c = formula(calc.cell(s + k, 2), text)  # dqm's own calculator: live formulas
        c.font = _BOLD
        if fmt:
            c.number_format = fmt
        addresses[f"calc.{key}"] = f"Calculator!B{s + k}"
    put(calc.cell(s + len(summary) + 1, 1), f"Rule: {model.describe_overall_rule()}; no overall level with fewer "
        f"than {model.min_coverage} dimensions answered. \"Don't know\" and blank count as not answered.")

    # Guide: the levels
    put(guide["A1"], "The five levels")
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 8
    guide.column_dimensions["B"].width = 18
    guide.column_dimensions["C"].width = 90
    for j, h in enumerate(["Level", "Name", "What it means"], 1):
        put(guide.cell(3, j), h).font = _BOLD
    for i, lv in enumerate(model.levels.itertuples(), start=4):
        put(guide.cell(i, 1), lv.value)
        put(guide.cell(i, 2), lv.name)
        put(guide.cell(i, 3), lv.description).alignment = _WRAP
    put(guide.cell(4 + n_levels + 1, 1), f"Model: {model.id} version {model.version}.")

    # hidden metadata: format, model and where every input is
    rows = [("format", PACK_FORMAT), ("format_version", PACK_FORMAT_VERSION), ("model_id", model.id),
            ("model_version", model.version), ("wave", str(wave)),
            *sorted((f"cell.{k}", v) for k, v in addresses.items())]
    for i, (k, v) in enumerate(rows, 1):
        put(meta.cell(i, 1), k)
        put(meta.cell(i, 2), v)
    meta.sheet_state = "veryHidden"

    for ws in wb.worksheets:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)  # print each sheet one page wide
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.protection.sheet = True
        ws.protection.formatCells = False  # people may resize rows and columns to read long text
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
    wb.active = 0
    return write_atomic(path, xlsx_bytes(wb), "assessment pack")


# ---------------------------------------------------------------- reading a filled pack
READABLE_FORMAT_VERSIONS = ("1",)  # the pack layouts this dqm reads (the one write_pack makes is PACK_FORMAT_VERSION)
PACK_TITLE = "Digital Quality Model: assessment pack"  # the start of the Cover's title, as write_pack writes it
REMAKE_HINT = "Make a new pack with `dqm pack` and copy the answers across."
# The cells ingest reads, with the label write_pack puts beside each (format version 1). A Cover value is in
# column B, its label in column A of the same row; a dimension's answers are on the row whose column A names
# the dimension, in the column with this heading (on row FIRST_ROW - 1). The _dqm address of each must land on
# the cell so labelled: the pack is read as the council sees it, never from a cell the Cover does not label.
COVER_LABELS = {"council": "Council", "respondent_role": "Assessor's role (job title)",
                "email": "Assessor's e-mail (optional)", "assessment_type": "Assessment type",
                "wave": "Assessment year", "submitted_at": "Date of assessment"}
COVER_WRITTEN = (*COVER_LABELS, "model_id", "model_version")  # every Cover key write_pack records in _dqm
COVER_VALUE_COLUMN = "B"
PACK_SHEETS = ("Cover", "Assessment", "Calculator")  # the sheets _dqm points into
ANSWER_HEADINGS = {"level": "Current level", "target": "Target level", "evidence": "Evidence"}
_CELL = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})")
_MAX_ROW, _MAX_COLUMN = 1_048_576, 16_384  # the largest sheet Excel allows (XFD1048576)


@dataclass(frozen=True)
class PackLayout:
    """A pack's hidden ``_dqm`` sheet, checked: its format version, model and the cell of every input dqm reads."""

    format_version: str
    model_id: str
    model_version: str
    cells: dict  # key ("council", "leadership.level", "calc.overall_level", ...) -> (sheet name, "B4")


def _meta_rows(ws) -> list[tuple[int, str, str]]:
    """The ``_dqm`` sheet as (row number, key, value) for every row with a key; values as text."""
    return [(i, str(r[0]), "" if len(r) < 2 or r[1] is None else str(r[1]))
            for i, r in enumerate(ws.iter_rows(max_col=2, values_only=True), 1) if r and r[0] is not None]


def _looks_like_pack(wb) -> bool:
    """Whether a workbook was made by `dqm pack`: it has a _dqm sheet, or a Cover titled as write_pack titles it."""
    if META_SHEET in wb.sheetnames:
        return True
    if "Cover" not in wb.sheetnames:
        return False
    first = next(wb["Cover"].iter_rows(min_row=1, max_row=1, max_col=1, values_only=True), (None,))
    return bool(first) and str(first[0] or "").startswith(PACK_TITLE)


def _checked_bytes(path) -> io.BytesIO:
    """The workbook's bytes, read only from a regular file within the size limit and refused if a zip bomb."""
    from ..limits import check_zip, read_file

    data = read_file(path, "file", IngestError, hint="Give the path of a filled assessment pack (.xlsx).",
                     size_hint="Check it is a filled assessment pack; if it is, raise the limit with --max-file-mb.")
    check_zip(data, path, "workbook", IngestError)
    return io.BytesIO(data)


def pack_metadata(path, data: bytes | None = None) -> dict | None:
    """The pack's hidden metadata (format, model, cell addresses), or None if the workbook is not a pack.

    ``data`` is the file's bytes when the caller has read and checked them (:func:`dqm.ingest.read_export`);
    otherwise the file is read here, only if it is a regular file within the limits and not a zip bomb.
    A workbook made by `dqm pack` whose hidden ``_dqm`` sheet is gone, or no longer says it is a pack, is
    refused (IngestError) rather than read as a survey export.
    """
    source = io.BytesIO(data) if data is not None else _checked_bytes(path)
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception:
        return None
    try:
        if not _looks_like_pack(wb):
            return None
        if META_SHEET not in wb.sheetnames:
            raise IngestError(f"this workbook is a DQM assessment pack (its Cover says {PACK_TITLE!r}) but its hidden "
                              f"{META_SHEET} sheet, which says where every answer is, is missing; it is not read.",
                              file=path, hint=REMAKE_HINT)
        meta = {k: v for _, k, v in _meta_rows(wb[META_SHEET])}
        if meta.get("format") != PACK_FORMAT:
            raise IngestError(f"the pack's hidden {META_SHEET} sheet is damaged: its format is {meta.get('format')!r}, "
                              f"not {PACK_FORMAT!r}; it is not read.", file=path, hint=REMAKE_HINT)
        return meta
    finally:
        wb.close()


def _expected_sheet(key: str, model: Model) -> str | None:
    """The sheet a ``cell.`` key of ``_dqm`` belongs on (Cover, Assessment or Calculator), or None if unknown."""
    if key in COVER_WRITTEN:
        return "Cover"
    if key.startswith("calc."):
        return "Calculator"
    dimension, _, part = key.rpartition(".")
    return "Assessment" if dimension in model.dimension_ids and part in ANSWER_HEADINGS else None


def _address_problem(wb, address: str, sheet_wanted: str) -> tuple[str | None, tuple[str, str] | None]:
    """Check one ``_dqm`` address: one cell ``Sheet!A1``, on an existing sheet of the right kind, inside the sheet.

    Returns (problem, None) or (None, (sheet, coordinate)).
    """
    if "!" not in address:
        return f"points to {address!r}, which is not a cell address of the form {sheet_wanted}!B4", None
    sheet, _, cell = address.rpartition("!")
    sheet = sheet.strip("'")
    if sheet not in wb.sheetnames:
        return f"points to {address!r}, but the workbook has no sheet {sheet!r}", None
    if sheet != sheet_wanted:
        return f"points to {address!r}, on the {sheet} sheet; it belongs on the {sheet_wanted} sheet", None
    if ":" in cell:
        return f"points to {address!r}, a range, not one cell", None
    m = _CELL.fullmatch(cell.strip().upper())
    if not m:
        return f"points to {address!r}, which is not a cell reference", None
    column, row = column_index_from_string(m[1]), int(m[2])
    if not (1 <= row <= _MAX_ROW and 1 <= column <= _MAX_COLUMN):
        return f"points to {address!r}, which is not a cell reference (no such row or column)", None
    ws = wb[sheet]
    if row > ws.max_row or column > ws.max_column:
        return (f"points to {address!r}, outside the cells the {sheet} sheet uses "
                f"(A1:{get_column_letter(ws.max_column)}{ws.max_row})"), None
    return None, (sheet, f"{m[1]}{row}")


def _label_problem(wb, key: str, sheet: str, cell: str, model: Model) -> str | None:
    """Check that a cell ingest reads is the one the pack labels for ``key`` (see COVER_LABELS, ANSWER_HEADINGS)."""
    ws = wb[sheet]
    column, row = coordinate_from_string(cell)

    def text(r, c):
        v = ws.cell(r, c).value
        return "" if v is None else str(v)

    if key in COVER_LABELS:
        label, wanted = text(row, 1), COVER_LABELS[key]
        rows = [r for r in range(1, ws.max_row + 1) if text(r, 1) == wanted]
        if len(rows) > 1:  # a second (perhaps hidden) row with the same label must not choose what is stored
            return (f"points to '{sheet}!{cell}', but the Cover labels {len(rows)} rows {wanted!r} (rows "
                    f"{', '.join(map(str, rows))}); a pack has one, so it is refused")
        if column == COVER_VALUE_COLUMN and label == wanted:
            return None
        labelled = rows[0] if rows else None
        actual = (f"the Cover's {wanted!r} cell is {COVER_VALUE_COLUMN}{labelled} (holding "
                  f"{text(labelled, 2)!r})" if labelled else f"the Cover has no {wanted!r} label")
        return (f"points to '{sheet}!{cell}' (holding {text(row, column_index_from_string(column))!r}, beside "
                f"{label!r}), but {actual}; the pack is refused, so that nothing is stored from a cell the Cover "
                f"does not label {wanted!r}")
    dimension, _, part = key.rpartition(".")
    if part not in ANSWER_HEADINGS or dimension not in model.dimension_ids:
        return None  # Calculator cells are not read
    name = model.dimension_name(dimension)
    named = [r for r in range(FIRST_ROW, ws.max_row + 1) if text(r, 1).removesuffix(" (provisional)") == name]
    if len(named) > 1:
        return (f"points to '{sheet}!{cell}', but the sheet has {len(named)} rows named {name!r} (rows "
                f"{', '.join(map(str, named))}); a pack has one, so it is refused")
    on_row = text(row, 1).removesuffix(" (provisional)")
    heading = text(FIRST_ROW - 1, column_index_from_string(column))
    if on_row != name or heading != ANSWER_HEADINGS[part]:
        return (f"points to '{sheet}!{cell}', on the row of {on_row!r} under {heading!r}, not the row of {name!r} "
                f"under {ANSWER_HEADINGS[part]!r}; the pack is not read, so that no answer is stored for the wrong "
                "dimension")
    return None


def pack_layout(path, wb, model: Model) -> PackLayout:
    """Parse and check a pack's hidden ``_dqm`` sheet in an open workbook (``load_workbook(path, data_only=True)``).

    Refused, with an IngestError naming the file, the ``_dqm`` key and row and what to do: an unknown or missing
    format version; a pack made for another model id or version; a key ingest reads that is missing, repeated or
    unknown; an address that is not one cell ``Sheet!A1`` on an existing sheet of the right kind (Cover values on
    the Cover, answers on the Assessment, results on the Calculator) inside that sheet's cells; a cell ingest reads
    that is not the one the pack labels for it (the council beside "Council" on the Cover, a dimension's answers on
    its row under their heading). Every problem found is counted in the one message.
    """
    if META_SHEET not in wb.sheetnames:
        raise IngestError(f"this workbook has no hidden {META_SHEET} sheet, so it is not a DQM assessment pack.",
                          file=path, hint=REMAKE_HINT)
    rows = _meta_rows(wb[META_SHEET])
    meta = {k: v for _, k, v in rows}
    version = meta.get("format_version")
    if version is None:
        raise IngestError(f"the pack's hidden {META_SHEET} sheet is damaged: it has no format_version.", file=path,
                          hint=REMAKE_HINT)
    if version not in READABLE_FORMAT_VERSIONS:
        raise IngestError(f"this pack has format version {version!r} ({META_SHEET} format_version); this dqm reads "
                          f"version {', '.join(READABLE_FORMAT_VERSIONS)}.", file=path,
                          hint="Make a new pack with this dqm's `dqm pack` and copy the answers across.")
    if (meta.get("model_id"), meta.get("model_version")) != (model.id, model.version):
        raise IngestError(
            f"this pack was made for the quality model {meta.get('model_id')} version {meta.get('model_version')}, "
            f"but the model in use is {model.id} version {model.version}; its dimensions, descriptors or levels may "
            "differ, so it is not read.", file=path,
            hint="Ingest it with the model it was made for (--model FILE), or copy its answers into a pack made by "
                 "`dqm pack` for the current model.")
    missing = [name for name in PACK_SHEETS if name not in wb.sheetnames]
    if missing:
        sheets = f"{' and '.join(missing)} sheet{'s are' if len(missing) > 1 else ' is'}"
        raise IngestError(f"the pack is damaged: its {sheets} missing, so its answers cannot be read.", file=path,
                          hint=REMAKE_HINT)
    problems, cells, seen = [], {}, {}  # seen: key -> its row in _dqm

    def where(key):
        return f"cell.{key} ({META_SHEET}!B{seen[key]})"

    for number, k, address in rows:
        if not k.startswith("cell."):
            continue
        key = k.removeprefix("cell.")
        if key in seen:
            problems.append((key, f"cell.{key} appears twice ({META_SHEET} rows {seen[key]} and {number})"))
            continue
        seen[key] = number
        sheet_wanted = _expected_sheet(key, model)
        if sheet_wanted is None:
            problems.append((key, f"{where(key)} is not a cell this pack format has"))
            continue
        problem, found = _address_problem(wb, address.strip(), sheet_wanted)
        problem = problem or _label_problem(wb, key, *found, model)
        if problem:
            problems.append((key, f"{where(key)} {problem}"))
        else:
            cells[key] = found
    required = [*COVER_LABELS, *(f"{d}.{part}" for d in model.dimension_ids for part in ANSWER_HEADINGS)]
    problems += [(key, f"it has no cell.{key}") for key in required if key not in seen]
    if problems:
        order = {key: i for i, key in enumerate(required)}  # the council first, then as ingest reads them
        problems.sort(key=lambda p: order.get(p[0], len(order)))
        n = len(problems) - 1
        more = f" ({n} more problem{'s' if n > 1 else ''} in it too)" if n else ""
        raise IngestError(f"the pack's hidden {META_SHEET} sheet is damaged: {problems[0][1]}{more}.", file=path,
                          hint=REMAKE_HINT)
    return PackLayout(version, model.id, model.version, cells)


def _header_and_row(layout: PackLayout, wb, model: Model) -> tuple[list[str], list[str]]:
    """The pack's one response as a header and a row of text, read from the cells ``layout`` has checked."""
    from ..rawexport import cell_text as _cell_text

    def value(key):
        sheet, cell = layout.cells[key]
        return _cell_text(wb[sheet][cell].value)

    header, row = [], []
    for key, label in (("council", "council"), ("respondent_role", "role"), ("email", "email"),
                       ("assessment_type", "assessment type"), ("wave", "wave"), ("submitted_at", "submitted at")):
        header.append(label)
        row.append(value(key))
    for d in model.dimension_ids:
        for key, label in (("level", d), ("target", f"{d}_target"), ("evidence", f"{d}_evidence")):
            header.append(label)
            row.append(value(f"{d}.{key}"))
    return header, row


def read_pack(path, sha256: str, model: Model, meta: dict | None = None):
    """A filled pack as a one-row export (shape ``pack``) for :func:`dqm.ingest.parse_export`.

    The hidden ``_dqm`` sheet is checked first (:func:`pack_layout`): a pack made for another model id or version
    (its questions and levels may differ), of an unknown format version or with a damaged ``_dqm`` is refused.
    """
    from ..rawexport import RawExport

    path = Path(path)
    _checked_bytes(path)  # a regular file within the limits, and no zip bomb, before openpyxl opens it below
    meta = meta or pack_metadata(path)
    if meta is None:
        raise IngestError("this workbook is not a DQM assessment pack.", file=path,
                          hint="Make one with `dqm pack`, or ingest the file without --shape pack.")
    try:
        wb = load_workbook(path, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged workbook
        raise IngestError(f"the pack cannot be opened as a workbook ({type(exc).__name__}: {exc}).", file=path,
                          hint=REMAKE_HINT) from None
    try:
        layout = pack_layout(path, wb, model)
        header, row = _header_and_row(layout, wb, model)
    finally:
        wb.close()
    return RawExport(path, sha256, "xlsx", None, None, "Assessment", [header], [row], [FIRST_ROW], 0)


def expand_folders(paths) -> list[Path]:
    """Files as given; a folder stands for the XLSX and CSV files in it (Excel lock files ``~$...`` skipped)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in (".xlsx", ".csv") and not f.name.startswith(("~$", ".")))
            if not found:
                raise IngestError("the folder holds no .xlsx or .csv files.", file=p)
            out += found
        else:
            out.append(p)
    return out
