"""Panel view: does a council's change in digital level go with a later change in the outcome?

Outcome periods are aligned to waves by their first year (financial year 2024-25 goes with the 2024
wave). The model is a within-council (fixed effects) regression of the outcome on the exposure one
wave earlier, both in standard deviations, with standard errors clustered by council (statsmodels).
Councils need at least two aligned observations. Where outcome periods do not reach the assessment
waves the view is reported as not estimable, with the reason: it is never filled in with other data.
"""
from __future__ import annotations

import pandas as pd

from ..model import Model


def _period_year(period: str) -> int | None:
    try:
        return int(str(period)[:4])
    except ValueError:
        return None


def panel_view(council_levels: pd.DataFrame, outcomes: pd.DataFrame, model: Model, exposure: str, measure: str,
               lag: int = 1) -> dict:
    """Fixed-effects estimate of outcome(t) on exposure(t - lag); returns a dict with a status and reason."""
    import statsmodels.api as sm

    col = "overall_mean" if exposure == "overall" else exposure
    lv = council_levels[council_levels["assessment_type"] == "self"][["council_code", "wave", col]].dropna()
    o = outcomes[outcomes["measure"] == measure].copy()
    o["year"] = o["period"].map(_period_year)
    waves = sorted(lv["wave"].unique())
    base = {"measure": measure, "exposure": exposure, "lag": lag, "waves": [int(w) for w in waves],
            "outcome_periods": sorted(o["period"].unique().tolist())}
    if len(waves) < lag + 2:
        return {**base, "status": "not estimable", "reason": f"needs at least {lag + 2} waves of assessments; there are {len(waves)}."}
    x = lv.assign(year=lv["wave"] + lag)  # exposure at wave t - lag goes with the outcome in year t
    d = x.merge(o, left_on=["council_code", "year"], right_on=["local-authority-code", "year"])
    counts = d.groupby("council_code").size()
    d = d[d["council_code"].isin(counts[counts >= 2].index)]
    if d["council_code"].nunique() < 20:
        return {**base, "status": "not estimable",
                "reason": (f"outcome periods ({base['outcome_periods'][0]} to {base['outcome_periods'][-1]}) do not overlap "
                           f"the assessment waves ({waves[0]} to {waves[-1]}) with a {lag}-wave lag for enough councils "
                           f"({d['council_code'].nunique()} have two or more aligned years; 20 are needed).")
                if len(base["outcome_periods"]) else "no outcome data."}
    z = lambda s: (s - s.mean()) / s.std(ddof=1)
    d = d.assign(xz=z(d[col].astype(float)), yz=z(d["value"].astype(float)))
    within = d[["xz", "yz"]] - d.groupby("council_code")[["xz", "yz"]].transform("mean")
    years_fe = pd.get_dummies(d["year"], drop_first=True, dtype=float)
    years_fe = years_fe - years_fe.groupby(d["council_code"]).transform("mean")
    X = pd.concat([within[["xz"]], years_fe], axis=1)
    fit = sm.OLS(within["yz"], X).fit(cov_type="cluster", cov_kwds={"groups": d["council_code"].astype("category").cat.codes})
    lo, hi = fit.conf_int().loc["xz"]
    return {**base, "status": "estimated", "councils": int(d["council_code"].nunique()), "observations": len(d),
            "estimate": float(fit.params["xz"]), "ci_low": float(lo), "ci_high": float(hi),
            "p_value": float(fit.pvalues["xz"]), "reason": ""}
