"""Agreement between respondents of the same council, and the gap between self and independent assessment.

ICC(1) and ICC(1,k) come from a one-way random-effects ANOVA (Shrout and Fleiss 1979, cases 1 and
1-k), with F-based 95% intervals (McGraw and Wong 1996). When councils have different numbers of
respondents the group size k is replaced by the adjusted mean group size
k0 = (N - sum(n_i^2) / N) / (g - 1), the standard variance-components estimator for unbalanced data.

* ICC(1): how far one respondent's answer reflects their council rather than themselves.
* ICC(1,k): the reliability of the council's average over its respondents (k = k0).

>>> import pandas as pd
>>> sf = pd.DataFrame({"council": [1]*4 + [2]*4 + [3]*4 + [4]*4 + [5]*4 + [6]*4,
...                    "level": [9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7]})
>>> r = icc_oneway(sf, "council", "level")
>>> float(round(r["icc1"], 2)), float(round(r["icc1k"], 2))
(0.17, 0.44)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..model import Model


def icc_oneway(df: pd.DataFrame, group: str, value: str, conf: float = 0.95) -> dict:
    """ICC(1) and ICC(1,k) with confidence intervals from a long table (one row per rating)."""
    d = df[[group, value]].dropna()
    sizes = d.groupby(group)[value].size()
    sizes = sizes[sizes >= 1]
    g, n_total = len(sizes), int(sizes.sum())
    empty = {"icc1": np.nan, "icc1_low": np.nan, "icc1_high": np.nan, "icc1k": np.nan, "icc1k_low": np.nan,
             "icc1k_high": np.nan, "k0": np.nan, "groups": g, "ratings": n_total, "f": np.nan, "p_value": np.nan,
             "within_sd": np.nan}
    if g < 2 or n_total - g < 1:
        return empty
    grand = d[value].mean()
    means = d.groupby(group)[value].mean()
    ssb = float((sizes * (means - grand) ** 2).sum())
    ssw = float(((d[value] - d[group].map(means)) ** 2).sum())
    df1, df2 = g - 1, n_total - g
    msb, msw = ssb / df1, ssw / df2
    k0 = (n_total - (sizes ** 2).sum() / n_total) / df1
    if msw == 0:
        return {**empty, "icc1": 1.0, "icc1k": 1.0, "k0": k0, "within_sd": 0.0}
    f = msb / msw
    icc1 = (msb - msw) / (msb + (k0 - 1) * msw)
    icc1k = (msb - msw) / msb
    a = 1 - conf
    fl = f / stats.f.ppf(1 - a / 2, df1, df2)
    fu = f * stats.f.ppf(1 - a / 2, df2, df1)
    return {
        "icc1": icc1, "icc1_low": (fl - 1) / (fl + k0 - 1), "icc1_high": (fu - 1) / (fu + k0 - 1),
        "icc1k": icc1k, "icc1k_low": 1 - 1 / fl, "icc1k_high": 1 - 1 / fu,
        "k0": k0, "groups": g, "ratings": n_total, "f": f, "p_value": float(stats.f.sf(f, df1, df2)),
        "within_sd": float(np.sqrt(msw)),
    }


def respondent_agreement(answers: pd.DataFrame, model: Model, assessment_type: str = "self") -> pd.DataFrame:
    """ICC(1) and ICC(1,k) per wave and dimension, over councils with two or more respondents.

    ``answers``: the long table from :func:`dqm.store.load` (current submissions).
    """
    a = answers[(answers["assessment_type"] == assessment_type) & answers["level"].notna()]
    a = a.assign(level=a["level"].astype(float))
    # each respondent's mean over dimensions, as a pseudo-dimension for the overall score
    per_resp = a.groupby(["wave", "council_code", "submission_id"], as_index=False)["level"].mean()
    a = pd.concat([a, per_resp.assign(dimension_id="overall_mean")], ignore_index=True)
    rows = []
    for (wave, dim), sub in a.groupby(["wave", "dimension_id"]):
        multi = sub.groupby("council_code")["submission_id"].transform("nunique") >= 2
        res = icc_oneway(sub[multi], "council_code", "level")
        name = "Overall" if dim == "overall_mean" else model.dimension_name(dim)
        rows.append({"wave": wave, "dimension_id": dim, "dimension": name, **res})
    return pd.DataFrame(rows)


def assessment_gap(council_levels: pd.DataFrame, model: Model, other: str = "independent",
                   conf: float = 0.95) -> pd.DataFrame:
    """Self minus peer/independent level, per wave and dimension, over councils assessed both ways.

    Paired: each council is compared with itself, so differences between councils cancel. Returns the
    mean gap with a t-interval, the number of councils, and the share of councils rating themselves higher.
    """
    dims = model.dimension_ids + ["overall_mean"]
    self_ = council_levels[council_levels["assessment_type"] == "self"]
    oth = council_levels[council_levels["assessment_type"] == other]
    both = self_.merge(oth, on=["council_code", "wave"], suffixes=("_self", "_other"))
    from .sector import mean_with_ci

    rows = []
    for wave, sub in both.groupby("wave"):
        for dim in dims:
            diff = (sub[f"{dim}_self"] - sub[f"{dim}_other"]).astype(float).dropna()
            m, lo, hi, n = mean_with_ci(diff, conf)
            rows.append({"wave": wave, "dimension_id": dim,
                         "dimension": "Overall" if dim == "overall_mean" else model.dimension_name(dim),
                         "comparison": f"self minus {other}", "gap": m, "ci_low": lo, "ci_high": hi,
                         "councils": n, "share_self_higher": float((diff > 0).mean()) if n else np.nan})
    return pd.DataFrame(rows)
