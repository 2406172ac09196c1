"""The claims engine: each pre-registered claim tested the same transparent way.

For each testable claim, on the councils that have both the exposure and the outcome:

1. **Main estimate.** OLS of the standardised outcome (after the claim's pre-registered transform,
   raw by default) on the standardised exposure and the claim's
   controls (council type as fixed effects), with HC3 robust standard errors and t-based intervals.
   The coefficient is a standardised effect: the difference in outcome, in standard deviations
   within council type, per standard deviation of digital level. (Scaling by the within-type standard
   deviation keeps the large differences in spending between tiers of council from making every
   effect look negligible.)
   A claim registered with ``model: logistic`` (a 0/1 outcome) or ``poisson`` / ``negative-binomial``
   (a count) is fitted by statsmodels instead, with HC1 robust errors (:func:`glm_estimate`): the effect
   is a log odds (rate) ratio per SD of digital level, reported with the ratio and its 95% interval,
   and an outcome with too few events for the registered rule is reported as untestable.
2. **Assumption-light view.** Spearman's rank correlation with a BCa bootstrap interval (councils resampled).
3. **Equivalence.** TOST against the claim's smallest effect size of interest (SESOI), at the
   family-wise level alpha/m (m claims in the family): the (1 - 2 alpha/m) interval inside plus or minus SESOI.
4. **Multiple testing.** Holm within each family (checked against statsmodels ``multipletests(method="holm")``).
   Two intervals are kept and labelled for what they are: the Holm *test-inversion* interval (excludes 0
   exactly when Holm rejects; no joint coverage guarantee) and the Bonferroni *simultaneous* interval
   at 1 - alpha/m (covers all m effects of the family at once at least 95% of the time).
5. **Specification curve** (Simonsohn, Simmons and Nelson 2020), as a robustness analysis of the
   registered question: every distinct combination of control set (none; council type; the claim's;
   the claim's plus density), outcome transform (raw; log when positive; rank-based inverse normal),
   exposure (overall score by mean, median, geometric mean and minimum, and the claim's dimension),
   outlier rule (none; drop Cook's distance above 4/n) and population (the claim's; without councils
   under 50,000 residents, only when that removes a council). Only specifications that keep the
   claim's controls and drop no outliers count toward agreement and the joint test; fits with fewer
   controls are shown as a *confounding check*, Cook's-rule fits as an *outlier sensitivity* (their
   dropping step is not part of their inference). The joint test refits every counted specification
   on bootstrap resamples of councils after imposing the null (subtracting each specification's
   estimated effect) and asks how often as many specifications agree by chance.
6. **What the rule can deliver**: the chance of each verdict at this n under the rule as applied
   (:func:`verdict_chances`), and the minimum detectable effect as the smallest effect the rule would
   call supported 80% of the time (:func:`decisive_mde`), from the same resamples.
7. **Verdict**, by :func:`decide` (the rule, ``VERDICT_RULE``, is printed in the evidence review).

Associations only: nothing here can show that digital quality causes an outcome.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from .frame import CONTROL_COLUMNS, EXPOSURE_RULES, LATENT_COLUMN, exposure_column
from .ols import cooks_weights, ols_hc3
from .registry import Claim

CONTROL_SETS = {"none": (), "council type": ("council_type",), "claim": None, "claim + density": "plus_density"}
TRANSFORMS = ("raw", "log", "rank-normal")
OUTLIER_RULES = ("none", "cooks")
SMALL_COUNCIL = 50_000

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
    # deliberate faults, only to show the honesty checks have teeth (see dqm.claims.simulation.BROKEN_ENGINES)
    effect_scale: float = 1.0  # 0.5 halves every effect
    equivalence_possible: bool = True  # False: the equivalence test can never succeed
    count_unadjusted: bool = False  # True: the specification curve counts unadjusted and type-only fits
    change_test: str = "ordinal"  # "mean": the mean-of-respondents formula on medians (scoring.change)
    spec_shown: bool = True  # False: fit only the counted specifications (the simulations, for speed)


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
    spec_curve_share: float = np.nan  # share of counted specifications agreeing with the claim's prediction
    spec_joint_p: float = np.nan  # joint test in the claim's direction (two-sided count for a claim of no effect)
    spec_share_pos: float = np.nan
    spec_share_neg: float = np.nan
    spec_share_eq: float = np.nan
    spec_joint_p_pos: float = np.nan
    spec_joint_p_neg: float = np.nan
    spec_distinct: int = 0
    spec_counted: int = 0
    spec_confounding_median: float = np.nan
    spec_counted_median: float = np.nan
    spec_null: tuple | None = None  # (estimates, SEs, dof) of counted specifications on null resamples, (B, K) each
    spec_null_counts: tuple | None = None
    spec_main_index: int = 0
    family_size: int = 1
    simul_level: float = np.nan
    simul_ci_low: float = np.nan
    simul_ci_high: float = np.nan
    eq_level: float = np.nan
    eq_ci_low: float = np.nan
    eq_ci_high: float = np.nan
    eq_possible: bool = True
    reason_code: str = ""
    specs: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict = field(default_factory=dict)
    reason: str = ""
    # how many councils the claim kept at each step of the join and how many it lost, and why
    # (dqm.claims.frame.join_losses; {} for a claim with no open data measure)
    losses: dict = field(default_factory=dict)
    # a logistic or count claim (glm_estimate): what the estimate is the log of, the ratio with its 95% interval and
    # the events; declared here so that a kept battery (dqm.serial keeps declared fields only) still says so
    effect_measure: str = "standardised effect"
    ratio: float = np.nan
    ratio_ci_low: float = np.nan
    ratio_ci_high: float = np.nan
    events: float = np.nan
    events_needed: float = np.nan

    def set_spec_summary(self, summary: dict, direction: str) -> None:
        """Copy a specification-curve summary onto the result; the claim's own share and joint test by direction."""
        self.spec_share_pos, self.spec_share_neg = summary["share_pos"], summary["share_neg"]
        self.spec_share_eq = summary["share_eq"]
        self.spec_joint_p_pos, self.spec_joint_p_neg = summary["joint_p_pos"], summary["joint_p_neg"]
        self.spec_distinct, self.spec_counted = summary.get("distinct", summary["counted"]), summary["counted"]
        self.spec_confounding_median = summary.get("confounding_median", np.nan)
        self.spec_counted_median = summary.get("counted_median", np.nan)
        self.spec_null = summary.get("null")
        self.spec_null_counts = (summary["null_counts_pos"], summary["null_counts_neg"])
        self.spec_main_index = summary.get("main_index", 0)
        if direction == "positive":
            self.spec_curve_share, self.spec_joint_p = self.spec_share_pos, self.spec_joint_p_pos
        elif direction == "negative":
            self.spec_curve_share, self.spec_joint_p = self.spec_share_neg, self.spec_joint_p_neg
        else:
            self.spec_curve_share = self.spec_share_eq
            same = self.spec_joint_p_pos if self.estimate > 0 else self.spec_joint_p_neg
            self.spec_joint_p = same  # small values count against a claim of no effect


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
    """Intercept, standardised exposure (column 1), standardised continuous controls, council-type dummies.

    The measurement model's calibrated exposure (``LATENT_COLUMN``) is already centred and scaled by the
    spread of the *true* levels (:func:`dqm.scoring.latent_exposure.calibrate`); it is not rescaled by its
    own, smaller, spread, which would inflate the effect."""
    x = df[exposure].to_numpy(float)
    return np.column_stack([np.ones(len(df)), x if exposure == LATENT_COLUMN else _z(x), *control_columns(df, controls)])


