"""Read survey-tool exports and turn them into tidy submissions, answers and quarantined rows.

This module never writes to the store; :func:`dqm.store.ingest_files` does, in one transaction.

>>> from dqm.model import load_model
>>> parse_level("Level 3: Impactful", load_model())
(3, 'answered')
>>> parse_level("Don't know", load_model())
(None, 'dont_know')
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml
from rapidfuzz import fuzz, process

from .errors import IngestError
from .model import Model
from .paths import data_dir
from .reference import map_key, match_council

ASSESSMENT_TYPES = ("self", "peer", "independent")
MAX_CELL_CHARS = 20_000_000  # larger cells are almost certainly not survey answers
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@lru_cache(maxsize=4)
def survey_tools(path: str | None = None) -> dict:
    p = Path(path) if path else data_dir() / "survey_tools.yaml"
    return yaml.safe_load(p.read_text(encoding="utf-8"))


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
@dataclass
class RawExport:
    path: Path
    sha256: str
    kind: str  # csv | xlsx
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    header_rows: list[list[str]]  # one or more header rows
    rows: list[list[str]]  # data rows as text
    row_numbers: list[int]  # the spreadsheet row number of each data row (header is row 1)
    blank_rows: int = 0


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    return str(v)


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    if b"\x00" in data[:8192]:
        raise IngestError("this is a binary file, not a CSV text file.", file=path,
                          hint="Export the survey as CSV (UTF-8) or XLSX and try again.")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
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
    text, enc = _decode(data, path)
    delim = _sniff_delimiter(text)

    def parse(strict: bool):
        rows, numbers = [], []
        for rec in csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=strict):
            rows.append(rec)
            numbers.append(len(rows))
        return rows, numbers

    try:
        rows, numbers = parse(strict=True)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            # a quote opened and never closed would swallow every later row: refuse rather than lose them
            partial = 0
            try:
                for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True):
                    partial += 1
            except csv.Error:
                pass
            raise IngestError("a quoted cell is never closed, so the rest of the file would be read as one cell.",
                              file=path, row=partial + 1,
                              hint="Check that row for an unmatched double quote, or re-export the file.") from None
        rows, numbers = parse(strict=False)  # stray quotes inside cells: read them as text
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

def _read_xlsx(path: Path, sheet: str | None, looks_like_header=None):
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestError(f"this is not a readable XLSX workbook ({type(exc).__name__}).", file=path,
                          hint="Open it in Excel and save as .xlsx, or export the survey as CSV.") from None
    try:
        names = wb.sheetnames
        if sheet is not None and sheet not in names:
            raise IngestError(f"there is no sheet {sheet!r}; the sheets are {', '.join(repr(n) for n in names)}.",
                              file=path, hint="Pass one of these with --sheet.")

        def read(name):
            rows, numbers = [], []
            for i, rec in enumerate(wb[name].iter_rows(values_only=True), start=1):
                rows.append([_cell_text(v) for v in rec])
                numbers.append(i)
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


def read_export(path: str | Path, shape: str | None = None, sheet: str | None = None,
                model: Model | None = None) -> tuple[RawExport, str]:
    """Read a CSV or XLSX export into text rows, detecting (or forcing) the survey tool's shape.

    With a model, an XLSX workbook's first sheet whose header has the council question is read
    (so a cover sheet before the responses is skipped); without one, the first sheet.
    """
    path = Path(path)
    if not path.exists():
        raise IngestError("the file does not exist.", file=path, hint="Check the path.")
    if path.is_dir():
        raise IngestError("this is a folder, not a file.", file=path)
    data = path.read_bytes()
    if not data.strip():
        raise IngestError("the file is empty.", file=path, hint="Export the survey responses again.")
    digest = hashlib.sha256(data).hexdigest()
    is_zip = data[:4] == b"PK\x03\x04"
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm") or is_zip:
        if not is_zip:
            raise IngestError("the file is named .xlsx but is not an XLSX workbook.", file=path,
                              hint="Open it in Excel and save as .xlsx, or export the survey as CSV.")
        if shape in (None, "pack"):  # an assessment pack made by `dqm pack` (dqm/documents/pack.py)
            from .documents.pack import pack_metadata, read_pack

            meta = pack_metadata(path)
            if meta is not None or shape == "pack":
                from .model import load_model

                return read_pack(path, digest, model or load_model(), meta), "pack"
        looks = None
        if model is not None:
            targets = _targets(model)
            looks = lambda header: any(targets.get(normalise_header(h)) == ("meta", "council") for h in header)
        rows, numbers, chosen, names = _read_xlsx(path, sheet, looks)
        kind, enc, delim = "xlsx", None, None
    elif suffix in (".xls", ".ods", ".numbers"):
        raise IngestError(f"{suffix} files are not supported.", file=path, hint="Save the file as .xlsx or .csv.")
    else:
        if sheet is not None:
            raise IngestError("--sheet only applies to XLSX files.", file=path)
        rows, numbers, enc, delim = _read_csv(path, data)
        kind, chosen = "csv", None
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    # drop blank rows at the top (some exports have a title row gap); count every blank row
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
        numbers.pop(0)
    if not rows:
        raise IngestError("the file has no header row.", file=path)
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
    raw = RawExport(path, digest, kind, enc, delim, chosen, header_rows, kept, kept_numbers, blank)
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
    if shape == "qualtrics":
        if len(rows) > 2 and any(c.strip().startswith('{"ImportId"') for c in rows[2]):
            return 3
        return 2 if len(rows) > 1 else 1
    if shape == "smartsurvey" and len(rows) > 1:
        second = rows[1]
        # a sub-question row under the question row: no respondent id, and (so that a response with a
        # blank id is never mistaken for a header and lost) no cell that reads as a level answer
        answers = model is not None and any(parse_level(c, model)[1] == "answered" for c in second)
        if not second[0].strip() and any(c.strip() for c in second) and not answers:
            return 2
    return 1


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


def parse_timestamp(values: pd.Series) -> pd.Series:
    """Dates as survey tools write them: ISO, UK day-first, or Excel cells already read as datetimes."""
    s = values.astype("string").str.strip().replace("", pd.NA)
    iso = pd.to_datetime(s, format="ISO8601", errors="coerce")
    rest = iso.isna() & s.notna()
    if rest.any():
        iso[rest] = pd.to_datetime(s[rest], dayfirst=True, errors="coerce", format="mixed")
    # strip " GMT"/" BST" suffixes that pandas cannot read
    rest = iso.isna() & s.notna()
    if rest.any():
        cleaned = s[rest].str.replace(r"\s+(GMT|BST|UTC)([+-]\d+)?$", "", regex=True)
        iso[rest] = pd.to_datetime(cleaned, dayfirst=True, errors="coerce", format="mixed")
    return iso


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


def respondent_key(parts: list[str], salt: str) -> str | None:
    text = "|".join(p.strip().lower() for p in parts if p and p.strip())
    if not text:
        return None
    return hashlib.sha256((salt + "|" + text).encode()).hexdigest()[:24]


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

    # cells too large to be an answer
    for j, label in enumerate(cmap.labels):
        if j in cmap.personal:
            continue
        lens = col(j).str.len().fillna(0).to_numpy()
        add(lens > MAX_CELL_CHARS, "cell too large", lambda i, label=label: f"column {label!r} holds {lens[i]:,} characters")

    # council: the user's council map first, then codes and exact names; near spellings and other bodies never stored
    council_text = col(by_field[("meta", "council")])
    codes, why, suggestions, mapped = {}, {}, {}, set()
    for text in pd.unique(council_text.fillna("")):
        if council_map and map_key(text) in council_map:
            codes[text] = council_map[map_key(text)]
            mapped.add(text)
            continue
        m = match_council(text)
        codes[text] = m.code
        why[text] = m.method
        suggestions[text] = ("; ".join(f"{nm} ({c})" for c, nm in m.suggestions) + (f". {m.note}" if m.note else "")).strip("; ")
    council = council_text.fillna("").map(codes)
    blank_council = council_text.fillna("").str.strip() == ""
    add((council.isna() & blank_council).to_numpy(), "no council given", lambda i: "the council column is blank")
    method = council_text.fillna("").map(lambda t: why.get(t, ""))
    refused = (council.isna() & ~blank_council & (method == "refused")).to_numpy()
    add(refused, "not a council", lambda i: suggestions[council_text.iloc[i]])
    too_long = (council.isna() & (method == "too_long")).to_numpy()
    add(too_long, "council name too long", lambda i: suggestions[council_text.iloc[i]])
    unknown = (council.isna() & ~blank_council & ~method.isin(["refused", "too_long"])).to_numpy()
    add(unknown, "unknown council", lambda i: f"{council_text.iloc[i]!r} is not a current council"
        + (f"; nearest: {suggestions[council_text.iloc[i]]}" if suggestions[council_text.iloc[i]] else ""))
    unmatched = [{"text": t, "method": why.get(t, "none"), "suggestions": suggestions[t]}
                 for t in pd.unique(council_text[unknown | refused].fillna(""))]
    unmatched += [{"text": t[:60] + "...", "method": "too_long", "suggestions": suggestions[t]}
                  for t in pd.unique(council_text[too_long].fillna(""))]
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

    # submitted time: must fall in the wave year or the year before
    submitted = parse_timestamp(col(cmap.submitted_at)) if cmap.submitted_at is not None else pd.Series(pd.NaT, index=range(n))
    years = submitted.dt.year
    outside = (years.notna() & ~years.isin([wave - 1, wave])).to_numpy()
    add(outside, "submitted outside the wave",
        lambda i: f"submitted on {submitted.iloc[i]:%d %B %Y}, outside {wave - 1} to {wave}")

    js = by_field.get(("meta", "synthetic"))
    synthetic = (col(js).fillna("").str.strip().str.lower().map(lambda v: bool(v) and v not in ("no", "false", "0", "n"))
                 if js is not None else pd.Series([False] * n))
    role = col(by_field[("meta", "respondent_role")]).fillna("").str.strip() if ("meta", "respondent_role") in by_field else pd.Series([""] * n, dtype="string")
    keys = []
    for i in range(n):
        parts = [raw.rows[i][j] for j in cmap.respondent]
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
                "raw_json": json.dumps({cmap.labels[j]: raw.rows[i][j] for j in keep_cols}, ensure_ascii=False),
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
    return Parsed(raw, shape, cmap, subs, answers, rejects, unmatched, map_used)
