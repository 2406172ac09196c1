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


def dimension_means(levels: pd.DataFrame, model: Model, by: list[str] | None = None) -> pd.DataFrame:
    """Mean council level per dimension (and overall), with 95% intervals, optionally by group columns."""
    by = by or []
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
    """Per dimension: mean current level, mean target and mean gap among answers giving both."""
    a = answers.dropna(subset=["level", "target_level"]).astype({"level": float, "target_level": float})
    a = a.assign(gap=a["target_level"] - a["level"])
    g = a.groupby("dimension_id").agg(current=("level", "mean"), target=("target_level", "mean"),
                                      gap=("gap", "mean"), answers=("gap", "size"),
                                      below_current=("gap", lambda s: int((s < 0).sum())))
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
