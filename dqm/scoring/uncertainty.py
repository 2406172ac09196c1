"""Uncertainty and rank stability: a Monte Carlo over the defensible choices in building the index.

Following the OECD/JRC Handbook (step 7, uncertainty and sensitivity analysis), each draw makes one
set of choices, scores every council and ranks them; over many draws each council gets a median
score and rank and a 5th to 95th percentile interval. The choices varied:

* respondent aggregation: median or mean of a council's respondents;
* missing dimensions: left out (weights renormalised), filled with the council's own mean, or filled
  with the sector median of that dimension;
* aggregation rule: arithmetic mean, geometric mean, median, or the threshold rule (the minimum);
* weights: Dirichlet draws around equal weights (concentration ``weight_concentration`` per
  dimension; 50 keeps each weight mostly within plus or minus 30% of equal).

Councils answering fewer dimensions than the model's ``min_coverage`` are not scored. Ranks are 1
for the highest score; ties share the average rank. The Monte Carlo is seeded and reproducible.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..model import Model

RULES = ("mean", "geometric_mean", "median", "threshold")
IMPUTATIONS = ("none", "council_mean", "sector_median")
RESPONDENT_AGGREGATIONS = ("median", "mean")


def _council_matrix(answers: pd.DataFrame, dims: list[str], how: str) -> pd.DataFrame:
    a = answers.assign(level=answers["level"].astype(float))
    wide = a.pivot_table(index="council_code", columns="dimension_id", values="level", aggfunc=how)
    return wide.reindex(columns=dims)


def _impute(x: np.ndarray, how: str) -> np.ndarray:
    if how == "none":
        return x
    if how == "council_mean":
        fill = np.nanmean(x, axis=1, keepdims=True)
        return np.where(np.isnan(x), fill, x)
    fill = np.nanmedian(x, axis=0, keepdims=True)
    return np.where(np.isnan(x), fill, x)


def _composite(x: np.ndarray, rule: str, weights: np.ndarray) -> np.ndarray:
    """Scores (councils x draws) for one rule; weights is dims x draws. NaNs are left out."""
    mask = ~np.isnan(x)
    x0 = np.where(mask, x, 0.0)
    if rule == "mean":
        return (x0 @ weights) / (mask @ weights)
    if rule == "geometric_mean":
        return np.exp((np.where(mask, np.log(np.where(mask, x, 1.0)), 0.0) @ weights) / (mask @ weights))
    if rule == "median":
        return np.repeat(np.nanmedian(x, axis=1)[:, None], weights.shape[1], axis=1)
    if rule == "threshold":
        return np.repeat(np.nanmin(x, axis=1)[:, None], weights.shape[1], axis=1)
    raise ValueError(rule)


def monte_carlo_ranks(answers: pd.DataFrame, model: Model, n_draws: int = 1000, seed: int = 20261122,
                      weight_concentration: float = 50.0, assessment_type: str = "self") -> pd.DataFrame:
    """Per wave and council: median score and rank with 5th-95th percentile intervals over ``n_draws`` draws.

    ``answers``: long answers of current submissions (from :func:`dqm.store.load`).
    """
    dims = model.dimension_ids
    rng = np.random.default_rng(seed)
    out = []
    a = answers[(answers["assessment_type"] == assessment_type) & answers["level"].notna()]
    for wave, sub in a.groupby("wave"):
        mats = {h: _council_matrix(sub, dims, h) for h in RESPONDENT_AGGREGATIONS}
        index = mats["median"].index
        coverage = mats["median"].notna().sum(axis=1)
        keep = (coverage >= model.min_coverage).to_numpy()
        index = index[keep]
        n = len(index)
        if n == 0:
            continue
        # every draw makes each choice at random; draws are grouped by their discrete choices for speed
        choice_resp = rng.integers(len(RESPONDENT_AGGREGATIONS), size=n_draws)
        choice_imp = rng.integers(len(IMPUTATIONS), size=n_draws)
        choice_rule = rng.integers(len(RULES), size=n_draws)
        weights = rng.dirichlet(np.full(len(dims), weight_concentration), size=n_draws).T  # dims x draws
        scores = np.empty((n, n_draws))
        for r_i, resp in enumerate(RESPONDENT_AGGREGATIONS):
            base = mats[resp].to_numpy()[keep]
            for i_i, imp in enumerate(IMPUTATIONS):
                x = _impute(base, imp)
                for u_i, rule in enumerate(RULES):
                    sel = np.flatnonzero((choice_resp == r_i) & (choice_imp == i_i) & (choice_rule == u_i))
                    if sel.size:
                        scores[:, sel] = _composite(x, rule, weights[:, sel])
        ranks = rankdata(-scores, axis=0, method="average")
        q = lambda m, p: np.percentile(m, p, axis=1)
        out.append(pd.DataFrame({
            "council_code": index, "wave": wave, "councils_ranked": n,
            "score_median": q(scores, 50), "score_p5": q(scores, 5), "score_p95": q(scores, 95),
            "rank_median": q(ranks, 50), "rank_p5": q(ranks, 5), "rank_p95": q(ranks, 95),
        }))
    res = pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["council_code", "wave", "councils_ranked", "score_median", "score_p5", "score_p95",
                 "rank_median", "rank_p5", "rank_p95"])
    res["position"] = [rank_statement(lo, hi, n) for lo, hi, n in zip(res["rank_p5"], res["rank_p95"], res["councils_ranked"])]
    return res


def rank_statement(rank_p5: float, rank_p95: float, n: int) -> str:
    """What a report may say about a council's position: only what its whole 5th-95th rank interval supports.

    >>> rank_statement(3, 40, 200)
    'in the top quarter'
    >>> rank_statement(3, 90, 200)
    'in the top half'
    >>> rank_statement(30, 150, 200)
    'not clearly different from the middle'
    """
    if rank_p95 <= n / 4:
        return "in the top quarter"
    if rank_p5 > 3 * n / 4:
        return "in the bottom quarter"
    if rank_p95 <= n / 2:
        return "in the top half"
    if rank_p5 > n / 2:
        return "in the bottom half"
    return "not clearly different from the middle"