def control_columns(df: pd.DataFrame, controls: tuple) -> list:
    """The controls' columns of a design: standardised continuous controls and council-type dummies."""
    cols = []
    for c in controls:
        col = CONTROL_COLUMNS[c]
        if c == "council_type":
            code, _ = pd.factorize(df[col], sort=True)
            onehot = np.eye(code.max() + 1)[code][:, 1:]  # first type (alphabetically) is the reference
            cols += [onehot[:, j] for j in range(onehot.shape[1]) if onehot[:, j].std() > 0]
        else:
            cols.append(_z(df[col].to_numpy(float)))
    return cols


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


GLM_EFFECTS = {"logistic": "odds ratio", "poisson": "rate ratio", "negative-binomial": "rate ratio"}


def glm_estimate(df: pd.DataFrame, claim: Claim, cfg: EngineConfig) -> dict:
    """The main estimate of a 0/1 outcome (logistic) or a count (Poisson or negative binomial), by statsmodels.

    The same design as the OLS path (standardised exposure in column 1, the claim's controls, council type as
    fixed effects), robust HC1 (sandwich) errors and normal-based intervals. ``estimate`` is the log odds ratio
    (or log rate ratio) per standard deviation of digital level, so the claim's SESOI is on that scale; the
    ratio and its 95% interval are returned as ``ratio``, ``ratio_ci_low`` and ``ratio_ci_high``. Poisson with
    robust errors is consistent for the rate ratio however overdispersed the counts are.

    Mostly-zero outcomes: the events are the councils on the rarer side of a 0/1 outcome, or the councils with
    a count above 0. With fewer than ``claim.min_events_per_coefficient`` events for each coefficient besides
    the intercept (the registered rule), no effect is estimated: ``estimate`` is NaN and ``reason`` says why,
    so the claim is reported as untestable. A model that does not converge (for example separation) is too.
    """
    import warnings

    import statsmodels.api as sm

    exposure = exposure_column(df, claim)
    controls = tuple(claim.controls) if cfg.use_controls else ()
    X = design(df, exposure, controls)
    y = df["outcome"].to_numpy(float)
    n, model = len(y), claim.model
    if model == "logistic" and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"claim {claim.id}: a logistic model needs an outcome of 0 and 1")
    if model != "logistic" and ((y < 0).any() or (y != np.round(y)).any()):
        raise ValueError(f"claim {claim.id}: a {model} model needs a count (whole numbers, 0 or more)")
    events = int(min(y.sum(), n - y.sum())) if model == "logistic" else int((y > 0).sum())
    k = int(np.linalg.matrix_rank(X)) - 1
    need = int(claim.min_events_per_coefficient) * k
    out = {"n": n, "events": events, "events_needed": need, "effect_measure": GLM_EFFECTS[model], "estimate": np.nan}
    side = "on the rarer side of the outcome" if model == "logistic" else "with a count above 0"
    if events < need:
        return {**out, "reason": f"only {events} of {n} councils are {side}; the registered rule needs at least "
                                 f"{claim.min_events_per_coefficient} per coefficient ({need} for {k} coefficients), so "
                                 "the data cannot support an effect and the claim is untestable"}
    family = {"logistic": sm.families.Binomial(), "poisson": sm.families.Poisson()}.get(model)
    cov = "HC1" if cfg.robust else "nonrobust"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if family is not None:
                fit = sm.GLM(y, X, family=family).fit(cov_type=cov)
                converged = bool(fit.converged)
            else:
                fit = sm.NegativeBinomial(y, X, loglike_method="nb2").fit(disp=0, maxiter=500, cov_type=cov)
                converged = bool(fit.mle_retvals.get("converged", False))
            b, se = float(fit.params[1]), float(fit.bse[1])
        except (np.linalg.LinAlgError, ValueError) as exc:
            converged, b, se = False, np.nan, np.nan
            out["reason"] = f"the {model} model could not be fitted ({' '.join(str(exc).split())[:80]})"
    if not converged or not (np.isfinite(b) and np.isfinite(se) and se > 0) or abs(b) > 10:
        return {**out, "reason": out.get("reason") or f"the {model} model did not converge to a finite estimate "
                                                        "(for example, a council type with no events): untestable"}
    est, s, dof = b * cfg.effect_scale, se * cfg.effect_scale, np.inf
    lo, hi = t_interval(est, s, dof, 1 - cfg.alpha)
    lo90, hi90 = t_interval(est, s, dof, 1 - 2 * cfg.alpha)
    eq, p_tost = tost(est, s, dof, claim.sesoi, cfg.alpha)
    return {**out, "estimate": est, "se": s, "dof": dof, "p_value": float(t_two_sided_p(est / s, dof)),
            "ci_low": lo, "ci_high": hi, "ci90_low": lo90, "ci90_high": hi90,
            "equivalent": eq and cfg.equivalence_possible, "p_tost": p_tost, "mde": mde(s, dof, cfg.alpha, cfg.power),
            "ratio": float(np.exp(est)), "ratio_ci_low": float(np.exp(lo)), "ratio_ci_high": float(np.exp(hi))}


