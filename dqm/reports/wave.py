"""Wave-level inputs of the council reports, computed once per wave and handed to every report.

The wave's shared inputs (store tables, reference data, Monte Carlo scores and ranks, target
realism) and the claims battery are kept as typed JSON with an HMAC (:mod:`dqm.serial`; never a
pickle, which would run code when read).
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

    ``data`` is the store (:class:`dqm.store.StoreData`), ``ref`` the reference councils, ``scores``
    the Monte Carlo scores and rank intervals of every council, ``realism`` the target realism per
    dimension, ``neighbours`` every council's nearest neighbours (its peers), ``change`` the change
    since the last wave of each council in ``change_councils`` (each tested with its own random
    generator, so a council's figures are those of a report made for it alone: :func:`wave_change`),
    ``actions`` the action library and ``input_files`` the store-level part of the provenance block.
    """
    wave: int
    draws: int
    store: str
    store_sha256: str
    model: object
    data: object
    ref: pd.DataFrame
    synthetic: bool
    scores: pd.DataFrame
    realism: pd.DataFrame
    neighbours: pd.DataFrame
    change: pd.DataFrame
    change_councils: list
    actions: object
    input_files: pd.DataFrame


def wave_change(data, model, wave: int, councils) -> pd.DataFrame:
    """The change since the last wave of each of ``councils`` (those that took part in both waves), as a
    council report shows it: the pooled parts of the test computed once, each council's draws from its own
    generator (``seed_per_council``), so the table holds for each council exactly what testing it alone gives."""
    from ..scoring.change import council_change

    return council_change(data.councils, data.answers, model, wave - 1, wave, councils=list(councils),
                          seed_per_council=True)


def compute_wave_inputs(store, wave: int, draws: int = 1000, councils=None) -> WaveInputs:
    """Compute the shared inputs of the council reports for ``wave`` from ``store``; the change tests for
    ``councils`` (default: every council in the wave)."""
    from .. import scoring
    from ..documents.actions import load_actions
    from ..model import load_model
    from ..reference import councils as reference_councils
    from ..scoring.peers import nearest_neighbours
    from ..scoring.profile import K
    from ..store import load
    from .provenance import input_files

    store = Path(store).resolve()
    model = load_model()
    data = load(store, model=model)
    subs = data.submissions
    synthetic = bool(subs.loc[subs["wave"] == wave, "synthetic"].any())
    scores = scoring.council_scores(data.councils, data.answers, model, wave, n_draws=draws)
    realism = scoring.target_realism(data.councils, data.answers, model, wave)
    ref = reference_councils().copy()
    if councils is None:
        lv = data.councils
        councils = sorted(lv.loc[(lv["wave"] == wave) & (lv["assessment_type"] == "self"), "council_code"].unique())
    councils = sorted(set(councils))
    return WaveInputs(int(wave), int(draws), str(store), file_sha256(store), model, data, ref, synthetic, scores,
                      realism, nearest_neighbours(ref, k=K), wave_change(data, model, wave, councils), councils,
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
    made from the same store, wave and draws), otherwise computed here (with ``council``'s change test only).

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
        if council is not None and council not in inputs.change_councils:  # a council the batch did not test
            inputs.change = wave_change(inputs.data, inputs.model, wave, [council])
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


def write_claims_results(store, wave: int, bootstrap: int, null_bootstrap: int, path) -> Path:
    """Compute the registered claims' battery once for a run and keep it (typed JSON with a SHA-256, atomically)
    for the reports that show it."""
    from ..claims.registry import load_evidence
    from ..model import load_model
    from ..serial import write_value
    from ..store import load

    model = load_model()
    evidence = load_evidence(None, None, None, model=model)
    data = load(store, model=model)
    results = claims_results(evidence.claims, data.councils, evidence.outcomes, model, wave, bootstrap, null_bootstrap,
                             measurement=data)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_value(path, {"key": _claims_key(evidence.claims, wave, bootstrap, null_bootstrap),
                              "results": results}, "claims results")
