"""The analyst's workbench: one call for each question analysts usually ask, re-exported as ``dqm.*``.

>>> import dqm
>>> data = dqm.load()                      # the default store: DQM_STORE, data/dqm.duckdb or the demo store
>>> data                                   # doctest: +ELLIPSIS
DQM data: 3 waves (2024 to 2026), ... councils, ... respondents, ... answers; SYNTHETIC demonstration data
  ...
>>> dqm.compare(by="type", dimension="overall", data=data).columns.tolist()
['type_group', 'dimension_id', 'dimension', 'mean', 'ci_low', 'ci_high', 'n', 'suppressed']

Every function returns a tidy pandas DataFrame with snake_case columns. mySociety's hyphenated
reference columns are translated here, once, for everything this module returns
(``local-authority-code`` -> ``council_code``, ``nice-name`` -> ``council_name``, ``gss-code`` ->
``gss_code`` and so on); the rest of the package keeps the source names internally. Counts of
councils are called ``n`` throughout.

With no ``data`` argument a function reads the default store (see :func:`dqm.paths.resolve_store`),
once, and uses its latest wave; the quality model is the one the data were loaded with, so
``dqm.model.load_model()`` is never needed. Comparisons use self-assessments unless
``assessment_type`` says otherwise, and blank groups of fewer than 5 councils (``suppressed``).
:func:`scores` and :func:`peers` name councils: they are for analysts, not for publication.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DQMError, did_you_mean
from .model import Model, load_model
from .paths import resolve_store
from .scoring.sector import SUPPRESS_BELOW
from .store import StoreData

__all__ = ["Data", "load", "councils", "scores", "profile", "peers", "compare", "trend", "associate", "chart",
           "interact", "GROUPINGS"]

# mySociety's column names -> the package's convention (only in what this module returns)
REFERENCE_NAMES = {"local-authority-code": "council_code", "nice-name": "council_name", "official-name": "official_name",
                   "gss-code": "gss_code", "local-authority-type": "council_type_code",
                   "local-authority-type-name": "council_type_name"}
# what `by=` accepts: a column of the councils table, or one of these everyday words for it
GROUPINGS = {"type": "type_group", "council_type": "type_group", "deprivation": "deprivation_quintile",
             "region": "region", "nation": "nation", "rurality": "rurality", "wave": "wave"}
EXPLORATORY_NOTE = ("Exploratory: chosen after looking at the data and not pre-registered, so its p-value and "
                    "interval overstate the evidence. An association between councils, not evidence that one causes "
                    "the other. To keep it, register it with `dqm claims add` (the promote column has the command): "
                    "the evidence review then shows it as exploratory, and the next wave tests it properly.")


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Translate external column names to snake_case (mySociety's ``local-authority-code`` -> ``council_code``).

    >>> tidy(pd.DataFrame(columns=["local-authority-code", "nice-name", "pop-2020"])).columns.tolist()
    ['council_code', 'council_name', 'pop_2020']
    """
    out = df.rename(columns=lambda c: REFERENCE_NAMES.get(c, str(c).replace("-", "_")))
    return out.loc[:, ~out.columns.duplicated()]


# ---------------------------------------------------------------- loading
@dataclass(repr=False)
class Data(StoreData):
    """What :func:`load` returns: the store's tidy frames, where they came from and the model used.

    ``councils`` (one row per council, wave and assessment type: median level per dimension, overall
    level and the council's reference attributes), ``answers`` (long: one row per answer of a current
    submission), ``submissions``, ``ingests`` and ``rejects`` (quarantined rows).
    """

    store: Path | None = None
    note: str = ""
    model: Model | None = None

    @property
    def waves(self) -> list[int]:
        return sorted(int(w) for w in self.councils["wave"].unique())

    @property
    def synthetic(self) -> bool:
        return bool(self.submissions["synthetic"].any()) if "synthetic" in self.submissions else False

    def took_part(self, wave: int | None = None) -> list[str]:
        """Codes of the councils with a self-assessment in ``wave`` (default the latest), for choosing one."""
        lv = self.councils[self.councils["assessment_type"] == "self"]
        wave = _wave(self, wave)
        return sorted(lv.loc[lv["wave"] == wave, "council_code"].unique())

    def __repr__(self) -> str:
        waves = self.waves
        span = "no waves" if not waves else (f"1 wave ({waves[0]})" if len(waves) == 1
                                             else f"{len(waves)} waves ({waves[0]} to {waves[-1]})")
        current = self.submissions[self.submissions["current"]] if "current" in self.submissions else self.submissions
        lines = [
            f"DQM data: {span}, {self.councils['council_code'].nunique():,} councils, {len(current):,} respondents, "
            f"{len(self.answers):,} answers" + ("; SYNTHETIC demonstration data" if self.synthetic else ""),
            f"  from the {self.note}" if self.note else "",
            "  frames: " + ", ".join(f"{f.name} ({len(getattr(self, f.name)):,} rows)" for f in fields(StoreData)),
            f"  model: {self.model!r}" if self.model is not None else "",
        ]
        return "\n".join(x for x in lines if x)


