"""What the fitted measurement model says: levels, ranks, change and exposure (tidy DataFrames).

All read a :class:`dqm.scoring.latent.LatentFit`:

* :func:`latent_levels`: each council's latent level per dimension and overall, mean and 90% interval;
* :func:`latent_ranks`: rank intervals (5th to 95th percentile over draws of the rank: each council's level as its
  own answers measure it, among the other councils' posterior draws, so the interval holds for extreme councils);
* :func:`latent_change`: change between two waves, the probability it reached a whole level, and a
  deterministic flag (a test of "no change" whose null distribution is simulated from the fitted model with
  the rounding to whole levels, seeded by the council's answers);
* :func:`exposure_table` / :func:`exposure_draws`: the overall latent level as an exposure for claims,
  with what a measurement-error correction needs; :func:`calibrated_effect` is that correction.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import rankdata

from ..model import Model
from .latent import _B, _E, _G, _H, _K, _L, _S, LatentFit
from .uncertainty import rank_statement


def _wave_index(fit: LatentFit, wave: int) -> int:
    from ..errors import DQMError

    hits = np.flatnonzero(fit.waves == int(wave))
    if not hits.size:
        raise DQMError(f"wave {wave} is not in the fitted answers (waves {', '.join(map(str, fit.waves))}).",
                       hint="Fit the model to answers that include that wave.")
    return int(hits[0])


def _counts(fit: LatentFit, w: int) -> pd.DataFrame:
    n = fit.design.n_per[fit.design.n_per["w"] == w].set_index("c")[["n_self", "n_other"]]
    return n.reindex(range(fit.design.C), fill_value=0)


def latent_levels(fit: LatentFit, model: Model, wave: int | None = None) -> pd.DataFrame:
    """One row per council, wave and dimension (and ``overall``) where the council answered in the wave.

    Columns: council_code, wave, dimension_id, level_mean, level_sd, level_p5, level_p95 (latent scale: 1 to
    5 are the model's levels, on the scale of independent assessments), level_name (the model's name
    for the nearest whole level), n_self, n_other (respondents).
    """
    rows = []
    waves = range(len(fit.waves)) if wave is None else [_wave_index(fit, wave)]
    lo, hi = fit.design.levels
    for w in waves:
        cs = np.flatnonzero(fit.present[:, w])
        th = fit.theta[:, cs, w, :].astype(float)  # draws x councils x dims
        th = np.concatenate([th, th.mean(axis=2, keepdims=True)], axis=2)
        n = _counts(fit, w).iloc[cs]
        for j, dim in enumerate(list(fit.design.dims) + ["overall"]):
            x = th[:, :, j]
            mean = x.mean(axis=0)
            rows.append(pd.DataFrame({
                "council_code": fit.councils[cs], "wave": int(fit.waves[w]), "dimension_id": dim,
                "level_mean": mean, "level_sd": x.std(axis=0), "level_p5": np.percentile(x, 5, axis=0),
                "level_p95": np.percentile(x, 95, axis=0),
                "level_name": [model.level_name(int(v)) for v in np.clip(np.floor(mean + 0.5), lo, hi)],
                "n_self": n["n_self"].to_numpy(), "n_other": n["n_other"].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def council_measurements(fit: LatentFit, w: int, cs: np.ndarray):
    """What the councils ``cs`` own answers say about their overall level in wave index ``w``, without the model's
    pull toward the sector mean: ``(W, s2, mu, tau2)``.

    The council's posterior (mean ``m``, variance ``v`` over the draws) is its normal prior (mean ``mu``: the
    sector mean; variance ``tau2``: the model's spread of true overall levels) updated by one measurement ``W``
    with error variance ``s2``; so ``1 / s2 = 1 / v - 1 / tau2`` and ``W = s2 (m / v - mu / tau2)``, i.e.
    ``W = mu + (m - mu) / (1 - v / tau2)`` (exact for a Gaussian model given the variance components; the draws
    also carry their uncertainty). A council whose answers add nothing to the prior gets an almost infinite
    ``s2``.
    """
    D, W_ = len(fit.design.dims), len(fit.waves)
    sd = fit.sd_hat.to_numpy()
    tau2 = sd[_G] ** 2 + sd[_S] ** 2 / D + ((sd[_H] ** 2 + sd[_K] ** 2 / D) if W_ > 1 else 0.0)
    mu = float(fit.beta[:, :W_ * D].mean(axis=0).reshape(W_, D)[w].mean())
    x = fit.theta[:, cs, w, :].astype(float).mean(axis=2)
    m, v = x.mean(axis=0), x.var(axis=0, ddof=1)
    s2 = 1.0 / np.maximum(1.0 / v - 1.0 / tau2, 1e-9)
    return s2 * (m / v - mu / tau2), s2, mu, tau2


def _rank_draws(fit: LatentFit, w: int, cs: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Draws (draws x councils) of each council's rank (1 = highest) for intervals that hold for extreme councils.

    Each council's own overall level is drawn from what its own answers say (:func:`council_measurements`:
    ``W_c + sqrt(s2_c) z``, not shrunk toward the sector mean) and ranked among the other councils' posterior
    draws ``score`` (which, draw by draw, have the spread of true levels). An interval of ``W_c`` covers the
    council's true level as often whatever that level is, and the rank is a monotone function of it, so the
    rank interval keeps its coverage for the highest and lowest councils, where the posterior's own interval
    sits toward the middle by (1 - reliability) times the council's distance from the mean (the study's round 3:
    top decile 0.82 with low ICC, bottom 0.76 with skewed councils). The normal draws ``z`` are seeded by the
    fit's seed and the wave, one column per council of the fit, so a council's draws do not depend on which
    others are ranked.
    """
    W, s2, _, _ = council_measurements(fit, w, cs)
    rng = np.random.default_rng([fit.config.seed, int(fit.waves[w])])
    z = rng.standard_normal((score.shape[0], fit.design.C))[:, cs]
    own = W[None] + np.sqrt(s2)[None] * z
    srt = np.sort(score, axis=1)
    n = len(cs)
    above = np.stack([n - np.searchsorted(srt[d], own[d], side="right") for d in range(len(score))])
    return 1.0 + above - (score > own)  # the council's own posterior draw is not one of the others


