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


# The steps by which a claim's councils are lost, in order: each count is of the councils left after the step.
LOSS_STEPS = ("population", "assessed", "with_outcome", "with_controls", "used")


def in_population(reference: pd.DataFrame, population: dict | None) -> pd.DataFrame:
    """The principal councils of ``reference`` in a claim's population (``{"nation": "England"}``, ...)."""
    ref = reference[reference["principal"]] if "principal" in reference else reference
    for col, value in (population or {}).items():
        ref = ref[ref[col].isin(value if isinstance(value, list) else [value])]
    return ref


def join_losses(exposure_table: pd.DataFrame, outcome_rows: pd.DataFrame, reference: pd.DataFrame,
                population: dict | None, joined: pd.DataFrame | None = None, exposure: str | None = None) -> dict:
    """How many councils a claim keeps at each step of the join, and how many it loses and why.

    ``population``: principal councils in the claim's population; ``assessed``: of those, with a usable
    self-assessment in the wave; ``with_outcome``: of those, with a value of the outcome for the period;
    ``with_controls``: of those, with every control; ``used``: of those, with a level for the claim's exposure
    (the claim's n). The losses are the differences: ``no_assessment``, ``no_outcome``, ``missing_control``
    (with ``missing_by_control``, {control: councils lacking it}, a council lacking two counted twice) and
    ``no_exposure``. ``outcome_councils`` counts the councils of the population with the outcome, assessed
    or not, and ``outcome_not_assessed`` those of them with no self-assessment (a join report's "rows
    joined" counts them; a claim cannot use them). ``joined`` is the analysis frame before incomplete rows
    are dropped (exposures, outcome and controls, in the population); None when there is no outcome data.

    >>> ref = pd.DataFrame({"local-authority-code": ["A", "B", "C", "D"], "principal": True,
    ...                     "nation": ["England"] * 3 + ["Wales"]})
    >>> exp = pd.DataFrame({"council_code": ["A", "B"], "overall_mean": [3.0, 2.0]})
    >>> out = pd.DataFrame({"local-authority-code": ["A", "C"], "value": [1.0, 2.0]})
    >>> losses = join_losses(exp, out, ref, {"nation": "England"})
    >>> [losses[k] for k in ("population", "assessed", "no_assessment", "outcome_councils", "outcome_not_assessed")]
    [3, 2, 1, 2, 1]
    """
    pop = set(in_population(reference, population)["local-authority-code"])
    assessed = set(exposure_table["council_code"]) & pop
    with_value = outcome_rows.dropna(subset=["value"]) if "value" in outcome_rows else outcome_rows.iloc[0:0]
    outcome_councils = set(with_value["local-authority-code"]) & pop
    out = {"population": len(pop), "assessed": len(assessed), "outcome_councils": len(outcome_councils),
           "outcome_not_assessed": len(outcome_councils - assessed), "missing_by_control": {}}
    if joined is None or joined.empty:
        out.update(with_outcome=0, with_controls=0, used=0)
    else:
        has = joined[joined["outcome"].notna()]
        controls = list(CONTROL_COLUMNS.values())
        out["missing_by_control"] = {CONTROL_WORDS[k]: int(has[col].isna().sum()) for k, col in CONTROL_COLUMNS.items()
                                     if has[col].isna().any()}
        complete = has.dropna(subset=controls)
        out.update(with_outcome=int(has["council_code"].nunique()), with_controls=int(complete["council_code"].nunique()),
                   used=int(complete.dropna(subset=[exposure])["council_code"].nunique()) if exposure
                   else int(complete["council_code"].nunique()))
    out.update(no_assessment=out["population"] - out["assessed"], no_outcome=out["assessed"] - out["with_outcome"],
               missing_control=out["with_outcome"] - out["with_controls"], no_exposure=out["with_controls"] - out["used"])
    return out


def analysis_frame(exposure_table: pd.DataFrame, outcomes: pd.DataFrame, reference: pd.DataFrame, measure: str,
                   period: str = "latest", population: dict | None = None,
                   exposure: str | None = None) -> tuple[pd.DataFrame, dict]:
    """(table, info): councils with exposures, the outcome for the chosen period and every control.

    ``info["losses"]`` says how many councils each step of the join kept and lost, and why (:func:`join_losses`;
    ``exposure``, the exposure column the claim uses, lets it count councils with no level for it).
    """
    chosen = choose_period(outcomes, measure, period)
    info = {"measure": measure, "period": chosen}
    if chosen is None:
        no_rows = outcomes.iloc[0:0]
        return pd.DataFrame(), {**info, "reason": f"no outcome data for {measure}",
                                "losses": join_losses(exposure_table, no_rows, reference, population)}
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
    info["losses"] = join_losses(exposure_table, o, reference, population, joined=df,
                                 exposure=exposure if exposure in df else None)
    return complete.reset_index(drop=True), info
