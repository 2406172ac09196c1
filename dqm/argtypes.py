"""Argument types for the command line: every number a user types is checked against bounds.

A number outside its bounds (a wave of 40 digits, ``--seed -1``, a million Monte Carlo draws) is refused
by argparse with the usage and a one-line message, exit code 2, before any work is done. The bounds are
here, in one place, and shown in each option's ``--help``.

>>> year("2026")
2026
>>> positive(int, most=10)("11")
Traceback (most recent call last):
argparse.ArgumentTypeError: '11' must be at most 10
"""
from __future__ import annotations

import argparse
import math

FIRST_YEAR, LAST_YEAR = 2000, 2100  # an assessment year (wave), as run manifests also require
MOST_DRAWS = 10_000  # Monte Carlo draws: the rank intervals keep councils x dimensions x draws in memory
MOST_BOOTSTRAP = 100_000  # bootstrap resamples of the claims engine
MOST_NULL_BOOTSTRAP = 10_000  # resamples of the specification curve's joint test (every specification each)
MOST_JOBS = 256  # worker processes
MOST_SEED = 2**32 - 1  # numpy's seeds are 0 to 2**32 - 1


def _shown(text: str) -> str:
    """The text as typed, shortened if long (a number of 40 digits)."""
    return repr(text if len(text) <= 16 else text[:16] + "...")


def number(kind=int, least: float = 1, most: float | None = None):
    """An argparse type: a whole (``int``) or decimal (``float``) number from ``least`` to ``most``."""
    def parse(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a {'whole ' if kind is int else ''}number") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a finite number")
        if not value >= least:
            raise argparse.ArgumentTypeError(f"{_shown(text)} must be at least {least:,}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{_shown(text)} must be at most {most:,}")
        return value
    parse.__name__ = "number"
    return parse


def positive(kind=int, most: float | None = None):
    """An argparse type: a whole (or decimal) number of at least 1 (and at most ``most``)."""
    return number(kind, 1, most)


def year(text):
    """An argparse type: an assessment year (wave) from 2000 to 2100.

    Text that is not a whole number gets argparse's own message ("invalid int value: 'twenty'").
    """
    value = int(text)  # ValueError: argparse says "invalid int value"
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a year from {FIRST_YEAR} to {LAST_YEAR}, such as 2026")
    return value


year.__name__ = "int"  # argparse names the type in its message for text that is not a number

seed = number(int, 0, MOST_SEED)
"""An argparse type: a random seed, a whole number from 0 to 2**32 - 1."""
