"""Do the dimensions hang together as one index? (OECD/JRC Handbook, step 4: multivariate analysis.)

On council-level scores (one row per council, one column per dimension, complete cases):

* Cronbach's alpha: k/(k-1) * (1 - sum of item variances / variance of the total).
* McDonald's omega (total): (sum of loadings)^2 / ((sum of loadings)^2 + sum of uniquenesses), from a
  one-factor maximum-likelihood factor model (statsmodels) on the correlation matrix. Loadings keep
  their signs: an item that runs against the others lowers omega, as it lowers the reliability of the
  sum (taking absolute values would hide it).
* Corrected item-total correlation: each dimension against the mean of the others.
* Alpha if the dimension is dropped.
* Share of variance on the first principal component of the correlation matrix.

A dimension is flagged as possibly not belonging when its corrected item-total correlation is below
0.3 or alpha rises when it is dropped.

>>> import pandas as pd
>>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
>>> float(round(cronbach_alpha(x), 3))
0.954
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ITEM_TOTAL_FLOOR = 0.3


def cronbach_alpha(items: pd.DataFrame) -> float:
    x = items.dropna().astype(float)
    k = x.shape[1]
    if k < 2 or len(x) < 2:
        return np.nan
    total_var = x.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1 - x.var(ddof=1).sum() / total_var)) if total_var > 0 else np.nan


def mcdonald_omega(items: pd.DataFrame) -> float:
    """Omega total from a one-factor ML factor model on standardised items."""
    from statsmodels.multivariate.factor import Factor

    x = items.dropna().astype(float)
    x = x.loc[:, x.std(ddof=1) > 0]
    if x.shape[1] < 3 or len(x) <= x.shape[1]:
        return np.nan
    z = (x - x.mean()) / x.std(ddof=1)
    res = Factor(z.to_numpy(), n_factor=1, method="ml").fit()
    lam = np.asarray(res.loadings)[:, 0]
    lam = lam if lam.sum() >= 0 else -lam  # the factor's sign is arbitrary; the items' signs relative to it are not
    psi = np.asarray(res.uniqueness)
    return float(lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum()))


def first_component_share(items: pd.DataFrame) -> float:
    x = items.dropna().astype(float)
    corr = np.corrcoef(x.to_numpy(), rowvar=False)
    eig = np.linalg.eigvalsh(corr)
    return float(eig.max() / eig.sum())


def coherence(levels: pd.DataFrame, dims: list[str], names: dict | None = None) -> tuple[dict, pd.DataFrame]:
    """(index-level statistics, one row per dimension) for a table of council levels."""
    x = levels[dims].dropna().astype(float)
    alpha = cronbach_alpha(x)
    summary = {"councils": len(x), "dimensions": len(dims), "alpha": alpha, "omega": mcdonald_omega(x),
               "first_component_share": first_component_share(x) if len(x) > 2 else np.nan}
    rows = []
    for d in dims:
        rest = x.drop(columns=d)
        r_total = float(np.corrcoef(x[d], rest.mean(axis=1))[0, 1]) if x[d].std() > 0 else np.nan
        a_drop = cronbach_alpha(rest)
        rows.append({"dimension_id": d, "dimension": (names or {}).get(d, d), "item_total_r": r_total,
                     "alpha_if_dropped": a_drop,
                     "flag": bool((r_total < ITEM_TOTAL_FLOOR) or (a_drop > alpha + 1e-9))})
    return summary, pd.DataFrame(rows)
