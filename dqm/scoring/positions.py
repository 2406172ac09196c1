"""The reports' one entry point to the measurement model: every council's level, rank and change in a wave.

One fit of :mod:`dqm.scoring.latent` per store content (all waves at once, so waves are linked through
the same councils and respondents) gives three tidy tables for every wave, kept together as a
:class:`MeasurementPositions`:

* :func:`council_positions`: one row per council answering in the wave: its overall latent level with a
  90% interval, its rank among the wave's councils with a 5th-95th percentile interval (1 = highest) and
  what that whole interval supports in words (``position``), and its respondents;
* :func:`dimension_positions`: the same council's level on each dimension (long: council_code, dimension,
  level, low, high);
* :func:`dimension_changes`: its change on each dimension (and overall) since the previous wave in the
  store, the calibrated test of "no change" (``p_value``, ``flagged``) and the chance that test flags a
  one-level change with this council's respondents (``power_one_level``).

The sector's figures for the annual report come from the same fit (:mod:`dqm.scoring.sector_levels`):
:func:`sector_levels` (the average level per dimension and overall, with a 95% interval from the draws),
:func:`group_levels` (the same by council type, region, nation or deprivation quintile, groups of fewer than 5
councils suppressed), :func:`level_bands` (the share of councils at each level, shares of fewer than 5 councils
suppressed) and :func:`sector_change` (the average change among the councils in both waves, and how many councils
the change test flags against how many its level alone would flag). All are of the councils that self-assessed in
the wave (:func:`dqm.scoring.sector_levels.population`), the councils the participation tables count.

Each table carries ``attrs["notes"]``: what the data could not identify and what the model assumed
instead, in words (no council with two respondents; no independent or peer assessment; one wave only;
the first wave, with nothing to change from). Nothing is silently zero: where respondents' disagreement
or the self-assessment bias cannot be estimated, the intervals are widened by the assumed values of
``data/measurement.yaml`` and the notes say so.

The fit is cached by the store's content (answers, respondent keys), the model's dimensions and levels,
the model settings and the measurement code: in this process, and, when a reports build folder is given,
on disk as typed JSON with an HMAC (:mod:`dqm.serial`; no pickle) in ``<build folder>/cache``, so that
``dqm run`` and a batch of reports fit it once. Council names are joined on each call, not cached.

Example::

    from dqm.store import load
    from dqm.scoring.positions import council_positions
    data = load()
    table = council_positions(data, model, 2026, build_dir="reports/_build")
    table.attrs["notes"]  # what was assumed, in words
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..model import Model
from .latent import LatentConfig, answers_digest, fit_latent, load_config
from .latent_ranks import latent_change, latent_levels, latent_ranks
from .sector import SUPPRESS_BELOW, suppress_small
from .sector_levels import (
    ALL,
    LEVEL_COLUMNS,
    SUPPRESSED_BAND_COLUMNS,
    group_map,
    groups_key,
    population,
    sector_tables,
    suppress_bands,
)
from .uncertainty import rank_statement

CODE = ("latent.py", "latent_ranks.py", "positions.py", "sector_levels.py")  # the code a cached fit depends on (in dqm/scoring/)
CACHE_PREFIX = "measurement-positions-"
_MEMORY: dict = {}  # key -> MeasurementPositions (the last few, so a run or a batch fits once per process)
_MEMORY_SIZE = 4

POSITION_COLUMNS = {  # column -> dtype of council_positions (pinned by tests/test_positions.py)
    "council_code": "object", "council_name": "object", "wave": "int64", "level": "float64",
    "level_low": "float64", "level_high": "float64", "level_name": "object", "rank": "int64", "rank_low": "int64",
    "rank_high": "int64", "councils_ranked": "int64", "position": "object", "n_respondents": "int64",
    "n_self": "int64", "n_independent": "int64"}
DIMENSION_COLUMNS = {"council_code": "object", "wave": "int64", "dimension": "object", "level": "float64",
                     "low": "float64", "high": "float64"}
CHANGE_COLUMNS = {"council_code": "object", "wave": "int64", "wave_from": "int64", "dimension": "object",
                  "change": "float64", "change_low": "float64", "change_high": "float64",
                  "prob_moved_one_level": "float64", "p_value": "float64", "flagged": "bool",
                  "power_one_level": "float64"}


@dataclass
class MeasurementPositions:
    """What one fit of the measurement model says about every wave of a store (see the module docstring).

    ``councils``, ``dimensions``, ``changes``: the three tables for all waves (a ``wave`` column);
    ``notes``: (topic, status, text) of the fit; ``waves``: the fitted waves, oldest first;
    ``variance_components``: the fitted spread of each term; ``fit_cpu_seconds``: what the fit cost;
    ``sector_levels``, ``sector_bands``, ``sector_change``: the sector's figures from the draws
    (:func:`dqm.scoring.sector_levels.sector_tables`), by the council groups whose hash is ``groups_key``.
    """
    key: str
    waves: list
    councils: pd.DataFrame
    dimensions: pd.DataFrame
    changes: pd.DataFrame
    notes: list
    variance_components: pd.DataFrame
    fit_cpu_seconds: float
    groups_key: str = ""
    sector_levels: pd.DataFrame = field(default_factory=pd.DataFrame)
    sector_bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    sector_change: pd.DataFrame = field(default_factory=pd.DataFrame)

    def notes_in_words(self, wave: int | None = None, part: str = "positions") -> list:
        """What was assumed or cannot be told, one sentence or more per item ('' items left out).

        ``part="changes"`` adds, for the first fitted wave, that there is no earlier wave to change from."""
        out = [text for _, status, text in self.notes if status not in ("estimated", "not needed")]
        if part == "changes" and wave is not None and self.waves and int(wave) == int(self.waves[0]) \
                and len(self.waves) > 1:
            out.append(f"Wave {int(wave)} is the first wave in the store: there is no earlier wave to measure a "
                       "change from.")
        return out


# ------------------------------------------------------------------------------------------ the fit, once
def _answers_of(data) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(answers, submissions) of a store's data (:class:`dqm.store.StoreData` or anything with ``answers``),
    or of a tidy answers frame."""
    from ..errors import DQMError

    if isinstance(data, pd.DataFrame):
        answers, submissions = data, None
    elif isinstance(getattr(data, "answers", None), pd.DataFrame):
        answers, submissions = data.answers, getattr(data, "submissions", None)
    else:
        raise DQMError(f"the measurement model needs a store's data (dqm.store.load) or its answers, not "
                       f"{type(data).__name__}.", hint="Pass dqm.store.load(store) or its .answers frame.")
    # one order for the same content, so that the fit (its respondents' order, its seeded draws) is the same; not by
    # respondent_key, which a store salts with its own secret
    order = [c for c in ("council_code", "wave", "assessment_type", "submission_id", "dimension_id")
             if c in answers.columns]
    answers = answers.sort_values(order, kind="mergesort").reset_index(drop=True)
    return answers, submissions