def latent_ranks(fit: LatentFit, wave: int, councils=None, interval: str = "measured") -> pd.DataFrame:
    """Rank intervals in ``wave`` (1 = highest) from the draws of every council's overall latent level.

    Ranked: the councils that answered in the wave (or only ``councils``). ``interval="measured"`` (what the
    reports use): each council's own level as its answers measure it, ranked among the others' posterior draws
    (:func:`_rank_draws`: intervals that keep their coverage for the highest and lowest councils);
    ``"posterior"``: every council's posterior draw ranked in each draw (the plain Bayesian rank interval,
    kept for the simulation study: it covers 90% on average but less at the extremes). Columns:
    council_code, wave, councils_ranked, score_mean, score_p5, score_p95 (the posterior of the overall level),
    rank_median, rank_p5, rank_p95 and position (what the whole 5th-95th interval supports,
    :func:`dqm.scoring.uncertainty.rank_statement`).
    """
    from ..errors import DQMError

    if interval not in ("measured", "posterior"):
        raise DQMError(f"unknown rank interval {interval!r}.", hint="Use 'measured' or 'posterior'.")
    w = _wave_index(fit, wave)
    ok = fit.present[:, w].copy()
    if councils is not None:
        ok &= np.isin(fit.councils, list(councils))
    cs = np.flatnonzero(ok)
    score = fit.theta[:, cs, w, :].astype(float).mean(axis=2)  # draws x councils
    ranks = _rank_draws(fit, w, cs, score) if interval == "measured" else rankdata(-score, axis=1, method="average")
    n = len(cs)
    out = pd.DataFrame({
        "council_code": fit.councils[cs], "wave": int(fit.waves[w]), "councils_ranked": n,
        "score_mean": score.mean(axis=0), "score_p5": np.percentile(score, 5, axis=0),
        "score_p95": np.percentile(score, 95, axis=0), "rank_median": np.median(ranks, axis=0),
        "rank_p5": np.percentile(ranks, 5, axis=0), "rank_p95": np.percentile(ranks, 95, axis=0)})
    out["position"] = [rank_statement(a, b, n) for a, b in zip(out["rank_p5"], out["rank_p95"])]
    return out


