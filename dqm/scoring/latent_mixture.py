"""Rank intervals under a skew-robust council distribution: a two-component normal mixture for the overall level.

The measurement model (:mod:`dqm.scoring.latent`) gives councils' overall levels a normal distribution.
When the true distribution is skewed (a bunched lower tail and a long upper one), the normal prior
places the bunched councils too far apart, and their rank intervals are too narrow (the study's skewed
scenario: 77% coverage in the bottom decile). This module keeps everything the model measured about
each council and replaces only that normal distribution by a two-component normal mixture estimated
from the councils themselves (a deconvolution):

1. From the model's draws of a council's overall level (posterior mean ``m``, variance ``v``) and its
   normal prior (mean ``mu``, variance ``tau2``) the council's answers amount to a measurement
   ``W = mu + (m - mu) / k`` with error variance ``s2 = tau2 v / (tau2 - v)``, ``k = 1 - v / tau2``
   (exact in a Gaussian model; as in :mod:`dqm.scoring.latent_exposure`).
2. The mixture ``sum_j pi_j N(mu_j, sd_j^2)`` of true levels is fitted to the ``W`` by EM with each
   council's own error variance (the true level as the missing data), its SDs kept above a fifth of
   the normal prior's so that no component collapses onto a few councils.
3. Each council's level is drawn from its posterior under the mixture (a mixture of normals, exact),
   and the councils are ranked within each draw.

It is a study method (``studies/measurement``), not yet what the reports read.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata

from .latent import LatentFit
from .latent_ranks import _wave_index
from .latent_ranks import council_measurements as _measurements


def fit_mixture(W: np.ndarray, s2: np.ndarray, mu: float, tau2: float, components: int = 2,
                iterations: int = 300) -> dict:
    """EM for ``W_c = X_c + e_c``, ``e_c ~ N(0, s2_c)``, ``X_c ~ sum_j pi_j N(mu_j, sd_j^2)`` (step 2)."""
    floor = tau2 / 25.0
    spread = np.sqrt(max(np.var(W) - np.mean(s2), tau2))
    means = mu + spread * np.linspace(-0.5, 0.5, components)
    var = np.full(components, max(tau2 / 2, floor))
    pi = np.full(components, 1 / components)
    for _ in range(iterations):
        tot = var[None] + s2[:, None]
        logp = np.log(pi)[None] + norm.logpdf(W[:, None], means[None], np.sqrt(tot))
        r = np.exp(logp - logp.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        ex = means[None] + var[None] / tot * (W[:, None] - means[None])
        vx = var[None] * s2[:, None] / tot
        nk = r.sum(axis=0) + 1e-12
        new_means = (r * ex).sum(axis=0) / nk
        new_var = np.maximum((r * ((ex - new_means[None]) ** 2 + vx)).sum(axis=0) / nk, floor)
        new_pi = np.maximum(nk / nk.sum(), 1e-3)
        done = np.allclose(new_means, means, atol=1e-7) and np.allclose(new_var, var, atol=1e-9)
        means, var, pi = new_means, new_var, new_pi / new_pi.sum()
        if done:
            break
    return {"pi": pi, "means": means, "sd": np.sqrt(var)}


def mixture_draws(W: np.ndarray, s2: np.ndarray, mix: dict, n: int, rng) -> np.ndarray:
    """Draws (n, councils) of every council's true overall level under the mixture (step 3)."""
    var = mix["sd"] ** 2
    tot = var[None] + s2[:, None]
    logp = np.log(mix["pi"])[None] + norm.logpdf(W[:, None], mix["means"][None], np.sqrt(tot))
    p = np.exp(logp - logp.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    pm = mix["means"][None] + var[None] / tot * (W[:, None] - mix["means"][None])
    psd = np.sqrt(var[None] * s2[:, None] / tot)
    u = rng.random((n, len(W)))
    comp = (u[..., None] > np.cumsum(p, axis=1)[None]).sum(axis=2).clip(max=len(var) - 1)
    cidx = np.arange(len(W))[None]
    return pm[cidx, comp] + psd[cidx, comp] * rng.standard_normal((n, len(W)))


def mixture_ranks(fit: LatentFit, wave: int, components: int = 2) -> pd.DataFrame:
    """Rank intervals in ``wave`` (1 = highest) with the councils' overall levels drawn under a fitted normal
    mixture (module docstring). Columns as :func:`dqm.scoring.latent_ranks.latent_ranks` (without ``position``)."""
    w = _wave_index(fit, wave)
    cs = np.flatnonzero(fit.present[:, w])
    W, s2, mu, tau2 = _measurements(fit, w, cs)
    mix = fit_mixture(W, s2, mu, tau2, components)
    rng = np.random.default_rng(fit.config.seed + 7)
    score = mixture_draws(W, s2, mix, fit.theta.shape[0], rng)
    ranks = rankdata(-score, axis=1, method="average")
    return pd.DataFrame({
        "council_code": fit.councils[cs], "wave": int(fit.waves[w]), "councils_ranked": len(cs),
        "score_mean": score.mean(axis=0), "score_p5": np.percentile(score, 5, axis=0),
        "score_p95": np.percentile(score, 95, axis=0), "rank_median": np.median(ranks, axis=0),
        "rank_p5": np.percentile(ranks, 5, axis=0), "rank_p95": np.percentile(ranks, 95, axis=0)})
