"""The one rule for every cell dqm writes to a spreadsheet (XLSX) or a CSV file.

Text comes from data files (the model, the action library, council names, survey exports, outcome
files) and is opened by councils in Excel or LibreOffice, which run a cell that starts with ``=``,
``+``, ``-`` or ``@`` (or a tab or carriage return before one) as a formula: ``=HYPERLINK(...)``
or ``=cmd|'/C calc'!A0`` would then fetch or run something on the reader's machine. So:

* text is cleaned as in the reports' HTML (:func:`dqm.markup.clean`: no control characters, no bidi
  overrides, embeddings or isolates, no unpaired surrogates);
* in XLSX, text is always written as text (never as a formula or an error code such as ``#N/A``);
  the only live formulas are dqm's own, written explicitly with :func:`formula` (the pack's calculator);
* in CSV, text that would start a formula (also after leading spaces, or after a line feed, which is what
  a carriage return becomes) is prefixed with a single quote (OWASP's advice), which a spreadsheet shows as
  text; a plain number written as text (``-1``, ``+2.5``) is not a formula and is left as it is;
* numbers, dates, booleans and blanks are written as they are (a number is never text).

>>> csv_cell("=HYPERLINK(\\"http://x\\")"), csv_cell("-1"), csv_cell(-1), csv_cell("ab\\u202ecd")
('\\'=HYPERLINK("http://x")', '-1', -1, 'abcd')
>>> csv_cell("@SUM(1)"), csv_cell("-2+3"), csv_cell("\\t=1")
("'@SUM(1)", "'-2+3", "'\\t=1")
"""
from __future__ import annotations

import io
import re
import weakref

from .markup import clean

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_FORMULAS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # worksheet -> coordinates of dqm's own formulas


class Formula(str):
    """A formula dqm itself writes (such as the pack's calculator), starting with ``=``: the only live formulas."""

    def __new__(cls, text: str):
        if not str(text).startswith("="):
            raise ValueError(f"a formula starts with '=': {text!r}")
        return super().__new__(cls, text)


def cell_text(value) -> str:
    """Text as a cell should hold it: control, bidi and surrogate characters removed (as in HTML)."""
    return clean(value)


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet might read this text as a formula: it starts with ``=``, ``+``, ``-`` or ``@`` (also
    after spaces, which an import may trim), or with a tab, carriage return or line feed. A plain number such as
    ``-1`` is not a formula."""
    head = text.lstrip(" ")
    if head[:1] in ("\t", "\r", "\n"):
        return True
    return head[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(head)


# ---------------------------------------------------------------- CSV
def csv_cell(value):
    """One value as a CSV cell: text cleaned and, if it would start a formula, prefixed with ``'``; else unchanged.

    Where the list separator is ``;`` (many European settings of Excel), a comma CSV's cell is split at each
    ``;``: every piece after one that would start a formula is prefixed with ``'`` too.

    >>> csv_cell("=1+1"), csv_cell("Gotham;=cmd|' /C calc'!A0"), csv_cell("-1"), csv_cell("a; b")
    ("'=1+1", "Gotham;'=cmd|' /C calc'!A0", '-1', 'a; b')
    """
    if not isinstance(value, str):
        return value
    text = cell_text(value)
    if ";" in text:
        first, *rest = text.split(";")
        text = ";".join([first, *("'" + piece if starts_formula(piece) else piece for piece in rest)])
    return "'" + text if starts_formula(text) else text


def csv_frame(frame):
    """A copy of a DataFrame with :func:`csv_cell` applied to every text value and column name."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = frame.copy()
    for col in out.columns:
        if is_object_dtype(out[col].dtype) or is_string_dtype(out[col].dtype):  # text (numbers are left alone)
            out[col] = out[col].map(csv_cell, na_action="ignore")
    out.columns = [csv_cell(c) for c in out.columns]
    return out


def csv_text(frame, **kwargs) -> str:
    """A DataFrame as CSV text under the cell rule (``index=False`` unless given)."""
    kwargs.setdefault("index", False)
    return csv_frame(frame).to_csv(**kwargs)


def csv_rows(rows) -> str:
    """Rows (lists of values) as CSV text under the cell rule, one line each."""
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow([csv_cell(v) for v in row])
    return buf.getvalue()


# ---------------------------------------------------------------- XLSX (openpyxl)
def put(cell, value):
    """Set one worksheet cell to a value from data: text is cleaned and always text; returns the cell.

    A :class:`Formula` is written as a live formula (see :func:`formula`).
    """
    if isinstance(value, Formula):
        return formula(cell, value)
    if isinstance(value, str):
        cell.value = cell_text(value)
        cell.data_type = "s"  # openpyxl would otherwise make "=..." a formula and "#N/A" an error
    else:
        cell.value = value
    return cell


def formula(cell, text: str):
    """Write one of dqm's own formulas (``=...``) into a cell, live; returns the cell."""
    cell.value = str(Formula(text))
    if cell.data_type != "f":  # pragma: no cover  (openpyxl makes every "=..." of two or more characters one)
        raise ValueError(f"openpyxl did not take {text!r} as a formula")
    _FORMULAS.setdefault(cell.parent, set()).add(cell.coordinate)
    return cell


def inert(wb) -> int:
    """Make every formula in the workbook that dqm did not write with :func:`formula` text; returns how many.

    The last step before a workbook is saved, so that no cell written any other way can be a formula.
    """
    n = 0
    for ws in wb.worksheets:
        ours = _FORMULAS.get(ws, set())
        for row in ws.iter_rows():
            for c in row:
                if c.data_type in ("f", "e") and c.coordinate not in ours:
                    c.value = cell_text(c.value)
                    c.data_type = "s"
                    n += 1
    return n


def xlsx_bytes(wb) -> bytes:
    """The workbook as XLSX bytes, after :func:`inert` (write them with :func:`dqm.paths.write_atomic`)."""
    inert(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
