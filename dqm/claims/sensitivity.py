"""Sensitivity to unmeasured confounding (Cinelli and Hazlett 2020, "Making sense of sensitivity").

Every association the engine reports allows for the claim's controls and nothing else. A sceptic's first
question is: how strong would a confounder that was *not* measured have to be to explain it away? This
module answers it with the closed-form omitted-variable-bias results of Cinelli and Hazlett (2020,
Journal of the Royal Statistical Society B 82(1), 39-67), implemented here in numpy/scipy (the R package
``sensemakr`` is GPL-3; these are the paper's formulas, checked in tests/test_sensitivity.py against the
paper's Darfur example as published with ``sensemakr``):

* ``partial_r2(t, dof)``: the share of the outcome's residual variance the exposure explains, R²(Y~D|X) =
  t² / (t² + dof).
* ``robustness_value(t, dof, q, alpha)``: RV_q, the partial R² a confounder would need with *both* the
  exposure and the outcome to move the estimate by 100q% (q = 1: to zero); with ``alpha``, RV_{q,alpha}:
  to make it no longer significant at that level (the paper's eq. 19 and its edge case, where the
  confounder's partial R² with the outcome alone would be enough).
* ``benchmark_bounds(...)``: the bound on a confounder k times as strong as an observed covariate (here
  deprivation) in explaining the exposure (k_D) and the outcome (k_Y) (the paper's Section 6.1, eq. 22),
  and the largest bias such a confounder could cause, |bias| = se * sqrt(dof) * sqrt(R²yz R²dz / (1 - R²dz)).

The partial R² identity and the bias formula hold exactly for *classical* (non-robust) OLS t statistics and
standard errors: there the standard error only stands in for the ratio of residual standard deviations. So
they are computed from a classical refit of the claim's main specification, exactly as ``sensemakr`` does
(it ignores robust standard errors for the same reason). The engine's own intervals stay HC3. RV_{q,alpha} is
computed on the classical t statistic too; where HC3 standard errors are wider than classical ones it is
somewhat optimistic, so the review reads it together with the HC3 interval.

Benchmarking assumes, as the paper does, that the unmeasured confounder is not itself correlated with the
observed controls once they are allowed for; "as strong as deprivation" means it explains as much of the
exposure's and of the outcome's residual variance as deprivation does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

KS = (1.0, 2.0)  # benchmark multiples reported: as strong as deprivation, and twice as strong
BENCHMARK = "deprivation"


def partial_r2(t, dof):
    """R²(Y ~ D | X) = t² / (t² + dof) (Cinelli and Hazlett 2020, eq. 11)."""
    t = np.asarray(t, float)
    return t ** 2 / (t ** 2 + dof)


def robustness_value(t, dof, q: float = 1.0, alpha: float | None = None):
    """RV_q (``alpha`` None) or RV_{q,alpha}: the partial R² with both exposure and outcome that a confounder
    needs to reduce the estimate by 100q% (or to make it just non-significant at ``alpha``, two-sided).

    fq = q |t| / sqrt(dof); RV = (sqrt(f⁴ + 4f²) - f²) / 2 with f = fq (no alpha) or f = fq - f_crit, where
    f_crit = |t*_{alpha/2, dof-1}| / sqrt(dof - 1); 0 when f <= 0; and when fq > 1/f_crit the edge case
    (fq² - f_crit²) / (1 + fq²) (a confounder explaining all the outcome's residual variance is then needed
    only up to that partial R² with the exposure).
    """
    t = np.asarray(t, float)
    fq = q * np.abs(t / np.sqrt(dof))
    if alpha is None:
        return 0.5 * (np.sqrt(fq ** 4 + 4 * fq ** 2) - fq ** 2)
    f_crit = np.abs(special.stdtrit(dof - 1, alpha / 2)) / np.sqrt(dof - 1)
    fqa = fq - f_crit
    rv = np.where(fqa > 0, 0.5 * (np.sqrt(fqa ** 4 + 4 * fqa ** 2) - fqa ** 2), 0.0)
    edge = (fqa > 0) & (fq > 1 / f_crit)
    return np.where(edge, (fq ** 2 - f_crit ** 2) / (1 + fq ** 2), rv)


def bias_factor(r2dz_x, r2yz_dx):
    return np.sqrt(np.asarray(r2yz_dx, float) * r2dz_x / (1 - np.asarray(r2dz_x, float)))


def bias(se, dof, r2dz_x, r2yz_dx):
    """The largest omitted-variable bias of a confounder with these partial R² (eq. 13, classical se)."""
    return bias_factor(r2dz_x, r2yz_dx) * se * np.sqrt(dof)


def adjusted_se(se, dof, r2dz_x, r2yz_dx):
    """The standard error the estimate would have had with the confounder in the model (eq. 15)."""
    return se * np.sqrt((1 - np.asarray(r2yz_dx, float)) / (1 - np.asarray(r2dz_x, float))) * np.sqrt(dof / (dof - 1))


def benchmark_bounds(r2dxj_x: float, r2yxj_dx: float, kd=KS, ky=None) -> pd.DataFrame:
    """Partial R² of a confounder kd (ky) times as strong as covariate Xj with the exposure (outcome).

    ``r2dxj_x``: Xj's partial R² with the exposure given the other controls; ``r2yxj_dx``: Xj's partial R² with
    the outcome given the exposure and the other controls. (Paper, Section 6.1; as sensemakr's
    ``ovb_partial_r2_bound``.) A multiple that implies an impossible confounder (partial R² of 1 or more with the
    exposure) gives NaN; one whose implied partial R² with the outcome exceeds 1 is capped at 1.
    """
    kd = np.atleast_1d(np.asarray(kd, float))
    ky = kd if ky is None else np.broadcast_to(np.asarray(ky, float), kd.shape)
    r2dz = kd * r2dxj_x / (1 - r2dxj_x)
    r2zxj = kd * r2dxj_x ** 2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    ok = (r2dz < 1) & (r2zxj < 1) & (kd * r2dxj_x < 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2yz = ((np.sqrt(ky) + np.sqrt(np.where(ok, r2zxj, 0))) / np.sqrt(1 - np.where(ok, r2zxj, 0))) ** 2 * (
            r2yxj_dx / (1 - r2yxj_dx))
    r2yz = np.minimum(r2yz, 1.0)
    return pd.DataFrame({"kd": kd, "ky": ky, "r2dz_x": np.where(ok, r2dz, np.nan), "r2yz_dx": np.where(ok, r2yz, np.nan)})


def adjusted(estimate: float, se: float, dof: float, r2dz_x, r2yz_dx, alpha: float = 0.05) -> pd.DataFrame:
    """Bias-adjusted estimate (towards zero, as sensemakr's ``reduce=True``), its standard error, t and interval,
    plus ``bound_low``/``bound_high``: where the estimate could lie if the confounder's bias went either way."""
    r2dz_x, r2yz_dx = np.atleast_1d(np.asarray(r2dz_x, float)), np.atleast_1d(np.asarray(r2yz_dx, float))
    b = bias(se, dof, r2dz_x, r2yz_dx)
    est = np.sign(estimate) * (abs(estimate) - b)
    s = adjusted_se(se, dof, r2dz_x, r2yz_dx)
    q = np.abs(special.stdtrit(dof, alpha / 2))  # sensemakr uses the model's residual dof here
    with np.errstate(divide="ignore", invalid="ignore"):  # a confounder explaining all the outcome: se 0
        t = est / s
    return pd.DataFrame({"bias": b, "adjusted_estimate": est, "adjusted_se": s, "adjusted_t": t,
                         "adjusted_ci_low": est - q * s, "adjusted_ci_high": est + q * s,
                         "bound_low": estimate - b, "bound_high": estimate + b})


def _classical_t(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Coefficients, classical standard errors and t statistics of an OLS fit, and its residual dof."""
    n, p = X.shape
    inv = np.linalg.pinv(X.T @ X)
    beta = inv @ X.T @ y
    e = y - X @ beta
    dof = n - np.linalg.matrix_rank(X)
    s2 = (e @ e) / dof
    se = np.sqrt(np.diag(inv) * s2)
    return beta, se, beta / se, float(dof)


def sensitivity(X: np.ndarray, y: np.ndarray, benchmark_col: int | None, q: float = 1.0, alpha: float = 0.05,
                ks=KS) -> dict:
    """The sensitivity figures of one fitted specification.

    ``X``: the design (column 0 the intercept, column 1 the exposure, as :func:`dqm.claims.engine.design`);
    ``y``: the transformed outcome; ``benchmark_col``: the column of the benchmark covariate (deprivation),
    or None when the claim does not control for it (then no benchmark bound is given).
    """
    beta, se, t, dof = _classical_t(X, y)
    out = {"sens_estimate_classical": float(beta[1]), "sens_se_classical": float(se[1]), "sens_t_classical": float(t[1]),
           "sens_dof": dof, "sens_partial_r2": float(partial_r2(t[1], dof)),
           "sens_rv": float(robustness_value(t[1], dof, q)), "sens_rv_alpha": float(robustness_value(t[1], dof, q, alpha)),
           "sens_benchmark": BENCHMARK if benchmark_col is not None else "",
           "sens_r2dxj_x": np.nan, "sens_r2yxj_dx": np.nan}
    for k in ks:
        for name in ("r2dz_x", "r2yz_dx", "bias", "bound_low", "bound_high", "adjusted_ci_low", "adjusted_ci_high"):
            out[f"sens_{name}_{k:g}x"] = np.nan
    if benchmark_col is None:
        return out
    # Xj with the outcome, given the exposure and the other controls: its t in the outcome regression
    r2y = float(partial_r2(t[benchmark_col], dof))
    # Xj with the exposure, given the other controls: its t in the regression of the exposure on the controls
    keep = [j for j in range(X.shape[1]) if j != 1]
    Xd = X[:, keep]
    _, _, td, dof_d = _classical_t(Xd, X[:, 1])
    r2d = float(partial_r2(td[keep.index(benchmark_col)], dof_d))
    out["sens_r2dxj_x"], out["sens_r2yxj_dx"] = r2d, r2y
    bounds = benchmark_bounds(r2d, r2y, kd=list(ks))
    adj = adjusted(float(beta[1]), float(se[1]), dof, bounds["r2dz_x"].to_numpy(), bounds["r2yz_dx"].to_numpy(), alpha)
    for i, k in enumerate(ks):
        out[f"sens_r2dz_x_{k:g}x"] = float(bounds["r2dz_x"].iloc[i])
        out[f"sens_r2yz_dx_{k:g}x"] = float(bounds["r2yz_dx"].iloc[i])
        for name in ("bias", "bound_low", "bound_high", "adjusted_ci_low", "adjusted_ci_high"):
            out[f"sens_{name}_{k:g}x"] = float(adj[name].iloc[i])
    return out


def e_value(ratio: float, ci_low: float, ci_high: float, odds_ratio: bool = False, outcome_share: float | None = None) -> dict:
    """The E-value of a ratio and of its confidence limit nearer 1 (VanderWeele and Ding 2017).

    The E-value is the smallest strength of association, on the risk-ratio scale, that an unmeasured
    confounder would need with both the exposure and the outcome, beyond the controls, to explain the
    association away: RR + sqrt(RR (RR - 1)), with RR taken above 1 (a protective ratio is inverted). A rate
    ratio is used as a risk ratio. An odds ratio of a common outcome (more than 15% with it) is first
    approximated by a risk ratio as sqrt(OR) (their Table 2); of a rare outcome, used as it is. The E-value of
    the interval is 1 when the interval includes 1.

    >>> {k: round(v, 2) for k, v in e_value(3.9, 1.8, 8.7).items() if k != "sens_evalue_scale"}
    {'sens_evalue': 7.26, 'sens_evalue_ci': 3.0}
    """
    def rr(v):
        v = float(v)
        if odds_ratio and outcome_share is not None and outcome_share > 0.15:
            v = np.sqrt(v)
        return v

    def ev(v):
        v = max(v, 1 / v)
        return float(v + np.sqrt(v * (v - 1)))

    est, lo, hi = rr(ratio), rr(ci_low), rr(ci_high)
    if not all(np.isfinite([est, lo, hi])) or min(est, lo, hi) <= 0:
        return {}
    near = 1.0 if lo <= 1 <= hi else (lo if est > 1 else hi)
    scale = ("risk ratio (approximated from the odds ratio of a common outcome)" if odds_ratio and outcome_share
             is not None and outcome_share > 0.15 else "odds ratio (rare outcome)" if odds_ratio else "rate ratio")
    return {"sens_evalue": ev(est), "sens_evalue_ci": 1.0 if near == 1.0 else ev(near), "sens_evalue_scale": scale}


SENSITIVITY_COLUMNS = (
    ["sens_partial_r2", "sens_rv", "sens_rv_alpha", "sens_benchmark", "sens_r2dxj_x", "sens_r2yxj_dx"]
    + [f"sens_{name}_{k:g}x" for k in KS for name in ("r2dz_x", "r2yz_dx", "bias", "bound_low", "bound_high",
                                                         "adjusted_ci_low", "adjusted_ci_high")]
    + ["sens_estimate_classical", "sens_se_classical", "sens_t_classical", "sens_dof"]
    + ["sens_evalue", "sens_evalue_ci", "sens_evalue_scale"])
