"""What a survey export is once read: its rows as text, before any matching (shared by ingest and the pack reader).

A module of its own, importing nothing from dqm, so that :mod:`dqm.documents.pack` can build one without
importing :mod:`dqm.ingest`, which reads packs (no import cycle).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path


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


def cell_text(v) -> str:
    """A spreadsheet cell's value as the text ingest reads: whole floats without ".0", datetimes in ISO form."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    return str(v)