def main_estimate(df: pd.DataFrame, claim: Claim, cfg: EngineConfig) -> dict:
    if getattr(claim, "model", "ols") != "ols":  # a 0/1 or count outcome: logistic, Poisson or negative binomial
        return glm_estimate(df, claim, cfg)
    exposure = exposure_column(df, claim)
    controls = tuple(claim.controls) if cfg.use_controls else ()
    X = design(df, exposure, controls)
    y = transform(df["outcome"].to_numpy(float), claim.transform, df["type_group"])
    if y is None:
        raise ValueError(f"claim {claim.id}: transform {claim.transform!r} needs a positive outcome")
    b, se, dof = ols_hc3(X, y[:, None], robust=cfg.robust)
    est, s = float(b[0]) * cfg.effect_scale, float(se[0]) * cfg.effect_scale
    p = float(t_two_sided_p(est / s, dof))
    lo, hi = t_interval(est, s, dof, 1 - cfg.alpha)
    lo90, hi90 = t_interval(est, s, dof, 1 - 2 * cfg.alpha)
    eq, p_tost = tost(est, s, dof, claim.sesoi, cfg.alpha)
    eq = eq and cfg.equivalence_possible
    return {"n": len(df), "estimate": est, "se": s, "dof": float(dof), "p_value": p, "ci_low": lo, "ci_high": hi,
            "ci90_low": lo90, "ci90_high": hi90, "equivalent": eq, "p_tost": p_tost,
            "mde": mde(s, dof, cfg.alpha, cfg.power)}


