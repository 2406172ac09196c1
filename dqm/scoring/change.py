"""Change between waves: per council (beyond measurement noise or not), sector trends, target realism.

**When is a council's change larger than the noise?** A council's level on a dimension is the
*median* of its respondents' whole-number answers, and its respondents disagree. The test is built
for that statistic (``method="ordinal"``, the default): the statistic is the absolute change in the
level (the median), with ties broken by the change in the mean of all answers (weighted so it can
never outrank a change in level), and under "no change", the answers of both waves
come from the same council, so the council's latent level on each dimension is taken as the mean of
all its answers in both waves, and the answers are re-drawn many times (``draws``) as whole levels
(the latent level plus correlated respondent error with the measured within-council covariance,
rounded and kept between 1 and 5) for the same numbers of respondents in each wave. The change is
*beyond the noise* when its p-value is below 0.05. Whole-number answers give a statistic with few
values (one respondent against one can only move by whole levels), so an ordinary p-value flags far
less than 5% of the time, and no deterministic rule can flag exactly 5%. The p-value is therefore
the exact randomised one (Lehmann): the chance of a larger statistic plus a uniform share of the
chance of an equal one. The uniform number is fixed by the council, waves and seed, so the same data
always give the same flags. ``p_low`` and ``p_high`` bound the p-value; a flag with ``p_high`` below
0.05 is *clearly* beyond the noise, one with ``p_high`` at or above 0.05 sits at the edge, and the
reports say which. Where the council truly sits between two whole levels cannot be read from a few
whole-number answers, so each null draw takes the council's latent level from its posterior given all
its answers in both waves (rounded-normal answers; a normal prior with the sector's spread of levels).
The false-flag rate is checked by :func:`false_flag_rate`. The within-council covariance is pooled over councils with two
or more respondents in either wave, with the rounding variance (1/12) taken off each variance.

Each council is tested on every dimension and the overall score, so with no real change at all about
5% of its comparisons, ``EXPECTED_FALSE_FLAGS`` in all (0.55 of 11), are flagged by chance; reports say
so. This counts only the disagreement between respondents: a council whose respondents change their
standards between waves can still show a change that is not real, so reports call such a change
"larger than the disagreement between respondents", not "real".

``method="mean"`` is the earlier formula, s_w * sqrt(1/n1 + 1/n2) with 1.96 standard errors, which
assumes a mean of respondents; on medians of whole numbers it flags 8% to 13% of unchanged councils.
It is kept only to show that the checks catch it.

**Sector trend.** Two estimates per dimension: the change in the mean over all responding councils
(which mixes real change with who responded), and the *panel* change among councils that responded
in both waves (paired, with a t-interval), which is the honest estimate of growth.

**Target realism.** A target is for two years ahead. It is compared with the changes councils
actually achieved: the 90th percentile of observed council change over two waves (or twice the
one-wave change when only two waves exist). The share of targets that need more than that is reported.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..model import Model
from .agreement import respondent_agreement
from .sector import mean_with_ci
from .uncertainty import within_council_covariance

Z = 1.959963984540054
ALPHA = 0.05
EXPECTED_FALSE_FLAGS = ALPHA * 11  # per council with no real change: 10 dimensions and the overall score


GRID = np.linspace(0.5, 5.5, 201)


def _latent_posterior(both: np.ndarray, prior_mean: np.ndarray, prior_var: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Posterior of a council's latent level on each dimension on GRID (dims x grid), given all its answers.

    Each answer is the latent level plus respondent error (sd), rounded to a whole level between 1 and 5;
    the prior is the spread of councils' levels in the sector (normal, method of moments).
    """
    from scipy.stats import norm as _norm

    upper = lambda k: np.where(k >= 5, np.inf, k + 0.5)
    lower = lambda k: np.where(k <= 1, -np.inf, k - 0.5)
    logp = -0.5 * (GRID[None] - prior_mean[:, None]) ** 2 / prior_var[:, None]  # dims x grid
    for row in both:
        ok = ~np.isnan(row)
        k = row[ok][:, None]
        s = sd[ok][:, None]
        like = _norm.cdf((upper(k) - GRID[None]) / s) - _norm.cdf((lower(k) - GRID[None]) / s)
        logp[ok] += np.log(np.clip(like, 1e-300, None))
    post = np.exp(logp - logp.max(axis=1, keepdims=True))
    return post / post.sum(axis=1, keepdims=True)