_CACHE: dict = {}


def load(store=None, wave: int | None = None, model: Model | None = None) -> Data:
    """Read a store into tidy DataFrames; with no ``store``, the default (named in the repr).

    The default is ``DQM_STORE``, else ``data/dqm.duckdb`` (where ``dqm ingest`` writes), else the
    demo store ``reports/_build/demo.duckdb`` that ``make report`` builds. ``wave`` keeps one wave only.

    >>> data = load()
    >>> data.waves
    [2024, 2025, 2026]
    >>> "council_name" in data.councils and "local-authority-code" not in data.councils
    True
    """
    from .store import load as store_load

    path, note = resolve_store(store)
    model = model or load_model()
    raw = store_load(path, wave=as_wave(wave), model=model)
    return Data(raw.ingests, raw.submissions, raw.answers, raw.rejects, tidy(raw.councils.drop(
        columns=["local-authority-code"], errors="ignore")), store=path, note=note, model=model)


def _data(data: Data | None) -> Data:
    """The data a function works on: as given, or the default store loaded once (reloaded if it changes)."""
    if data is not None:
        return data
    path, _ = resolve_store(None)
    key = (str(path), path.stat().st_mtime if path.exists() else None, os.environ.get("DQM_MODEL"))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = load()
    return _CACHE[key]


def _model(data: Data) -> Model:
    return data.model if getattr(data, "model", None) is not None else load_model()


def as_wave(wave) -> int | None:
    """A wave as the year it is, from a number or a string ("2026", 2026, 2026.0, numpy integers); None stays None.

    >>> as_wave("2026"), as_wave(2025.0), as_wave(" 2024 ")
    (2026, 2025, 2024)
    """
    if wave is None:
        return None
    if isinstance(wave, bool):
        raise DQMError(f"a wave is a year such as 2026, not {wave!r}.")
    try:
        number = float(str(wave).strip())
    except ValueError:
        raise DQMError(f"a wave is a year such as 2026, not {wave!r}.") from None
    if not number.is_integer():
        raise DQMError(f"a wave is a whole year such as 2026, not {wave!r}.")
    return int(number)


def _wave(data: Data, wave) -> int:
    """The wave a function works on: the one asked for (as a number or a string), else the latest held."""
    waves = [int(w) for w in sorted(data.councils.loc[data.councils["assessment_type"] == "self", "wave"].unique())]
    wave = as_wave(wave)
    if wave is None:
        if not waves:
            raise DQMError("the store has no self-assessments.", file=data.store)
        return waves[-1]
    if wave not in waves:
        near = min(waves, key=lambda w: abs(w - wave)) if waves else None
        raise DQMError(f"the store has no self-assessments for wave {wave} (waves held: "
                       f"{', '.join(map(str, waves)) or 'none'})." + (f" Did you mean {near}?" if near else ""),
                       file=data.store)
    return wave


def _source(data: Data, wave) -> str:
    return f"DQM self-assessments, {wave}" + (" (synthetic demonstration data)" if data.synthetic else "")


def _code(council: str) -> str:
    """A council code from a code or any common name; an unclear name is an error with suggestions."""
    from .reference import require_council

    return require_council(council)


def _tag(df: pd.DataFrame, kind: str, **info) -> pd.DataFrame:
    df.attrs["dqm"] = {"kind": kind, **info}  # lets chart() draw the table in the reports' style
    return df


# ---------------------------------------------------------------- questions
def councils() -> pd.DataFrame:
    """The 397 current UK councils with the attributes used for comparison (reference data, snake_case).

    >>> c = councils()
    >>> c.set_index("council_code").loc["BST", ["council_name", "type_group", "region"]].tolist()
    ['City of Bristol', 'English unitary', 'South West']
    """
    from .reference import councils as ref_councils

    return tidy(ref_councils())


SCORE_METHODS = ("model", "rules")  # what scores(method=) and `dqm score --method` accept


