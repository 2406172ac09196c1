"""A council against its peers: its profile on each dimension beside its nearest neighbours, and its focus areas.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import Model
from .peers import nearest_neighbours
from .sector import SUPPRESS_BELOW

MIN_PEERS = SUPPRESS_BELOW
K = 15  # a council's peers: its 15 nearest neighbours


def council_profile(council: str, council_levels: pd.DataFrame, answers: pd.DataFrame, reference: pd.DataFrame,
                    model: Model, wave: int, k: int = K, neighbours: pd.DataFrame | None = None
                    ) -> tuple[pd.DataFrame, dict]:
    """(one row per dimension: level, target, peer median and range, type median), info about the peer group).

    The peers' and the type's figures are at the precision the levels have (:func:`level_step`: whole or half levels
    for a dimension, a median of whole answers; tenths for the overall score, a mean): the medians to the nearest
    step, the middle 80% (10th to 90th percentile) rounded outwards, so all three read at one precision.
    ``info['step']`` and ``info['overall_step']`` say which.

    ``neighbours``: every council's ``k`` nearest neighbours (:func:`dqm.scoring.peers.nearest_neighbours`), when
    already computed for the wave; otherwise computed here from ``reference``.
    """
    lv = council_levels[(council_levels["wave"] == wave) & (council_levels["assessment_type"] == "self")]
    me = lv[lv["council_code"] == council]
    nn = nearest_neighbours(reference, k=k) if neighbours is None else neighbours
    peer_codes, peer_set, type_set, tg = comparison_groups(council, council_levels, reference, wave, nn)
    peers = lv[lv["council_code"].isin(peer_set)]
    same_type = lv[lv["council_code"].isin(type_set)]
    a = answers[(answers["wave"] == wave) & (answers["assessment_type"] == "self") & (answers["council_code"] == council)]
    targets = a.assign(t=a["target_level"].astype(float)).groupby("dimension_id")["t"].median()
    show_peers = len(peers) >= MIN_PEERS
    steps = {"dimension": level_step(lv[[d for d in model.dimension_ids if d in lv]].to_numpy(float).ravel()),
             "overall": level_step(lv["overall_mean"]) if "overall_mean" in lv else 0.1}
    rows = []
    for d in model.dimension_ids + ["overall_mean"]:
        pv = peers[d].dropna().astype(float) if d in peers else pd.Series(dtype=float)
        tv = same_type[d].dropna().astype(float)
        step = steps["overall" if d == "overall_mean" else "dimension"]
        shown = show_peers and len(pv)
        rows.append({
            "dimension_id": d, "dimension": "Overall" if d == "overall_mean" else model.dimension_name(d),
            "level": float(me[d].iloc[0]) if len(me) and pd.notna(me[d].iloc[0]) else np.nan,
            "target": float(targets.get(d, np.nan)) if d != "overall_mean" else float(targets.mean()) if len(targets) else np.nan,
            "peer_median": at_step(pv.median(), step, "nearest") if shown else np.nan,
            "peer_low": at_step(pv.quantile(0.1), step, "down") if shown else np.nan,
            "peer_high": at_step(pv.quantile(0.9), step, "up") if shown else np.nan,
            "type_median": at_step(tv.median(), step, "nearest") if len(tv) >= MIN_PEERS else np.nan,
        })
    info = {"peers_defined": len(peer_codes), "peers_responding": int(len(peers)), "peers_shown": show_peers,
            "step": steps["dimension"], "overall_step": steps["overall"],
            "type_group": tg, "type_responding": int(len(same_type)), "pool": nn.loc[nn["council_code"] == council, "pool"].iloc[0]
            if (nn["council_code"] == council).any() else None}
    return pd.DataFrame(rows), info


def comparison_groups(council: str, council_levels: pd.DataFrame, reference: pd.DataFrame, wave: int,
                      neighbours: pd.DataFrame) -> tuple[list, list, list, str]:
    """(the council's nearest neighbours, those of them that self-assessed in ``wave`` (its peers), the other
    councils of its type that self-assessed in ``wave``, its type group): the two groups every comparison in the
    council report is made with, whichever scale it is on (:func:`council_profile`, :func:`model_comparison`)."""
    lv = council_levels[(council_levels["wave"] == wave) & (council_levels["assessment_type"] == "self")]
    responding = set(lv["council_code"])
    peer_codes = neighbours.loc[neighbours["council_code"] == council, "peer_code"].tolist()
    ref = reference.set_index("local-authority-code")
    tg = ref.loc[council, "type_group"]
    same_type = sorted(c for c in responding if c != council and ref["type_group"].get(c) == tg)
    return peer_codes, [c for c in peer_codes if c in responding], same_type, tg


def model_comparison(council: str, positions: pd.DataFrame, council_levels: pd.DataFrame, reference: pd.DataFrame,
                     wave: int, neighbours: pd.DataFrame) -> pd.Series:
    """The council's row of ``positions`` (:func:`dqm.scoring.positions.council_positions`: its model level on the
    scale of independent assessment, with its interval and rank) with, on that same scale, ``peer_median`` and
    ``type_median``: the median model level of the same peers and councils of its type as
    :func:`council_profile` compares its answers with (:func:`comparison_groups`), to one decimal place, each
    withheld (NaN) when fewer than :data:`MIN_PEERS` councils are in the group. Also ``type_group`` and
    ``rule_level``, the council's overall level by the model file's rule from its own answers (the handbook's;
    NaN when it answered too few dimensions), so the report can name both."""
    _, peer_set, type_set, tg = comparison_groups(council, council_levels, reference, wave, neighbours)
    levels = positions.set_index("council_code")["level"]
    row = positions.set_index("council_code").loc[council].copy()
    for name, codes in (("peer", peer_set), ("type", type_set)):
        v = levels.reindex([c for c in codes if c in levels.index]).dropna()
        row[f"{name}_median"] = at_step(v.median(), 0.1, "nearest") if len(v) >= MIN_PEERS else np.nan
    lv = council_levels
    own = lv.loc[(lv["wave"] == wave) & (lv["assessment_type"] == "self") & (lv["council_code"] == council),
                 "overall_level"]
    row["type_group"] = tg
    row["rule_level"] = float(own.iloc[0]) if len(own) and pd.notna(own.iloc[0]) else np.nan
    return row


def level_step(values) -> float:
    """The precision levels have: 1 when all are whole, 0.5 when all are whole or half levels (a median of whole
    answers), else 0.1.

    >>> level_step([3.0, 4.0]), level_step([3.0, 3.5, float("nan")]), level_step([3.4, 2.95])
    (1.0, 0.5, 0.1)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    for step in (1.0, 0.5):
        if np.allclose(v / step, np.round(v / step)):
            return step
    return 0.1


