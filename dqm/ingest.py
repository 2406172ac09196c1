"""Read survey-tool exports and turn them into tidy submissions, answers and quarantined rows.

This module never writes to the store; :func:`dqm.store.ingest_files` does, in one transaction.

>>> from dqm.model import load_model
>>> parse_level("Level 3: Impactful", load_model())
(3, 'answered')
>>> parse_level("Don't know", load_model())
(None, 'dont_know')
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from .errors import DQMError, IngestError
from .limits import cell_cap, check_zip, csv_field_limit, limit, read_file
from .model import Model
from .paths import data_dir
from .rawexport import RawExport, cell_text
from .reference import map_key, match_council
from .yamlio import load_yaml

ASSESSMENT_TYPES = ("self", "peer", "independent")


@lru_cache(maxsize=4)
def survey_tools(path: str | None = None) -> dict:
    p = Path(path) if path else data_dir() / "survey_tools.yaml"
    raw = load_yaml(p, what="survey tools file")
    if not isinstance(raw, dict) or not isinstance(raw.get("shapes"), dict) or "personal_data" not in raw \
            or "missing_answers" not in raw:
        raise DQMError("the survey tools file must have the keys shapes, personal_data and missing_answers.", file=p)
    return raw


_NUMBERING = re.compile(r"^\s*(?:q(?:uestion)?\s*\d+[a-z]?\s*[.):_-]?\s*|\d+(?:\.\d+)*\s*[.):-]?\s+|[a-z]\s*[.)]\s+)", re.I)


def normalise_header(text) -> str:
    """Lower case, straight quotes, no numbering prefix ("3.", "Q3", "2.1)"), single spaces, no trailing punctuation."""
    t = "" if text is None else str(text)
    t = t.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').replace("\xa0", " ")
    t = " ".join(t.split()).lower()
    t = _NUMBERING.sub("", t, count=1)
    t = t.replace("_", " ").replace("-", " ") if re.fullmatch(r"[a-z0-9_ -]+", t) else t
    t = re.sub(r"[\s?.:;!*]+$", "", t)
    return " ".join(t.split())


# ---------------------------------------------------------------- reading files
def _decode(data: bytes, path: Path) -> str:
    """The file's encoding, checked strictly: UTF-8 (with or without BOM); else Windows-1252, but only for a
    whole file with no UTF-8 in it. The text is checked in pieces and not kept: lines are decoded one at a
    time as they are read (:func:`_lines`), so a file is never held in memory twice.

    A file that is mostly UTF-8 with a stray Windows-1252 byte (part of it pasted from another program) is
    refused with the row of the first bad byte: decoding it all as Windows-1252 would store every other
    accented letter as mojibake ("Ynys MÃ´n") without a word.
    """
    if data[:4] in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):  # checked first: UTF-32LE's mark begins with UTF-16LE's
        raise IngestError("the file is UTF-32 text, which dqm does not read.", file=path,
                          hint="Save it as CSV UTF-8 (Excel: Save as, CSV UTF-8) and try again.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise IngestError("the file is UTF-16 text (as Excel's 'Unicode Text' writes), which dqm does not read.",
                          file=path, hint="Save it as CSV UTF-8 (Excel: Save as, CSV UTF-8) and try again.")
    if b"\x00" in data[:8192]:
        raise IngestError("this is a binary file, not a CSV text file.", file=path,
                          hint="Export the survey as CSV (UTF-8) or XLSX and try again.")
    first_bad = _first_non_utf8(data)
    if first_bad is None:
        return "utf-8"
    if _UTF8_MULTIBYTE.search(data):
        row = _row_of_offset(data, first_bad)
        raise IngestError(
            f"the file is UTF-8 except for byte 0x{data[first_bad]:02x} in row {row}, which is not UTF-8 (probably "
            "text pasted from a program that saved it as Windows-1252). Reading the whole file another way would "
            "garble its other accented letters.", file=path, row=row,
            hint="Fix or retype the text in that row, or save the whole file again as CSV UTF-8.")
    bad = _NOT_CP1252.search(data)
    if bad:
        row = _row_of_offset(data, bad.start())
        raise IngestError(f"the file is neither UTF-8 nor Windows-1252 text (byte 0x{data[bad.start()]:02x} in row {row}).",
                          file=path, row=row, hint="Save the file as CSV UTF-8 and try again.") from None
    return "cp1252"


# a valid UTF-8 sequence of two to four bytes: its presence shows the file was meant to be UTF-8
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")  # the five bytes Windows-1252 leaves undefined
_EOL = re.compile(rb"\r\n|\r|\n")


def _first_non_utf8(data: bytes, step: int = 1 << 20) -> int | None:
    """The offset of the first byte that is not UTF-8, or None; checked a megabyte at a time."""
    pos = 3 if data.startswith(codecs.BOM_UTF8) else 0
    view = memoryview(data)
    while pos < len(data):
        final = pos + step >= len(data)
        try:
            _, used = codecs.utf_8_decode(view[pos:pos + step], "strict", final)
        except UnicodeDecodeError as exc:
            return pos + exc.start
        pos += used
    return None


class _LongLine(Exception):
    """A physical line of a CSV file longer than the ``max_line_kb`` limit (raised before it is decoded)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def _lines(data: bytes, encoding: str, end: int | None = None, max_bytes: int | None = None):
    """The physical lines of CSV bytes, each decoded as it is needed, with its line end (as ``newline=""`` gives).

    Only one line is ever decoded at a time; the whole text is never built (an ``io.StringIO`` of it would
    take four bytes a character). A line longer than ``max_bytes`` raises :class:`_LongLine` before it is
    decoded: Python's csv reader builds a whole row at once, and one line of 100 MB of "ab," would be
    33 million cells.
    """
    view = memoryview(data)
    end = len(data) if end is None else end
    start = 3 if data.startswith(codecs.BOM_UTF8) else 0
    while start < end:
        m = _EOL.search(data, start, end)
        stop = end if m is None else m.end()
        if max_bytes is not None and stop - start > max_bytes:
            raise _LongLine(stop - start)
        yield str(view[start:stop], encoding)
        start = stop


