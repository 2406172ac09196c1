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
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
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
    from ..reference import councils

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DQMError("the assessment pack is an Excel workbook; give an output file ending .xlsx.", file=path)
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
        lists.cell(i, 1, o)
    for i, o in enumerate(ASSESSMENT_TYPE_OPTIONS, 1):
        lists.cell(i, 2, o)
    names = sorted(set(ref.loc[ref["principal"], "nice-name"].astype(str)))
    for i, o in enumerate(names, 1):
        lists.cell(i, 3, o)
    level_range = f"Lists!$A$1:$A${n_levels}"  # levels only: "Don't know" does not match, so counts as blank
    lists.sheet_state = "hidden"

    # Cover
    cover.column_dimensions["A"].width = 34
    cover.column_dimensions["B"].width = 60
    cover["A1"] = f"Digital Quality Model: assessment pack, {wave}"
    cover["A1"].font = Font(bold=True, size=16)
    cover["A2"] = "Fill in the yellow cells here and on the Assessment sheet. The Calculator sheet works out the rest."
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
        cover.cell(r, 1, label).font = _BOLD
        cover.cell(r, 3, notes.get(key)).alignment = _WRAP
        c = cover.cell(r, 2, value if value != "" else None)
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
        c = cover.cell(start + i, 1, s)
        cover.merge_cells(start_row=start + i, start_column=1, end_row=start + i, end_column=3)
        c.alignment = _WRAP
        c.font = _BOLD if i == 0 else Font()
        cover.row_dimensions[start + i].height = 15 if i == 0 else 32

    # Assessment: one row per dimension, the descriptors side by side
    level_cols = list(range(3, 3 + n_levels))
    c_prompts, c_level, c_target, c_evidence = 3 + n_levels, 4 + n_levels, 5 + n_levels, 6 + n_levels
    sheet["A1"] = "Assessment: choose a level and a target for each dimension, and record the evidence"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = ("Each row is a dimension; the columns describe what each level looks like. Provisional "
                   "dimensions are placeholders until the model publishes them.")
    heads = ["Dimension", "Group"] + [f"{v} {model.level_name(v)}" for v in model.level_values] + [
        "Points to consider", "Current level", "Target level", "Evidence"]
    for j, h in enumerate(heads, 1):
        c = sheet.cell(FIRST_ROW - 1, j, h)
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
        sheet.cell(r, 1, d["name"] + (" (provisional)" if d["provisional"] else "")).font = _BOLD
        sheet.cell(r, 2, d["group"])
        for v, j in zip(model.level_values, level_cols):
            sheet.cell(r, j, desc[(d["id"], v)])
        sheet.cell(r, c_prompts, "\n".join(f"• {p}" for p in model.dimension_prompts(d["id"])))
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
    calc["A1"] = "Calculator: your overall level and the gaps to your targets"
    calc["A1"].font = Font(bold=True, size=14)
    calc["A2"] = f"Worked out from the Assessment sheet by the model's rule: {model.describe_overall_rule()}."
    for j, h in enumerate(["Dimension", "Current level", "Target level", "Gap to target (levels)"], 1):
        c = calc.cell(FIRST_ROW - 1, j, h)
        c.font, c.fill, c.alignment = _BOLD, _HEAD_FILL, _WRAP
    calc.row_dimensions[FIRST_ROW - 1].height = sheet.row_dimensions[FIRST_ROW - 1].height = 32  # wrapped headers
    for j, w in enumerate([34, 16, 16, 16, 60], 1):
        calc.column_dimensions[get_column_letter(j)].width = w
    lvl, tgt = get_column_letter(c_level), get_column_letter(c_target)
    for i, d in dims.iterrows():
        r = FIRST_ROW + i
        calc.cell(r, 1, d["name"])
        calc.cell(r, 2, f'=IFERROR(MATCH(Assessment!${lvl}${r},{level_range},0),"")')
        calc.cell(r, 3, f'=IFERROR(MATCH(Assessment!${tgt}${r},{level_range},0),"")')
        calc.cell(r, 4, f'=IF(AND(ISNUMBER(B{r}),ISNUMBER(C{r})),C{r}-B{r},"")')
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
    for k, (key, label, formula, fmt) in enumerate(summary):
        calc.cell(s + k, 1, label).font = _BOLD
        c = calc.cell(s + k, 2, formula)
        c.font = _BOLD
        if fmt:
            c.number_format = fmt
        addresses[f"calc.{key}"] = f"Calculator!B{s + k}"
    calc.cell(s + len(summary) + 1, 1, f"Rule: {model.describe_overall_rule()}; no overall level with fewer than "
              f"{model.min_coverage} dimensions answered. \"Don't know\" and blank count as not answered.")

    # Guide: the levels
    guide["A1"] = "The five levels"
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 8
    guide.column_dimensions["B"].width = 18
    guide.column_dimensions["C"].width = 90
    for j, h in enumerate(["Level", "Name", "What it means"], 1):
        guide.cell(3, j, h).font = _BOLD
    for i, lv in enumerate(model.levels.itertuples(), start=4):
        guide.cell(i, 1, lv.value)
        guide.cell(i, 2, lv.name)
        guide.cell(i, 3, lv.description).alignment = _WRAP
    guide.cell(4 + n_levels + 1, 1, f"Model: {model.id} version {model.version}.")

    # hidden metadata: format, model and where every input is
    rows = [("format", PACK_FORMAT), ("format_version", PACK_FORMAT_VERSION), ("model_id", model.id),
            ("model_version", model.version), ("wave", str(wave)),
            *sorted((f"cell.{k}", v) for k, v in addresses.items())]
    for i, (k, v) in enumerate(rows, 1):
        meta.cell(i, 1, k)
        meta.cell(i, 2, v)
    meta.sheet_state = "veryHidden"

    for ws in wb.worksheets:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)  # print each sheet one page wide
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.protection.sheet = True
        ws.protection.formatCells = False  # people may resize rows and columns to read long text
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
    wb.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# ---------------------------------------------------------------- reading a filled pack
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
    """
    source = io.BytesIO(data) if data is not None else _checked_bytes(path)
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception:
        return None
    try:
        if META_SHEET not in wb.sheetnames:
            return None
        meta = {str(r[0]): ("" if r[1] is None else str(r[1])) for r in wb[META_SHEET].iter_rows(values_only=True)
                if r and r[0] is not None}
        return meta if meta.get("format") == PACK_FORMAT else None
    finally:
        wb.close()


def _header_and_row(path, meta: dict, model: Model) -> tuple[list[str], list[str]]:
    from ..ingest import _cell_text

    wb = load_workbook(path, data_only=True)
    try:
        def value(key):
            sheet, cell = meta[f"cell.{key}"].split("!")
            return _cell_text(wb[sheet][cell].value)

        header, row = [], []
        for key, label in (("council", "council"), ("respondent_role", "role"), ("email", "email"),
                           ("assessment_type", "assessment type"), ("wave", "wave"), ("submitted_at", "submitted at")):
            header.append(label)
            row.append(value(key))
        for d in model.dimension_ids:
            for key, label in (("level", d), ("target", f"{d}_target"), ("evidence", f"{d}_evidence")):
                addr = f"{d}.{key}"
                if f"cell.{addr}" not in meta:
                    raise IngestError(f"the pack has no cell for {addr!r}; it was not made for this model.", file=path,
                                      hint="Make a new pack with `dqm pack`.")
                header.append(label)
                row.append(value(addr))
        return header, row
    finally:
        wb.close()


def read_pack(path, sha256: str, model: Model, meta: dict | None = None):
    """A filled pack as a one-row export (shape ``pack``) for :func:`dqm.ingest.parse_export`.

    A pack made for another model id or version is refused: its questions and levels may differ.
    """
    from ..ingest import RawExport

    path = Path(path)
    _checked_bytes(path)  # a regular file within the limits, and no zip bomb, before openpyxl opens it below
    meta = meta or pack_metadata(path)
    if meta is None:
        raise IngestError("this workbook is not a DQM assessment pack.", file=path,
                          hint="Make one with `dqm pack`, or ingest the file without --shape pack.")
    if meta.get("format_version") != PACK_FORMAT_VERSION:
        raise IngestError(f"this pack has format version {meta.get('format_version')!r}; this dqm reads version "
                          f"{PACK_FORMAT_VERSION}.", file=path, hint="Make a new pack with this dqm's `dqm pack`.")
    if (meta.get("model_id"), meta.get("model_version")) != (model.id, model.version):
        raise IngestError(
            f"this pack was made for the quality model {meta.get('model_id')} version {meta.get('model_version')}, "
            f"but the model in use is {model.id} version {model.version}; its dimensions, descriptors or levels may "
            "differ, so it is not read.", file=path,
            hint="Ingest it with the model it was made for (--model FILE), or copy its answers into a pack made by "
                 "`dqm pack` for the current model.")
    header, row = _header_and_row(path, meta, model)
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
