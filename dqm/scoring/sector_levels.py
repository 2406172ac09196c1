"""The sector's figures from the measurement model: average levels, levels' spread, group averages and change.

The annual report's sector figures come from the same fit as the council reports
(:mod:`dqm.scoring.positions`): from its draws of every council's latent level, so that each interval
carries the model's uncertainty about the councils' levels (respondents' disagreement, leniency, rounding,
the self-assessment bias and the variance components), not a bootstrap of medians.

* :func:`sector_tables` (at fit time, from the draws): per wave, the average latent level per dimension and
  overall across the wave's councils (:func:`population`: those that completed a self-assessment), and per group (council type, region, nation, deprivation quintile),
  with 95% intervals; the share of councils at each level; the mean change between waves for the councils
  in both. The positions keep these tables, so the figures cost nothing once the model is fitted.
* :func:`dqm.scoring.positions.sector_levels`, ``group_levels``, ``level_bands`` and ``sector_change`` (each
  ``data, model, wave, build_dir``) read them for one wave, from the one cached fit; groups of fewer than
  :data:`dqm.scoring.sector.SUPPRESS_BELOW` councils are suppressed exactly as before, and so are shares at a level
  of fewer than that many councils (:func:`suppress_bands`).

**Whom the figures describe.** Every sector figure of a wave is of one population: the councils that completed a
self-assessment in the wave, the councils the annual report's participation tables count. The model is still
fitted to every answer (peer and independent assessments place the councils they assessed, and measure the
self-assessment bias), but a council assessed only by others is not counted in the sector's figures: counting it
in the levels and not in the participation tables would let a reader isolate it by subtracting one table from the
other. In a wave with no self-assessment at all, the figures are of every council assessed.

**What "the share at level k" means on a continuous scale.** A council's latent level is a real number
(2.6, say). It is *at level k* when k is the nearest whole level (between k - 0.5 and k + 0.5; below 1.5
is level 1, 4.5 and above the top level). The share at k is computed in every draw of the fit, and its
mean and 95% interval over the draws are reported, so a council whose level is near a boundary counts
partly on each side.

**The scale.** Levels are on the scale of independent assessment: the model removes the self-assessment
inflation it estimates from the councils assessed both ways (``attrs["notes"]`` say what was assumed), so
sector averages are lower than the plain averages of what councils said about themselves.

**The intervals** describe the councils assessed in the wave: they carry the uncertainty of those councils'
measured levels, not a sampling of councils from a wider population. Which councils chose to take part
is a separate question the annual report discusses under non-response.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .sector import SUPPRESS_BELOW

GROUPINGS = ("type_group", "region", "nation", "deprivation_quintile")  # what group averages are given by
ALL = "all"  # the grouping of the whole wave
UNKNOWN = "Not known"  # a council without the grouping in the reference data
CONF = 0.95  # the sector figures' intervals

LEVEL_COLUMNS = {"wave": "int64", "grouping": "object", "group": "object", "dimension": "object",
                 "councils": "int64", "mean": "float64", "ci_low": "float64", "ci_high": "float64"}
BAND_COLUMNS = {"wave": "int64", "dimension": "object", "level": "int64", "share": "float64", "share_low": "float64",
                "share_high": "float64", "councils": "int64"}
SUPPRESSED_BAND_COLUMNS = {**BAND_COLUMNS, "count": "float64", "small": "bool", "suppressed": "bool"}
CHANGE_COLUMNS = {"wave": "int64", "wave_from": "int64", "dimension": "object", "councils": "int64",
                  "change": "float64", "ci_low": "float64", "ci_high": "float64", "sd": "float64"}


def group_map(data) -> pd.DataFrame:
    """One row per council: council_code and its reference groups (:data:`GROUPINGS` that ``data.councils`` has);
    empty when ``data`` has no councils table (a bare answers frame)."""
    ref = getattr(data, "councils", None)
    if not isinstance(ref, pd.DataFrame) or "council_code" not in ref.columns:
        return pd.DataFrame({"council_code": pd.Series(dtype=object)})
    cols = [g for g in GROUPINGS if g in ref.columns]
    out = ref[["council_code", *cols]].drop_duplicates("council_code").sort_values("council_code", kind="mergesort")
    out = out.astype({"council_code": str}).reset_index(drop=True)
    for g in cols:  # one text label per group (a quintile 1.0 reads "1"), a missing one said as such
        v = out[g]
        if pd.api.types.is_float_dtype(v) and (v.dropna() == v.dropna().round()).all():
            v = v.astype("Int64")
        out[g] = v.astype(object).where(v.notna(), UNKNOWN).astype(str)
    return out


def population(councils: pd.DataFrame) -> pd.DataFrame:
    """The councils each wave's sector figures describe (module docstring), one row per council and wave:
    council_code, wave. ``councils``: the positions' council rows (council_code, wave, n_self: self-assessing
    respondents); a council counts in a wave when it self-assessed in it, or, in a wave with no self-assessment at
    all, when it was assessed in any way.

    >>> population(pd.DataFrame({"council_code": ["A", "B", "C"], "wave": [1, 1, 2], "n_self": [2, 0, 0]}))
      council_code  wave
    0            A     1
    1            C     2
    """
    rows = councils[["council_code", "wave", "n_self"]]
    own = rows["n_self"] > 0
    none_own = ~own.groupby(rows["wave"]).transform("any")
    return rows.loc[own | none_own, ["council_code", "wave"]].astype({"council_code": str}).reset_index(drop=True)


def _population_mask(fit, pop: pd.DataFrame) -> np.ndarray:
    """councils x waves of ``fit``: the council is in the wave's population (:func:`population`) and in the fit."""
    row = {str(c): i for i, c in enumerate(fit.councils)}
    col = {int(w): j for j, w in enumerate(fit.waves)}
    mask = np.zeros_like(fit.present, dtype=bool)
    for code, wave in zip(pop["council_code"], pop["wave"]):
        if str(code) in row and int(wave) in col:
            mask[row[str(code)], col[int(wave)]] = True
    return mask & fit.present