def scores(data: Data | None = None, wave: int | None = None, method: str = "model", draws: int | None = None,
           seed: int | None = None) -> pd.DataFrame:
    """Council levels and ranks for a wave, with their uncertainty (names councils: for analysts).

    ``method="model"`` (the default): the measurement model's, as in the council reports
    (:func:`dqm.scoring.positions.council_positions`, one fit per store content, kept in the reports' build
    folder): one row per council assessed in the wave (self, peer or independent) with its overall level on the
    scale of independent assessment and its 90% interval (``level``, ``level_low``, ``level_high``, ``level_name``),
    its rank (1 = highest) with the whole ranks containing its 5th-95th percentile interval (``rank``,
    ``rank_low``, ``rank_high``, ``councils_ranked``), what that interval supports (``position``), its respondents,
    and its level on each dimension (a column per dimension id; their intervals are in
    :func:`dqm.scoring.positions.dimension_positions`). ``attrs["notes"]`` say what the model assumed. Fit the model
    to every wave (``load()`` without ``wave``) so that waves are linked as in the reports.

    ``method="rules"``: the older display, kept as a sensitivity check ("under other defensible rules your position
    would be ..."): self-assessments only, the overall level under the model file's rule and the median and
    5th-95th percentile score and rank over ``draws`` (default 1000, seeded by ``seed``) Monte Carlo draws of
    defensible ways of building the index (aggregation rule, imputation, weights). Those intervals mix the
    choices with the measurement and miss where the model does not (studies/measurement).

    >>> s = scores()
    >>> s.columns[:4].tolist()
    ['council_code', 'council_name', 'wave', 'level']
    >>> bool(((s["rank_low"] <= s["rank"]) & (s["rank"] <= s["rank_high"])).all())
    True
    >>> scores(method="rules", draws=100).columns[:4].tolist()
    ['council_code', 'council_name', 'wave', 'n_respondents']
    """
    data = _data(data)
    wave = _wave(data, wave)
    if method not in SCORE_METHODS:
        raise DQMError(f"there is no scoring method {method!r}." + did_you_mean(str(method), SCORE_METHODS),
                       hint="Use method='model' (the measurement model, as the reports) or method='rules' (the "
                            "older Monte Carlo over aggregation rules, a sensitivity display).")
    if method == "rules":
        return _rule_scores(data, wave, 1000 if draws is None else draws, 20261122 if seed is None else seed)
    if draws is not None or seed is not None:
        raise DQMError("draws and seed set the Monte Carlo of method='rules'; the measurement model's intervals come "
                       "from its fit (its draws and seed are in data/measurement.yaml).",
                       hint="Leave them out, or ask for method='rules'.")
    return _model_scores(data, wave)


def _model_scores(data: Data, wave: int) -> pd.DataFrame:
    """The measurement model's levels and ranks (:func:`scores` with ``method="model"``)."""
    from .paths import reports_dir
    from .scoring.positions import council_positions, dimension_positions

    model = _model(data)
    fit = reports_dir() / "_build"  # the reports' build folder: one fit per store content, shared with them
    out = council_positions(data, model, wave, fit)
    notes = list(out.attrs["notes"])
    dims = dimension_positions(data, model, wave, fit).pivot(index="council_code", columns="dimension", values="level")
    out = out.join(dims.reindex(columns=[d for d in model.dimension_ids if d in dims.columns]), on="council_code")
    out.attrs = {"notes": notes}
    return _tag(out, "scores", wave=wave, source=_source(data, wave), method="model")


def _rule_scores(data: Data, wave: int, draws: int, seed: int) -> pd.DataFrame:
    """The older Monte Carlo over defensible rules (:func:`scores` with ``method="rules"``)."""
    from .scoring import council_scores

    out = council_scores(data.councils, data.answers, _model(data), wave, n_draws=draws, seed=seed)
    names = data.councils.drop_duplicates("council_code").set_index("council_code")["council_name"]
    out.insert(1, "council_name", out["council_code"].map(names))
    ranked = pd.to_numeric(out["councils_ranked"]).dropna()
    # how many councils the wave ranked: one whole number for every row (unranked councils too), in every wave
    out["councils_ranked"] = pd.array([int(round(ranked.max())) if len(ranked) else 0] * len(out), dtype="Int64")
    return _tag(out, "scores", wave=wave, source=_source(data, wave), method="rules")


def for_people(table: pd.DataFrame) -> pd.DataFrame:
    """A copy rounded for a person to read (a CSV opened in a spreadsheet): levels, scores and means to 2
    decimals, ranks and counts to whole numbers. The API's own tables stay exact.

    >>> for_people(pd.DataFrame({"score_p5": [2.271442], "rank_p5": [179.95], "councils_ranked": [221.0]}))
       score_p5  rank_p5  councils_ranked
    0      2.27      180              221
    """
    out = table.copy()
    for col in out.columns:
        if not pd.api.types.is_float_dtype(out[col]):
            continue
        if col.startswith("rank_") or col in ("councils_ranked", "n", "n_respondents", "coverage"):
            out[col] = out[col].round().astype("Int64")
        else:
            out[col] = out[col].round(2)
    return out


def profile(council: str, data: Data | None = None, wave: int | None = None) -> pd.DataFrame:
    """One council against its anonymised peers: level, target, peers' median and range, per dimension.

    Peers are the council's 15 nearest neighbours (:func:`peers`) that took part; their median and
    10th to 90th percentile range are shown only when at least 5 took part. ``type_median`` is the
    median of other councils of the same type.

    >>> p = profile("BST")
    >>> p.columns.tolist()
    ['dimension_id', 'dimension', 'level', 'target', 'peer_median', 'peer_low', 'peer_high', 'type_median']
    """
    from .reference import councils as ref_councils
    from .scoring.profile import council_profile

    data = _data(data)
    wave = _wave(data, wave)
    code = _code(council)
    _took_part(data, code, wave)
    prof, info = council_profile(code, data.councils, data.answers, ref_councils(), _model(data), wave)
    return _tag(prof, "profile", council=code, wave=wave, source=_source(data, wave), peers=info)


