"""Scores: council levels per dimension and wave, and the overall level.

All functions take and return tidy DataFrames.

Respondent aggregation: when a council has several respondents in a wave (same assessment type), its
level on a dimension is the median of their answered levels (blank and "don't know" are left out).
The overall level follows the model's rule (see ``dqm.model.OVERALL_RULES``); a council with fewer
answered dimensions than the model's ``min_coverage`` gets no overall level.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import Model
from .bodies import drop_non_councils


def round_half_up(x):
    """Round .5 up (2.5 -> 3), as people expect of levels; NaN stays NaN."""
    return np.floor(np.asarray(x, dtype=float) + 0.5)


def overall_level(levels: pd.DataFrame, rule: str, min_coverage: int) -> pd.Series:
    """Overall level per row of a wide table of dimension levels (one column per dimension).

    >>> df = pd.DataFrame({"a": [1, 3], "b": [2, 4], "c": [4, 4]})
    >>> overall_level(df, "rounded_mean", 3).tolist()
    [2.0, 4.0]
    >>> overall_level(df, "threshold", 3).tolist()
    [1.0, 3.0]
    """
    x = levels.astype(float)
    coverage = x.notna().sum(axis=1)
    if rule == "rounded_mean":
        out = round_half_up(x.mean(axis=1))
    elif rule == "median":
        out = round_half_up(x.median(axis=1))
    elif rule == "geometric_mean":
        out = round_half_up(np.exp(np.log(x).mean(axis=1)))
    elif rule == "threshold":
        out = np.floor(x.min(axis=1))
    else:
        raise ValueError(f"unknown overall rule {rule!r}")
    out = pd.Series(out, index=levels.index, dtype=float)
    return out.where(coverage >= min_coverage)


def council_levels(answers: pd.DataFrame, model: Model) -> pd.DataFrame:
    """One row per council, wave and assessment type: median level per dimension, coverage and overall.

    ``answers`` is the long table from :func:`dqm.store.load` (current submissions only). Rows of bodies that
    are not councils (combined authorities, the GLA) are left out, with a warning (see :mod:`dqm.scoring.bodies`).
    """
    answers = drop_non_councils(answers)
    dims = model.dimension_ids
    keys = ["council_code", "wave", "assessment_type"]
    if answers.empty:
        return pd.DataFrame(columns=keys + ["n_respondents"] + dims + ["coverage", "overall_mean", "overall_level"])
    a = answers.assign(level=answers["level"].astype(float))
    wide = a.pivot_table(index=keys, columns="dimension_id", values="level", aggfunc="median")
    wide = wide.reindex(columns=dims)
    n = a.groupby(keys)["submission_id"].nunique().rename("n_respondents")
    out = wide.join(n).reset_index()
    out["coverage"] = out[dims].notna().sum(axis=1)
    out["overall_mean"] = out[dims].mean(axis=1).where(out["coverage"] >= model.min_coverage)
    out["overall_level"] = overall_level(out[dims], model.overall_rule, model.min_coverage)
    out.columns.name = None
    return out[keys + ["n_respondents"] + dims + ["coverage", "overall_mean", "overall_level"]]
