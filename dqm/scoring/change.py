"""Change between waves: per council (beyond measurement noise or not), sector trends, target realism.

**When is a council's change larger than the noise?** A council's score on a dimension is an average
over its respondents, who disagree; the within-council standard deviation s_w comes from the
one-way ANOVA behind ICC (``agreement.icc_oneway``), pooled over all councils with two or more
respondents in the earlier wave. With n1 and n2 respondents in the two waves, the standard error of
the change is s_w * sqrt(1/n1 + 1/n2), and a change is *beyond the noise* when its absolute size is
more than 1.96 standard errors (a reliable change index, Jacobson and Truax 1991). This counts only
the disagreement between respondents; a council whose respondents change their standards between
waves can still show a change that is not real, so reports call such a change "larger than the
disagreement between respondents", not "real".

**Sector trend.** Two estimates per dimension: the change in the mean over all responding councils
(which mixes real change with who responded), and the *panel* change among councils that responded
in both waves (paired, with a t-interval), which is the honest estimate of growth.

**Target realism.** A target is for two years ahead. It is compared with the changes councils
actually achieved: the 90th percentile of observed council change over two waves (or twice the
one-wave change when only two waves exist). The share of targets that need more than that is reported.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import Model
from .agreement import respondent_agreement
from .sector import mean_with_ci

Z = 1.959963984540054


def council_change(council_levels: pd.DataFrame, answers: pd.DataFrame, model: Model, wave_from: int, wave_to: int,
                   assessment_type: str = "self") -> pd.DataFrame:
    """Per council and dimension (and overall): before, after, change, its standard error and beyond_noise."""
    dims = model.dimension_ids + ["overall_mean"]
    lv = council_levels[council_levels["assessment_type"] == assessment_type]
    a, b = lv[lv["wave"] == wave_from], lv[lv["wave"] == wave_to]
    both = a.merge(b, on="council_code", suffixes=("_from", "_to"))
    agree = respondent_agreement(answers[answers["wave"] == wave_from], model, assessment_type)
    sw = agree.set_index("dimension_id")["within_sd"].to_dict() if not agree.empty else {}
    rows = []
    for dim in dims:
        before, after = both[f"{dim}_from"].astype(float), both[f"{dim}_to"].astype(float)
        se = sw.get(dim, np.nan) * np.sqrt(1 / both["n_respondents_from"] + 1 / both["n_respondents_to"])
        change = after - before
        rows.append(pd.DataFrame({
            "council_code": both["council_code"], "dimension_id": dim,
            "dimension": "Overall" if dim == "overall_mean" else model.dimension_name(dim),
            "wave_from": wave_from, "wave_to": wave_to, "before": before, "after": after, "change": change,
            "se": se, "beyond_noise": (change.abs() > Z * se) & se.notna(),
        }))
    return pd.concat(rows, ignore_index=True).dropna(subset=["change"])


def panel_change(council_levels: pd.DataFrame, model: Model, wave_from: int, wave_to: int,
                 assessment_type: str = "self", conf: float = 0.95) -> pd.DataFrame:
    """Mean change among councils assessed in both waves, per dimension, with a paired t-interval."""
    lv = council_levels[council_levels["assessment_type"] == assessment_type]
    both = lv[lv["wave"] == wave_from].merge(lv[lv["wave"] == wave_to], on="council_code", suffixes=("_from", "_to"))
    rows = []
    for dim in model.dimension_ids + ["overall_mean"]:
        m, lo, hi, n = mean_with_ci(both[f"{dim}_to"] - both[f"{dim}_from"], conf)
        rows.append({"dimension_id": dim, "dimension": "Overall" if dim == "overall_mean" else model.dimension_name(dim),
                     "wave_from": wave_from, "wave_to": wave_to, "councils": n, "change": m, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def sector_trend(council_levels: pd.DataFrame, model: Model, by: str | None = None,
                 assessment_type: str = "self") -> pd.DataFrame:
    """Mean overall score per wave (and group), with 95% t-intervals over councils."""
    lv = council_levels[council_levels["assessment_type"] == assessment_type]
    keys = ["wave"] + ([by] if by else [])
    rows = []
    for key, sub in lv.groupby(keys, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        m, lo, hi, n = mean_with_ci(sub["overall_mean"])
        rows.append({**dict(zip(keys, key)), "mean": m, "ci_low": lo, "ci_high": hi, "councils": n})
    return pd.DataFrame(rows)


def target_realism(council_levels: pd.DataFrame, answers: pd.DataFrame, model: Model, wave: int,
                   assessment_type: str = "self") -> pd.DataFrame:
    """Per dimension: mean target gap at council level, what councils actually achieved in two years, and
    the share of targets needing more than the 90th percentile of achieved change."""
    a = answers[(answers["wave"] == wave) & (answers["assessment_type"] == assessment_type)]
    tgt = a.assign(target_level=a["target_level"].astype(float)).pivot_table(
        index="council_code", columns="dimension_id", values="target_level", aggfunc="median")
    lv = council_levels[council_levels["assessment_type"] == assessment_type]
    now = lv[lv["wave"] == wave].set_index("council_code")
    waves = sorted(w for w in lv["wave"].unique() if w <= wave)
    rows = []
    for dim in model.dimension_ids:
        gap = (tgt.get(dim) - now[dim]).dropna() if dim in tgt else pd.Series(dtype=float)
        achieved, span = None, None
        if len(waves) >= 3:
            achieved = panel_values(lv, dim, waves[-3], waves[-1])
            span = "two years"
        elif len(waves) == 2:
            achieved = 2 * panel_values(lv, dim, waves[-2], waves[-1])
            span = "twice the one-year change"
        p90 = float(np.percentile(achieved, 90)) if achieved is not None and len(achieved) else np.nan
        rows.append({"dimension_id": dim, "dimension": model.dimension_name(dim), "councils": len(gap),
                     "mean_target_gap": gap.mean() if len(gap) else np.nan,
                     "achieved_change_p90": p90, "achieved_basis": span,
                     "mean_achieved_change": float(np.mean(achieved)) if achieved is not None and len(achieved) else np.nan,
                     "share_targets_beyond_p90": float((gap > p90).mean()) if len(gap) and not np.isnan(p90) else np.nan})
    return pd.DataFrame(rows)


def panel_values(lv: pd.DataFrame, dim: str, w0: int, w1: int) -> np.ndarray:
    both = lv[lv["wave"] == w0].merge(lv[lv["wave"] == w1], on="council_code", suffixes=("_0", "_1"))
    return (both[f"{dim}_1"] - both[f"{dim}_0"]).astype(float).dropna().to_numpy()
