"""The claims engine: each pre-registered claim tested the same transparent way.

For each testable claim, on the councils that have both the exposure and the outcome:

1. **Main estimate.** OLS of the standardised outcome (after the claim's pre-registered transform,
   raw by default) on the standardised exposure and the claim's
   controls (council type as fixed effects), with HC3 robust standard errors and t-based intervals.
   The coefficient is a standardised effect: the difference in outcome, in standard deviations
   within council type, per standard deviation of digital level. (Scaling by the within-type standard
   deviation keeps the large differences in spending between tiers of council from making every
   effect look negligible.)
2. **Assumption-light view.** Spearman's rank correlation with a BCa bootstrap interval (councils resampled).
3. **Equivalence.** TOST against the claim's smallest effect size of interest (SESOI): equivalence
   holds when the 90% interval lies inside plus or minus SESOI.
4. **Minimum detectable effect** at this n: (t(1 - alpha/2) + t(power)) x standard error, for 80% power.
5. **Multiple testing.** Holm within each family, by statsmodels ``multipletests(method="holm")``.
   The adjusted interval of a claim is the (1 - a) interval where a is the Holm threshold at which
   its test was decided (alpha / (m - i + 1) for the i-th smallest p-value; for claims after the
   first non-rejection, the threshold at that step), so the interval excludes 0 exactly when Holm rejects.
6. **Specification curve** (Simonsohn, Simmons and Nelson 2020): every combination of control set
   (none; council type; the claim's; the claim's plus density), outcome transform (raw; log when
   positive; rank-based inverse normal), exposure (overall score by mean, median, geometric mean and
   minimum, and the claim's dimension), outlier rule (none; drop Cook's distance above 4/n) and
   population (the claim's; without councils under 50,000 residents). The joint test refits every
   specification on bootstrap resamples of councils after imposing the null (subtracting each
   specification's estimated effect) and asks how often as many specifications agree by chance.
7. **Verdict**, by :func:`verdict` (the rule is printed in the evidence review).

Associations only: nothing here can show that digital quality causes an outcome.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from .frame import CONTROL_COLUMNS, EXPOSURE_RULES
from .ols import cooks_weights, ols_hc3
from .registry import Claim

CONTROL_SETS = {"none": (), "council type": ("council_type",), "claim": None, "claim + density": "plus_density"}
TRANSFORMS = ("raw", "log", "rank-normal")
OUTLIER_RULES = ("none", "cooks")
SMALL_COUNCIL = 50_000

VERDICT_RULE = (
    "Supported: the Holm-adjusted 95% interval excludes 0 in the predicted direction and at least half "
    "of the specifications agree (significant in the predicted direction) with a joint test p below 0.05. "
    "Contradicted: the adjusted interval excludes 0 in the other direction. No meaningful effect: the 90% "
    "interval lies inside plus or minus the smallest effect of interest (equivalence by TOST). Inconclusive: "
    "anything else, read against the minimum detectable effect. Untestable: no outcome data, or fewer than "
    "20 councils. For a claim that predicts no effect, 'supported' means equivalence holds and "
    "'contradicted' that the adjusted interval excludes 0 and equivalence fails."
)


@dataclass
class EngineConfig:
    alpha: float = 0.05
    power: float = 0.80
    n_boot: int = 2000  # BCa resamples for Spearman's rho
    n_null_boot: int = 500  # resamples for the specification curve's joint test
    seed: int = 20261122
    robust: bool = True  # HC3; False gives classical standard errors (only to show the checks have teeth)
    use_controls: bool = True  # False drops the controls (only to show the checks have teeth)
    min_n: int = 20
    spec_curve: bool = True
    workers: int = 2  # claims tested in parallel threads


@dataclass
class ClaimResult:
    claim: Claim
    verdict: str
    n: int = 0
    estimate: float = np.nan
    se: float = np.nan
    dof: float = np.nan
    p_value: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    ci90_low: float = np.nan
    ci90_high: float = np.nan
    equivalent: bool = False
    p_tost: float = np.nan
    mde: float = np.nan
    spearman: float = np.nan
    spearman_low: float = np.nan
    spearman_high: float = np.nan
    p_adjusted: float = np.nan
    adj_level: float = np.nan
    adj_ci_low: float = np.nan
    adj_ci_high: float = np.nan
    spec_curve_share: float = np.nan
    spec_joint_p: float = np.nan
    specs: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict = field(default_factory=dict)
    reason: str = ""


# ---------------------------------------------------------------- building designs
def _controls_for(claim: Claim, name: str) -> tuple:
    rule = CONTROL_SETS[name]
    if rule is None:
        return tuple(claim.controls)
    if rule == "plus_density":
        return tuple(dict.fromkeys((*claim.controls, "log_density")))
    return rule


def _z(v: np.ndarray) -> np.ndarray:
    sd = v.std(ddof=1)
    return (v - v.mean()) / sd if sd > 0 else v * 0.0


def _z_within(v: np.ndarray, groups) -> np.ndarray:
    """Centre, and scale by the pooled standard deviation within groups (council types).

    Outcomes such as spending per resident differ hugely between tiers of council; scaling by the
    overall standard deviation would make every within-tier effect look negligible against the SESOI.
    """
    if groups is None:
        return _z(v)
    code, _ = pd.factorize(np.asarray(groups))
    means = np.bincount(code, weights=v) / np.bincount(code)
    dev = v - means[code]
    dof = len(v) - len(means)
    sd = np.sqrt((dev ** 2).sum() / dof) if dof > 0 else 0.0
    return (v - v.mean()) / sd if sd > 0 else v * 0.0


def transform(y: np.ndarray, how: str, groups=None) -> np.ndarray | None:
    """Transform an outcome and put it in standard deviations within council type."""
    if how == "raw":
        return _z_within(y, groups)
    if how == "log":
        return _z_within(np.log(y), groups) if (y > 0).all() else None
    if how == "rank-normal":  # Blom's rank-based inverse normal transform
        r = stats.rankdata(y)
        return _z_within(stats.norm.ppf((r - 0.375) / (len(y) + 0.25)), groups)
    raise ValueError(how)


def design(df: pd.DataFrame, exposure: str, controls: tuple) -> np.ndarray:
    """Intercept, standardised exposure (column 1), standardised continuous controls, council-type dummies."""
    cols = [np.ones(len(df)), _z(df[exposure].to_numpy(float))]
    for c in controls:
        col = CONTROL_COLUMNS[c]
        if c == "council_type":
            code, _ = pd.factorize(df[col], sort=True)
            onehot = np.eye(code.max() + 1)[code][:, 1:]  # first type (alphabetically) is the reference
            cols += [onehot[:, j] for j in range(onehot.shape[1]) if onehot[:, j].std() > 0]
        else:
            cols.append(_z(df[col].to_numpy(float)))
    return np.column_stack(cols)


# ---------------------------------------------------------------- the pieces
# Student t via scipy.special (the same functions scipy.stats.t uses, without its per-call overhead)
def t_cdf(x, dof):
    return special.stdtr(dof, x)


def t_ppf(q, dof):
    return special.stdtrit(dof, q)


def t_two_sided_p(t, dof):
    return 2 * special.stdtr(dof, -np.abs(t))


def t_interval(est, se, dof, level):
    q = t_ppf(0.5 + level / 2, dof)
    return est - q * se, est + q * se


def tost(est, se, dof, sesoi, alpha=0.05):
    """(equivalent, p): both one-sided tests against -sesoi and +sesoi at alpha (= 90% interval inside)."""
    p_low = 1 - t_cdf((est + sesoi) / se, dof)
    p_high = t_cdf((est - sesoi) / se, dof)
    p = max(p_low, p_high)
    return bool(p < alpha), float(p)


def mde(se, dof, alpha=0.05, power=0.80):
    return float((t_ppf(1 - alpha / 2, dof) + t_ppf(power, dof)) * se)


def _spearman_vec(a, b, axis=-1):
    """Spearman's rho along the last axis (vectorised, for scipy.stats.bootstrap)."""
    ra, rb = stats.rankdata(a, axis=axis), stats.rankdata(b, axis=axis)
    ra = ra - ra.mean(axis=axis, keepdims=True)
    rb = rb - rb.mean(axis=axis, keepdims=True)
    return (ra * rb).sum(axis=axis) / np.sqrt((ra ** 2).sum(axis=axis) * (rb ** 2).sum(axis=axis))


