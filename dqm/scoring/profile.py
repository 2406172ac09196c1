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

    ``neighbours``: every council's ``k`` nearest neighbours (:func:`dqm.scoring.peers.nearest_neighbours`), when
    already computed for the wave; otherwise computed here from ``reference``.
    """
    lv = council_levels[(council_levels["wave"] == wave) & (council_levels["assessment_type"] == "self")]
    me = lv[lv["council_code"] == council]
    nn = nearest_neighbours(reference, k=k) if neighbours is None else neighbours
    peer_codes = nn.loc[nn["council_code"] == council, "peer_code"].tolist()
    peers = lv[lv["council_code"].isin(peer_codes)]
    ref = reference.set_index("local-authority-code")
    tg = ref.loc[council, "type_group"]
    same_type = lv[(lv["council_code"] != council) & (lv["council_code"].map(ref["type_group"]) == tg)]
    a = answers[(answers["wave"] == wave) & (answers["assessment_type"] == "self") & (answers["council_code"] == council)]
    targets = a.assign(t=a["target_level"].astype(float)).groupby("dimension_id")["t"].median()
    show_peers = len(peers) >= MIN_PEERS
    rows = []
    for d in model.dimension_ids + ["overall_mean"]:
        pv = peers[d].dropna().astype(float) if d in peers else pd.Series(dtype=float)
        tv = same_type[d].dropna().astype(float)
        rows.append({
            "dimension_id": d, "dimension": "Overall" if d == "overall_mean" else model.dimension_name(d),
            "level": float(me[d].iloc[0]) if len(me) and pd.notna(me[d].iloc[0]) else np.nan,
            "target": float(targets.get(d, np.nan)) if d != "overall_mean" else float(targets.mean()) if len(targets) else np.nan,
            "peer_median": pv.median() if show_peers and len(pv) else np.nan,
            "peer_low": pv.quantile(0.1) if show_peers and len(pv) else np.nan,
            "peer_high": pv.quantile(0.9) if show_peers and len(pv) else np.nan,
            "type_median": tv.median() if len(tv) >= MIN_PEERS else np.nan,
        })
    info = {"peers_defined": len(peer_codes), "peers_responding": int(len(peers)), "peers_shown": show_peers,
            "type_group": tg, "type_responding": int(len(same_type)), "pool": nn.loc[nn["council_code"] == council, "pool"].iloc[0]
            if (nn["council_code"] == council).any() else None}
    return pd.DataFrame(rows), info


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