def _took_part(data: Data, code: str, wave: int) -> None:
    lv = data.councils
    if not ((lv["council_code"] == code) & (lv["wave"] == wave) & (lv["assessment_type"] == "self")).any():
        raise DQMError(f"council {code} has no self-assessment in wave {wave}.", file=data.store)


def peers(council: str, data: Data | None = None, wave: int | None = None, k: int = 15) -> pd.DataFrame:
    """A council's peer group: its ``k`` nearest neighbours among comparable councils (names councils).

    Councils are compared within pools of comparable type on population, deprivation, urban share
    and density (see :mod:`dqm.scoring.peers`). ``took_part`` says whether the peer has a
    self-assessment in the wave, and ``overall_mean`` is its overall score if so.

    >>> g = peers("BST")
    >>> len(g), g["peer_rank"].tolist()[:3]
    (15, [1, 2, 3])
    >>> g.columns.tolist()[:5]
    ['peer_rank', 'council_code', 'council_name', 'distance', 'pool']
    """
    from .scoring.peers import nearest_neighbours

    data = _data(data)
    wave = _wave(data, wave)
    code = _code(council)
    ref = councils()
    nn = nearest_neighbours(ref.rename(columns={"council_code": "local-authority-code"}), k=k)
    nn = nn[nn["council_code"] == code].drop(columns="council_code").rename(columns={"peer_code": "council_code"})
    if nn.empty:
        raise DQMError(f"council {code} has no peer pool (peer groups are defined for principal councils only).")
    lv = data.councils[(data.councils["wave"] == wave) & (data.councils["assessment_type"] == "self")]
    out = nn.merge(ref[["council_code", "council_name", "type_group", "population", "deprivation_score", "urban_share"]],
                   on="council_code", how="left")
    out["took_part"] = out["council_code"].isin(set(lv["council_code"]))
    out = out.merge(lv[["council_code", "overall_mean"]], on="council_code", how="left")
    cols = ["peer_rank", "council_code", "council_name", "distance", "pool", "type_group", "population",
            "deprivation_score", "urban_share", "took_part", "overall_mean"]
    return out[cols].sort_values("peer_rank").reset_index(drop=True)


def _grouping(by, data: Data) -> list[str]:
    cols = [by] if isinstance(by, str) else list(by)
    out = []
    for c in cols:
        col = GROUPINGS.get(c, c)
        if col not in data.councils:
            known = sorted(set(GROUPINGS) | {"type_group", "deprivation_quintile"})
            raise DQMError(f"cannot compare by {c!r}: it is not a column of the councils table."
                           + (did_you_mean(c, [*known, *data.councils.columns]) or f" Try one of {', '.join(known)}."))
        out.append(col)
    return out


def dimension_id(dimension, model: Model, what: str = "dimension") -> str:
    """A dimension's id from its id or its display name in any case ("Leadership", "LEADERSHIP"); "overall" stays.

    Unknown names are refused with the nearest ids and names ("Did you mean ...?").
    """
    text = " ".join(str(dimension).replace("_", " ").split()).casefold()
    names = {"overall": "overall", "overall mean": "overall", "overall level": "overall"}
    for dim_id, name in model.dimension_names.items():
        names[dim_id.replace("_", " ").casefold()] = dim_id
        names[" ".join(str(name).split()).casefold()] = dim_id
    if text in names:
        return names[text]
    choices = ["overall", *model.dimension_ids, *model.dimension_names.values()]
    raise DQMError(f"no {what} {dimension!r}." + (did_you_mean(dimension, choices) or
                   f" Choose 'overall' or one of {', '.join(model.dimension_ids)} (ids or the names the tables show)."))


BANDS = 5  # a numeric `by=` column is cut into this many bands of (near) equal numbers of councils
BAND_NAMES = {5: "quintile"}


