"""Sector summaries for the annual report: response rates, level shares, means with intervals, targets.

Councils are the unit of analysis; breakdowns of fewer than ``SUPPRESS_BELOW`` councils are suppressed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import Model
from .levels import round_half_up

SUPPRESS_BELOW = 5  # breakdowns of fewer councils than this are suppressed in sector outputs


def suppress_small(df: pd.DataFrame, n_col: str, value_cols: list[str], threshold: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """Blank ``value_cols`` (and ``n_col``) where ``n_col`` < threshold; adds a ``suppressed`` flag."""
    out = df.copy()
    small = out[n_col] < threshold
    out["suppressed"] = small
    for c in value_cols + [n_col]:
        out[c] = out[c].astype("object").where(~small, None)
    return out


def response_rates(responding: pd.Series, reference: pd.DataFrame, by: str, threshold: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """Responding principal councils against all principal councils, by a reference column.

    ``responding`` holds the local-authority-codes that took part. Groups with fewer than ``threshold``
    responding councils have their counts suppressed (the group's total is still shown).
    """
    ref = reference[reference["principal"]]
    took_part = ref["local-authority-code"].isin(set(responding))
    g = ref.assign(responded=took_part).groupby(by, dropna=False).agg(councils=("responded", "size"), responded=("responded", "sum"))
    g = g.reset_index().rename(columns={by: "group"})
    g["rate"] = g["responded"] / g["councils"]
    total = pd.DataFrame({"group": ["All principal councils"], "councils": [len(ref)], "responded": [int(took_part.sum())],
                          "rate": [took_part.mean()]})
    g = pd.concat([g, total], ignore_index=True)
    return suppress_small(g, "responded", ["rate"], threshold)


def level_shares(levels: pd.DataFrame, model: Model) -> pd.DataFrame:
    """Share of councils at each level per dimension (council medians rounded half up); tidy."""
    rows = []
    for dim in model.dimension_ids:
        vals = round_half_up(levels[dim].dropna())
        n = len(vals)
        for lv in model.level_values:
            k = int((vals == lv).sum())
            rows.append({"dimension_id": dim, "dimension": model.dimension_name(dim), "level": lv,
                         "n": k, "share": k / n if n else np.nan, "councils": n})
    return pd.DataFrame(rows)


def mean_with_ci(values: pd.Series, conf: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and t-interval over councils (the unit of analysis)."""
    from scipy import stats

    v = pd.Series(values, dtype=float).dropna()
    n = len(v)
    if n == 0:
        return (np.nan, np.nan, np.nan, 0)
    m = float(v.mean())
    if n == 1:
        return (m, np.nan, np.nan, 1)
    half = float(stats.t.ppf(0.5 + conf / 2, n - 1) * v.std(ddof=1) / np.sqrt(n))
    return (m, m - half, m + half, n)


def dimension_means(levels: pd.DataFrame, model: Model, by: list[str] | str | None = None,
                    assessment_type: str | None = "self") -> pd.DataFrame:
    """Mean council level per dimension (and overall), with 95% t-intervals over councils, optionally by group.

    ``levels`` is the ``councils`` table of :func:`dqm.store.load` (one row per council, wave and
    assessment type). Only ``assessment_type`` rows are used (self-assessments unless asked;
    ``None`` keeps every row, which counts a council assessed two ways twice), as in
    :func:`~dqm.scoring.sector_trend`. ``councils`` is the number of councils (n) behind each mean.

    >>> import pandas as pd
    >>> from dqm.model import load_model
    >>> m = load_model()
    >>> lv = pd.DataFrame({"council_code": ["A", "B", "A"], "assessment_type": ["self", "self", "independent"],
    ...                    "region": ["X", "X", "X"], **{d: [2.0, 4.0, 1.0] for d in m.dimension_ids}})
    >>> lv["overall_mean"] = lv[m.dimension_ids].mean(axis=1)
    >>> dimension_means(lv, m, by="region").query("dimension_id == 'overall_mean'")[["region", "mean", "councils"]]
       region  mean  councils
    10      X   3.0         2
    """
    by = [by] if isinstance(by, str) else list(by or [])
    if assessment_type is not None and "assessment_type" in levels:
        levels = levels[levels["assessment_type"] == assessment_type]
    rows = []
    groups = levels.groupby(by, dropna=False) if by else [((), levels)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        for dim in model.dimension_ids + ["overall_mean"]:
            m, lo, hi, n = mean_with_ci(sub[dim])
            rows.append({**dict(zip(by, key)), "dimension_id": dim,
                         "dimension": "Overall" if dim == "overall_mean" else model.dimension_name(dim),
                         "mean": m, "ci_low": lo, "ci_high": hi, "councils": n})
    return pd.DataFrame(rows)


def target_gaps(answers: pd.DataFrame, model: Model) -> pd.DataFrame:
    """Per dimension, over councils (the unit of analysis): the mean of the councils' current levels, of their
    targets and of their gaps, among councils with at least one respondent giving both.

    A council's current level and its target on a dimension are the medians of its respondents' answers (among
    the respondents who gave both), and its gap is target minus current; so a council with five respondents counts
    once, like a council with one. ``councils``: how many councils each mean is over; ``below_current``: how many of
    them aim below their current level.
    """
    a = answers.dropna(subset=["level", "target_level"]).astype({"level": float, "target_level": float})
    c = a.groupby(["council_code", "dimension_id"]).agg(level=("level", "median"), target=("target_level", "median"))
    c = c.assign(gap=c["target"] - c["level"]).reset_index()
    g = c.groupby("dimension_id").agg(current=("level", "mean"), target=("target", "mean"), gap=("gap", "mean"),
                                      councils=("gap", "size"), below_current=("gap", lambda s: int((s < 0).sum())))
    g = g.reindex(model.dimension_ids).reset_index()
    g.insert(1, "dimension", g["dimension_id"].map(model.dimension_name))
    return g


def nonresponse_profile(responding: pd.Series, reference: pd.DataFrame) -> pd.DataFrame:
    """Responding and non-responding principal councils compared on what is known about both."""
    ref = reference[reference["principal"]].assign(responded=lambda d: d["local-authority-code"].isin(set(responding)))
    rows = []
    for took_part, g in ref.groupby("responded"):
        rows.append({"group": "Took part" if took_part else "Did not take part", "councils": len(g),
                     "median_population": float(g["population"].median()),
                     "mean_deprivation": float(g["deprivation_score"].mean()),
                     "mean_urban_share": float(g["urban_share"].mean()),
                     "share_districts": float((g["type_group"] == "District council").mean())})
    return pd.DataFrame(rows)