def _row_of_offset(data: bytes, offset: int) -> int:
    """The CSV row (1 = header) holding a byte offset, counting quoted line breaks as inside their row."""
    try:
        with csv_field_limit(cell_cap()):
            return sum(1 for _ in csv.reader(_lines(data, "latin-1", offset + 1))) or 1
    except csv.Error:
        return data.count(b"\n", 0, offset + 1) + 1


def _sniff_delimiter(first: str) -> str:
    """The delimiter of a CSV file, from its first line: the most frequent of , ; and tab outside quotes."""
    counts = {d: 0 for d in (",", ";", "\t")}
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _read_csv(path: Path, data: bytes):
    """Rows of a CSV export as text, read line by line with every cell's length checked as it is read.

    A cell over the ``max_cell_chars`` limit is kept for its row to be quarantined; one more than
    :data:`dqm.limits.CELL_MARGIN` characters over it cannot be an answer and refuses the file, naming the row,
    before it is ever held whole; so does a line over ``max_line_kb`` (before it is decoded) and more cells in
    all than ``max_cells``.
    """
    enc = _decode(data, path)
    cap, max_cells, max_line = cell_cap(), limit("max_cells"), int(limit("max_line_kb") * 1024)

    def long_line(exc: _LongLine, row: int) -> IngestError:
        return IngestError(f"a line of the file is {exc.size / 1024 / 1024:,.1f} MB long, more than the limit of "
                           f"{max_line / 1024:,.0f} KB; it cannot be a row of answers, so the file is not read.",
                           file=path, row=row, hint="Check it is the export you meant; raise the limit with "
                           "DQM_MAX_LINE_KB if the row is really meant.")

    try:
        delim = _sniff_delimiter(next(_lines(data, enc, max_bytes=max_line), "").rstrip("\r\n"))
    except _LongLine as exc:
        raise long_line(exc, 1) from None

    def parse(strict: bool):
        rows, numbers, cells = [], [], 0
        try:
            for rec in csv.reader(_lines(data, enc, max_bytes=max_line), delimiter=delim, strict=strict):
                cells += len(rec)
                if cells > max_cells:
                    raise _too_many_cells(path, max_cells, len(rows) + 1)
                rows.append(rec)
                numbers.append(len(rows))
        except _LongLine as exc:
            raise long_line(exc, len(rows) + 1) from None
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise IngestError(f"a cell holds more than {cap:,} characters, far over the limit of "
                                  f"{limit('max_cell_chars'):,}; it cannot be an answer, so the file is not read.",
                                  file=path, row=len(rows) + 1,
                                  hint="Check it is the export you meant and that no quote is left open before that "
                                  "row; raise the limit with --max-cell-chars if the cell is really meant.") from None
            exc.rows_read = len(rows)
            raise
        return rows, numbers

    with csv_field_limit(cap):
        try:
            rows, numbers = parse(strict=True)
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                # a quote opened and never closed would swallow every later row: refuse rather than lose them
                raise IngestError("a quoted cell is never closed, so the rest of the file would be read as one cell.",
                                  file=path, row=exc.rows_read + 1,
                                  hint="Check that row for an unmatched double quote, or re-export the file.") from None
            try:
                rows, numbers = parse(strict=False)  # stray quotes inside cells: read them as text
            except csv.Error as again:
                raise IngestError(f"row {again.rows_read + 1} cannot be read as CSV ({' '.join(str(again).split())[:120]}).",
                                  file=path, row=again.rows_read + 1, hint="Re-export the file as CSV UTF-8.") from None
            width = len(rows[0]) if rows else 0
            ragged = next((i for i, r in enumerate(rows) if len(r) != width), None)
            if ragged is not None:  # a stray quote has merged or split rows: refuse rather than misread them
                raise IngestError(f"row {ragged + 1} has {len(rows[ragged])} cells but the header has {width}; "
                                  "a stray double quote has probably merged rows.", file=path, row=ragged + 1,
                                  hint="Check the quotes near that row, or re-export the file.") from None
    header_width = len(rows[0]) if rows else 0
    for i, r in enumerate(rows):
        if len(r) > header_width and any(c.strip() for c in r[header_width:]):
            raise IngestError(f"row {i + 1} has {len(r)} cells but the header has {header_width}.", file=path,
                              row=i + 1, hint="A cell may hold an unquoted delimiter; re-export the file.")
    return rows, numbers, enc, delim


def _too_many_cells(path, max_cells, row, sheet=None) -> IngestError:
    where = f"sheet {sheet!r}" if sheet else "the file"
    return IngestError(f"{where} has more than {max_cells:,} cells (rows times columns) by row {row:,}, the limit; it is "
                       "not read.", file=path, row=row, hint="Check it is the export you meant: a row may reach far to "
                       "the right. Split the export, or raise the limit with DQM_MAX_CELLS.")


def _column_letter(j: int) -> str:
    """A spreadsheet column's letters from its 0-based index (0 -> A, 26 -> AA)."""
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


