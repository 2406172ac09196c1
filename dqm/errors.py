"""User-facing errors: each says what is wrong, where (file, row, column) and what to do.

The CLI prints these as one paragraph with no traceback; anything else is a bug.
"""
from __future__ import annotations


class DQMError(Exception):
    """An error caused by the user's input, with a message written for the user."""

    def __init__(self, message: str, *, file=None, row=None, column=None, hint: str | None = None):
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.hint = hint
        self.detail = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = (", ".join(where) + ": " if where else "") + self.detail
        if self.hint:
            text += " " + self.hint
        return text


class ModelError(DQMError):
    """The quality model file is malformed."""


class IngestError(DQMError):
    """A survey export could not be ingested at all (row-level problems are quarantined instead)."""


class ParameterError(DQMError):
    """A report or CLI parameter is invalid."""


class DQMWarning(UserWarning):
    """Something the user should know that does not stop the command (the CLI prints it as one "Warning:" line)."""


def did_you_mean(given, choices, n: int = 3, cutoff: float = 0.6) -> str:
    """The one "did you mean" sentence for an unknown name (a wave, a dimension, a column, a council ...).

    Returns a sentence starting with a space, or "" when nothing is close. Case is ignored.

    >>> did_you_mean("leadershp", ["leadership", "data", "skills"])
    " Did you mean 'leadership'?"
    >>> did_you_mean("zzz", ["leadership"])
    ''
    """
    import difflib

    options = {str(c).casefold(): str(c) for c in choices}
    close = difflib.get_close_matches(str(given).casefold(), list(options), n=n, cutoff=cutoff)
    if not close:
        return ""
    names = [repr(options[c]) for c in close]
    return " Did you mean " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]) + "?"