# ----------------------------------------------------------------------------------------------------------------
# change
# ----------------------------------------------------------------------------------------------------------------

def _council_contrast(fit: LatentFit, c: int, w1: int, w2: int, sd: np.ndarray):
    """GLS estimate of a council's change on each dimension between waves w1 and w2, and what its null needs.

    The council's level on each dimension and its change are free parameters (so neither its level nor the
    sector's trend can bias the test); the answers' covariance is the fitted model's without change:
    shared self-assessment bias, each respondent's leniency (the same person in both waves cancels it)
    and the residual. Only the council's own answers in the two waves are used. Returns a dict with the
    change per dimension (``delta``, NaN where a dimension was not answered in both waves), its covariance,
    ``map`` (the linear map from the council's answers to the changes, so answers simulated under the model
    give simulated changes at once) and the council's design (answers, dimensions, waves, kinds, people).
    """
    dz = fit.design
    m = (dz.obs_council == c) & np.isin(dz.obs_wave, [w1, w2])
    D = len(dz.dims)
    y, d, w2m = dz.y[m], dz.obs_dim[m], dz.obs_wave[m] == w2
    self_, person = dz.obs_self[m], dz.obs_person[m]
    if not (w2m.any() and (~w2m).any()):
        return None
    offset = fit.beta[:, -1].mean() if (dz.p > dz.waves.size * D) else 0.0
    X = np.zeros((len(y), 2 * D))
    X[np.arange(len(y)), d] = 1.0
    X[np.arange(len(y)), D + d] = w2m
    V = (sd[_E] ** 2) * np.eye(len(y)) + sd[_L] ** 2 * (person[:, None] == person[None, :]) \
        + sd[_B] ** 2 * np.outer(self_, self_)
    keep = X.any(axis=0)
    Xk = X[:, keep]
    Vi = np.linalg.inv(V)
    cov = np.linalg.pinv(Xk.T @ Vi @ Xk)
    amap = cov @ Xk.T @ Vi  # (kept parameters, answers)
    full_map = np.zeros((2 * D, len(y)))
    full_map[keep] = amap
    fcov = np.full((2 * D, 2 * D), np.nan)
    fcov[np.ix_(keep, keep)] = cov
    # a dimension answered in only one of the two waves has no change estimate
    ok = np.isin(np.arange(D), d[~w2m]) & np.isin(np.arange(D), d[w2m])
    delta = full_map[D:] @ (y - offset * self_)
    delta[~ok] = np.nan
    same = len(set(person[w2m]) & set(person[~w2m])) / max(len(set(person[w2m])), 1)
    return {"delta": delta, "cov": fcov[D:, D:], "ok": ok, "same": same, "map": full_map[D:], "y": y, "dim": d,
            "later": w2m, "self": self_, "person": person, "offset": offset, "V": V}


CHANGE_SIMULATIONS = 1000  # answers simulated per council under no change (and under a one-level change)


def _data_seed(fit: LatentFit, con: dict) -> int:
    """A seed from the council's own answers and design (not its code): identical data give identical flags."""
    h = hashlib.sha256(str(fit.config.seed).encode())
    for key in ("y", "dim", "later", "self", "person"):
        h.update(np.ascontiguousarray(con[key]).astype(np.float64).tobytes())
    return int.from_bytes(h.digest()[:8], "little")