def _read_xlsx(path: Path, data: bytes, sheet: str | None, looks_like_header=None):
    """Rows of an XLSX workbook's sheet as text, streamed row by row with every cell's length checked.

    The caller has checked the zip (:func:`dqm.limits.check_zip`), which bounds the shared strings that
    openpyxl loads whole; each cell is checked against the cell limit as the rows stream, as in a CSV.
    """
    from openpyxl import load_workbook

    hint = "Open it in Excel and save it again as .xlsx (Excel Workbook), or export the survey as CSV."
    try:
        # opened from the bytes already read, so that the file's name (an XLSX named .csv) does not matter
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged workbook
        raise IngestError(f"this is not a readable XLSX workbook ({_why(exc)}).", file=path, hint=hint) from None
    max_rows, cap, max_cells = limit("max_rows"), cell_cap(), limit("max_cells")
    try:
        names = wb.sheetnames
        if not names:
            raise IngestError("the workbook has no sheets (a part of the file is missing); it is damaged.", file=path,
                              hint=hint)
        if sheet is not None and sheet not in names:
            raise IngestError(f"there is no sheet {sheet!r}; the sheets are {', '.join(repr(n) for n in names)}.",
                              file=path, hint="Pass one of these with --sheet.")

        def read(name):
            rows, numbers, seen = [], [], 0
            try:
                ws = wb[name]
                ws.reset_dimensions()  # the size the sheet states is not trusted: rows end at their own last cell
                for i, rec in enumerate(ws.iter_rows(values_only=True), start=1):
                    if i > max_rows + 3:
                        raise IngestError(f"sheet {name!r} has more than {max_rows:,} rows, the limit.", file=path,
                                          hint="Split the export, or raise the limit with --max-rows.")
                    seen += len(rec)
                    if seen > max_cells:
                        raise _too_many_cells(path, max_cells, i, name)
                    cells = [cell_text(v) for v in rec]
                    too_long = next((j for j, c in enumerate(cells) if len(c) > cap), None)
                    if too_long is not None:
                        raise IngestError(f"cell {_column_letter(too_long)}{i} of sheet {name!r} holds "
                                          f"{len(cells[too_long]):,} characters, far over the limit of "
                                          f"{limit('max_cell_chars'):,}; it cannot be an answer, so the file is not read.",
                                          file=path, row=i, hint="Check it is the export you meant; raise the limit "
                                          "with --max-cell-chars if the cell is really meant.")
                    rows.append(cells)
                    numbers.append(i)
            except IngestError:
                raise
            except Exception as exc:  # noqa: BLE001 - malformed sheet XML, a missing sheet part, ...
                raise IngestError(f"sheet {name!r} of the workbook cannot be read ({_why(exc)}); the workbook is "
                                  "damaged.", file=path, row=len(rows) + 1 if rows else None, hint=hint) from None
            return rows, numbers

        if sheet is not None:
            return (*read(sheet), sheet, names)
        # no sheet named: take the first sheet whose header looks like a survey (cover sheets are skipped)
        first = None
        for name in names:
            rows, numbers = read(name)
            first = first or (rows, numbers, name)
            header = next((r for r in rows if any(c.strip() for c in r)), [])
            if looks_like_header is None or looks_like_header(header):
                return rows, numbers, name, names
        return (*first, names)
    finally:
        wb.close()


def _why(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_export(path: str | Path, shape: str | None = None, sheet: str | None = None,
                model: Model | None = None) -> tuple[RawExport, str]:
    """Read a CSV or XLSX export into text rows, detecting (or forcing) the survey tool's shape.

    With a model, an XLSX workbook's first sheet whose header has the council question is read
    (so a cover sheet before the responses is skipped); without one, the first sheet.
    """
    path = Path(path)
    data = read_file(path, "file", IngestError, hint="Give the path of a CSV or XLSX export.",
                     size_hint="Check it is a survey export; if it is, raise the limit with --max-file-mb.")
    if not data or data.isspace():  # isspace, not strip: no copy of a large file
        raise IngestError("the file is empty.", file=path, hint="Export the survey responses again.")
    digest = hashlib.sha256(data).hexdigest()
    is_zip = data[:4] == b"PK\x03\x04"
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm") or is_zip:
        if not is_zip:
            raise IngestError(f"the file is named {suffix} but is not an XLSX workbook.", file=path,
                              hint="Open it in Excel and save as .xlsx, or export the survey as CSV.")
        check_zip(data, path, "workbook", IngestError)  # a zip bomb is refused before openpyxl unzips anything
        if shape in (None, "pack"):  # an assessment pack made by `dqm pack` (dqm/documents/pack.py)
            from .documents.pack import pack_metadata, read_pack

            meta = pack_metadata(path, data)  # the bytes read and checked above
            if meta is not None or shape == "pack":
                from .model import load_model

                return read_pack(path, digest, model or load_model(), meta), "pack"
        looks = None
        if model is not None:
            targets = _targets(model)
            looks = lambda header: any(targets.get(normalise_header(h)) == ("meta", "council") for h in header)
        rows, numbers, chosen, names = _read_xlsx(path, data, sheet, looks)
        kind, enc, delim = "xlsx", None, None
    elif suffix in (".xls", ".ods", ".numbers"):
        raise IngestError(f"{suffix} files are not supported.", file=path, hint="Save the file as .xlsx or .csv.")
    else:
        if sheet is not None:
            raise IngestError("--sheet only applies to XLSX files.", file=path)
        rows, numbers, enc, delim = _read_csv(path, data)
        kind, chosen = "csv", None
    width = max((len(r) for r in rows), default=0)
    if width * len(rows) > limit("max_cells"):  # checked before the rows are padded to the widest
        raise _too_many_cells(path, limit("max_cells"), len(rows))
    rows = [r + [""] * (width - len(r)) for r in rows]
    # drop blank rows at the top (some exports have a title row gap); count every blank row
    top_blank = 0
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
        numbers.pop(0)
        top_blank += 1
    if not rows:
        raise IngestError("the file has no header row.", file=path)
    max_rows = limit("max_rows")
    if len(rows) - 1 > max_rows:  # checked before any row is parsed or matched
        raise IngestError(f"the file has {len(rows) - 1:,} rows after the header, more than the limit of {max_rows:,}.",
                          file=path, hint="Split the export, or raise the limit with --max-rows.")
    detected = detect_shape(rows[0]) if shape is None else shape
    tools = survey_tools()["shapes"]
    if detected not in tools:
        raise IngestError(f"unknown survey tool shape {detected!r}; known shapes are {', '.join(tools)}.", file=path)
    n_head = _header_row_count(detected, rows, model)
    header_rows, data_rows, data_numbers = rows[:n_head], rows[n_head:], numbers[n_head:]
    kept, kept_numbers, blank = [], [], 0
    for r, n in zip(data_rows, data_numbers):
        if any(c.strip() for c in r):
            kept.append(r)
            kept_numbers.append(n)
        else:
            blank += 1
    if not kept:
        raise IngestError("the file has a header row but no responses.", file=path,
                          hint="Check you exported the responses, not just the questions.")
    raw = RawExport(path, digest, kind, enc, delim, chosen, header_rows, kept, kept_numbers, blank + top_blank)
    return raw, detected


def detect_shape(header: list[str]) -> str:
    """The survey tool whose signature columns all appear in the header (else 'generic')."""
    heads = {normalise_header(h) for h in header}
    for name, spec in survey_tools()["shapes"].items():
        sig = spec.get("signature") or []
        if sig and all(normalise_header(s) in heads for s in sig):
            return name
    return "generic"


def _header_row_count(shape: str, rows: list[list[str]], model: Model | None = None) -> int:
    """How many header rows the export has, decided by what the rows hold, never by position alone.

    The first row is always a header. A later row is a further header row (Qualtrics' question-text and
    import-id rows, SmartSurvey's sub-question row) only if it has the marks of one and nothing a response
    has (a level or "don't know" answer, a date, an e-mail address, a council's name or code). A row with
    neither is read as a response, so that validation quarantines it with a reason rather than losing it.
    """
    extra = int(survey_tools()["shapes"].get(shape, {}).get("max_header_rows", 1)) - 1
    n = 1
    while n <= extra and n < len(rows) and _is_header_row(shape, rows[n], model):
        n += 1
    return n


def _header_labels(model: Model | None) -> set[str]:
    tools = survey_tools()
    labels = {normalise_header(x) for x in tools.get("header_labels", [])}
    labels |= {normalise_header(x) for x in tools["personal_data"]}
    for spec in tools["shapes"].values():
        for key in ("signature", "submitted_at", "respondent"):
            labels |= {normalise_header(x) for x in spec.get(key) or []}
    if model is not None:
        labels |= set(_targets(model))
    return labels


def _is_header_row(shape: str, row: list[str], model: Model | None) -> bool:
    cells = [c.strip() for c in row if c and c.strip()]
    if not cells:
        return False
    if any(c.startswith('{"ImportId"') for c in cells):
        return True
    if _looks_like_response(row, model):
        return False
    labels = _header_labels(model)
    if any(normalise_header(c) in labels for c in cells):
        return True  # Qualtrics' second row: the question texts under the question ids
    sub = {normalise_header(x) for x in survey_tools().get("subheader_labels", [])}
    # SmartSurvey's sub-question row: a blank id, then only labels such as "Response" or "Open-Ended Response"
    return not row[0].strip() and all(normalise_header(c) in sub for c in cells)


_DATEISH = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}([ T]\d{1,2}:\d{2}.*)?$")