def _number(x: float) -> str:
    """A band edge as a person reads it: 12,345, 0.42 or 3.5."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _banded(lv: pd.DataFrame, cols: list[str]) -> tuple[pd.DataFrame, list[str], dict]:
    """Numeric grouping columns with many values (population, density) cut into labelled quintile bands.

    Grouping by a measurement such as population would make one group per council, every one of them
    suppressed. Each such column ``x`` becomes ``x_band``: "1 (lowest): 1,234 to 56,789" ... "5 (highest): ...",
    bands of (near) equal numbers of the councils in ``lv``. Returns (table, grouping columns, rules).
    """
    out, rules, new_cols = lv.copy(), {}, []
    for col in cols:
        values = pd.to_numeric(out[col], errors="coerce") if not pd.api.types.is_bool_dtype(out[col]) else None
        per_council = None if values is None else values.groupby(out["council_code"]).first().dropna()
        if values is None or not pd.api.types.is_numeric_dtype(out[col]) or per_council.nunique() <= 10:
            new_cols.append(col)
            continue
        bands = pd.qcut(per_council, BANDS, duplicates="drop")
        k = len(bands.cat.categories)
        edges = per_council.groupby(bands.cat.codes).agg(["min", "max"])
        labels = {i: f"{i + 1}" + (" (lowest)" if i == 0 else " (highest)" if i == k - 1 else "")
                  + f": {_number(lo)} to {_number(hi)}" for i, (lo, hi) in edges.iterrows()}
        band = f"{col}_band"
        out[band] = out["council_code"].map(bands.cat.codes.map(labels))
        rules[band] = (f"{col.replace('_', ' ')} cut into {k} bands of equal numbers of councils "
                       f"({BAND_NAMES.get(k, 'band')}s of the {len(per_council):,} councils in the table; "
                       "1 is the lowest, each label gives the band's range)")
        new_cols.append(band)
    return out, new_cols, rules


def _dimension_filter(table: pd.DataFrame, dimension: str | None, model: Model) -> pd.DataFrame:
    if dimension is None:
        return table
    dim = dimension_id(dimension, model)
    dim = "overall_mean" if dim == "overall" else dim
    return table[table["dimension_id"] == dim].reset_index(drop=True)


def compare(by="type", data: Data | None = None, wave: int | None = None, dimension: str | None = None,
            assessment_type: str | None = "self", min_councils: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """Mean level by group, with 95% intervals and n; groups of fewer than ``min_councils`` councils blanked.

    ``by``: ``"type"``, ``"region"``, ``"nation"``, ``"deprivation"`` (quintile, 1 = most deprived),
    ``"rurality"``, or any column of ``data.councils`` (or a list of them). ``dimension``: a dimension
    id, ``"overall"``, or None for every dimension and the overall score. Self-assessments only
    unless ``assessment_type`` says otherwise (None mixes every kind of assessment). Small groups keep
    their ``n`` and are flagged ``suppressed`` with their mean and interval blanked.

    >>> t = compare(by="deprivation", dimension="overall")
    >>> t[["deprivation_quintile", "n"]].to_string(index=False)  # doctest: +ELLIPSIS
    ' deprivation_quintile  n\\n                    1 ...'
    >>> bool(t["ci_low"].le(t["mean"]).all())
    True
    """
    from .scoring import dimension_means

    data = _data(data)
    wave = _wave(data, wave)
    model = _model(data)
    cols = _grouping(by, data)
    lv = data.councils[data.councils["wave"] == wave]
    lv, cols, rules = _banded(lv if assessment_type is None else lv[lv["assessment_type"] == assessment_type], cols)
    out = dimension_means(lv, model, by=cols, assessment_type=assessment_type).rename(columns={"councils": "n"})
    out = _dimension_filter(out, dimension, model)
    out["suppressed"] = out["n"] < min_councils
    out.loc[out["suppressed"], ["mean", "ci_low", "ci_high"]] = np.nan
    for band, rule in rules.items():
        out[f"{band}_rule"] = rule
    return _tag(out.sort_values(cols, kind="stable").reset_index(drop=True) if rules else out, "compare", by=cols,
                wave=wave, source=_source(data, wave), bands=rules)


def trend(dimension: str = "overall", by=None, data: Data | None = None, assessment_type: str | None = "self",
          min_councils: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """One dimension (or the overall score) over the waves: mean with 95% interval and n per wave.

    The councils taking part change between waves, so a change in these means mixes real change
    with who responded; ``same_councils`` is the mean change since the previous wave among councils
    assessed in both (with its interval), which is the fairer estimate.

    >>> t = trend("leadership")
    >>> t[["wave", "n"]].shape[0]
    3
    >>> t.columns.tolist()[-4:]
    ['same_councils_change', 'same_councils_low', 'same_councils_high', 'same_councils_n']
    """
    from .scoring import dimension_means, mean_with_ci

    data = _data(data)
    model = _model(data)
    cols = _grouping(by, data) if by else []
    out = dimension_means(data.councils, model, by=["wave", *cols], assessment_type=assessment_type)
    out = _dimension_filter(out.rename(columns={"councils": "n"}), dimension, model)
    col = out["dimension_id"].iloc[0]
    lv = data.councils if assessment_type is None else data.councils[data.councils["assessment_type"] == assessment_type]
    change = []
    waves = sorted(lv["wave"].unique())
    for prev, now in zip(waves, waves[1:]):
        both = lv[lv["wave"] == prev].merge(lv[lv["wave"] == now], on=["council_code", *cols], suffixes=("_0", "_1"))
        groups = both.groupby(cols, dropna=False) if cols else [((), both)]
        for key, sub in groups:
            key = key if isinstance(key, tuple) else (key,)
            m, lo, hi, n = mean_with_ci(sub[f"{col}_1"] - sub[f"{col}_0"])
            change.append({"wave": now, **dict(zip(cols, key)), "same_councils_change": m, "same_councils_low": lo,
                           "same_councils_high": hi, "same_councils_n": n})
    if change:
        out = out.merge(pd.DataFrame(change), on=["wave", *cols], how="left")
    else:
        out = out.assign(same_councils_change=np.nan, same_councils_low=np.nan, same_councils_high=np.nan,
                         same_councils_n=0)
    out["same_councils_n"] = out["same_councils_n"].fillna(0).astype(int)
    out["suppressed"] = out["n"] < min_councils
    out.loc[out["suppressed"], ["mean", "ci_low", "ci_high"]] = np.nan
    same = ["same_councils_change", "same_councils_low", "same_councils_high", "same_councils_n"]
    out = out[["wave", *cols, "dimension_id", "dimension", "mean", "ci_low", "ci_high", "n", "suppressed", *same]]
    return _tag(out, "trend", by=cols, source=_source(data, f"{waves[0]} to {waves[-1]}") if waves else "")


def _outcome_table(outcome, data: Data, controls) -> tuple[pd.DataFrame, str, str]:
    """(long outcomes table, measure id, readable name) for a measure id, a reference column or the user's table."""
    from .claims.frame import CONTROL_COLUMNS
    from .outcomes import load_measures, load_outcomes

    if isinstance(outcome, (pd.DataFrame, pd.Series)):
        df = outcome.to_frame("value").reset_index() if isinstance(outcome, pd.Series) else tidy(outcome)
        df = df.rename(columns={df.columns[0]: "council_code"}) if "council_code" not in df else df
        if "value" not in df:
            raise DQMError("an outcome table needs columns council_code and value (one row per council).")
        name = str(outcome.attrs.get("name", "your outcome"))
        long = pd.DataFrame({"local-authority-code": df["council_code"].astype(str), "measure": "user_outcome",
                             "period": df["period"].astype(str) if "period" in df else "given",
                             "value": pd.to_numeric(df["value"], errors="coerce")}).dropna(subset=["value"])
        return long, "user_outcome", name
    outcomes = load_outcomes()
    if outcome in set(outcomes["measure"]):
        measures = load_measures().set_index("id")
        name = measures.loc[outcome, "name"] if outcome in measures.index else outcome
        return outcomes, outcome, str(name)
    ref = councils()
    numeric = [c for c in ref.columns if pd.api.types.is_numeric_dtype(ref[c]) and c != "principal"]
    if outcome in numeric:
        clash = {"population": "log_population", "deprivation_score": "deprivation", "urban_share": "rurality"}
        if clash.get(outcome) in controls:
            raise DQMError(f"the outcome {outcome!r} is also a control ({clash[outcome]}); drop it from controls.")
        long = pd.DataFrame({"local-authority-code": ref["council_code"], "measure": outcome, "period": "reference",
                             "value": pd.to_numeric(ref[outcome], errors="coerce")}).dropna(subset=["value"])
        return long, outcome, outcome.replace("_", " ")
    known = ", ".join(sorted(set(outcomes["measure"])))
    raise DQMError(f"no outcome {outcome!r}: give a measure in data/outcomes/measures.yaml ({known}), a numeric "
                   f"reference column ({', '.join(numeric)}), or a DataFrame with council_code and value. "
                   f"Controls available: {', '.join(CONTROL_COLUMNS)}.")


