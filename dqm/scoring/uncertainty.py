"""Uncertainty and rank stability: a Monte Carlo over the defensible choices in building the index.

Following the OECD/JRC Handbook (step 7, uncertainty and sensitivity analysis), each draw makes one
set of choices, scores every council and ranks them; over many draws each council gets a median
score and rank and a 5th to 95th percentile interval. The choices varied:

* respondent aggregation: median or mean of a council's respondents;
* missing dimensions: left out (weights renormalised), filled with the council's own mean, or filled
  with the sector median of that dimension;
* aggregation rule: arithmetic mean, geometric mean, median, or the threshold rule (the minimum);
* weights: Dirichlet draws around equal weights (concentration ``weight_concentration`` per
  dimension; 50 keeps each weight mostly within plus or minus 30% of equal);
* **respondent disagreement**: a council's level is built from one to a few respondents who do not
  agree, so each draw adds to every council's dimension levels a multivariate normal error with the
  measured within-council covariance divided by its number of respondents. The covariance
  (:func:`within_council_covariance`) is pooled over the councils with two or more respondents in the
  wave (variances from the one-way ANOVA within councils, correlations from respondents' deviations
  from their council's mean), and is applied explicitly to single-respondent councils too: one
  respondent is treated as one draw from their council's respondents, never as the council's exact level.
  The error of a median of three or more respondents is widened by sqrt(pi/2) (its larger variance).
  Draws start from each council's empirical-Bayes posterior (Goldstein and Spiegelhalter 1996, league
  tables): its level is pulled toward the sector mean by its share of error variance, and varies by its
  posterior spread, so a council with one respondent is neither placed at its one answer nor given twice
  the noise.
  Levels with the error added are kept between 1 and 5. :func:`rank_coverage` checks on simulated
  councils with one to three respondents that the 5th-95th percentile rank interval holds the true rank
  at least 90% of the time.

Councils answering fewer dimensions than the model's ``min_coverage`` are not scored. Ranks are 1
for the highest score; ties share the average rank. The Monte Carlo is seeded and reproducible.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..model import Model
from .bodies import drop_non_councils

RULES = ("mean", "geometric_mean", "median", "threshold")
IMPUTATIONS = ("none", "council_mean", "sector_median")
RESPONDENT_AGGREGATIONS = ("median", "mean")


def _council_matrix(answers: pd.DataFrame, dims: list[str], how: str) -> pd.DataFrame:
    a = answers.assign(level=answers["level"].astype(float))
    wide = a.pivot_table(index="council_code", columns="dimension_id", values="level", aggfunc=how)
    return wide.reindex(columns=dims)


def _impute(x: np.ndarray, how: str) -> np.ndarray:
    """Fill missing dimensions (x: councils x dims x draws)."""
    if how == "none" or not np.isnan(x).any():
        return x
    if how == "council_mean":
        fill = np.nanmean(x, axis=1, keepdims=True)
        return np.where(np.isnan(x), fill, x)
    fill = np.nanmedian(x, axis=0, keepdims=True)
    return np.where(np.isnan(x), fill, x)


def _composite(x: np.ndarray, rule: str, weights: np.ndarray) -> np.ndarray:
    """Scores (councils x draws) for one rule; x is councils x dims x draws, weights dims x draws. NaNs are left out."""
    mask = ~np.isnan(x)
    w = weights[None]
    if rule == "mean":
        return (np.where(mask, x, 0.0) * w).sum(axis=1) / (mask * w).sum(axis=1)
    if rule == "geometric_mean":
        return np.exp((np.where(mask, np.log(np.where(mask, x, 1.0)), 0.0) * w).sum(axis=1) / (mask * w).sum(axis=1))
    if rule == "median":
        return np.nanmedian(x, axis=1)
    if rule == "threshold":
        return np.nanmin(x, axis=1)
    raise ValueError(rule)


def _posterior(base: np.ndarray, err_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical-Bayes posterior of councils' true levels per dimension: (posterior means, SD factor sqrt(1 - B)).

    base: councils x dims observed levels; err_var: councils x dims x 1 error variance of each observed level.
    Between-council variance tau^2 = variance of observed levels minus the mean error variance (method of
    moments); shrinkage B = error variance / (error variance + tau^2).
    """
    v = err_var[..., 0]
    tau2 = np.clip(np.nanvar(base, axis=0, ddof=1) - np.nanmean(np.where(np.isnan(base), np.nan, v), axis=0), 1e-6, None)
    B = v / (v + tau2[None])
    centre = np.nanmean(base, axis=0, keepdims=True)
    return centre + (1 - B) * (base - centre), np.sqrt(1 - B)[..., None]