def _looks_like_response(row: list[str], model: Model | None) -> bool:
    """True when a row holds anything only a response holds: an answer, a date, an e-mail address, a council."""
    missing = {m.lower() for m in survey_tools()["missing_answers"] if m.strip()}
    for c in row:
        t = " ".join(str(c).replace("\u2019", "'").split())
        if not t or len(t) > 200:
            continue
        low = t.lower()
        if low in missing or "@" in t or _DATEISH.match(t):
            return True
        if model is not None and parse_level(t, model)[1] == "answered":
            return True
        m = match_council(t)
        if m.code is not None or m.method in ("fuzzy", "former"):
            return True
    return False


# ---------------------------------------------------------------- mapping columns
@dataclass
class ColumnMap:
    fields: dict  # column index -> ("level"|"target"|"evidence", dimension) or ("meta", key)
    personal: list  # column indexes of personal data
    respondent: list  # column indexes used (hashed) to identify the respondent
    submitted_at: int | None
    ignored: list  # labels of columns that were not used
    labels: list  # display label of every column


def _column_labels(header_rows: list[list[str]]) -> list[list[str]]:
    """Candidate labels of each column: each header row's text, and the rows joined."""
    out = []
    for j in range(len(header_rows[0])):
        cells = [r[j].strip() for r in header_rows if j < len(r) and r[j].strip() and not r[j].strip().startswith('{"ImportId"')]
        cands = list(dict.fromkeys(cells + ([" ".join(cells)] if len(cells) > 1 else [])))
        out.append(cands)
    return out


def _targets(model: Model) -> dict[str, tuple]:
    t: dict[str, tuple] = {}
    for _, d in model.dimensions.iterrows():
        i, n = d["id"], d["name"]
        for text in (d["question"], i, n, f"{i} level", f"{n} level", f"{n} current level"):
            t[normalise_header(text)] = ("level", i)
        for text in (d["target_question"], f"{i}_target", f"{n} target", f"{n} target level"):
            t[normalise_header(text)] = ("target", i)
        for text in (d["evidence_question"], f"{i}_evidence", f"{n} evidence"):
            t[normalise_header(text)] = ("evidence", i)
    for key, q in model.metadata_questions.items():
        for text in [q["question"], key, *q.get("aliases", [])]:
            t.setdefault(normalise_header(text), ("meta", key))
    return t