def associate(exposure: str, outcome, controls=("council_type",), data: Data | None = None, wave: int | None = None,
              population: dict | None = None, direction: str = "positive", sesoi: float = 0.1, transform: str = "raw",
              bootstrap: int = 2000, null_bootstrap: int = 500, spec_curve: bool = True) -> pd.DataFrame:
    """An ad-hoc controlled association, tested by the same engine as the registered claims; exploratory.

    ``exposure``: ``"overall"`` or a dimension id (the council's self-assessed level in the wave).
    ``outcome``: an outcome measure id (``data/outcomes/measures.yaml``), a numeric reference column
    such as ``"population"``, or your own DataFrame with ``council_code`` and ``value``. ``controls``:
    any of council_type, log_population, deprivation, rurality, log_density. The question becomes a
    :class:`~dqm.claims.Claim` marked ``exploratory`` and registered today, and
    :func:`~dqm.claims.evaluate_claims` tests it exactly as it tests the registry: a standardised
    robust (HC3) effect with its interval, equivalence against ``sesoi``, the minimum detectable
    effect, Spearman's rho with a bootstrap interval, a specification curve and a verdict.

    >>> r = associate("overall", "population", controls=["council_type"], bootstrap=200, null_bootstrap=20)
    >>> r[["exposure", "outcome", "exploratory"]].to_dict("records")
    [{'exposure': 'overall', 'outcome': 'population', 'exploratory': True}]
    >>> bool(r["ci_low"].iloc[0] <= r["estimate"].iloc[0] <= r["ci_high"].iloc[0])
    True
    """
    from .claims import Claim, EngineConfig, evaluate_claims, results_table
    from .claims.engine import REASONS
    from .claims.registry import CONTROLS, DIRECTIONS
    from .reference import councils as ref_councils

    data = _data(data)
    wave = _wave(data, wave)
    model = _model(data)
    controls = (controls,) if isinstance(controls, str) else tuple(controls or ())
    bad = [c for c in controls if c not in CONTROLS]
    if bad:
        raise DQMError(f"unknown control(s) {', '.join(map(repr, bad))}." + "".join(did_you_mean(c, CONTROLS) for c in bad)
                       + f" Choose from {', '.join(CONTROLS)}.")
    exposure = dimension_id(exposure, model, what="exposure")
    if direction not in DIRECTIONS:
        raise DQMError(f"direction must be one of {', '.join(DIRECTIONS)}.")
    outcomes, measure, name = _outcome_table(outcome, data, controls)
    claim = Claim(id=f"exploratory-{exposure}-{measure}", statement=f"{exposure} level is associated with {name}",
                  source="ad hoc question (dqm.associate)", exposure=exposure, outcome=measure, direction=direction,
                  controls=controls, sesoi=float(sesoi), family="exploratory", registered=dt.date.today(),
                  population=dict(population or {}), transform=transform, exploratory=True)
    cfg = EngineConfig(n_boot=bootstrap, n_null_boot=null_bootstrap, spec_curve=spec_curve)
    result = evaluate_claims([claim], data.councils, outcomes, model, wave, cfg, reference=ref_councils(),
                             measurement=data)[0]
    row = results_table([result])
    if not str(row["reason"].iloc[0] or "").strip():  # every verdict says why, an inconclusive one too
        row["reason"] = REASONS.get(str(row["reason_code"].iloc[0]), f"the verdict rule gave {result.verdict}")
    keep = ["exposure", "outcome", "verdict", "estimate", "ci_low", "ci_high", "p_value", "n", "mde", "equivalent",
            "spearman", "spearman_low", "spearman_high", "spec_curve_share", "specifications", "sesoi", "period",
            "exploratory", "reason"]
    out = row[keep].assign(controls=", ".join(controls) or "none", wave=wave, note=EXPLORATORY_NOTE)
    out["outcome"] = measure if not isinstance(outcome, (pd.DataFrame, pd.Series)) else name
    out["promote"] = _promote_command(claim, outcome)
    out = out[["exposure", "outcome", "controls", "wave", *keep[2:], "note", "promote"]]
    return _tag(out, "association", wave=wave, source=_source(data, wave), label=f"{exposure} and {name}",
                adj=(float(result.adj_ci_low), float(result.adj_ci_high)))