def spearman_bca(x, y, n_boot=2000, seed=0, level=0.95):
    """Spearman's rho and its BCa bootstrap interval (scipy.stats.bootstrap, councils resampled in pairs)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    rho = stats.spearmanr(x, y).statistic
    if len(x) < 8 or n_boot == 0:
        return float(rho), np.nan, np.nan
    res = stats.bootstrap((x, y), _spearman_vec, paired=True, vectorized=True,
                          n_resamples=n_boot, method="BCa", confidence_level=level, random_state=seed)
    return float(rho), float(res.confidence_interval.low), float(res.confidence_interval.high)


def main_estimate(df: pd.DataFrame, claim: Claim, cfg: EngineConfig) -> dict:
    exposure = "overall_mean" if claim.exposure == "overall" else claim.exposure
    controls = tuple(claim.controls) if cfg.use_controls else ()
    X = design(df, exposure, controls)
    y = transform(df["outcome"].to_numpy(float), claim.transform, df["type_group"])
    if y is None:
        raise ValueError(f"claim {claim.id}: transform {claim.transform!r} needs a positive outcome")
    b, se, dof = ols_hc3(X, y[:, None], robust=cfg.robust)
    est, s = float(b[0]), float(se[0])
    p = float(t_two_sided_p(est / s, dof))
    lo, hi = t_interval(est, s, dof, 1 - cfg.alpha)
    lo90, hi90 = t_interval(est, s, dof, 1 - 2 * cfg.alpha)
    eq, p_tost = tost(est, s, dof, claim.sesoi, cfg.alpha)
    return {"n": len(df), "estimate": est, "se": s, "dof": float(dof), "p_value": p, "ci_low": lo, "ci_high": hi,
            "ci90_low": lo90, "ci90_high": hi90, "equivalent": eq, "p_tost": p_tost,
            "mde": mde(s, dof, cfg.alpha, cfg.power)}


# ---------------------------------------------------------------- specification curve
def specification_curve(df: pd.DataFrame, claim: Claim, cfg: EngineConfig) -> tuple[pd.DataFrame, float, float]:
    """(one row per specification, share agreeing, joint-test p)."""
    rng = np.random.default_rng(cfg.seed)
    n = len(df)
    exposures = list(EXPOSURE_RULES) + ([claim.exposure] if claim.exposure != "overall" else [])
    y_raw = df["outcome"].to_numpy(float)
    ys = {t: transform(y_raw, t, df["type_group"]) for t in TRANSFORMS}
    ys = {t: v for t, v in ys.items() if v is not None}
    tnames = list(ys)
    Y = np.column_stack([ys[t] for t in tnames])  # (n, k)
    pops = {"claim population": np.ones(n),
            "without councils under 50,000": (df["population"].to_numpy(float) >= SMALL_COUNCIL).astype(float)}
    idx = rng.integers(0, n, size=(cfg.n_null_boot, n))  # the same resamples for every specification
    sign = {"positive": 1, "negative": -1}.get(claim.direction, 0)
    rows, null_hits = [], []
    for cname, exp_col, (pname, w) in itertools.product(CONTROL_SETS, exposures, pops.items()):
        X = design(df, exp_col, _controls_for(claim, cname))
        p = X.shape[1]
        for rule in OUTLIER_RULES:
            b, se, dof, resid, h = ols_hc3(X, Y, w=w[None], robust=cfg.robust, return_fit=True)
            W = np.repeat(w[None, :, None], Y.shape[1], axis=2)  # (1, n, k)
            if rule == "cooks":
                W = cooks_weights(resid, h, dof, p, w[None])
                fits = [ols_hc3(X, Y[:, [k]], w=W[:, :, k], robust=cfg.robust) for k in range(Y.shape[1])]
                b = np.array([[f[0][0] for f in fits]])
                se = np.array([[f[1][0] for f in fits]])
                dof = np.array([f[2] for f in fits])
            b, se = np.asarray(b).reshape(-1), np.asarray(se).reshape(-1)
            dof = np.broadcast_to(np.asarray(dof, float).reshape(-1), b.shape)
            tcrit = t_ppf(1 - cfg.alpha / 2, dof)
            for k, t in enumerate(tnames):
                rows.append({"controls": cname, "transform": t, "exposure": exp_col, "outliers": rule,
                             "population": pname, "n": int(W[0, :, k].sum()), "estimate": b[k], "se": se[k],
                             "p_value": float(t_two_sided_p(b[k] / se[k], dof[k])),
                             "significant": bool(abs(b[k] / se[k]) > tcrit[k]),
                             "equivalent": tost(b[k], se[k], dof[k], claim.sesoi, cfg.alpha)[0]})
            # joint test: impose the null in each specification and refit on the shared resamples
            if cfg.n_null_boot:
                Ystar = Y - b[None, :] * X[:, [1]]
                Xb, Yb, wb = X[idx], Ystar[idx], w[idx]
                if rule == "none":
                    bb, sb, db = ols_hc3(Xb, Yb, w=wb, robust=cfg.robust)
                else:
                    _, _, d0, rb, hb = ols_hc3(Xb, Yb, w=wb, robust=cfg.robust, return_fit=True)
                    Wb = cooks_weights(rb, hb, d0, p, wb)
                    parts = [ols_hc3(Xb, Yb[:, :, [k]], w=Wb[:, :, k], robust=cfg.robust) for k in range(Yb.shape[2])]
                    bb = np.column_stack([q[0][:, 0] for q in parts])
                    sb = np.column_stack([q[1][:, 0] for q in parts])
                    db = np.column_stack([q[2] for q in parts])
                db = np.broadcast_to(np.asarray(db, float).reshape(len(idx), -1), bb.shape)
                tb = bb / sb
                crit = t_ppf(1 - cfg.alpha / 2, db)
                if sign:
                    hit = (sign * tb > crit)
                else:
                    hit = np.abs(tb) > crit
                null_hits.append(hit)
    specs = pd.DataFrame(rows)
    if sign:
        agree = specs["significant"] & (np.sign(specs["estimate"]) == sign)
    else:
        agree = specs["equivalent"]
    share = float(agree.mean())
    joint_p = np.nan
    if null_hits:
        observed = int((specs["significant"] & ((np.sign(specs["estimate"]) == sign) if sign else True)).sum())
        counts = np.concatenate(null_hits, axis=1).sum(axis=1)
        joint_p = float((counts >= observed).mean())
    specs["agrees"] = agree
    return specs, share, joint_p


# ---------------------------------------------------------------- multiple testing and verdicts
def holm_adjust(results: list[ClaimResult], alpha: float = 0.05) -> None:
    """Holm within each family (statsmodels), and the matching adjusted intervals, in place."""
    from statsmodels.stats.multitest import multipletests

    fams: dict[str, list[ClaimResult]] = {}
    for r in results:
        if not np.isnan(r.p_value):
            fams.setdefault(r.claim.family, []).append(r)
    for members in fams.values():
        p = np.array([r.p_value for r in members])
        reject, p_adj, _, _ = multipletests(p, alpha=alpha, method="holm")
        m = len(p)
        order = np.argsort(p, kind="stable")
        step_alpha = np.empty(m)
        stopped = None
        for i, j in enumerate(order):
            a_i = alpha / (m - i)
            if stopped is None and p[j] > a_i:
                stopped = a_i
            step_alpha[j] = a_i if stopped is None else stopped
        for r, pa, a in zip(members, p_adj, step_alpha):
            r.p_adjusted = float(pa)
            r.adj_level = float(1 - a)
            r.adj_ci_low, r.adj_ci_high = t_interval(r.estimate, r.se, r.dof, 1 - a)


def verdict(r: ClaimResult) -> str:
    """The verdict rule (see VERDICT_RULE)."""
    c = r.claim
    if not c.testable or r.n < 20 or np.isnan(r.estimate):
        return "untestable"
    excludes_pos = r.adj_ci_low > 0
    excludes_neg = r.adj_ci_high < 0
    if c.direction == "none":
        if r.equivalent:
            return "supported"
        if excludes_pos or excludes_neg:
            return "contradicted"
        return "inconclusive"
    sign = 1 if c.direction == "positive" else -1
    in_dir = excludes_pos if sign > 0 else excludes_neg
    against = excludes_neg if sign > 0 else excludes_pos
    spec_ok = (np.isnan(r.spec_curve_share) or r.spec_curve_share >= 0.5) and (
        np.isnan(r.spec_joint_p) or r.spec_joint_p < 0.05)
    if in_dir and spec_ok:
        return "supported"
    if against:
        return "contradicted"
    if r.equivalent:
        return "no meaningful effect"
    return "inconclusive"