def map_columns(raw: RawExport, shape: str, model: Model) -> ColumnMap:
    tools = survey_tools()
    spec = tools["shapes"][shape]
    targets = _targets(model)
    personal_set = {normalise_header(p) for p in tools["personal_data"]}
    respondent_set = [normalise_header(p) for p in spec.get("respondent", [])]
    submitted_set = [normalise_header(p) for p in spec.get("submitted_at", [])]
    cands = _column_labels(raw.header_rows)
    labels = [" / ".join(c) if c else f"(column {j + 1}, no header)" for j, c in enumerate(cands)]
    fields, personal, respondent, ignored, owner = {}, [], {}, [], {}
    submitted = None
    for j, cs in enumerate(cands):
        norms = [normalise_header(c) for c in cs]
        hit = next((targets[n] for n in norms if n in targets), None)
        if hit is not None:
            if hit in owner:
                prev = owner[hit]
                raise IngestError(
                    f"columns {labels[prev]!r} (column {prev + 1}) and {labels[j]!r} (column {j + 1}) both answer "
                    f"the same question ({_describe_field(hit, model)}).", file=raw.path, column=labels[j],
                    hint="Delete or rename one of them and ingest again.")
            owner[hit] = j
            fields[j] = hit
            continue
        if any(n in personal_set for n in norms):
            personal.append(j)
            for n in norms:
                if n in respondent_set:
                    respondent[j] = respondent_set.index(n)
            continue
        if submitted is None and any(n in submitted_set for n in norms):
            submitted = j
            continue
        ignored.append(labels[j])
    _check_required(raw, model, fields, cands, labels)
    resp_cols = [j for j, _ in sorted(respondent.items(), key=lambda kv: kv[1])]
    return ColumnMap(fields, personal, resp_cols, submitted, ignored, labels)


def _describe_field(hit: tuple, model: Model) -> str:
    kind, key = hit
    if kind == "meta":
        return model.metadata_questions[key]["question"]
    d = model.dimensions.set_index("id").loc[key]
    return d["question"] if kind == "level" else d["target_question"] if kind == "target" else d["evidence_question"]


def _check_required(raw, model, fields, cands, labels):
    have = set(fields.values())
    unused = [j for j in range(len(cands)) if j not in fields]
    unused_labels = {labels[j]: j for j in unused}

    def closest(question: str) -> str:
        if not unused_labels:
            return "no unused columns are left"
        hits = process.extract(normalise_header(question), {k: normalise_header(k) for k in unused_labels},
                               scorer=fuzz.WRatio, limit=3)
        return "closest columns: " + "; ".join(f"{k!r} ({s:.0f}% similar)" for _, s, k in hits)

    missing = []
    if ("meta", "council") not in have:
        missing.append(model.metadata_questions["council"]["question"])
    for _, d in model.dimensions.iterrows():
        if not d["provisional"] and ("level", d["id"]) not in have:
            missing.append(d["question"])
    if missing:
        first = missing[0]
        more = f" ({len(missing) - 1} more required questions are missing too)" if len(missing) > 1 else ""
        raise IngestError(
            f"no column answers the required question {first!r}{more}; {closest(first)}.", file=raw.path,
            hint="Rename the column to the question text or its id (see data/model/dqm.yaml), or check you chose the right file or sheet.")
    if not any(k == "level" for k, _ in have):
        raise IngestError("no column matches any dimension question.", file=raw.path)


# ---------------------------------------------------------------- parsing answers
_LEVEL = re.compile(r"^\s*(?:level\s*)?([+-]?\d+(?:\.\d+)?)\s*(?:[-–—:.)|]\s*(.*))?$", re.I)


def parse_level(text, model: Model) -> tuple[int | None, str]:
    """(level, status): status is answered, blank, dont_know, out_of_range or unrecognised."""
    t = "" if text is None else " ".join(str(text).replace("\u2019", "'").split())
    low = t.lower()
    if not low:
        return None, "blank"
    if low in {m.lower() for m in survey_tools()["missing_answers"]}:
        return None, "dont_know"
    names = {v.lower(): k for k, v in model.level_names.items()}
    if low in names:
        return names[low], "answered"
    m = _LEVEL.match(t)
    if m:
        num = float(m.group(1))
        if not num.is_integer():
            return None, "unrecognised"
        value = int(num)
        if value not in model.level_names:
            return None, "out_of_range"
        rest = (m.group(2) or "").strip().lower()
        if rest and rest in names and names[rest] != value:
            return None, "unrecognised"  # "3 - Passive": number and name disagree
        return value, "answered"
    return None, "unrecognised"


def parse_assessment_type(text) -> str | None:
    t = normalise_header(text)
    for a in ASSESSMENT_TYPES:
        if t == a or t.startswith(a):
            return a
    return None


_TZ = re.compile(r"(?<=\d)\s*(?:(Z|UTC|GMT|BST)|(?:(?:UTC|GMT)\s*)?([+-])(\d{1,2})(?::?(\d{2}))?)$", re.I)
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?$")
_SLASH = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2}),?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?$", re.I)
_MONTH_WORD = re.compile(r"[a-z]{3}", re.I)


@dataclass
class Timestamps:
    """A column of submitted times read with one date order: values (naive, UK local time), unreadable cells, notes."""

    values: pd.Series
    unreadable: pd.Series  # bool: a non-blank cell that is not a date and time
    order: str  # "day-first", "month-first" or "" (no slash dates)
    note: str = ""


def _offset_minutes(m) -> int | None:
    if m.group(1):
        return 60 if m.group(1).upper() == "BST" else 0
    mins = int(m.group(3)) * 60 + int(m.group(4) or 0)
    return -mins if m.group(2) == "-" else mins