def _promote_command(claim, outcome) -> str:
    """The `dqm claims add` command that registers this question (dated today, exploratory)."""
    import shlex

    from .outcomes import load_measures

    if isinstance(outcome, (pd.DataFrame, pd.Series)) or outcome not in set(load_measures()["id"]):
        return ("add the outcome first with `dqm outcomes add FILE --user-data DIR --measure ID ...`, then "
                "`dqm claims add --user-data DIR --outcome ID ...`")
    parts = ["dqm", "claims", "add", "--user-data", "my-evidence", "--id", claim.id, "--statement",
             f"Exploratory: {claim.statement}.", "--exposure", claim.exposure, "--outcome", claim.outcome,
             "--direction", claim.direction, "--sesoi", f"{claim.sesoi:g}", "--controls", ",".join(claim.controls)]
    for k, v in claim.population.items():
        parts += ["--population", f"{k}={v}"]
    return " ".join(shlex.quote(p) for p in parts)


# ---------------------------------------------------------------- charts
def chart(table: pd.DataFrame, title: str | None = None):
    """Any table from :func:`scores`, :func:`compare`, :func:`trend`, :func:`profile` or :func:`associate` as a chart.

    ``scores`` is drawn as a caterpillar of rank intervals; the others as dot charts with intervals, a
    council's profile against its peers, or a forest plot. Anything else is refused with a DQMError.

    Charts follow the Analysis Function style (afcharts) with a title, source line, alt text and the
    data behind them, exactly as in the published reports; suppressed groups are left out.

    >>> c = chart(compare(by="nation", dimension="overall"))
    >>> c.title, c.png[:4]
    ('Average overall level by nation, 2026', b'\\x89PNG')
    """
    from .reports import plots

    drawn = "dqm.scores, dqm.compare, dqm.trend, dqm.profile or dqm.associate"
    if not isinstance(table, pd.DataFrame):
        raise DQMError(f"chart() draws tables returned by {drawn}, not a {type(table).__name__}.")
    info = table.attrs.get("dqm")
    if not isinstance(info, dict) or "kind" not in info:
        raise DQMError(f"chart() draws tables returned by {drawn}; this table did not come from one of them "
                       "(or lost its label on the way: draw the table as the function returned it).")
    kind, source = info["kind"], info.get("source", "")
    if table.empty:
        raise DQMError(f"the {kind} table is empty: there is nothing to draw.")
    if kind == "scores":
        if info.get("method") == "model":  # the model's rank and the whole ranks around its 5th-95th percentiles
            table = table.rename(columns={"rank": "rank_median", "rank_low": "rank_p5", "rank_high": "rank_p95"})
        ranked = table.dropna(subset=["rank_median"])
        if ranked.empty:
            raise DQMError("no council in this scores table has a rank to draw.")
        return plots.caterpillar(ranked, title or f"Council ranks with their uncertainty, {info['wave']}", source)
    if kind in ("compare", "trend"):
        d = table[~table["suppressed"]].dropna(subset=["mean"]).copy()
        label_cols = info["by"] if kind == "compare" else ["wave", *info["by"]]
        d["label"] = d[label_cols].astype(str).agg(", ".join, axis=1)
        several = d["dimension_id"].nunique() > 1
        what = "level" if several else ("overall level" if d["dimension_id"].iloc[0] == "overall_mean"
                                        else d["dimension"].iloc[0].lower() + " level")
        if kind == "compare":
            words = " and ".join(c.replace("_group", "").replace("_", " ") for c in info["by"])
            default = f"Average {what} by {words}, {info['wave']}"
        else:
            default = f"Average {what} by wave"
        return plots.dot_interval(d[["label", "dimension", "mean", "ci_low", "ci_high", "n"]], "label", "mean",
                                  "ci_low", "ci_high", title or default, "Average level (1 to 5)", source,
                                  group="dimension" if several else None)
    if kind == "profile":
        from .reference import councils as ref_councils

        name = ref_councils().set_index("local-authority-code").loc[info["council"], "nice-name"]
        d = table[table["dimension_id"] != "overall_mean"]
        return plots.council_profile(d, name, title or f"{name}: levels, targets and peers, {info['wave']}", source)
    if kind == "association":
        r = table.iloc[0]
        lo, hi = info["adj"]
        d = pd.DataFrame([{"label": info["label"], "estimate": r["estimate"], "ci_low": r["ci_low"],
                           "ci_high": r["ci_high"], "adj_ci_low": lo, "adj_ci_high": hi, "sesoi": r["sesoi"],
                           "verdict": f"{r['verdict']}, exploratory"}])
        return plots.forest(d, title or f"Exploratory association: {info['label']}, {info['wave']}", source)
    raise DQMError(f"no chart for a {kind} table.")