def _code_sha256() -> str:
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in CODE:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    return h.hexdigest()


def content_key(data, model: Model, config: LatentConfig) -> str:
    """A hash of what the fit depends on: the answers (and respondent keys), the model's dimensions and levels,
    the settings, the measurement code and the numeric libraries' versions. Identical data give the same key."""
    from importlib.metadata import version

    answers, submissions = _answers_of(data)
    h = hashlib.sha256()
    answers_digest(h, answers, submissions)
    h.update(json.dumps({"dimensions": list(model.dimension_ids), "levels": [float(v) for v in model.level_values],
                         "config": repr(config), "code": _code_sha256(),
                         "versions": [version(p) for p in ("numpy", "scipy", "pandas")]}, sort_keys=True).encode())
    return h.hexdigest()[:32]


def _tables(fit, model: Model) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three tables (all waves) from one fit."""
    lv = latent_levels(fit, model)
    councils, changes = [], []
    for w in fit.waves:
        r = latent_ranks(fit, int(w))
        n = int(r["councils_ranked"].iloc[0]) if len(r) else 0
        o = lv[(lv["wave"] == w) & (lv["dimension_id"] == "overall")].set_index("council_code").loc[r["council_code"]]
        # the interval's ends are whole ranks that contain the 5th-95th percentile interval of the draws' ranks
        low, high = np.floor(r["rank_p5"].to_numpy() + 1e-9), np.ceil(r["rank_p95"].to_numpy() - 1e-9)
        councils.append(pd.DataFrame({
            "council_code": r["council_code"].astype(str).to_numpy(), "wave": int(w),
            "level": o["level_mean"].to_numpy(float), "level_low": o["level_p5"].to_numpy(float),
            "level_high": o["level_p95"].to_numpy(float), "level_name": o["level_name"].astype(str).to_numpy(),
            "rank": np.floor(r["rank_median"].to_numpy() + 0.5).astype(np.int64),
            "rank_low": low.astype(np.int64), "rank_high": high.astype(np.int64), "councils_ranked": n,
            "position": [rank_statement(a, b, n) for a, b in zip(low, high)],
            "n_self": o["n_self"].to_numpy(np.int64), "n_independent": o["n_other"].to_numpy(np.int64)}))
    for w_from, w_to in zip(fit.waves[:-1], fit.waves[1:]):
        ch = latent_change(fit, model, int(w_from), int(w_to))
        changes.append(pd.DataFrame({
            "council_code": ch["council_code"].astype(str).to_numpy(), "wave": int(w_to), "wave_from": int(w_from),
            "dimension": ch["dimension_id"].astype(str).to_numpy(), "change": ch["change_mean"].to_numpy(float),
            "change_low": ch["change_p5"].to_numpy(float), "change_high": ch["change_p95"].to_numpy(float),
            "prob_moved_one_level": ch["prob_moved_one_level"].to_numpy(float),
            "p_value": ch["p_value"].to_numpy(float), "flagged": ch["flag"].to_numpy(bool),
            "power_one_level": ch["power_one_level"].to_numpy(float)}))
    c = pd.concat(councils, ignore_index=True)
    c["n_respondents"] = c["n_self"] + c["n_independent"]
    d = lv[lv["dimension_id"] != "overall"]
    dims = pd.DataFrame({"council_code": d["council_code"].astype(str).to_numpy(), "wave": d["wave"].to_numpy(np.int64),
                         "dimension": d["dimension_id"].astype(str).to_numpy(), "level": d["level_mean"].to_numpy(float),
                         "low": d["level_p5"].to_numpy(float), "high": d["level_p95"].to_numpy(float)})
    ch = pd.concat(changes, ignore_index=True) if changes else _empty(CHANGE_COLUMNS)
    return c, dims, ch


def _empty(columns: dict) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def _cache_path(build_dir, key: str) -> Path:
    return Path(build_dir) / "cache" / f"{CACHE_PREFIX}{key}.jsonl"


def measurement_positions(data, model: Model, build_dir=None, config: LatentConfig | None = None) -> MeasurementPositions:
    """The measurement model's positions for every wave of ``data``, fitted once per content (module docstring).

    ``data``: a store's data (:func:`dqm.store.load`, all waves, so that change can be measured) or its tidy
    answers; ``build_dir``: the reports build folder, to keep the fit between processes (None: this process
    only); ``config``: the model settings (default ``data/measurement.yaml``).
    """
    from ..serial import UnreadableValue, read_value, write_value

    cfg = config or load_config()
    key = content_key(data, model, cfg)
    groups = group_map(data)
    gkey = groups_key(groups)
    # a fit kept for other council groups serves a caller without groups; one with groups needs its own figures
    usable = lambda v: v.key == key and (not len(groups) or v.groups_key == gkey)  # noqa: E731
    if key in _MEMORY and usable(_MEMORY[key]):
        return _MEMORY[key]
    value = None
    path = _cache_path(build_dir, key) if build_dir is not None else None
    if path is not None and path.is_file() and not path.is_symlink():
        try:
            value = read_value(path, types=(MeasurementPositions,))
            if not isinstance(value, MeasurementPositions) or not usable(value):
                value = None
        except UnreadableValue:
            value = None  # damaged, changed or forged: fitted again and replaced
    if value is None:
        answers, submissions = _answers_of(data)
        fit = fit_latent(answers, model, submissions, config=cfg)
        councils, dims, changes = _tables(fit, model)
        value = MeasurementPositions(key, [int(w) for w in fit.waves], councils, dims, changes,
                                     [tuple(map(str, n)) for n in fit.notes], fit.variance_components(),
                                     float(fit.cpu_seconds), gkey,
                                     *sector_tables(fit, model, groups, population(councils)))
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_value(path, value, "measurement model fit")
            except OSError:
                pass  # a read-only build folder: the positions are still right, only not kept
    value.notes = [tuple(n) for n in value.notes]
    while len(_MEMORY) >= _MEMORY_SIZE:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = value
    return value


# ------------------------------------------------------------------------------------------ the reports' tables
def _wave_rows(table: pd.DataFrame, pos: MeasurementPositions, wave: int) -> pd.DataFrame:
    from ..errors import DQMError

    if int(wave) not in pos.waves:
        raise DQMError(f"wave {wave} has no answers in the store (waves {', '.join(map(str, pos.waves))}).",
                       hint="Choose one of those waves, or ingest that wave's exports first.")
    return table[table["wave"] == int(wave)].reset_index(drop=True)


def _names(data) -> pd.Series:
    """Council code -> name from the store's reference columns (empty when the data has none)."""
    ref = getattr(data, "councils", None)
    if not isinstance(ref, pd.DataFrame) or "council_code" not in ref.columns:
        return pd.Series(dtype=object)
    for col in ("nice-name", "official-name", "council_name"):
        if col in ref.columns:
            s = ref.dropna(subset=[col]).drop_duplicates("council_code").set_index("council_code")[col]
            s.index = s.index.astype(str)
            return s.astype(str)
    return pd.Series(dtype=object)


