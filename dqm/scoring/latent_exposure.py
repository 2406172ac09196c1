"""The measurement model's council level as a claim's exposure, corrected for measurement error.

A claim asks whether councils' digital level goes with an outcome. The level the store measures is
noisy: a council's respondents disagree, are lenient or strict, and self-assessors share an inflation.
Plugging a noisy level into a regression attenuates the effect (at reliability 0.8 a true 0.25 comes
out near 0.2). This module gives the claims engine the model's level instead, and corrects for what is
left of the error by **regression calibration** (Carroll, Ruppert, Stefanski and Crainiceanu 2006,
ch. 4): the exposure in the regression is the best prediction of the council's true level given its
answers *and the claim's controls*, E[X | answers, controls], so the slope is not attenuated.

How (:func:`calibrate`): from the fitted model's draws of a council's level (posterior mean ``m``,
variance ``v``) and the model's prior for it (mean ``mu``, variance ``tau2``), the council's answers
amount to an unbiased measurement ``W = mu + (m - mu) / k`` with error variance ``s2 = tau2 v / (tau2 - v)``,
``k = 1 - v / tau2`` (in a Gaussian model these are exact: ``m`` is the prediction of ``X`` from ``W``).
Within the claim's councils the true level given the controls is estimated by weighted least squares of
``W`` on the controls, with its residual spread ``tau_z2`` by moments, and the exposure is
``E[X | W, Z] = Z g + tau_z2 / (tau_z2 + s2) (W - Z g)``. The engine then reports the effect **per standard
deviation of the true between-council level** among the claim's councils (the mean over the model's draws
of the spread of the drawn levels), not per standard deviation of a noisy or a shrunken level.

:func:`claims_exposure` takes what the claims need from a :class:`~dqm.scoring.latent.LatentFit`;
:func:`exposure_for_claims` fits the model (cached by content) from a store's answers, or, when only the
council levels are at hand, from those levels, and says so in its notes.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model import Model
from .latent import _G, _H, _K, _S, LatentFit, answers_digest, fit_latent, load_config

LATENT_COLUMN = "latent_exposure"  # the calibrated exposure in a claim's analysis table (already standardised)
_CACHE: dict = {}  # content hash -> ClaimsExposure (the last few fits, so a battery or a run fits once)
_CACHE_SIZE = 6


@dataclass
class ClaimsExposure:
    """Draws of every council's latent level in one wave, overall and per dimension, and the model's prior.

    ``draws[name]``: (draws, councils) for ``name`` = ``"overall"`` or a dimension id; ``prior_mean`` and
    ``prior_var``: the model's distribution of that level among councils before their answers are seen;
    ``notes``: (topic, status, text) of what the data could not identify and what was assumed instead;
    ``source``: what the model was fitted to, in words; ``assumed_self_bias``: the council-to-council spread
    of self-rating inflation the model assumed because nothing in the data measures it (0 when estimated).
    """
    wave: int
    councils: np.ndarray
    draws: dict
    prior_mean: dict
    prior_var: dict
    notes: list
    source: str
    assumed_self_bias: float = 0.0

    def assumed_text(self, calibration: dict | None = None) -> str:
        """The notes on what was assumed or cannot be estimated, in words ('' when everything was estimated).

        ``calibration``: the info of :func:`calibrate` for one claim; where the self-rating bias was assumed, the
        text then says by how much the claim's effect may be overstated if councils' self-ratings share no bias."""
        text = " ".join(t for _, status, t in self.notes if status != "estimated" and status != "not needed")
        x = (calibration or {}).get("overstated_if_no_self_bias")
        if x is not None and np.isfinite(x):
            text += (f" Because of that assumed spread ({self.assumed_self_bias:.2f} levels) the correction for "
                     f"measurement error is larger than it would be without it: if councils' self-ratings share no "
                     f"bias at all, this effect is overstated by up to about {100 * x:.0f}% (from this fit: the "
                     f"reliability of a council's measured level would be {calibration['reliability_if_no_self_bias']:.2f}"
                     f" instead of {calibration['reliability']:.2f}, and the true spread between councils "
                     f"{calibration['sd_true_if_no_self_bias']:.2f} instead of {calibration['sd_true']:.2f} levels).")
        return text.strip()


def claims_exposure(fit: LatentFit, wave: int, source: str = "respondents' answers") -> ClaimsExposure:
    """What the claims engine needs from a fitted model for ``wave`` (see :class:`ClaimsExposure`)."""
    from .latent_ranks import _wave_index

    w = _wave_index(fit, wave)
    cs = np.flatnonzero(fit.present[:, w])
    th = fit.theta[:, cs, w, :]
    dims = list(fit.design.dims)
    D, multi = len(dims), len(fit.waves) > 1
    sd = fit.sd_hat
    g2, s2 = sd.iloc[_G] ** 2, sd.iloc[_S] ** 2
    h2, k2 = (sd.iloc[_H] ** 2, sd.iloc[_K] ** 2) if multi else (0.0, 0.0)
    beta = fit.beta[:, :len(fit.waves) * D].mean(axis=0).reshape(len(fit.waves), D)[w]
    draws = {"overall": th.mean(axis=2).astype(np.float32)}
    prior_mean, prior_var = {"overall": float(beta.mean())}, {"overall": float(g2 + s2 / D + h2 + k2 / D)}
    for j, d in enumerate(dims):
        draws[d] = np.ascontiguousarray(th[:, :, j])
        prior_mean[d], prior_var[d] = float(beta[j]), float(g2 + s2 + h2 + k2)
    assumed_b = float(fit.fixed.get("self_bias", 0.0)) if not fit.design.has_other else 0.0
    return ClaimsExposure(int(fit.waves[w]), fit.councils[cs], draws, prior_mean, prior_var, list(fit.notes), source,
                          assumed_b)


def _pseudo_answers(council_levels: pd.DataFrame, model: Model) -> pd.DataFrame:
    """The council levels (median answer per council, wave, kind and dimension) as one 'respondent' each."""
    dims = [d for d in model.dimension_ids if d in council_levels.columns]
    lv = council_levels.reset_index(drop=True)
    sid = ("levels:" + lv["council_code"].astype(str) + "|" + lv["wave"].astype(str) + "|"
           + lv["assessment_type"].astype(str))
    long = lv.assign(submission_id=sid).melt(id_vars=["submission_id", "council_code", "wave", "assessment_type"],
                                            value_vars=dims, var_name="dimension_id", value_name="level")
    return long.dropna(subset=["level"]).reset_index(drop=True)


FROM_LEVELS_NOTE = ("source", "assumed",
                    "The measurement model was fitted to each council's median answers (one row per council, wave and "
                    "kind of assessment), because only the council levels were given, not respondents' own answers: "
                    "how much respondents disagree is assumed, not measured, so the correction for measurement error "
                    "rests on that assumption. Give the claims the store's answers to measure it.")


def _key(answers: pd.DataFrame, submissions, model: Model, cfg) -> str:
    h = hashlib.sha256()
    answers_digest(h, answers, submissions)
    h.update(repr((list(model.dimension_ids), list(model.level_values), cfg)).encode())
    return h.hexdigest()


def exposure_for_claims(measurement, council_levels: pd.DataFrame | None, model: Model, wave: int) -> ClaimsExposure:
    """The claims' exposure for ``wave`` from whatever the caller has, fitting the model at most once per content.

    ``measurement``: a :class:`ClaimsExposure` (used as it is), a :class:`~dqm.scoring.latent.LatentFit`, a
    store's data (anything with ``answers`` and ``submissions``, e.g. :class:`dqm.store.StoreData`), a tidy
    answers frame, or None: the model is then fitted to ``council_levels`` (the councils' median answers) and
    the notes say that respondents' disagreement is assumed rather than measured.
    """
    if isinstance(measurement, ClaimsExposure):
        return measurement
    if isinstance(measurement, LatentFit):
        return claims_exposure(measurement, wave)
    cfg = load_config()
    extra, source = [], "respondents' answers"
    if measurement is None:
        answers, submissions = _pseudo_answers(council_levels, model), None
        extra, source = [FROM_LEVELS_NOTE], "council median answers"
    elif isinstance(measurement, pd.DataFrame):
        answers, submissions = measurement, None
    else:
        answers, submissions = measurement.answers, getattr(measurement, "submissions", None)
    key = _key(answers, submissions, model, cfg) + f"|{wave}"
    if key not in _CACHE:
        fit = fit_latent(answers, model, submissions, config=cfg)
        ex = claims_exposure(fit, wave, source)
        ex.notes = extra + ex.notes
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = ex
    return _CACHE[key]


def _overstatement(b: float, lam: np.ndarray, s2: np.ndarray, informed: np.ndarray, tau_z2: float,
                   sd_true: float) -> dict:
    """How much larger the calibrated effect is under an assumed spread ``b`` of self-rating inflation than if
    councils' self-ratings shared no bias (the only alternative the data cannot rule out when no council has an
    independent assessment). The model then counts ``b**2`` as measurement error of every council's level and
    takes it out of the true spread between councils; without it the error variance is ``s2 - b**2`` and the true
    spread (given the controls) ``tau_z2 + b**2``. The slope on the calibrated exposure scales with the
    calibration weight, and the effect per SD with the true SD, so the ratio of the two effects is
    ``mean(lam0) / mean(lam) * sd_true / sqrt(sd_true**2 + b**2)``; ``overstated_if_no_self_bias`` is that
    ratio minus one. Empty when nothing was assumed."""
    if not b > 0 or not informed.any():
        return {}
    b2 = b * b
    s0 = np.maximum(np.where(informed, s2, np.inf) - b2, 1e-12)
    lam0 = np.where(informed, (tau_z2 + b2) / (tau_z2 + b2 + s0), 0.0)
    sd0 = float(np.sqrt(sd_true ** 2 + b2))
    ratio = float(lam0.mean() / max(lam.mean(), 1e-12) * sd_true / sd0)
    return {"overstated_if_no_self_bias": ratio - 1.0, "reliability_if_no_self_bias": float(lam0.mean()),
            "sd_true_if_no_self_bias": sd0}


def calibrate(exposure: ClaimsExposure, codes, name: str, controls: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """The regression-calibrated exposure of the councils ``codes`` (module docstring), standardised so that a
    slope on it is per standard deviation of the true between-council level among these councils.

    ``controls``: (n, k) the claim's controls as its regression enters them (without the intercept); the
    calibration conditions on them, as regression calibration must. Returns (column, info) with ``info``:
    sd_true (levels), reliability (the share of the naive level's variance that is true level, given the
    controls: the mean calibration weight) and words for the result. Councils the model did not fit get NaN.
    """
    codes = np.asarray(codes).astype(str)
    pos = pd.Series(np.arange(len(exposure.councils)), index=exposure.councils.astype(str)).reindex(codes)
    ok = pos.notna().to_numpy()
    X = exposure.draws[name][:, pos[ok].astype(int).to_numpy()].astype(float)  # draws x councils
    n = X.shape[1]
    m, v = X.mean(axis=0), X.var(axis=0, ddof=1)
    mu, tau2 = exposure.prior_mean[name], exposure.prior_var[name]
    k = np.clip(1 - v / tau2, 0.0, 1.0)
    informed = k > 1e-6
    s2 = np.where(informed, tau2 * v / np.maximum(tau2 - v, 1e-12), np.inf)
    W = np.where(informed, mu + (m - mu) / np.where(informed, k, 1.0), mu)
    Z = np.ones((n, 1)) if controls is None else np.column_stack([np.ones(n), np.asarray(controls, float)[ok]])
    p = Z.shape[1]
    tau_z2 = max(float(m.var(ddof=1)), 1e-6)
    for _ in range(50):  # weighted least squares of W on the controls, and the residual spread by moments
        wts = 1.0 / (tau_z2 + s2)
        g = np.linalg.lstsq(Z * np.sqrt(wts)[:, None], W * np.sqrt(wts), rcond=None)[0]
        r = W - Z @ g
        new = float(np.sum(wts * (r ** 2 - np.where(informed, s2, 0.0)) * informed) / np.sum(wts * informed))
        new = max(new * n / max(n - p, 1), 1e-6 * tau2)
        if abs(new - tau_z2) < 1e-10 * tau2:
            break
        tau_z2 = new
    lam = np.where(informed, tau_z2 / (tau_z2 + s2), 0.0)
    fitted = Z @ g
    mz = fitted + lam * (W - fitted)
    sd_true = float(X.std(axis=1, ddof=1).mean())
    col = np.full(len(codes), np.nan)
    col[ok] = (mz - mz.mean()) / sd_true
    info = {"sd_true": sd_true, "reliability": float(lam.mean()), "councils": int(n), "method": "regression calibration",
            **_overstatement(exposure.assumed_self_bias, lam, s2, informed, tau_z2, sd_true),
            "scale": (f"per standard deviation of the true between-council level ({sd_true:.2f} levels among these "
                      f"councils, estimated by the measurement model from {exposure.source}), corrected for measurement "
                      f"error by regression calibration on the claim's controls (reliability of a council's measured "
                      f"level {float(lam.mean()):.2f})")}
    return col, info