def read_timestamps(values: pd.Series, label: str = "submitted at", file=None, row_numbers=None) -> Timestamps:
    """Read a column of dates and times as survey tools write them, with one date order for the whole column.

    ISO dates (2026-03-02 10:00, with or without T, Z or an offset), slash dates (02/03/2026 10:00:00, optionally
    with GMT, BST, UTC or an offset, or am/pm) and dates with month names are read. Slash dates are read day-first
    or month-first as the whole column shows (a first number above 12 means day-first, a second above 12
    month-first); a column that shows both is refused, and one that cannot tell is read day-first (UK) with a
    note. Times with an offset or zone are converted to UK local time, so +01:00, +00:00 and Z mix safely.

    >>> read_timestamps(pd.Series(["13/02/2026 10:00", "02/03/2026 10:00:00 GMT"])).values.dt.month.tolist()
    [2, 3]
    """
    rows = list(row_numbers) if row_numbers is not None else [i + 2 for i in range(len(values))]
    text = values.astype("string").fillna("").str.strip()
    parsed: list = [None] * len(text)
    slash: list = []  # (position, a, b, rest)
    for i, v in enumerate(text):
        if not v:
            continue
        offset = None
        m = _TZ.search(v) if ":" in v or re.search(r"[a-z]$", v, re.I) else None
        body = v
        if m:
            offset = _offset_minutes(m)
            body = v[:m.start()].strip()
        iso = _ISO.match(body)
        if iso:
            parsed[i] = (_parts(iso.group(1), iso.group(2), iso.group(3), iso.group(4), iso.group(5), iso.group(6)), offset)
            continue
        sl = _SLASH.match(body)
        if sl:
            slash.append((i, int(sl.group(1)), int(sl.group(2)), sl, offset))
            continue
        if _MONTH_WORD.search(body):  # "2 March 2026 10:00": a month name leaves no doubt about the order
            ts = pd.to_datetime(body, dayfirst=True, errors="coerce")
            if not pd.isna(ts):
                parsed[i] = ((ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second), offset)
    day_first = [(i, a, b) for i, a, b, _, _ in slash if a > 12]
    month_first = [(i, a, b) for i, a, b, _, _ in slash if b > 12]
    order, note = "", ""
    if slash:
        if day_first and month_first:
            d, mth = day_first[0], month_first[0]
            raise IngestError(
                f"the dates in this column mix day-first and month-first order: row {rows[d[0]]} has "
                f"{text.iloc[d[0]]!r} (day first) and row {rows[mth[0]]} has {text.iloc[mth[0]]!r} (month first), so "
                "no single reading is right and the latest resubmission cannot be told.", file=file, column=label,
                hint="Re-export the survey so that every date is written the same way (ISO 2026-03-02 is safest).")
        if day_first:
            order = "day-first"
        elif month_first:
            order = "month-first"
        else:
            order = str(survey_tools().get("default_date_order", "day-first"))
            if any(a != b for _, a, b, _, _ in slash):
                note = (f"column {label!r}: dates such as {text.iloc[slash[0][0]]!r} could be day-first or month-first; "
                        f"no date in the column settles it, so all were read {order} (UK).")
        for i, a, b, sl, offset in slash:
            day, month = (a, b) if order == "day-first" else (b, a)
            year = int(sl.group(3)) + (2000 if len(sl.group(3)) == 2 else 0)
            hour = int(sl.group(4) or 0)
            ampm = (sl.group(7) or "").lower().replace(".", "")
            if ampm == "pm" and hour < 12:
                hour += 12
            elif ampm == "am" and hour == 12:
                hour = 0
            parsed[i] = ((year, month, day, hour, int(sl.group(5) or 0), int(sl.group(6) or 0)), offset)
    out, bad = [], []
    for v, p in zip(text, parsed):
        ts = pd.NaT
        if p is not None:
            try:
                ts = pd.Timestamp(*[int(x) for x in p[0]])
                if p[1] is not None:  # a stated zone or offset: convert to UK local time
                    ts = (ts - pd.Timedelta(minutes=p[1])).tz_localize("UTC").tz_convert("Europe/London").tz_localize(None)
            except (ValueError, OverflowError):
                ts = pd.NaT
        out.append(ts)
        bad.append(bool(v) and pd.isna(ts))
    return Timestamps(pd.Series(pd.to_datetime(pd.Series(out, dtype="object")), index=values.index),
                      pd.Series(bad, index=values.index), order, note)


def _parts(y, mo, d, h, mi, sec):
    return (int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))


def parse_timestamp(values: pd.Series) -> pd.Series:
    """Dates as survey tools write them (see :func:`read_timestamps`); unreadable cells become NaT."""
    return read_timestamps(values).values


# ---------------------------------------------------------------- building tidy rows
@dataclass
class Parsed:
    """The result of parsing one export: tidy frames ready for the store."""

    raw: RawExport
    shape: str
    columns: ColumnMap
    submissions: pd.DataFrame  # one row per stored-or-superseded candidate
    answers: pd.DataFrame  # long form, keyed by source_row
    rejects: pd.DataFrame  # source_row, reason, detail, raw_json
    unmatched: list = field(default_factory=list)  # [{text, method, suggestions}]
    council_map_used: dict = field(default_factory=dict)  # export text -> code, for names the user's map resolved
    notes: list = field(default_factory=list)  # things the user should know that are not errors (ambiguous date order)


def _clip(text: str, cap: int) -> str:
    """A quarantined cell as kept in the rejects table: whole, unless it is over the cell limit."""
    return text if len(text) <= cap else text[:1000] + f"... [{len(text):,} characters; cut to 1,000 here]"


def respondent_key(parts: list[str], salt: str) -> str | None:
    text = "|".join(p.strip().lower() for p in parts if p and p.strip())
    if not text:
        return None
    return hashlib.sha256((salt + "|" + text).encode()).hexdigest()[:24]


def _unknown_detail(text: str, suggestions: dict, notes: dict) -> str:
    """A quarantined unknown council's detail: "'Birmingam' is not a current council; nearest: Birmingham (BIR).
    probably ..." (the data quality report reads what follows "nearest: "), or the note alone in brackets."""
    sugg, note = suggestions[text], notes.get(text, "")
    if sugg:
        return f"{text!r} is not a current council; nearest: {sugg}" + (f". {note}" if note else "")
    return f"{text!r} is not a current council" + (f" ({note})" if note else "")