def _typed(df: pd.DataFrame, columns: dict, notes: list) -> pd.DataFrame:
    out = df[list(columns)].astype(columns).reset_index(drop=True)
    out.attrs["notes"] = list(notes)
    return out


def council_positions(data, model: Model, wave: int, build_dir=None, config: LatentConfig | None = None) -> pd.DataFrame:
    """Every council answering in ``wave``: level (latent overall, on the level scale) with its 90% interval,
    the nearest level's name, rank (1 = highest) with its 5th-95th percentile interval among the wave's
    councils and what that whole interval supports (``position``), and its respondents (self, independent or
    peer). ``council_name``: the reference name, else the code. ``attrs["notes"]``: what was assumed, in words.
    Columns and dtypes: :data:`POSITION_COLUMNS`."""
    pos = measurement_positions(data, model, build_dir, config)
    t = _wave_rows(pos.councils, pos, wave)
    names = _names(data)
    named = t["council_code"].map(names).astype(object)
    t["council_name"] = named.where(named.notna(), t["council_code"])
    return _typed(t, POSITION_COLUMNS, pos.notes_in_words(wave))


def dimension_positions(data, model: Model, wave: int, build_dir=None, config: LatentConfig | None = None) -> pd.DataFrame:
    """Every council's latent level on each dimension in ``wave`` with its 90% interval (long: council_code,
    wave, dimension, level, low, high); ``attrs["notes"]`` as :func:`council_positions`."""
    pos = measurement_positions(data, model, build_dir, config)
    return _typed(_wave_rows(pos.dimensions, pos, wave), DIMENSION_COLUMNS, pos.notes_in_words(wave))