def within_council_covariance(answers: pd.DataFrame, dims: list[str]) -> tuple[np.ndarray, int]:
    """(pooled within-council covariance of respondents' levels across dimensions, councils it rests on).

    Only councils with two or more respondents inform it. Variances are the ANOVA within-council mean
    squares per dimension; correlations come from respondents' deviations from their council mean
    (pairwise complete). The result is made positive semi-definite. With no such council, zeros.
    """
    a = answers.assign(level=answers["level"].astype(float))
    wide = a.pivot_table(index=["council_code", "submission_id"], columns="dimension_id", values="level",
                         aggfunc="first").reindex(columns=dims)
    n_resp = wide.groupby(level="council_code").size()
    multi = n_resp[n_resp >= 2].index
    w = wide[wide.index.get_level_values("council_code").isin(multi)]
    if w.empty:
        return np.zeros((len(dims), len(dims))), 0
    dev = w - w.groupby(level="council_code").transform("mean")
    counts = w.notna().groupby(level="council_code").sum()
    dof = (counts - 1).clip(lower=0).sum()
    var = (dev ** 2).sum() / dof.replace(0, np.nan)
    corr = dev.corr().fillna(0.0).to_numpy().copy()
    np.fill_diagonal(corr, 1.0)
    sd = np.sqrt(var.fillna(0.0).to_numpy())
    cov = corr * np.outer(sd, sd)
    vals, vecs = np.linalg.eigh(cov)
    return (vecs * np.clip(vals, 0, None)) @ vecs.T, len(multi)