def _level_posterior(fit: LatentFit, con: dict, sd: np.ndarray, w1: int, w2: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the council's level per dimension given its answers in the two waves, if it did not
    change: the model's prior (sector mean over the two waves; council, profile and wave terms) updated by its
    own answers. A function of the answers and the fit's shared estimates only (no draws), so identical answers
    give identical simulations."""
    dz = fit.design
    D = len(dz.dims)
    mu = fit.beta[:, :dz.waves.size * D].mean(axis=0).reshape(dz.waves.size, D)[[w1, w2]].mean(axis=0)
    prior = (sd[_G] ** 2 + sd[_H] ** 2) * np.ones((D, D)) + (sd[_S] ** 2 + sd[_K] ** 2) * np.eye(D)
    X0 = np.eye(D)[con["dim"]]
    y0 = con["y"] - con["offset"] * con["self"]
    gain = np.linalg.solve(X0 @ prior @ X0.T + con["V"], X0 @ prior).T  # (D, answers)
    return mu + gain @ (y0 - X0 @ mu), prior - gain @ X0 @ prior


def _simulate_stats(fit: LatentFit, con: dict, sd: np.ndarray, rng, level: tuple, shift: np.ndarray) -> np.ndarray:
    """z statistics (dimensions + overall, simulations) of the council's change, from answers simulated by the
    fitted model with the rounding to whole levels and the council's own design: its level per dimension drawn
    from ``level`` (mean, covariance: :func:`_level_posterior`) in each simulation, plus ``shift`` (per
    dimension) in the later wave."""
    S, (lo, hi) = CHANGE_SIMULATIONS, fit.design.levels
    d, later, self_, person = con["dim"], con["later"], con["self"], con["person"]
    D = con["map"].shape[0]
    vals, vecs = np.linalg.eigh((level[1] + level[1].T) / 2)
    L = level[0][:, None] + (vecs * np.sqrt(np.maximum(vals, 0))) @ rng.standard_normal((D, S))  # (D, S)
    people, pidx = np.unique(person, return_inverse=True)
    # the estimated residual includes the rounding (1/12 of a level squared): the latent residual is smaller
    e_sd = np.sqrt(max(sd[_E] ** 2 - 1 / 12, 0.25 * sd[_E] ** 2))
    star = L[d] + (shift[d] * later + con["offset"] * self_)[:, None] \
        + sd[_L] * rng.standard_normal((len(people), S))[pidx] \
        + sd[_B] * rng.standard_normal((1, S)) * self_[:, None] + e_sd * rng.standard_normal((len(d), S))
    ysim = np.clip(np.floor(star + 0.5), lo, hi) - con["offset"] * self_[:, None]
    return _stats(con["map"] @ ysim, con)


def _stats(est: np.ndarray, con: dict) -> np.ndarray:
    """z statistics of the changes per dimension and of their mean (rows: dimensions + overall)."""
    ok = np.flatnonzero(con["ok"])
    se = np.sqrt(np.diag(np.nan_to_num(con["cov"])))
    z = np.full((est.shape[0] + 1,) + est.shape[1:], np.nan)
    z[ok] = est[ok] / se[ok, None] if est.ndim == 2 else est[ok] / se[ok]
    if ok.size:
        se_all = np.sqrt(con["cov"][np.ix_(ok, ok)].sum()) / ok.size
        z[-1] = est[ok].mean(axis=0) / se_all
    return np.round(z, 9)  # equal statistics compare equal (the rounding makes many ties)


def _tail(null: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each statistic (rows, or rows x k): the share of its simulated null (rows x simulations) beyond it in
    absolute value, and the share tied with it."""
    a = np.sort(np.abs(null), axis=1)
    S = a.shape[1]
    b = np.abs(z).reshape(a.shape[0], -1)
    beyond, tied = np.empty(b.shape), np.empty(b.shape)
    for i in range(a.shape[0]):
        right, left = np.searchsorted(a[i], b[i], side="right"), np.searchsorted(a[i], b[i], side="left")
        beyond[i], tied[i] = (S - right) / S, (right - left) / S
    return beyond.reshape(np.shape(z)), tied.reshape(np.shape(z))


def _tie_break(fit: LatentFit, con: dict, k: int) -> np.ndarray:
    """k numbers in (0, 1) from the council's answers (not its code): where a tie must be broken, identical
    answers break it identically."""
    return np.random.default_rng(_data_seed(fit, con) ^ 0x5EED).random(k)


def _flag_chance(beyond: np.ndarray, tied: np.ndarray, alpha: float) -> np.ndarray:
    """The chance that ``beyond + U tied < alpha`` for U uniform: the randomised test's rejection probability."""
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.clip((alpha - beyond) / tied, 0.0, 1.0)
    return np.where(tied > 0, part, (beyond < alpha).astype(float))


def _one_level_power(fit: LatentFit, con: dict, sd: np.ndarray, rng, level: tuple, null: np.ndarray,
                     middle: float) -> np.ndarray:
    """The chance the calibrated test flags a real change of one whole level (dimensions + overall).

    A dimension's power: every dimension moved one level toward the middle of the scale (so the move stays on
    the scale), each dimension's own test. The overall power: the council's overall level moved one whole level,
    i.e. *every* dimension moved one level in the same direction (toward the middle from the council's overall
    level). Where the council's dimensions lie on both sides of the middle the two shifts differ (moving each
    dimension toward the middle would leave the mean of the dimensions almost unmoved), so the overall shift is
    simulated on its own; otherwise the one simulation serves both.
    """
    toward_middle = np.where(level[0] > middle, -1.0, 1.0)
    overall = np.full_like(toward_middle, -1.0 if level[0].mean() > middle else 1.0)
    alt = _simulate_stats(fit, con, sd, rng, level, toward_middle)
    if not np.array_equal(toward_middle, overall):
        alt[-1] = _simulate_stats(fit, con, sd, rng, level, overall)[-1]
    a_beyond, a_tied = _tail(null, alt)
    return _flag_chance(a_beyond, a_tied, fit.config.alpha).mean(axis=1)


def latent_change(fit: LatentFit, model: Model, wave_from: int, wave_to: int) -> pd.DataFrame:
    """Per council answering in both waves, per dimension and overall: the change on the latent scale.

    Columns: council_code, dimension_id, wave_from, wave_to, change_mean, change_p5, change_p95 (over the
    model's draws), prob_moved_one_level (the draws' share with an absolute change of at least one level),
    estimate and se (the council's own GLS change, see :func:`_council_contrast`), z, p_value, flag,
    power_one_level and same_respondents (share of the later wave's respondents who also answered the earlier one).

    The test of "no change" is calibrated by simulation: the council's answers are simulated from the fitted
    model under no change (its level drawn from what its answers say, :func:`_level_posterior`), with its own
    design (who answered which dimension in which wave, the same or new respondents) and the rounding to whole
    levels. ``p_value`` is the share of simulated ``|z|`` beyond the observed one plus a share ``u`` of those
    tied with it, and ``flag`` is ``p_value`` below the ``alpha`` of ``data/measurement.yaml``. Whole-number
    answers make ``z`` take few values (one respondent a wave: the change is a whole number), so without the
    tie share no test could be flagged 5% of the time; ``u`` and the simulations are seeded by the council's
    answers, not its code, so the same answers always give the same flags. ``power_one_level``: the chance
    this test flags a change of one whole level (toward the middle of the scale), with this council's design: on a
    dimension, that dimension moving one level; overall, the overall level moving one level (every dimension in the
    same direction), :func:`_one_level_power`.
    """
    w1, w2 = _wave_index(fit, wave_from), _wave_index(fit, wave_to)
    alpha = fit.config.alpha
    sd = fit.sd_hat.to_numpy()
    both = np.flatnonzero(fit.present[:, w1] & fit.present[:, w2])
    dims = list(fit.design.dims)
    D = len(dims)
    lo, hi = fit.design.levels
    rows = []
    for c in both:
        con = _council_contrast(fit, c, w1, w2, sd)
        if con is None:
            continue
        delta, dcov, ok = con["delta"], con["cov"], con["ok"]
        dr = fit.theta[:, c, w2, :].astype(float) - fit.theta[:, c, w1, :].astype(float)
        dr = np.concatenate([dr, dr.mean(axis=1, keepdims=True)], axis=1)
        se = np.sqrt(np.where(ok, np.diag(np.nan_to_num(dcov)), np.nan))
        okd = np.flatnonzero(ok)
        est_all = np.append(delta, delta[okd].mean() if okd.size else np.nan)
        se_all = np.append(se, np.sqrt(dcov[np.ix_(okd, okd)].sum()) / okd.size if okd.size else np.nan)
        z = _stats(np.nan_to_num(delta), con)
        rng = np.random.default_rng(_data_seed(fit, con))
        level = _level_posterior(fit, con, sd, w1, w2)
        null = _simulate_stats(fit, con, sd, rng, level, np.zeros(D))
        beyond, tied = _tail(null, np.nan_to_num(z))
        p = np.where(np.isfinite(z), beyond + _tie_break(fit, con, len(z)) * tied, np.nan)
        power = np.where(np.isfinite(z), _one_level_power(fit, con, sd, rng, level, null, (lo + hi) / 2), np.nan)
        rows.append(pd.DataFrame({
            "council_code": fit.councils[c], "dimension_id": dims + ["overall"], "wave_from": int(wave_from),
            "wave_to": int(wave_to), "change_mean": dr.mean(axis=0), "change_p5": np.percentile(dr, 5, axis=0),
            "change_p95": np.percentile(dr, 95, axis=0), "prob_moved_one_level": (np.abs(dr) >= 1).mean(axis=0),
            "estimate": est_all, "se": se_all, "z": est_all / se_all, "p_value": p,
            "flag": np.nan_to_num(p, nan=1.0) < alpha, "power_one_level": power, "same_respondents": con["same"]}))
    cols = ["council_code", "dimension_id", "wave_from", "wave_to", "change_mean", "change_p5", "change_p95",
            "prob_moved_one_level", "estimate", "se", "z", "p_value", "flag", "power_one_level", "same_respondents"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)


# ----------------------------------------------------------------------------------------------------------------
# exposure for claims
# ----------------------------------------------------------------------------------------------------------------

def exposure_table(fit: LatentFit, wave: int) -> pd.DataFrame:
    """The overall latent level of every council answering in ``wave``, as an exposure for claims.

    Columns: council_code, wave, exposure_mean (posterior mean: the regression-calibration value),
    exposure_sd (its uncertainty) and between_sd (the model's spread of true overall levels among these
    councils: the scale to standardise an effect by, not the smaller spread of the posterior means).
    """
    w = _wave_index(fit, wave)
    cs = np.flatnonzero(fit.present[:, w])
    x = fit.theta[:, cs, w, :].astype(float).mean(axis=2)
    return pd.DataFrame({"council_code": fit.councils[cs], "wave": int(fit.waves[w]), "exposure_mean": x.mean(axis=0),
                         "exposure_sd": x.std(axis=0), "between_sd": float(x.std(axis=1, ddof=1).mean())})


def exposure_draws(fit: LatentFit, wave: int, n: int | None = None) -> pd.DataFrame:
    """Long table of draws of every council's overall latent level: council_code, wave, draw, exposure."""
    w = _wave_index(fit, wave)
    cs = np.flatnonzero(fit.present[:, w])
    x = fit.theta[:, cs, w, :].astype(float).mean(axis=2)
    if n is not None:
        x = x[np.linspace(0, len(x) - 1, n).round().astype(int)]
    return pd.DataFrame({"council_code": np.tile(fit.councils[cs], len(x)), "wave": int(fit.waves[w]),
                         "draw": np.repeat(np.arange(len(x)), len(cs)), "exposure": x.reshape(-1)})


def calibrated_effect(outcome, exposure_mean, between_sd: float, controls=None, conf: float = 0.95) -> dict:
    """Standardised effect of the latent exposure on a standardised outcome, corrected for measurement error.

    Regression calibration (Carroll et al. 2006, ch. 4): OLS of the standardised outcome on the exposure's
    posterior mean (its best prediction given the answers), so the slope is not attenuated, then scaled by
    the model's spread of *true* levels ``between_sd``. HC3 standard errors. ``controls`` (n x k) enter the
    regression as they are; the posterior mean must then also be the best prediction given them (see the
    study README: the model has no council covariates yet).
    """
    y = np.asarray(outcome, float)
    y = (y - y.mean()) / y.std(ddof=1)
    x = np.asarray(exposure_mean, float)
    X = np.column_stack([np.ones_like(x), x] + ([] if controls is None else [np.asarray(controls, float)]))
    XtX_inv = np.linalg.inv(X.T @ X)
    beta = XtX_inv @ X.T @ y
    resid = y - X @ beta
    h = ((X @ XtX_inv) * X).sum(axis=1)
    meat = (X * (resid / (1 - h))[:, None] ** 2).T @ X  # HC3
    df = len(y) - X.shape[1]
    b, se = float(beta[1]) * between_sd, float(np.sqrt((XtX_inv @ meat @ XtX_inv)[1, 1])) * between_sd
    t = stats.t.ppf(0.5 + conf / 2, df)
    return {"estimate": b, "se": se, "ci_low": b - t * se, "ci_high": b + t * se, "n": len(y)}
