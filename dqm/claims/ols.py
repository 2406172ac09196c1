"""Ordinary least squares with HC3 robust standard errors, batched over bootstrap resamples and outcomes.

statsmodels is the reference implementation (the tests compare the two); this version exists because
the specification curve's joint test refits thousands of small models, and a batched numpy solve is
two orders of magnitude faster than calling statsmodels in a loop.

``X`` is (B, n, p) or (n, p); ``Y`` is (B, n, k) or (n, k); ``w`` optional 0/1 row weights (B, n)
(rows with weight 0 are left out, which is how outliers and resampled-away rows are dropped).
Returns the coefficient ``coef`` (an index into the columns of X), its HC3 standard error, and the
residual degrees of freedom.
"""
from __future__ import annotations

import numpy as np


def ols_hc3(X, Y, coef: int = 1, w=None, robust: bool = True, return_fit: bool = False):
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    single = X.ndim == 2
    if single:
        X, Y = X[None], Y[None]
    if Y.ndim == 2:
        Y = Y[..., None]
    B, n, p = X.shape
    W = np.ones((B, n)) if w is None else np.broadcast_to(np.asarray(w, dtype=float), (B, n))
    Xw = X * W[..., None]
    XtX = Xw.transpose(0, 2, 1) @ X
    try:
        XtX_inv = np.linalg.inv(XtX)
    except np.linalg.LinAlgError:  # a singular design (a constant column in a resample): fall back to pinv
        XtX_inv = np.linalg.pinv(XtX)
    beta = XtX_inv @ (Xw.transpose(0, 2, 1) @ Y)  # (B, p, k)
    resid = (Y - X @ beta) * W[..., None]
    df = W.sum(axis=1) - p  # (B,)
    a = XtX_inv[:, coef, :]  # (B, p): row of (X'X)^-1 for the coefficient of interest
    c = (X @ a[..., None])[..., 0] * W  # (B, n)
    h = None
    if robust or return_fit:
        h = ((X @ XtX_inv) * X).sum(axis=2) * W
    if robust:
        scale = 1.0 / np.clip(1.0 - h, 1e-8, None) ** 2
        var = ((c ** 2 * scale)[:, None, :] @ resid ** 2)[:, 0, :]
    else:
        s2 = (resid ** 2).sum(axis=1) / df[:, None]
        var = XtX_inv[:, coef, coef][:, None] * s2
    se = np.sqrt(np.maximum(var, 0))
    b = beta[:, coef, :]
    if return_fit:  # for outlier rules: residuals (B, n, k) and leverage (B, n)
        return b, se, df, resid, h
    if single:
        return b[0], se[0], df[0]
    return b, se, df


def cooks_weights(resid, h, df, p, w):
    """0/1 weights dropping rows with Cook's distance above 4/n, per resample and outcome column.

    resid (B, n, k), h (B, n), df (B,), w (B, n) -> (B, n, k)
    """
    s2 = (resid ** 2).sum(axis=1) / np.maximum(df, 1)[:, None]  # (B, k)
    d = resid ** 2 / (p * s2[:, None, :]) * (h / np.clip(1 - h, 1e-8, None) ** 2)[..., None]
    n_eff = w.sum(axis=1)[:, None, None]
    return w[..., None] * (d <= 4.0 / n_eff)


def cooks_distance(X, y):
    """Cook's distance of each row for a single OLS fit (n,)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    inv = np.linalg.pinv(X.T @ X)
    beta = inv @ X.T @ y
    e = y - X @ beta
    h = np.einsum("np,pq,nq->n", X, inv, X)
    s2 = (e ** 2).sum() / max(n - p, 1)
    return (e ** 2 / (p * s2)) * h / np.clip(1 - h, 1e-8, None) ** 2