def parse_export(raw: RawExport, shape: str, model: Model, wave: int, assessment_type: str = "self",
                 salt: str = "", council_map: dict | None = None) -> Parsed:
    """Validate every data row: each becomes a candidate submission or a quarantined reject with a reason."""
    cmap = map_columns(raw, shape, model)
    n = len(raw.rows)
    cols = list(zip(*raw.rows)) if n else [[] for _ in cmap.labels]
    col = lambda j: pd.Series(cols[j], dtype="string") if n else pd.Series([], dtype="string")
    by_field = {v: k for k, v in cmap.fields.items()}
    problems: list[list[tuple[str, str]]] = [[] for _ in range(n)]

    def add(mask, reason, detail_fn):
        for i in mask.nonzero()[0] if hasattr(mask, "nonzero") else mask:
            problems[i].append((reason, detail_fn(i)))

    # cells too large to be an answer (checked before any matching)
    max_cell = limit("max_cell_chars")
    for j, label in enumerate(cmap.labels):
        lens = col(j).str.len().fillna(0).to_numpy()
        add(lens > max_cell, "cell too large", lambda i, label=label, lens=lens:
            f"column {label!r} holds {lens[i]:,} characters, more than the limit of {max_cell:,}")

    # council: the user's council map first, then codes and exact names; near spellings and other bodies never stored
    council_text = col(by_field[("meta", "council")])
    codes, why, suggestions, notes, raw_notes, best, mapped = {}, {}, {}, {}, {}, {}, set()
    for text in pd.unique(council_text.fillna("")):
        if council_map and map_key(text) in council_map:
            codes[text] = council_map[map_key(text)]
            mapped.add(text)
            continue
        m = match_council(text)
        codes[text] = m.code
        why[text] = m.method
        suggestions[text] = "; ".join(f"{nm} ({c})" for c, nm in m.suggestions)
        notes[text], raw_notes[text] = m.explanation, m.note
        best[text] = m.suggestions[0] if m.suggestions and m.method in ("fuzzy", "none") else None  # (code, name)
    council = council_text.fillna("").map(codes)
    blank_council = council_text.fillna("").str.strip() == ""
    add((council.isna() & blank_council).to_numpy(), "no council given", lambda i: "the council column is blank")
    method = council_text.fillna("").map(lambda t: why.get(t, ""))
    refused = (council.isna() & ~blank_council & (method == "refused")).to_numpy()
    add(refused, "not a council", lambda i: notes[council_text.iloc[i]])
    too_long = (council.isna() & (method == "too_long")).to_numpy()
    add(too_long, "council name too long", lambda i: notes[council_text.iloc[i]])
    unknown = (council.isna() & ~blank_council & ~method.isin(["refused", "too_long"])).to_numpy()
    add(unknown, "unknown council", lambda i: _unknown_detail(council_text.iloc[i], suggestions, raw_notes))
    # each unmatched name with the nearest councils, why it was not stored, and the best suggestion for a draft map
    unmatched = [{"text": t, "method": why.get(t, "none"), "suggestions": suggestions[t], "note": notes[t],
                  "best": best[t]} for t in pd.unique(council_text[unknown | refused].fillna(""))]
    unmatched += [{"text": t[:60] + "...", "method": "too_long", "suggestions": suggestions[t], "note": notes[t],
                   "best": None} for t in pd.unique(council_text[too_long].fillna(""))]
    map_used = {t: codes[t] for t in pd.unique(council_text.fillna("")) if t in mapped}

    # levels and targets
    levels, statuses, targets = {}, {}, {}
    level_cache: dict = {}
    for dim in model.dimension_ids:
        for kind in ("level", "target"):
            j = by_field.get((kind, dim))
            if j is None:
                continue
            s = col(j).fillna("")
            parsed = {v: level_cache.setdefault(v, parse_level(v, model)) for v in pd.unique(s)}
            vals = s.map(lambda v: parsed[v][0])
            st = s.map(lambda v: parsed[v][1])
            label = cmap.labels[j]
            add((st == "out_of_range").to_numpy(), "level out of range",
                lambda i, s=s, label=label: f"column {label!r}: {s.iloc[i]!r} is not a level from 1 to {max(model.level_names)}")
            add((st == "unrecognised").to_numpy(), "unrecognised answer",
                lambda i, s=s, label=label: f"column {label!r}: {s.iloc[i][:80]!r} is not a level")
            if kind == "level":
                levels[dim], statuses[dim] = vals, st
            else:
                targets[dim] = vals
    if levels:
        none_answered = pd.concat([s != "answered" for s in statuses.values()], axis=1).all(axis=1).to_numpy()
        add(none_answered, "no levels answered", lambda i: "every dimension question is blank or 'don't know'")

    # wave and assessment type columns, when the export has them
    jw = by_field.get(("meta", "wave"))
    if jw is not None:
        w = pd.to_numeric(col(jw).str.extract(r"(\d{4})")[0], errors="coerce")
        add(((w != wave) & w.notna()).to_numpy(), "wave mismatch",
            lambda i: f"the row says wave {int(w.iloc[i])} but the ingest is for wave {wave}")
    atypes = pd.Series([assessment_type] * n, dtype="string")
    ja = by_field.get(("meta", "assessment_type"))
    if ja is not None:
        given = col(ja).fillna("")
        parsed_types = given.map(lambda v: parse_assessment_type(v) if v.strip() else assessment_type)
        add(parsed_types.isna().to_numpy(), "unknown assessment type",
            lambda i: f"{given.iloc[i]!r} is not one of {', '.join(ASSESSMENT_TYPES)}")
        atypes = parsed_types.fillna(assessment_type).astype("string")

    # submitted time: read with one date order for the whole column; must fall in the wave year or the year before
    notes = []
    if cmap.submitted_at is not None:
        stamps = read_timestamps(col(cmap.submitted_at), cmap.labels[cmap.submitted_at], raw.path, raw.row_numbers)
        submitted = stamps.values
        notes += [stamps.note] if stamps.note else []
        when_text = col(cmap.submitted_at)
        add(stamps.unreadable.to_numpy(), "unreadable date", lambda i: f"column {cmap.labels[cmap.submitted_at]!r}: "
            f"{when_text.iloc[i][:80]!r} is not a date and time dqm can read (such as 2026-03-02 10:00 or 02/03/2026 10:00)")
    else:
        submitted = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    years = submitted.dt.year
    outside = (years.notna() & ~years.isin([wave - 1, wave])).to_numpy()
    add(outside, "submitted outside the wave",
        lambda i: f"submitted on {submitted.iloc[i]:%d %B %Y}, outside {wave - 1} to {wave}")

    js = by_field.get(("meta", "synthetic"))
    synthetic = (col(js).fillna("").str.strip().str.lower().map(lambda v: bool(v) and v not in ("no", "false", "0", "n"))
                 if js is not None else pd.Series([False] * n))
    role = col(by_field[("meta", "respondent_role")]).fillna("").str.strip() if ("meta", "respondent_role") in by_field else pd.Series([""] * n, dtype="string")
    keys = []
    emails = [j for j in cmap.respondent if "mail" in normalise_header(cmap.labels[j])]
    for i in range(n):
        # an e-mail address alone identifies a respondent (the same person may write their name two ways)
        parts = [raw.rows[i][j] for j in emails if raw.rows[i][j].strip()] or [raw.rows[i][j] for j in cmap.respondent]
        # without an e-mail or name there is no way to tell a resubmission from a colleague's answer,
        # so such a row is its own respondent and never supersedes another
        keys.append(respondent_key(parts, salt) or f"ingest-row:{raw.sha256[:12]}:{raw.row_numbers[i]}")

    rejected = [bool(p) for p in problems]
    keep_cols = [j for j in range(len(cmap.labels)) if j not in cmap.personal]
    reject_rows = []
    for i in range(n):
        if rejected[i]:
            reject_rows.append({
                "source_row": raw.row_numbers[i], "reason": problems[i][0][0],
                "detail": "; ".join(d for _, d in problems[i]),
                "raw_json": json.dumps({cmap.labels[j]: _clip(raw.rows[i][j], max_cell) for j in keep_cols}, ensure_ascii=False),
            })
    ok = [i for i in range(n) if not rejected[i]]
    subs = pd.DataFrame({
        "source_row": [raw.row_numbers[i] for i in ok],
        "council_code": council.iloc[ok].to_numpy() if ok else [],
        "council_text": council_text.iloc[ok].to_numpy() if ok else [],
        "assessment_type": atypes.iloc[ok].to_numpy() if ok else [],
        "respondent_key": [keys[i] for i in ok],
        "respondent_role": role.iloc[ok].to_numpy() if ok else [],
        "submitted_at": submitted.iloc[ok].to_numpy() if ok else pd.Series([], dtype="datetime64[ns]"),
        "synthetic": synthetic.iloc[ok].astype(bool).to_numpy() if ok else pd.Series([], dtype=bool),
    })
    ans = []
    for dim in model.dimension_ids:
        if dim not in levels:
            continue
        je = by_field.get(("evidence", dim))
        ans.append(pd.DataFrame({
            "source_row": subs["source_row"].to_numpy(),
            "dimension_id": dim,
            "level": levels[dim].iloc[ok].astype("Int64").to_numpy(),
            "level_status": statuses[dim].iloc[ok].to_numpy(),
            "target_level": targets[dim].iloc[ok].astype("Int64").to_numpy() if dim in targets else pd.array([pd.NA] * len(ok), dtype="Int64"),
            "evidence": col(je).iloc[ok].replace("", pd.NA).to_numpy() if je is not None else pd.array([pd.NA] * len(ok), dtype="string"),
        }))
    answers = pd.concat(ans, ignore_index=True) if ans else pd.DataFrame(
        columns=["source_row", "dimension_id", "level", "level_status", "target_level", "evidence"])
    rejects = pd.DataFrame(reject_rows, columns=["source_row", "reason", "detail", "raw_json"])
    return Parsed(raw, shape, cmap, subs, answers, rejects, unmatched, map_used, notes)