# ---------------------------------------------------------------- specification curve
SPEC_ROLES = {
    "counted": "keeps the claim's controls: counts toward agreement and the joint test",
    "confounding check": "fewer controls than the claim registered: shows the confounded association, not counted",
    "outlier sensitivity": "drops councils by Cook's distance: shown, not counted (the dropping step is not part of its inference)",
}


def _control_sets(claim: Claim, cfg: EngineConfig) -> list[tuple[str, tuple, bool]]:
    """(name, controls, counted) for each distinct control set; a set counts when it keeps all the claim's controls."""
    out, seen = [], set()
    for name in CONTROL_SETS:
        ctrl = _controls_for(claim, name)
        if frozenset(ctrl) in seen:  # e.g. "claim + density" when the claim already controls for density
            continue
        seen.add(frozenset(ctrl))
        counted = cfg.count_unadjusted or set(claim.controls) <= set(ctrl)
        out.append((name, ctrl, counted))
    return out


def spec_summary(est, se, dof, null_b=None, null_se=None, null_dof=None, sesoi: float = 0.1,
                 alpha: float = 0.05) -> dict:
    """Agreement shares and joint tests over the counted specifications (arrays of length K).

    ``null_*`` are (B, K) fits on resamples with the null imposed in every specification. The joint
    test asks how often at least as many specifications are significant in a direction by chance.
    """
    est, se, dof = (np.asarray(v, float) for v in (est, se, dof))
    t = est / se
    crit = t_ppf(1 - alpha / 2, dof)
    pos, neg = int((t > crit).sum()), int((t < -crit).sum())
    eq = np.array([tost(e, s, d, sesoi, alpha)[0] for e, s, d in zip(est, se, dof)])
    out = {"counted": len(est), "share_pos": pos / len(est), "share_neg": neg / len(est), "share_eq": float(eq.mean()),
           "joint_p_pos": np.nan, "joint_p_neg": np.nan, "null_counts_pos": None, "null_counts_neg": None}
    if null_b is not None and len(null_b):
        T = null_b / null_se
        C = t_ppf(1 - alpha / 2, null_dof)
        cp, cn = (T > C).sum(axis=1), (T < -C).sum(axis=1)
        out.update(joint_p_pos=float((cp >= pos).mean()), joint_p_neg=float((cn >= neg).mean()),
                   null_counts_pos=np.sort(cp), null_counts_neg=np.sort(cn))
    return out