def at_step(value, step: float, how: str = "nearest") -> float:
    """``value`` at the precision ``step``: to the nearest step (halves up), or rounded ``down`` or ``up`` to one.

    >>> at_step(3.75, 0.5), at_step(2.7, 0.5, "down"), at_step(4.8, 0.5, "up"), at_step(3.14, 0.1, "up")
    (4.0, 2.5, 5.0, 3.2)
    """
    if value is None or value != value:
        return np.nan
    x = float(value) / step
    k = {"nearest": np.floor(x + 0.5 + 1e-9), "down": np.floor(x + 1e-9), "up": np.ceil(x - 1e-9)}[how]
    return round(float(k * step), 10)


def focus_areas(profile: pd.DataFrame, realism: pd.DataFrame | None = None, top: int = 3) -> pd.DataFrame:
    """Dimensions to focus on: furthest below the peers' median, and the largest gaps to target."""
    p = profile[profile["dimension_id"] != "overall_mean"].copy()
    p["below_peers"] = p["peer_median"] - p["level"]
    p["to_target"] = p["target"] - p["level"]
    if realism is not None and not realism.empty:
        p = p.merge(realism[["dimension_id", "achieved_change_p90"]], on="dimension_id", how="left")
        p["stretch"] = p["to_target"] > p["achieved_change_p90"]
    else:
        p["stretch"] = False
    p["priority"] = p["below_peers"].fillna(0).clip(lower=0) + 0.5 * p["to_target"].fillna(0)
    return p.sort_values(["priority", "to_target"], ascending=False).head(top).reset_index(drop=True)
