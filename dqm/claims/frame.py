"""Assemble the analysis table for a claim: one row per council with exposures, outcome and controls.

Exposures are the council's self-assessed levels for one wave: the overall score under each
aggregation rule (mean, median, geometric mean and the minimum, which is the threshold rule's
continuous form) and each dimension. Controls come from the reference data: council type (fixed
effects), log population, deprivation score, share of residents in urban areas (rurality) and log
population density.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import Model
from ..scoring.latent_exposure import LATENT_COLUMN

EXPOSURE_RULES = {"overall_mean": "mean", "overall_median": "median", "overall_geomean": "geometric mean",
                  "overall_min": "minimum (threshold rule)"}
CONTROL_COLUMNS = {"council_type": "type_group", "log_population": "log_population", "deprivation": "deprivation_score",
                   "rurality": "urban_share", "log_density": "log_density"}
CONTROL_WORDS = {"council_type": "council type", "log_population": "population", "deprivation": "deprivation",
                 "rurality": "rurality", "log_density": "population density"}


def exposure_column(df: pd.DataFrame, claim) -> str:
    """The column a claim's main specification uses as its exposure: the measurement model's calibrated level
    (:data:`~dqm.scoring.latent_exposure.LATENT_COLUMN`) when the analysis table has it, else the plug-in level."""
    if LATENT_COLUMN in df.columns:
        return LATENT_COLUMN
    return "overall_mean" if claim.exposure == "overall" else claim.exposure


def exposures(council_levels: pd.DataFrame, model: Model, wave: int) -> pd.DataFrame:
    """One row per council (self-assessment, one wave) with every exposure variant."""
    dims = model.dimension_ids
    lv = council_levels[(council_levels["wave"] == wave) & (council_levels["assessment_type"] == "self")]
    lv = lv[lv["coverage"] >= model.min_coverage]
    x = lv[dims].astype(float)
    out = pd.DataFrame({"council_code": lv["council_code"].to_numpy()})
    out["overall_mean"] = x.mean(axis=1).to_numpy()
    out["overall_median"] = x.median(axis=1).to_numpy()
    out["overall_geomean"] = np.exp(np.log(x).mean(axis=1)).to_numpy()
    out["overall_min"] = x.min(axis=1).to_numpy()
    for d in dims:
        out[d] = x[d].to_numpy()
    return out


def choose_period(outcomes: pd.DataFrame, measure: str, period: str = "latest") -> str | None:
    o = outcomes[outcomes["measure"] == measure]
    if o.empty:
        return None
    if period != "latest":
        return period if period in set(o["period"]) else None
    counts = o.groupby("period")["local-authority-code"].nunique()
    ok = counts[counts >= 0.5 * counts.max()]
    return str(sorted(ok.index)[-1])


def analysis_frame(exposure_table: pd.DataFrame, outcomes: pd.DataFrame, reference: pd.DataFrame, measure: str,
                   period: str = "latest", population: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """(table, info): councils with exposures, the outcome for the chosen period and every control."""
    chosen = choose_period(outcomes, measure, period)
    info = {"measure": measure, "period": chosen}
    if chosen is None:
        return pd.DataFrame(), {**info, "reason": f"no outcome data for {measure}"}
    o = outcomes[(outcomes["measure"] == measure) & (outcomes["period"] == chosen)]
    ref = reference.copy()
    ref["log_population"] = np.log(ref["population"])
    ref["log_density"] = np.log(ref["population"] / ref["area_km2"])
    df = exposure_table.merge(o[["local-authority-code", "value"]].rename(columns={"value": "outcome"}),
                              left_on="council_code", right_on="local-authority-code", how="inner")
    df = df.merge(ref, on="local-authority-code", how="left")
    info["councils_with_both"] = len(df)
    for col, value in (population or {}).items():
        values = value if isinstance(value, list) else [value]
        df = df[df[col].isin(values)]
    needed = ["outcome", *CONTROL_COLUMNS.values()]
    complete = df.dropna(subset=needed)
    info["dropped_incomplete"] = len(df) - len(complete)
    info["n"] = len(complete)
    return complete.reset_index(drop=True), info