def specification_curve(df: pd.DataFrame, claim: Claim, cfg: EngineConfig) -> tuple[pd.DataFrame, dict]:
    """(one row per distinct specification with its role, summary of the counted ones).

    The summary holds the agreement shares (``share_pos``, ``share_neg``, ``share_eq``), the joint
    tests (``joint_p_pos``, ``joint_p_neg``), counts of distinct and counted specifications, the
    median estimate of the confounding check, and the null resamples the power calculation reuses.
    """
    rng = np.random.default_rng(cfg.seed)
    n = len(df)
    main_exposure = exposure_column(df, claim)
    # the plug-in levels under each aggregation rule stay as alternative exposures (not corrected for error)
    exposures = list(dict.fromkeys([main_exposure, *EXPOSURE_RULES, *([claim.exposure] if claim.exposure != "overall" else [])]))
    y_raw = df["outcome"].to_numpy(float)
    ys = {t: transform(y_raw, t, df["type_group"]) for t in TRANSFORMS}
    ys = {t: v for t, v in ys.items() if v is not None}
    tnames = list(ys)
    Y = np.column_stack([ys[t] for t in tnames])  # (n, k)
    pops = {"claim population": np.ones(n)}
    big = (df["population"].to_numpy(float) >= SMALL_COUNCIL).astype(float)
    if big.sum() < n:  # a variant that removes no council would only repeat every specification
        pops["without councils under 50,000"] = big
    idx = rng.integers(0, n, size=(cfg.n_null_boot, n))  # the same resamples for every specification
    rows, nb, ns, nd = [], [], [], []
    for cname, ctrl, counted in _control_sets(claim, cfg):
        if not counted and not cfg.spec_shown:
            continue
        for exp_col, (pname, w) in itertools.product(exposures, pops.items()):
            X = design(df, exp_col, ctrl)
            p = X.shape[1]
            b, se, dof, resid, h = ols_hc3(X, Y, w=w[None], robust=cfg.robust, return_fit=True)
            fits = {"none": (b.reshape(-1), se.reshape(-1), np.full(len(tnames), float(np.asarray(dof).reshape(-1)[0])),
                             np.full(len(tnames), int(w.sum())))}
            if cfg.spec_shown:
                W = cooks_weights(resid, h, dof, p, w[None])
                ck = [ols_hc3(X, Y[:, [k]], w=W[:, :, k], robust=cfg.robust) for k in range(Y.shape[1])]
                fits["cooks"] = (np.array([f[0][0] for f in ck]), np.array([f[1][0] for f in ck]),
                                 np.array([float(f[2]) for f in ck]), W[0].sum(axis=0).astype(int))
            for rule, (bb_, ss_, dd_, nn_) in fits.items():
                role = "outlier sensitivity" if rule == "cooks" else ("counted" if counted else "confounding check")
                crit = t_ppf(1 - cfg.alpha / 2, dd_)
                for k, t in enumerate(tnames):
                    est = bb_[k] * cfg.effect_scale
                    s_ = ss_[k] * cfg.effect_scale
                    rows.append({"controls": cname, "transform": t, "exposure": exp_col, "outliers": rule,
                                 "population": pname, "n": int(nn_[k]), "estimate": est, "se": s_,
                                 "p_value": float(t_two_sided_p(est / s_, dd_[k])),
                                 "significant": bool(abs(est / s_) > crit[k]),
                                 "equivalent": tost(est, s_, dd_[k], claim.sesoi, cfg.alpha)[0] and cfg.equivalence_possible,
                                 "role": role, "dof": float(dd_[k]),
                                 "main": (rule == "none" and ctrl == tuple(claim.controls) and t == claim.transform
                                          and exp_col == main_exposure and pname == "claim population")})
            # joint test, counted specifications only: impose the null in each and refit on the shared resamples
            if counted and cfg.n_null_boot:
                Ystar = Y - b.reshape(1, -1) * X[:, [1]]
                bb, sb, db = ols_hc3(X[idx], Ystar[idx], w=w[idx], robust=cfg.robust)
                nb.append(bb * cfg.effect_scale)
                ns.append(sb * cfg.effect_scale)
                nd.append(np.broadcast_to(np.asarray(db, float).reshape(-1, 1), bb.shape))
    specs = pd.DataFrame(rows)
    c = specs[specs["role"] == "counted"]
    null = (np.concatenate(nb, axis=1), np.concatenate(ns, axis=1), np.concatenate(nd, axis=1)) if nb else (None, None, None)
    summary = spec_summary(c["estimate"], c["se"], c["dof"], *null, sesoi=claim.sesoi, alpha=cfg.alpha)
    conf = specs[specs["role"] == "confounding check"]
    summary.update(distinct=len(specs), confounding_median=float(conf["estimate"].median()) if len(conf) else np.nan,
                   counted_median=float(c["estimate"].median()), null=null,
                   main_index=int(np.flatnonzero(c["main"].to_numpy())[0]) if c["main"].any() else 0,
                   counted_se=c["se"].to_numpy(), counted_dof=c["dof"].to_numpy())
    sign = {"positive": 1, "negative": -1}.get(claim.direction, 0)
    t = specs["estimate"] / specs["se"]
    if sign:
        specs["agrees"] = specs["significant"] & (np.sign(t) == sign)
    else:
        specs["agrees"] = specs["equivalent"]
    return specs, summary