def _null_changes(before: np.ndarray, after: np.ndarray, cov: np.ndarray, draws: int, rng,
                  prior_mean: np.ndarray | None = None, prior_var: np.ndarray | None = None) -> np.ndarray:
    """The statistic under "no change" (draws x (dims + 1)); before, after: respondents x dims (NaN = not answered).

    Where between two whole levels a council truly sits cannot be read from a few whole-number answers
    (plugging in their mean, which sits exactly halfway whenever answers differ, overstates the noise),
    so each draw takes the latent level from its posterior given all the council's answers in both waves.
    """
    both = np.vstack([before, after])
    n, k = both.shape
    sd = np.sqrt(np.clip(np.diag(cov), 1e-6, None))
    pm = np.full(k, 3.0) if prior_mean is None else prior_mean
    pv = np.full(k, 1.0) if prior_var is None else prior_var
    post = _latent_posterior(both, pm, pv, sd)
    cdf = np.cumsum(post, axis=1)
    u = rng.uniform(size=(draws, k))
    idx = np.column_stack([np.searchsorted(cdf[d], u[:, d]) for d in range(k)])
    latent = GRID[np.minimum(idx, len(GRID) - 1)][:, None, :]  # draws x 1 x dims
    chol = np.linalg.cholesky(cov + 1e-9 * np.eye(len(cov)))
    z = rng.standard_normal((draws, n, k)) @ chol.T
    sim = np.clip(np.floor(latent + z + 0.5), 1, 5)
    sim = np.where(np.isnan(both)[None], np.nan, sim)
    return _statistic(sim[:, :len(before)], sim[:, len(before):])