def dimension_changes(data, model: Model, wave: int, build_dir=None, config: LatentConfig | None = None) -> pd.DataFrame:
    """Each council's change on each dimension (and ``overall``) from the previous wave in the store to ``wave``,
    for the councils answering in both: change (latent, posterior mean) with its 90% interval, the probability it
    moved at least one level, ``p_value`` and ``flagged`` (the test of "no change", calibrated to the
    ``change.alpha`` of ``data/measurement.yaml``) and ``power_one_level`` (the chance this test flags a change of one
    whole level with this council's respondents). Empty, with a note saying why, for the first wave."""
    pos = measurement_positions(data, model, build_dir, config)
    _wave_rows(pos.councils, pos, wave)  # refuses a wave the store does not have
    t = pos.changes[pos.changes["wave"] == int(wave)]
    return _typed(t, CHANGE_COLUMNS, pos.notes_in_words(wave, part="changes"))


# ------------------------------------------------------------------------------------------ the sector's figures
GROUP_COLUMNS = {**LEVEL_COLUMNS, "suppressed": "bool"}
SECTOR_CHANGE_COLUMNS = {"wave": "int64", "wave_from": "int64", "dimension": "object", "councils": "int64",
                         "change": "float64", "ci_low": "float64", "ci_high": "float64", "sd": "float64",
                         "tested": "int64",
                         "flagged": "int64", "expected_flags": "float64"}


def _sector(data, model: Model, wave: int, build_dir, config, part: str = "positions"):
    """(the fit's positions, refusing a wave the store does not have; its notes in words for ``part``)."""
    pos = measurement_positions(data, model, build_dir, config)
    _wave_rows(pos.councils, pos, wave)  # refuses a wave the store does not have
    return pos, pos.notes_in_words(wave, part=part)


def level_scale(pos: MeasurementPositions) -> tuple[str, str]:
    """(the scale the fit's levels are on, ``independent`` or ``self``; the fit's note on the self-assessment bias):
    with no independent or peer assessment the bias cannot be estimated and the levels stay on the self-assessment
    scale (the note says what was assumed instead)."""
    for topic, status, text in pos.notes:
        if topic == "self-assessment bias":
            return ("self" if status == "assumed" else "independent"), text
    return "independent", ""


