"""Wave-level inputs of the council reports, computed once per wave and handed to every report.

The wave's shared inputs (store tables, reference data, the measurement model's levels, ranks and
changes, the rank range under other aggregation rules, target realism) and the claims battery are kept
as typed JSON with an HMAC (:mod:`dqm.serial`; never a pickle, which would run code when read).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ParameterError
from .provenance import file_sha256


@dataclass
class WaveInputs:
    """What every council's report for a wave needs, computed once.

    ``data`` is the store (:class:`dqm.store.StoreData`), ``ref`` the reference councils. From the measurement
    model (:mod:`dqm.scoring.positions`, one fit per store content): ``positions``, every council's overall level
    with its 90% interval and its rank interval among the wave's councils, with ``position_notes`` (what the model
    had to assume, in words); ``changes``, the change on each dimension since ``wave_from`` (the previous wave in the
    store; None for the first) of each council in ``change_councils``, with ``change_notes``. ``sensitivity``: the
    rank range of every council under other defensible aggregation rules, imputations and weights applied to its
    answers as given (:func:`sensitivity_ranks`). ``realism`` is the target realism per dimension, ``neighbours``
    every council's nearest neighbours (its peers), ``actions`` the action library and ``input_files`` the
    store-level part of the provenance block.
    """
    wave: int
    draws: int
    store: str
    store_sha256: str
    model: object
    data: object
    ref: pd.DataFrame
    synthetic: bool
    positions: pd.DataFrame
    position_notes: list
    changes: pd.DataFrame
    change_notes: list
    wave_from: int | None
    change_councils: list
    sensitivity: pd.DataFrame
    realism: pd.DataFrame
    neighbours: pd.DataFrame
    actions: object
    input_files: pd.DataFrame


def fit_folder() -> Path:
    """The build folder the measurement model's fit is kept in (``reports/_build``, or ``$DQM_REPORTS_DIR/_build``):
    one for ``dqm run``, a batch and a report made alone, so the store's content is fitted once."""
    from ..paths import reports_dir

    return reports_dir() / "_build"


def council_changes(data, model, wave: int, councils, build_dir=None) -> tuple[pd.DataFrame, list, int | None]:
    """(the measurement model's change rows of ``councils`` since the previous wave in the store, its notes in words,
    that previous wave or None). Each council's rows are the same whichever councils are asked for: one fit of
    every council serves them all (:func:`dqm.scoring.positions.dimension_changes`)."""
    from ..scoring.positions import dimension_changes, measurement_positions

    table = dimension_changes(data, model, wave, build_dir)
    waves = measurement_positions(data, model, build_dir).waves
    earlier = [w for w in waves if w < int(wave)]
    rows = table[table["council_code"].isin(list(councils))].reset_index(drop=True)
    return rows, list(table.attrs["notes"]), (int(earlier[-1]) if earlier else None)


def sensitivity_ranks(data, model, wave: int, draws: int) -> pd.DataFrame:
    """Every council's rank range (5th to 95th percentile, 1 = highest) when its answers, as given, are combined by
    other defensible rules (median or mean of respondents; missing dimensions left out or filled; mean, geometric
    mean, median or minimum of dimensions; weights varied): the sensitivity of its position to those choices,
    not an interval for its level (:func:`dqm.scoring.uncertainty.monte_carlo_ranks` without respondent error).
    Councils answering too few dimensions for an overall score have no row."""
    from ..scoring.uncertainty import monte_carlo_ranks

    answers = data.answers
    return monte_carlo_ranks(answers[answers["wave"] == int(wave)], model, n_draws=draws, respondent_error=False)