def _statistic(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """The test statistic per dimension and overall (..., dims + 1): the absolute change in the council's level
    (median of answers; for the overall score the mean of those medians), with ties broken by the absolute
    change in the mean of all answers (weighted 1/1000, too little to ever outrank a change in level)."""
    has_nan = np.isnan(x1).any() or np.isnan(x2).any()
    med = np.nanmedian if has_nan else np.median
    mean = np.nanmean if has_nan else np.mean
    m1, m2 = med(x1, axis=-2), med(x2, axis=-2)
    a1, a2 = mean(x1, axis=-2), mean(x2, axis=-2)
    level = np.concatenate([m2 - m1, (np.nanmean(m2, axis=-1) - np.nanmean(m1, axis=-1))[..., None]], axis=-1)
    tie = np.concatenate([a2 - a1, (np.nanmean(a2, axis=-1) - np.nanmean(a1, axis=-1))[..., None]], axis=-1)
    return np.abs(level) + 1e-3 * np.abs(np.nan_to_num(tie))


def p_bounds(null: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P(null > obs), P(null >= obs)) per column (ties to 1e-9): the p-value lies between them."""
    a, o = null, observed[None]
    gt = (a > o + 1e-9).mean(axis=0)
    return gt, gt + (np.abs(a - o) <= 1e-9).mean(axis=0)


def tie_break(council: str, wave_from: int, wave_to: int, k: int, seed: int) -> np.ndarray:
    """k uniform numbers fixed by the council, waves and seed, so the same data always give the same flags."""
    key = zlib.crc32(f"{council}|{wave_from}|{wave_to}".encode())
    return np.random.default_rng([seed, key]).uniform(size=k)


def council_change(council_levels: pd.DataFrame, answers: pd.DataFrame, model: Model, wave_from: int, wave_to: int,
                   assessment_type: str = "self", method: str = "ordinal", draws: int = 2000,
                   seed: int = 20261122, councils=None, seed_per_council: bool = False) -> pd.DataFrame:
    """Per council and dimension (and overall): before, after, change, p_value and beyond_noise.

    ``councils``: only these councils (a council report needs one; the covariance still pools all).

    ``seed_per_council``: each council's null draws come from its own ``default_rng(seed)`` instead of one
    generator shared in turn, so a council's result does not depend on which other councils are tested: the
    council reports' table for a whole wave gives each council what a report made for it alone gives.

    ``method``: "ordinal" (the calibrated test for medians of whole-number answers, see the module
    docstring) or "mean" (the mean-of-respondents formula, kept only to show the checks catch it).
    """
    dims = model.dimension_ids + ["overall_mean"]
    lv = council_levels[council_levels["assessment_type"] == assessment_type]
    a, b = lv[lv["wave"] == wave_from], lv[lv["wave"] == wave_to]
    both = a.merge(b, on="council_code", suffixes=("_from", "_to"))
    if councils is not None:  # test only these councils (the covariance still pools every council)
        both = both[both["council_code"].isin(list(councils))].reset_index(drop=True)
    ans = answers[(answers["assessment_type"] == assessment_type) & answers["wave"].isin([wave_from, wave_to])]
    ans = ans[ans["level"].notna()]
    agree = respondent_agreement(answers[answers["wave"] == wave_from], model, assessment_type)
    sw = agree.set_index("dimension_id")["within_sd"].to_dict() if not agree.empty else {}
    p = np.full((len(both), len(dims)), np.nan)
    p_lo, p_hi = p.copy(), p.copy()
    if method == "ordinal" and len(both):
        mdims = model.dimension_ids
        # pooled within-council covariance over both waves (councils x wave as groups), rounding variance removed
        keyed = ans.assign(council_code=ans["council_code"] + "|" + ans["wave"].astype(str))
        cov, _ = within_council_covariance(keyed, mdims)
        cov = cov - np.diag(np.minimum(np.diag(cov) - 1e-6, 1 / 12)) if np.diag(cov).max() > 0 else cov
        vals, vecs = np.linalg.eigh(cov)
        cov = (vecs * np.clip(vals, 0, None)) @ vecs.T
        wide = ans.assign(level=ans["level"].astype(float)).pivot_table(
            index=["council_code", "wave", "submission_id"], columns="dimension_id", values="level",
            aggfunc="first").reindex(columns=mdims)
        rng = np.random.default_rng(seed)
        # the sector's spread of council levels (the prior for where a council sits): council-wave means,
        # less the part of their variance that respondent error explains
        cw = wide.groupby(level=["council_code", "wave"])
        means, counts = cw.mean(), cw.count()
        prior_mean = means.mean().fillna(3.0).to_numpy()
        prior_var = np.clip((means.var() - np.diag(cov) * (1 / counts.where(counts > 0)).mean()).fillna(1.0).to_numpy(),
                            0.05, None)
        groups = dict(tuple(cw))
        for i, c in enumerate(both["council_code"]):
            g1, g2 = groups.get((c, wave_from)), groups.get((c, wave_to))
            if g1 is None or g2 is None:
                continue
            x1, x2 = g1.to_numpy(float), g2.to_numpy(float)
            own = np.random.default_rng(seed) if seed_per_council else rng
            null = _null_changes(x1, x2, cov, draws, own, prior_mean, prior_var)
            p_lo[i], p_hi[i] = p_bounds(null, np.nan_to_num(_statistic(x1, x2)))
            u = tie_break(c, wave_from, wave_to, len(dims), seed)
            p[i] = p_lo[i] + u * (p_hi[i] - p_lo[i])  # the randomised p-value: exactly uniform under no change
    rows = []
    for j, dim in enumerate(dims):
        before, after = both[f"{dim}_from"].astype(float), both[f"{dim}_to"].astype(float)
        change = after - before
        se = sw.get(dim, np.nan) * np.sqrt(1 / both["n_respondents_from"] + 1 / both["n_respondents_to"])
        lo_, hi_ = p_lo[:, j], p_hi[:, j]
        if method == "mean":
            flag = (change.abs() > Z * se) & se.notna()
            pv = 2 * norm.sf((change.abs() / se).to_numpy())
            lo_ = hi_ = pv
        elif method == "ordinal":
            pv = p[:, j]
            flag = pd.Series(pv < ALPHA, index=both.index) & ~np.isnan(pv)
        else:
            raise ValueError(f"unknown change test {method!r}")
        rows.append(pd.DataFrame({
            "council_code": both["council_code"], "dimension_id": dim,
            "dimension": "Overall" if dim == "overall_mean" else model.dimension_name(dim),
            "wave_from": wave_from, "wave_to": wave_to, "before": before, "after": after, "change": change,
            "se": se, "p_value": pv, "p_low": lo_, "p_high": hi_, "beyond_noise": flag.astype(bool),
            "clearly_beyond_noise": flag.astype(bool) & (hi_ < ALPHA), "method": method,
        }))
    return pd.concat(rows, ignore_index=True).dropna(subset=["change"])


def false_flag_rate(model: Model, reps: int = 1, n_councils: int = 300, method: str = "ordinal", seed: int = 5,
                    draws: int = 1000, probs=(1 / 3, 1 / 3, 1 / 3)) -> dict:
    """Share of (council, dimension) comparisons flagged when no council changed, with its Monte Carlo SE.

    Councils with one to three respondents in each wave (:func:`dqm.scoring.uncertainty.simulate_respondents`);
    the second wave re-draws respondents from the same true levels. The SE treats councils as clusters
    (a council's flags share its respondents), so it is honest with a single replication.
    """
    from .levels import council_levels as levels_of
    from .uncertainty import simulate_levels, simulate_respondents

    rng = np.random.default_rng(seed)
    dims = model.dimension_ids
    per_council, per_dim = [], []
    for r in range(reps):
        mu = simulate_levels(n_councils, rng, len(dims))
        a1 = simulate_respondents(mu, rng, dims, probs=probs, wave=2026)
        a2 = simulate_respondents(mu, rng, dims, probs=probs, wave=2027, first_id=10 ** 6)  # no real change
        answers = pd.concat([a1, a2], ignore_index=True)
        lv = levels_of(answers, model)
        ch = council_change(lv, answers, model, 2026, 2027, method=method, draws=draws, seed=seed + r)
        ch = ch[ch["dimension_id"] != "overall_mean"]
        per_council.append(ch.groupby("council_code")["beyond_noise"].mean().to_numpy())
        per_dim.append(ch.groupby("dimension_id")["beyond_noise"].mean())
    pc = np.concatenate(per_council)
    return {"rate": float(pc.mean()), "mc_se": float(pc.std(ddof=1) / np.sqrt(len(pc))),
            "per_dimension": pd.concat(per_dim, axis=1).mean(axis=1).to_dict(), "replications": reps,
            "councils": n_councils, "method": method}


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
