"""Peer groups: each council's nearest neighbours among comparable councils, and the usual groupings.

In the spirit of CIPFA's nearest-neighbour model, councils are compared only with councils of a
comparable type (``PEER_POOLS``: English counties, English districts, English single-tier councils,
and the councils of Scotland, Wales and Northern Ireland). Within a pool each council is described by

* log population (2020),
* deprivation score (mySociety composite UK IMD),
* share of residents in urban areas (mySociety composite rural-urban classification),
* log population density (people per km²),

each standardised to mean 0 and standard deviation 1 within the pool and weighted equally. Distance
is Euclidean; the ``k`` (default 15) nearest are the peers. Pools with fewer than k + 1 councils
(Northern Ireland has 11) give every other council in the pool.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PEER_POOLS = {
    "County council": "English counties", "District council": "English districts",
    "English unitary": "English single-tier", "Metropolitan borough": "English single-tier",
    "London borough": "English single-tier", "Scottish council": "Scotland", "Welsh council": "Wales",
    "Northern Ireland council": "Northern Ireland",
}
FEATURES = ("log_population", "deprivation_score", "urban_share", "log_density")
GROUPINGS = {"nation": "Nation", "region": "Region", "type_group": "Council type",
             "deprivation_quintile": "Deprivation quintile (1 = most deprived)", "rurality": "Rurality"}


def peer_features(reference: pd.DataFrame) -> pd.DataFrame:
    ref = reference[reference["type_group"].isin(PEER_POOLS)].copy()
    ref["pool"] = ref["type_group"].map(PEER_POOLS)
    ref["log_population"] = np.log(ref["population"])
    ref["log_density"] = np.log(ref["population"] / ref["area_km2"])
    return ref[["local-authority-code", "pool", *FEATURES]]


def nearest_neighbours(reference: pd.DataFrame, k: int = 15) -> pd.DataFrame:
    """Tidy: council, peer, peer_rank (1 = nearest), distance, pool."""
    feats = peer_features(reference)
    rows = []
    for pool, sub in feats.groupby("pool"):
        x = sub[list(FEATURES)].to_numpy(dtype=float)
        z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=0)
        d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(d, np.inf)
        codes = sub["local-authority-code"].to_numpy()
        kk = min(k, len(sub) - 1)
        order = np.argsort(d, axis=1, kind="stable")[:, :kk]
        for i, code in enumerate(codes):
            for r, j in enumerate(order[i], start=1):
                rows.append({"council_code": code, "peer_code": codes[j], "peer_rank": r, "distance": float(d[i, j]),
                             "pool": pool})
    return pd.DataFrame(rows)


def group_counts(council_levels: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Councils with scores per grouping and group (for checking what can be shown without suppression)."""
    m = council_levels if "nation" in council_levels else council_levels.merge(
        reference, left_on="council_code", right_on="local-authority-code", how="left")
    rows = []
    for col, label in GROUPINGS.items():
        g = m.groupby(["wave", col], dropna=False)["council_code"].nunique().reset_index(name="councils")
        g = g.rename(columns={col: "group"}).assign(grouping=label)
        rows.append(g)
    return pd.concat(rows, ignore_index=True)[["wave", "grouping", "group", "councils"]]