def compute_wave_inputs(store, wave: int, draws: int = 1000, councils=None, build_dir=None) -> WaveInputs:
    """Compute the shared inputs of the council reports for ``wave`` from ``store``: the changes of ``councils``
    (default: every council in the wave); the measurement model's fit kept in ``build_dir`` (default
    :func:`fit_folder`)."""
    from .. import scoring
    from ..documents.actions import load_actions
    from ..model import load_model
    from ..reference import councils as reference_councils
    from ..scoring.peers import nearest_neighbours
    from ..scoring.positions import council_positions
    from ..scoring.profile import K
    from ..store import load
    from .provenance import input_files

    store = Path(store).resolve()
    build_dir = fit_folder() if build_dir is None else Path(build_dir)
    model = load_model()
    data = load(store, model=model)
    subs = data.submissions
    synthetic = bool(subs.loc[subs["wave"] == wave, "synthetic"].any())
    positions = council_positions(data, model, wave, build_dir)
    realism = scoring.target_realism(data.councils, data.answers, model, wave)
    ref = reference_councils().copy()
    if councils is None:
        lv = data.councils
        councils = sorted(lv.loc[(lv["wave"] == wave) & (lv["assessment_type"] == "self"), "council_code"].unique())
    councils = sorted(set(councils))
    changes, change_notes, wave_from = council_changes(data, model, wave, councils, build_dir)
    return WaveInputs(int(wave), int(draws), str(store), file_sha256(store), model, data, ref, synthetic, positions,
                      list(positions.attrs["notes"]), changes, change_notes, wave_from, councils,
                      sensitivity_ranks(data, model, wave, draws), realism, nearest_neighbours(ref, k=K),
                      load_actions(model), input_files(store))


def _wave_input_types() -> tuple:
    """The dataclasses a kept :class:`WaveInputs` holds (the only ones :func:`dqm.serial.loads` may build)."""
    from ..documents.actions import ActionLibrary
    from ..model import Model
    from ..store import StoreData

    return (WaveInputs, StoreData, Model, ActionLibrary)


def write_wave_inputs(inputs: WaveInputs, path) -> Path:
    """Keep the shared inputs as typed JSON with a SHA-256 (:mod:`dqm.serial`), atomically."""
    from ..serial import write_value

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_value(path, inputs, "shared inputs")


def wave_inputs(store, wave: int, draws: int = 1000, shared: str | None = None, council: str | None = None) -> WaveInputs:
    """The shared inputs for a council report: read from the batch's cache ``shared`` when named (and
    made from the same store, wave and draws), otherwise computed here (with ``council``'s changes only).

    A notebook calls this once; in a batch the cache is read fresh for every council, so one council's
    report cannot change what the next one sees. A cache that is damaged, changed or not a kept
    :class:`WaveInputs` is not trusted: the inputs are computed here instead. Either way the report's
    figures come from the same code (:func:`compute_wave_inputs`), so a batch's report is the report made alone.
    """
    from ..serial import UnreadableValue, read_value

    only = None if council is None else [council]
    if shared:
        try:
            inputs = read_value(shared, _wave_input_types())
        except UnreadableValue:
            return compute_wave_inputs(store, wave, draws, only)
        if not isinstance(inputs, WaveInputs):
            return compute_wave_inputs(store, wave, draws, only)
        same_store = Path(inputs.store) == Path(store).resolve()
        if not (same_store and inputs.wave == int(wave) and inputs.draws == int(draws)):
            raise ParameterError(f"the shared inputs {shared} were made for another store, wave or number of draws.")
        if council is not None and council not in inputs.change_councils:  # a council the batch did not report on
            inputs.changes = council_changes(inputs.data, inputs.model, wave, [council], fit_folder())[0]
            inputs.change_councils = [council]
        return inputs
    return compute_wave_inputs(store, wave, draws, only)


def _claims_key(claims, wave: int, bootstrap: int, null_bootstrap: int) -> dict:
    return {"wave": int(wave), "bootstrap": int(bootstrap), "null_bootstrap": int(null_bootstrap),
            "claims": sorted(c.id for c in claims)}