def sector_levels(data, model: Model, wave: int, build_dir=None, config: LatentConfig | None = None) -> pd.DataFrame:
    """The average latent level across the councils that self-assessed in ``wave``
    (:func:`dqm.scoring.sector_levels.population`: the councils the participation tables count; the model places
    them using every answer), per dimension and ``overall``: councils,
    mean, ci_low, ci_high (95% of the fit's draws of that average: the uncertainty of the councils' measured levels).
    ``attrs["notes"]``: what the model assumed, in words; ``attrs["scale"]``, ``attrs["scale_note"]``:
    :func:`level_scale` (the scale of independent assessment, unless no council had one)."""
    pos, notes = _sector(data, model, wave, build_dir, config)
    t = pos.sector_levels
    t = t[(t["wave"] == int(wave)) & (t["grouping"] == ALL)]
    out = _typed(t, {c: d for c, d in LEVEL_COLUMNS.items() if c not in ("grouping", "group")}, notes)
    out.attrs["scale"], out.attrs["scale_note"] = level_scale(pos)
    return out


def group_levels(data, model: Model, wave: int, by: str, build_dir=None, config: LatentConfig | None = None,
                 dimension: str = "overall", threshold: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """The average latent level in ``wave`` by group (``by``: type_group, region, nation or deprivation_quintile),
    one row per group: group, councils, mean, ci_low, ci_high as :func:`sector_levels`, and ``suppressed``: groups
    of fewer than ``threshold`` councils have their figures and count blanked
    (:func:`dqm.scoring.sector.suppress_small`, as every sector breakdown)."""
    from ..errors import DQMError

    pos, notes = _sector(data, model, wave, build_dir, config)
    t = pos.sector_levels
    t = t[(t["wave"] == int(wave)) & (t["grouping"] == by) & (t["dimension"] == dimension)]
    if t.empty:
        known = sorted(set(pos.sector_levels["grouping"]) - {ALL})
        raise DQMError(f"there are no sector figures by {by!r} for dimension {dimension!r} in wave {wave}.",
                       hint=f"Group by one of {', '.join(known)}." if known else None)
    out = suppress_small(t.reset_index(drop=True), "councils", ["mean", "ci_low", "ci_high"], threshold)
    out.attrs["notes"] = list(notes)
    return out


def level_bands(data, model: Model, wave: int, build_dir=None, config: LatentConfig | None = None,
                threshold: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """The share of the wave's councils (as :func:`sector_levels`) at each level, per dimension and ``overall``: a
    council is at level k when k is the whole level nearest its latent level; ``share`` is the mean over the fit's
    draws and ``share_low``/``share_high`` their central 95%, so a council near a boundary counts partly on each
    side; ``count`` is the share times the councils. A level held by fewer than ``threshold`` councils is blanked
    (``suppressed``), and with it a second level of the dimension where one blank could be worked out from the rest
    (:func:`dqm.scoring.sector_levels.suppress_bands`; ``threshold=0`` keeps every share)."""
    pos, notes = _sector(data, model, wave, build_dir, config)
    t = pos.sector_bands
    t = suppress_bands(t[t["wave"] == int(wave)].reset_index(drop=True), threshold)
    return _typed(t, SUPPRESSED_BAND_COLUMNS, notes)


def sector_change(data, model: Model, wave: int, build_dir=None, config: LatentConfig | None = None) -> pd.DataFrame:
    """The average change per dimension and ``overall`` from the previous wave in the store to ``wave`` among the
    councils that self-assessed in both (:func:`sector_levels`' population in each wave; change with the central 95%
    of the fit's draws), and, for the same councils, the council-level test of no
    change: ``tested`` councils, ``flagged`` by it and ``expected_flags`` (its level alone, alpha x tested, would
    flag this many if nothing had changed). Empty, with a note saying why, for the first wave."""
    pos, notes = _sector(data, model, wave, build_dir, config, part="changes")
    alpha = (config or load_config()).alpha
    ch = pos.sector_change[pos.sector_change["wave"] == int(wave)]
    ch_rows = pos.changes[pos.changes["wave"] == int(wave)]
    if len(ch_rows):  # the councils in both waves' populations, as the average change
        pop = population(pos.councils)
        both = set(pop.loc[pop["wave"] == int(wave), "council_code"]) & set(
            pop.loc[pop["wave"] == int(ch_rows["wave_from"].iloc[0]), "council_code"])
        ch_rows = ch_rows[ch_rows["council_code"].isin(both)]
    test = ch_rows.groupby("dimension").agg(
        tested=("flagged", "size"), flagged=("flagged", "sum"))
    out = ch.merge(test, left_on="dimension", right_index=True, how="left").fillna({"tested": 0, "flagged": 0})
    out["expected_flags"] = alpha * out["tested"]
    return _typed(out, SECTOR_CHANGE_COLUMNS, notes)