# ---------------------------------------------------------------- interactive controls
def widgets_available() -> bool:
    """True in a live JupyterLab session (a kernel started by a Jupyter server) with ipywidgets installed.

    Under papermill, nbconvert or a plain Python the answer is False and :func:`interact` falls back
    to its default values. ``DQM_WIDGETS=0`` turns the controls off, ``DQM_WIDGETS=1`` forces them on.
    """
    flag = os.environ.get("DQM_WIDGETS")
    if flag is not None:
        return flag == "1"
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return "JPY_SESSION_NAME" in os.environ  # set by jupyter_server for the kernels it starts, not by papermill


def interact(function, **choices):
    """Call ``function`` with drop-downs to choose its arguments in JupyterLab, or once with the defaults elsewhere.

    Each keyword maps an argument to a list of options (the first is the default) or to a pair
    ``(options, default)``. What ``function`` returns is displayed (each item, if it returns a list),
    so a notebook run by papermill shows what a reader sees before touching the controls.

    >>> interact(lambda n, word: [word * n, n], n=[2, 3], word=(["ab", "cd"], "cd"))
    cdcd
    2
    """
    from IPython.display import display

    opts = {k: (v if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], (list, tuple)) else (list(v), list(v)[0]))
            for k, v in choices.items()}
    defaults = {k: d for k, (_, d) in opts.items()}

    def show(**kwargs):
        result = function(**kwargs)
        for item in result if isinstance(result, (list, tuple)) else [result]:
            if item is not None:
                display(item)

    if not widgets_available():
        return show(**defaults)
    import ipywidgets as w

    controls = {k: w.Dropdown(options=list(o), value=d, description=k.replace("_", " ")) for k, (o, d) in opts.items()}
    out = w.Output()

    def show_in_output(**kwargs):
        out.clear_output(wait=True)
        with out:
            show(**kwargs)

    ui = w.interactive(show_in_output, **controls)
    display(w.VBox([w.HBox(list(controls.values())), out]))
    ui.update()
    return None