def _claims_types() -> tuple:
    """The dataclasses a kept claims battery holds."""
    from ..claims.engine import ClaimResult
    from ..claims.registry import Claim

    return (ClaimResult, Claim)


def claims_results(claims, council_levels: pd.DataFrame, outcomes: pd.DataFrame, model, wave: int,
                   bootstrap: int = 2000, null_bootstrap: int = 500, shared: str | None = None,
                   measurement=None) -> list:
    """The claims battery's results for a report: read from the run's cache ``shared`` when named (made for the
    same wave, settings and claims), otherwise computed here. ``dqm run`` computes it once for the annual report
    and the evidence review. A cache that is damaged, changed or not a kept battery is not trusted: the
    battery is computed here instead. ``measurement`` (the store's data, as :func:`dqm.store.load` gives it) lets
    the measurement model read respondents' answers for the claims' exposure, as ``dqm claims`` does."""
    from ..claims import EngineConfig, evaluate_claims
    from ..serial import UnreadableValue, read_value

    if shared:
        try:
            kept = read_value(shared, _claims_types())
        except UnreadableValue:
            kept = None
        result_type = _claims_types()[0]
        results = kept.get("results") if isinstance(kept, dict) else None
        if isinstance(results, list) and all(isinstance(r, result_type) for r in results) and "key" in kept:
            if kept["key"] != _claims_key(claims, wave, bootstrap, null_bootstrap):
                raise ParameterError(f"the shared claims results {shared} were made for another wave, settings or "
                                     "claims.")
            return results
    return evaluate_claims(claims, council_levels, outcomes, model, wave,
                           EngineConfig(n_boot=bootstrap, n_null_boot=null_bootstrap), measurement=measurement)


def claims_battery(store, wave: int, bootstrap: int, null_bootstrap: int) -> tuple[list, list]:
    """The registered claims and their results for the wave, kept on disk between runs (:mod:`dqm.reports.cache`).

    The key is the content of everything the battery reads (the claims, the store's council levels, answers and
    submissions, the outcomes, the model and the reference councils), the settings, and the code of the claims
    engine, the measurement model, the quality model and the reference lists: a run on unchanged data reads the
    battery; any change computes it afresh. The measurement model reads respondents' answers for the claims'
    exposure, as ``dqm claims`` and the backtest do.
    """
    from ..claims import EngineConfig, evaluate_claims
    from ..claims.registry import load_evidence
    from ..model import load_model
    from ..reference import councils
    from ..scoring.latent import salt_free_keys
    from ..store import load
    from .cache import content_sha256, disk_cached

    model = load_model()
    evidence = load_evidence(None, None, None, model=model)
    data = load(store, model=model)
    # respondents by salt-free labels: `dqm run` rebuilds its store, whose salt (and so every respondent_key) is new
    subs = data.submissions.assign(respondent_key=salt_free_keys(data.submissions))
    key = {"wave": int(wave), "bootstrap": int(bootstrap), "null_bootstrap": int(null_bootstrap),
           "inputs": content_sha256(evidence.claims, data.councils, data.answers, subs, evidence.outcomes, model,
                                    councils())}
    return evidence.claims, disk_cached("claims-battery", key, lambda: evaluate_claims(
        evidence.claims, data.councils, evidence.outcomes, model, wave,
        EngineConfig(n_boot=bootstrap, n_null_boot=null_bootstrap), measurement=data),
        code=["claims", "model", "reference", "scoring"], types=_claims_types())


def write_claims_results(store, wave: int, bootstrap: int, null_bootstrap: int, path) -> Path:
    """The registered claims' battery (:func:`claims_battery`), written once for a run (typed JSON with a SHA-256,
    atomically) where the reports that show it read it (their ``shared_claims``)."""
    from ..serial import write_value

    claims, results = claims_battery(store, wave, bootstrap, null_bootstrap)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_value(path, {"key": _claims_key(claims, wave, bootstrap, null_bootstrap), "results": results},
                       "claims results")