def monte_carlo_ranks(answers: pd.DataFrame, model: Model, n_draws: int = 1000, seed: int = 20261122,
                      weight_concentration: float = 50.0, assessment_type: str = "self",
                      respondent_error: bool = True, shrink: bool = True) -> pd.DataFrame:
    """Per wave and council: median score and rank with 5th-95th percentile intervals over ``n_draws`` draws.

    ``answers``: long answers of current submissions (from :func:`dqm.store.load`).
    ``respondent_error=False`` leaves out respondent disagreement (only to show what it adds). Bodies that are not
    councils (combined authorities, the GLA) are never ranked: their rows are left out with a warning.
    """
    answers = drop_non_councils(answers)
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
        n_resp = sub.groupby("council_code")["submission_id"].nunique().reindex(index).to_numpy(float)
        cov, _ = within_council_covariance(sub, dims) if respondent_error else (np.zeros((len(dims), len(dims))), 0)
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(len(dims)))
        err = (rng.standard_normal((n, n_draws, len(dims))) @ chol.T).transpose(0, 2, 1)  # councils x dims x draws
        err_scale = 1 / np.sqrt(n_resp)[:, None, None]  # the error of a mean of n respondents
        # a median of three or more respondents varies more than their mean (pi/2 times the variance for normal answers)
        med_factor = np.where(n_resp >= 3, np.sqrt(np.pi / 2), 1.0)[:, None, None]
        # every draw makes each choice at random; draws are grouped by their discrete choices for speed
        choice_resp = rng.integers(len(RESPONDENT_AGGREGATIONS), size=n_draws)
        choice_imp = rng.integers(len(IMPUTATIONS), size=n_draws)
        choice_rule = rng.integers(len(RULES), size=n_draws)
        weights = rng.dirichlet(np.full(len(dims), weight_concentration), size=n_draws).T  # dims x draws
        scores = np.empty((n, n_draws))
        for r_i, resp in enumerate(RESPONDENT_AGGREGATIONS):
            base = mats[resp].to_numpy()[keep]
            scale = err_scale * (med_factor if resp == "median" else 1.0)
            if shrink and respondent_error:
                base, post = _posterior(base, np.diag(cov)[None, :, None] * scale[..., 0:1] ** 2)
                scale = scale * post
            for i_i, imp in enumerate(IMPUTATIONS):
                for u_i, rule in enumerate(RULES):
                    sel = np.flatnonzero((choice_resp == r_i) & (choice_imp == i_i) & (choice_rule == u_i))
                    if sel.size:
                        x = np.clip(base[:, :, None] + err[:, :, sel] * scale, 1, 5)
                        scores[:, sel] = _composite(_impute(x, imp), rule, weights[:, sel])
        ranks = rankdata(-scores, axis=0, method="average")
        q = lambda m, p: np.percentile(m, p, axis=1)
        out.append(pd.DataFrame({
            "council_code": index, "wave": wave, "councils_ranked": n, "n_respondents": n_resp.astype(int),
            "score_median": q(scores, 50), "score_p5": q(scores, 5), "score_p95": q(scores, 95),
            "rank_median": q(ranks, 50), "rank_p5": q(ranks, 5), "rank_p95": q(ranks, 95),
        }))
    res = pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["council_code", "wave", "councils_ranked", "n_respondents", "score_median", "score_p5", "score_p95",
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


def simulate_levels(n_councils: int, rng, n_dims: int, council_sd: float = 0.6, dimension_sd: float = 0.4) -> np.ndarray:
    """True (continuous) council levels, councils x dimensions, between 1 and 5."""
    mu = 3 + rng.normal(0, council_sd, (n_councils, 1)) + rng.normal(0, dimension_sd, (n_councils, n_dims))
    return np.clip(mu, 1, 5)


def simulate_respondents(mu: np.ndarray, rng, dims: list[str], respondents=(1, 2, 3), probs=(0.6, 0.3, 0.1),
                         lenience_sd: float = 0.15, answer_sd: float = 0.4, wave: int = 2026,
                         first_id: int = 0) -> pd.DataFrame:
    """Long answers: each council gets one to three respondents; each answers whole levels (the council's true
    level, plus the respondent's own lenience on every dimension, plus noise, rounded and kept between 1 and 5)."""
    n = len(mu)
    k = rng.choice(respondents, size=n, p=probs)
    council = np.repeat(np.arange(n), k)
    m = len(council)
    ans = np.clip(np.floor(mu[council] + rng.normal(0, lenience_sd, (m, 1)) + rng.normal(0, answer_sd, (m, len(dims)))
                           + 0.5), 1, 5)
    codes = np.array([f"S{i:04d}" for i in range(n)])
    return pd.DataFrame({"council_code": np.repeat(codes[council], len(dims)),
                         "submission_id": np.repeat(np.arange(first_id, first_id + m), len(dims)),
                         "dimension_id": np.tile(dims, m), "level": ans.reshape(-1), "wave": wave,
                         "assessment_type": "self"})


def simulate_answers(n_councils: int, rng, dims: list[str], **kw) -> tuple[pd.DataFrame, pd.Series]:
    """Synthetic councils with one to three respondents who disagree: (long answers, true overall score).

    The truth is the mean of the council's true dimension levels, defined without reference to any estimator.
    """
    mu = simulate_levels(n_councils, rng, len(dims))
    answers = simulate_respondents(mu, rng, dims, **kw)
    codes = np.array([f"S{i:04d}" for i in range(n_councils)])
    return answers, pd.Series(mu.mean(axis=1), index=codes, name="true_score")


def rank_coverage(model: Model, reps: int = 20, n_councils: int = 200, n_draws: int = 400, seed: int = 7,
                  respondent_error: bool = True) -> dict:
    """How often the 5th-95th percentile rank interval holds a simulated council's true rank.

    Returns the coverage over all councils and replications, its Monte Carlo standard error (over
    replications, since councils in one replication share draws), and coverage by number of respondents.
    """
    rng = np.random.default_rng(seed)
    dims = model.dimension_ids
    per_rep, by_k = [], {}
    for r in range(reps):
        answers, truth = simulate_answers(n_councils, rng, dims)
        mc = monte_carlo_ranks(answers, model, n_draws=n_draws, seed=seed + r, respondent_error=respondent_error)
        mc = mc.set_index("council_code")
        # councils ranked: all have full coverage here; rank true scores among them only
        true_rank = pd.Series(rankdata(-truth.loc[mc.index].to_numpy(), method="average"), index=mc.index)
        hit = (mc["rank_p5"] <= true_rank) & (true_rank <= mc["rank_p95"])
        per_rep.append(hit.mean())
        k = answers.groupby("council_code")["submission_id"].nunique().reindex(mc.index)
        for kk, h in hit.groupby(k):
            by_k.setdefault(int(kk), []).append(h.to_numpy())
    per_rep = np.array(per_rep)
    return {"coverage": float(per_rep.mean()), "mc_se": float(per_rep.std(ddof=1) / np.sqrt(reps)) if reps > 1 else np.nan,
            "by_respondents": {k: float(np.concatenate(v).mean()) for k, v in sorted(by_k.items())},
            "replications": reps, "councils": n_councils}