# ---------------------------------------------------------------- run manifests
MANIFEST_COLUMNS = ("file", "wave", "assessment_type")


def read_run_manifest(path) -> pd.DataFrame:
    """Read and check a run manifest (``manifest.csv``: file, wave, assessment_type; one row per export).

    Each problem is named by row and column: a missing column, a wave that is not a year ("twenty"), an
    unknown assessment type, a file name that is blank, points outside the manifest's folder or does not exist.
    """
    path = Path(path)
    hint = "A run manifest is a CSV with the columns file, wave, assessment_type (see data/demo/exports/manifest.csv)."
    data = read_file(path, "run manifest", IngestError, hint=hint)
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError("the run manifest is not UTF-8 text.", file=path, hint="Save it as CSV UTF-8.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise IngestError(f"the run manifest cannot be read as CSV ({' '.join(str(exc).split())[:160]}).", file=path,
                          hint=hint) from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in MANIFEST_COLUMNS if c not in df.columns]
    if missing:
        raise IngestError(f"the run manifest has no column {', '.join(missing)}.", file=path, row=1, hint=hint)
    if df.empty:
        raise IngestError("the run manifest lists no exports.", file=path, hint=hint)
    for i, r in df.iterrows():
        row = int(i) + 2
        name = r["file"].strip()
        if not name or Path(name).name != name or name in (".", ".."):
            raise IngestError(f"{r['file']!r} is not the name of a file in the manifest's folder.", file=path, row=row,
                              column="file", hint="Give the export's file name only, without a folder.")
        if not (path.parent / name).is_file():
            raise IngestError(f"the export {name!r} is not in {path.parent}.", file=path, row=row, column="file",
                              hint="Check the file name, or put the export beside the manifest.")
        wave = r["wave"].strip()
        if not re.fullmatch(r"\d{4}", wave) or not 2000 <= int(wave) <= 2100:
            raise IngestError(f"the wave {r['wave']!r} is not a year such as 2026.", file=path, row=row, column="wave",
                              hint="Write the assessment year in figures.")
        if r["assessment_type"].strip() not in ASSESSMENT_TYPES:
            raise IngestError(f"the assessment type {r['assessment_type']!r} is not one of {', '.join(ASSESSMENT_TYPES)}.",
                              file=path, row=row, column="assessment_type")
    out = df.assign(file=df["file"].str.strip(), wave=df["wave"].str.strip().astype(int),
                    assessment_type=df["assessment_type"].str.strip())
    return out