def suppress_bands(bands: pd.DataFrame, threshold: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """The share of councils at each level (:data:`BAND_COLUMNS`) with the sector's disclosure rule applied: a
    level held by fewer than ``threshold`` councils (``count``, the share times the councils, on average over the
    draws) has its share, interval and count blanked (NaN) and ``small`` and ``suppressed`` set. A dimension's shares
    add up to all its councils, so when only one of its levels is blanked it could be worked out from the others:
    the next smallest is blanked too (``suppressed`` only: secondary suppression).

    >>> b = pd.DataFrame({"wave": 1, "dimension": "d", "level": [1, 2, 3], "share": [0.02, 0.28, 0.70],
    ...                   "share_low": 0.0, "share_high": 1.0, "councils": 100})
    >>> suppress_bands(b)[["level", "count", "small", "suppressed"]]
       level  count  small  suppressed
    0      1    NaN   True        True
    1      2    NaN  False        True
    2      3   70.0  False       False
    """
    out = bands.copy()
    out["count"] = out["share"] * out["councils"]
    out["small"] = out["count"] < threshold
    small = out["small"].to_numpy().copy()
    for _, idx in out.groupby(["wave", "dimension"], sort=False).indices.items():
        if small[idx].sum() == 1 and len(idx) > 1:
            rest = idx[~small[idx]]
            small[rest[np.argmin(out["count"].to_numpy()[rest])]] = True
    out["suppressed"] = small
    for c in ("share", "share_low", "share_high", "count"):
        out[c] = out[c].where(~out["suppressed"])
    return out[list(SUPPRESSED_BAND_COLUMNS)].astype(SUPPRESSED_BAND_COLUMNS)


def groups_key(groups: pd.DataFrame) -> str:
    """A hash of the council-to-group table (the sector tables depend on it as well as on the fit)."""
    h = hashlib.sha256(",".join(groups.columns).encode())
    h.update(pd.util.hash_pandas_object(groups.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()[:32]


def _summary(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and central ``CONF`` interval over the first axis (the draws)."""
    tail = 100 * (1 - CONF) / 2
    return draws.mean(axis=0), np.percentile(draws, tail, axis=0), np.percentile(draws, 100 - tail, axis=0)


def _with_overall(theta: np.ndarray) -> np.ndarray:
    """draws x councils x dimensions -> the same with the overall level (mean over dimensions) appended."""
    return np.concatenate([theta, theta.mean(axis=2, keepdims=True)], axis=2)


def _level_rows(th: np.ndarray, wave: int, grouping: str, group: str, names: list) -> pd.DataFrame:
    mean, low, high = _summary(th.mean(axis=1))  # draws of the group's average level, per dimension
    return pd.DataFrame({"wave": wave, "grouping": grouping, "group": group, "dimension": names,
                         "councils": th.shape[1], "mean": mean, "ci_low": low, "ci_high": high})


def _band_rows(th: np.ndarray, wave: int, names: list, levels: list) -> pd.DataFrame:
    lo, hi = min(levels), max(levels)
    nearest = np.clip(np.floor(th + 0.5), lo, hi)  # draws x councils x dims: the nearest whole level
    rows = []
    for k in levels:
        mean, low, high = _summary((nearest == k).mean(axis=1))
        rows.append(pd.DataFrame({"wave": wave, "dimension": names, "level": int(k), "share": mean,
                                  "share_low": low, "share_high": high, "councils": th.shape[1]}))
    return pd.concat(rows, ignore_index=True)


def sector_tables(fit, model, groups: pd.DataFrame, pop: pd.DataFrame | None = None) \
        -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(levels, bands, change) for every wave of a :class:`dqm.scoring.latent.LatentFit`, from its draws.

    ``pop``: the councils each wave's figures describe (:func:`population`; None: every council the fit has in the
    wave). ``levels``: the average latent level per dimension and ``overall`` over the wave's councils (grouping
    ``all``) and per group of each grouping in ``groups`` (:func:`group_map`), unsuppressed; ``bands``: the share
    of councils at each level (module docstring); ``change``: the average change per dimension and overall
    between consecutive waves among the councils in both waves' populations (and ``sd``, the draws' spread, for simultaneous
    intervals). Every interval is the central 95% of draws.
    """
    names = list(fit.design.dims) + ["overall"]
    levels = [int(v) for v in model.level_values]
    g = groups.set_index("council_code") if len(groups) else None
    present = fit.present if pop is None else _population_mask(fit, pop)
    out_levels, out_bands, out_change = [], [], []
    for w, wave in enumerate(fit.waves):
        cs = np.flatnonzero(present[:, w])
        if not len(cs):
            continue
        th = _with_overall(fit.theta[:, cs, w, :].astype(float))
        out_levels.append(_level_rows(th, int(wave), ALL, ALL, names))
        out_bands.append(_band_rows(th, int(wave), names, levels))
        if g is None:
            continue
        codes = pd.Index(fit.councils[cs].astype(str))
        for grouping in g.columns:
            label = g[grouping].reindex(codes).fillna(UNKNOWN).to_numpy()
            for group in sorted(set(label)):
                out_levels.append(_level_rows(th[:, label == group, :], int(wave), grouping, str(group), names))
    for w in range(1, len(fit.waves)):
        cs = np.flatnonzero(present[:, w] & present[:, w - 1])
        if not len(cs):
            continue
        d = _with_overall((fit.theta[:, cs, w, :] - fit.theta[:, cs, w - 1, :]).astype(float))
        mean, low, high = _summary(d.mean(axis=1))
        out_change.append(pd.DataFrame({"wave": int(fit.waves[w]), "wave_from": int(fit.waves[w - 1]), "dimension": names,
                                        "councils": len(cs), "change": mean, "ci_low": low, "ci_high": high,
                                        "sd": d.mean(axis=1).std(axis=0)}))
    return (_frame(out_levels, LEVEL_COLUMNS), _frame(out_bands, BAND_COLUMNS), _frame(out_change, CHANGE_COLUMNS))


def _frame(parts: list, columns: dict) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    return pd.concat(parts, ignore_index=True)[list(columns)].astype(columns)