# ---------------------------------------------------------------- multiple testing
def holm_adjust(results: list[ClaimResult], alpha: float = 0.05) -> None:
    """Holm within each family (statsmodels), the matching test-inversion intervals, Bonferroni simultaneous
    intervals and the family-wise equivalence test, in place.

    ``adj_ci_*`` is the (1 - a) interval where a is the Holm threshold at which the claim's test was
    decided: it excludes 0 exactly when Holm rejects, but it is a test-inversion interval, not a joint
    confidence set (it does not have 95% joint coverage). ``simul_ci_*`` are Bonferroni intervals at
    1 - alpha/m, which do cover all m effects of a family at once at least 95% of the time.
    Equivalence (TOST) is tested at alpha/m, the same family-wise standard.
    """
    fams: dict[str, list[ClaimResult]] = {}
    for r in results:
        if not np.isnan(r.p_value):
            fams.setdefault(r.claim.family, []).append(r)
    for members in fams.values():
        p = np.array([r.p_value for r in members])
        m = len(p)
        order = np.argsort(p, kind="stable")
        # Holm's adjusted p-values (as statsmodels multipletests(method="holm"); the tests compare the two)
        p_adj = np.empty(m)
        p_adj[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
        step_alpha = np.empty(m)
        stopped = None
        for i, j in enumerate(order):
            a_i = alpha / (m - i)
            if stopped is None and p[j] > a_i:
                stopped = a_i
            step_alpha[j] = a_i if stopped is None else stopped
        for r, pa, a in zip(members, p_adj, step_alpha):
            r.family_size = m
            r.p_adjusted = float(pa)
            r.adj_level = float(1 - a)
            r.adj_ci_low, r.adj_ci_high = t_interval(r.estimate, r.se, r.dof, 1 - a)
            r.simul_level = 1 - alpha / m
            r.simul_ci_low, r.simul_ci_high = t_interval(r.estimate, r.se, r.dof, 1 - alpha / m)
            r.eq_level = 1 - 2 * alpha / m
            r.eq_ci_low, r.eq_ci_high = t_interval(r.estimate, r.se, r.dof, 1 - 2 * alpha / m)
            r.equivalent = bool(tost(r.estimate, r.se, r.dof, r.claim.sesoi, alpha / m)[0] and r.eq_possible)


# ---------------------------------------------------------------- the verdict rule
MIN_SHARE = 0.5
JOINT_ALPHA = 0.05

REASONS = {
    # directional claims
    "supported": "the relation is in the predicted direction after Holm adjustment, at least the smallest effect of "
                 "interest, and the specifications that keep the claim's controls agree",
    "contradicted": "the relation is in the opposite direction after Holm adjustment, at least the smallest effect of "
                    "interest, and the specifications that keep the claim's controls agree",
    "equivalent": "the family-wise equivalence test shows any relation is smaller than the smallest effect of interest",
    "in_direction_small": "the relation is in the predicted direction after Holm adjustment but the estimate is smaller "
                          "than the smallest effect of interest",
    "in_direction_specs": "the relation is in the predicted direction after Holm adjustment but too few of the "
                          "specifications that keep the claim's controls agree",
    "against_small": "the relation is in the opposite direction after Holm adjustment but the estimate is smaller than "
                     "the smallest effect of interest",
    "against_specs": "the relation is in the opposite direction after Holm adjustment but too few of the specifications "
                     "that keep the claim's controls agree",
    "not_rejected": "after Holm adjustment the data are compatible with no relation, and equivalence is not shown",
    # claims of no meaningful effect
    "none_supported": "the family-wise equivalence test shows any relation is smaller than the smallest effect of "
                      "interest, and at least half the specifications that keep the claim's controls agree",
    "none_contradicted": "a relation is found after Holm adjustment, at least the smallest effect of interest, and the "
                         "specifications that keep the claim's controls agree",
    "none_equivalent_specs": "the main estimate is equivalent to no meaningful effect but fewer than half the "
                             "specifications that keep the claim's controls are",
    "none_rejected_small": "a relation is found after Holm adjustment but the estimate is smaller than the smallest "
                           "effect of interest, so it neither refutes nor supports the claim",
    "none_rejected_specs": "a relation is found after Holm adjustment but too few of the specifications that keep the "
                           "claim's controls agree",
    "none_not_rejected": "the data are compatible with no relation but also with a relation of practical size: "
                         "equivalence is not shown",
}

VERDICT_RULE = (
    "Each claim is decided by one rule, with the same standard of evidence in both directions. "
    "Supported (a claim that predicts a direction): Holm's test within the claim's family rejects no relation, "
    "the estimate lies in the predicted direction and is at least the smallest effect of interest (SESOI), and the "
    "specification curve agrees: at least half the specifications that keep the claim's controls are significant in "
    "that direction and the joint test gives p below 0.05. Contradicted: exactly the same, in the opposite "
    "direction. No meaningful effect: the equivalence test (TOST) at the family-wise level (alpha divided by the "
    "number of claims in the family) shows the effect is inside plus or minus the SESOI. Inconclusive: anything "
    "else; the review says which requirement failed. Untestable: no outcome data, or fewer than 20 councils. "
    "For a claim that predicts no meaningful effect, 'supported' means the family-wise equivalence test succeeds and "
    "at least half the specifications that keep the claim's controls are equivalent too, and 'contradicted' means a "
    "relation found exactly as a directional claim would be supported (Holm, at least the SESOI, the specification "
    "curve agreeing in its direction). "
    "Effects inside the SESOI: A significant estimate smaller than the SESOI supports or contradicts nothing: the "
    "SESOI is the registered line between an effect that matters and one that does not, so a verdict that a "
    "meaningful relation exists (or that a claim of no meaningful relation fails) must not rest on an estimate that "
    "the claim's own registration calls negligible. It is reported as inconclusive, with the reason. This also means "
    "a claim and its counter-claim can never both be supported: one needs an estimate at least the SESOI, the other "
    "an interval inside it. "
    "Reachability: Every verdict can occur in principle, but not at every number of councils: before each result, "
    "the review gives the chance of each verdict at that claim's number of councils under this rule, and says when "
    "'no meaningful effect' is practically out of reach at the standard error found."
)


def decide(direction: str, *, estimate, reject, equivalent, share_pos, share_neg, share_eq, joint_pos, joint_neg,
           sesoi: float):
    """The verdict rule, vectorised: (verdicts, reason codes) as arrays. ``reject``: Holm rejects no relation.

    Used both for the verdict and, on simulated data, for the chance of each verdict, so the power the
    review reports is the power of the rule actually applied.
    """
    est = np.atleast_1d(np.asarray(estimate, float))
    shape = est.shape
    b = lambda v: np.broadcast_to(np.asarray(v), shape)
    reject, equivalent = b(reject).astype(bool), b(equivalent).astype(bool)
    ok = lambda share, joint: (np.isnan(b(share).astype(float)) | (b(share) >= MIN_SHARE)) & (
        np.isnan(b(joint).astype(float)) | (b(joint) < JOINT_ALPHA))
    big = np.abs(est) >= sesoi
    specs_pos, specs_neg = ok(share_pos, joint_pos), ok(share_neg, joint_neg)
    verdicts = np.full(shape, "inconclusive", dtype=object)
    reasons = np.full(shape, "not_rejected", dtype=object)
    if direction in ("positive", "negative"):
        s = 1 if direction == "positive" else -1
        towards = reject & (np.sign(est) == s)
        against = reject & (np.sign(est) == -s)
        spec_for, spec_against = (specs_pos, specs_neg) if s > 0 else (specs_neg, specs_pos)
        for mask, code in ((towards & ~big, "in_direction_small"), (towards & big & ~spec_for, "in_direction_specs"),
                           (against & ~big, "against_small"), (against & big & ~spec_against, "against_specs")):
            reasons[mask] = code
        sup, con = towards & big & spec_for, against & big & spec_against
        eqv = equivalent & ~sup & ~con & ~towards & ~against
        verdicts[sup], reasons[sup] = "supported", "supported"
        verdicts[con], reasons[con] = "contradicted", "contradicted"
        verdicts[eqv], reasons[eqv] = "no meaningful effect", "equivalent"
    else:
        spec_same = np.where(est > 0, specs_pos, specs_neg)
        reasons[:] = "none_not_rejected"
        share_eq_ok = np.isnan(b(share_eq).astype(float)) | (b(share_eq) >= MIN_SHARE)
        for mask, code in ((equivalent & ~share_eq_ok, "none_equivalent_specs"), (reject & ~big, "none_rejected_small"),
                           (reject & big & ~spec_same, "none_rejected_specs")):
            reasons[mask] = code
        sup = equivalent & share_eq_ok
        con = reject & big & spec_same & ~sup
        verdicts[sup], reasons[sup] = "supported", "none_supported"
        verdicts[con], reasons[con] = "contradicted", "none_contradicted"
    return verdicts, reasons


def verdict(r: ClaimResult) -> str:
    """The verdict rule (see VERDICT_RULE); sets ``r.reason_code`` to why it was reached."""
    c = r.claim
    if not c.testable or r.n < 20 or np.isnan(r.estimate):
        r.reason_code = "untestable"
        return "untestable"
    reject = (r.p_adjusted < 0.05) if not np.isnan(r.p_adjusted) else False
    v, code = decide(c.direction, estimate=r.estimate, reject=reject, equivalent=r.equivalent,
                     share_pos=r.spec_share_pos, share_neg=r.spec_share_neg, share_eq=r.spec_share_eq,
                     joint_pos=r.spec_joint_p_pos, joint_neg=r.spec_joint_p_neg, sesoi=c.sesoi)
    r.reason_code = str(code[0])
    return str(v[0])


# ---------------------------------------------------------------- what the rule can deliver at this n
def verdict_chances(r: ClaimResult, effect: float, alpha: float = 0.05) -> dict:
    """Chance of each verdict if the true standardised effect were ``effect``, under the rule as applied.

    Reuses the specification curve's null resamples (councils resampled, the null imposed in every
    counted specification) shifted by ``effect`` (assumed the same in every counted specification).
    Holm is taken at its strictest step, alpha/m (the claim must pass it when every other claim in the
    family is null; with real effects elsewhere Holm is more lenient), so the chance of a verdict that
    needs Holm is a lower bound. Equivalence is at alpha/m, as in the rule.
    """
    null = r.spec_null
    if null is None or null[0] is None:
        return {}
    nb, ns, nd = null
    m = max(int(r.family_size), 1)
    i = r.spec_main_index
    est = nb + effect  # (B, K)
    t = est / ns
    crit = t_ppf(1 - alpha / 2, nd)
    pos, neg = (t > crit).sum(axis=1), (t < -crit).sum(axis=1)
    K = nb.shape[1]
    cp, cn = r.spec_null_counts
    jp = (len(cp) - np.searchsorted(cp, pos, side="left")) / len(cp)
    jn = (len(cn) - np.searchsorted(cn, neg, side="left")) / len(cn)
    eq_k = ((est - t_ppf(1 - alpha, nd) * ns) > -r.claim.sesoi) & ((est + t_ppf(1 - alpha, nd) * ns) < r.claim.sesoi)
    e_main, s_main, d_main = est[:, i], ns[:, i], nd[:, i]
    reject = t_two_sided_p(e_main / s_main, d_main) < alpha / m
    eq_main = (np.abs(e_main) + t_ppf(1 - alpha / m, d_main) * s_main < r.claim.sesoi) & r.eq_possible
    v, _ = decide(r.claim.direction, estimate=e_main, reject=reject, equivalent=eq_main, share_pos=pos / K,
                  share_neg=neg / K, share_eq=eq_k.mean(axis=1), joint_pos=jp, joint_neg=jn, sesoi=r.claim.sesoi)
    return {k: float((v == k).mean()) for k in ("supported", "contradicted", "no meaningful effect", "inconclusive")}


def equivalence_reachable(r: ClaimResult, alpha: float = 0.05) -> bool:
    """Could the family-wise equivalence test succeed at all? Only if an estimate of exactly 0 would pass."""
    m = max(int(r.family_size), 1)
    return bool(r.eq_possible and t_ppf(1 - alpha / m, r.dof) * r.se < r.claim.sesoi)


def equivalence_chance_at_zero(se, dof, sesoi: float, family_size: int = 1, alpha: float = 0.05) -> float:
    """The chance that the family-wise equivalence test succeeds if there is no relation at all (the estimate
    t-distributed around 0 with this standard error): P(|estimate| + t_(1 - alpha/m) se < SESOI)."""
    m = max(int(family_size), 1)
    slack = sesoi / se - t_ppf(1 - alpha / m, dof)
    return float(max(2 * t_cdf(slack, dof) - 1, 0.0))


def councils_needed(se: float, n: int, dof: float, sesoi: float, family_size: int = 1, alpha: float = 0.05,
                    power: float | None = None, max_n: int = 1_000_000) -> float:
    """About how many councils the family-wise equivalence test would need, with the same design.

    The standard error is scaled as se * sqrt(n / N) and the residual degrees of freedom as N - (n - dof),
    i.e. more councils like these. ``power=None``: the smallest N at which an estimate of exactly 0 would pass
    (below it "no meaningful effect" cannot happen at all; see :func:`equivalence_reachable`). ``power=p``: the
    smallest N at which, with no relation at all, the test would succeed with chance p
    (:func:`equivalence_chance_at_zero`). NaN when the inputs are missing; ``max_n`` caps the search (inf beyond).
    """
    if not (se == se and n and dof == dof and se > 0):
        return np.nan
    large_sample = not np.isfinite(dof)  # a logistic or count model's normal-based test: no residual dof
    p_used = 0 if large_sample else n - dof

    def ok(N: int) -> bool:
        s, d = se * np.sqrt(n / N), (np.inf if large_sample else N - p_used)
        if d < 1:
            return False
        if power is None:
            return bool(t_ppf(1 - alpha / max(int(family_size), 1), d) * s < sesoi)
        return equivalence_chance_at_zero(s, d, sesoi, family_size, alpha) >= power

    lo = int(p_used) + 1
    if ok(lo):
        return float(lo)
    hi = lo
    while not ok(hi):
        if hi >= max_n:
            return np.inf
        lo, hi = hi, min(hi * 2, max_n)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return float(hi)


def decisive_mde(r: ClaimResult, target: float = 0.80, alpha: float = 0.05) -> float:
    """The smallest effect with a ``target`` chance of a decisive verdict under the rule (``supported`` for a
    directional claim; ``contradicted`` for a claim of no meaningful effect), from :func:`verdict_chances`."""
    if r.spec_null is None or r.spec_null[0] is None:
        return np.nan
    sign = -1 if r.claim.direction == "negative" else 1
    want = "contradicted" if r.claim.direction == "none" else "supported"
    f = lambda d: verdict_chances(r, sign * d, alpha).get(want, 0.0)
    lo, hi = 0.0, 3.0
    if f(hi) < target:
        return np.nan
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return float(hi)


def power_rows(r: ClaimResult, effects=(0.25,), alpha: float = 0.05) -> list[dict]:
    """The chance of each verdict this claim could get, stated before its result: one row per scenario."""
    c = r.claim
    sign = -1 if c.direction == "negative" else 1
    rows = [{"scenario": "no relation (true effect 0)", "effect": 0.0, **verdict_chances(r, 0.0, alpha)}]
    for e in effects:
        if c.direction == "none":
            rows.append({"scenario": f"a relation of {e:g}", "effect": e, **verdict_chances(r, e, alpha)})
        else:
            rows.append({"scenario": f"{e:g} in the predicted direction", "effect": sign * e,
                         **verdict_chances(r, sign * e, alpha)})
            rows.append({"scenario": f"{e:g} in the opposite direction", "effect": -sign * e,
                         **verdict_chances(r, -sign * e, alpha)})
    if r.mde == r.mde:
        rows.append({"scenario": f"the minimum detectable effect, {r.mde:.2f}", "effect": sign * r.mde,
                     **verdict_chances(r, sign * r.mde, alpha)})
    return rows
