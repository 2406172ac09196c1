"""Only principal councils are scored and ranked.

dqm refuses combined authorities and the Greater London Authority at ingest (see
:func:`dqm.reference.match_council`), but a store made by an older dqm, or received from someone else,
may hold answers for them. Scoring drops those rows and says so in a :class:`NotACouncilWarning`
(the CLI prints it as one "Warning:" line), never silently.
"""
from __future__ import annotations

import warnings

import pandas as pd

from ..errors import DQMWarning
from ..reference import only_councils


class NotACouncilWarning(DQMWarning):
    """A store holds answers for bodies that are not principal councils; they were left out of scores and ranks."""


def drop_non_councils(frame: pd.DataFrame, column: str = "council_code") -> pd.DataFrame:
    """``frame`` without the rows of combined authorities and the GLA, with a warning naming them if there were any.

    Codes that are not in the council reference table (such as those of simulated councils) are kept.

    >>> df = pd.DataFrame({"council_code": ["BST", "MAN"], "level": [3, 2]})
    >>> drop_non_councils(df)["council_code"].tolist()
    ['BST', 'MAN']
    """
    if frame.empty or column not in frame.columns:
        return frame
    kept, dropped = only_councils(frame, column)
    if dropped:
        bodies = "; ".join(f"{code}: {what}" for code, what in sorted(dropped.items()))
        n = len(frame) - len(kept)
        warnings.warn(NotACouncilWarning(
            f"the store holds {n:,} answer row(s) for {len(dropped)} bod{'y' if len(dropped) == 1 else 'ies'} that "
            f"{'is' if len(dropped) == 1 else 'are'} not a council ({bodies}); they are not scored, ranked or "
            "compared. The store was probably made by an older dqm: this dqm quarantines such rows at ingest."))
    return kept
