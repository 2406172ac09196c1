"""One measurement model of how assessment answers arise, and its fit (a seeded Gibbs sampler in numpy).

**The model.** Respondent r of council c answers dimension d in wave w with a whole level, the rounding
of a latent answer (kept between the model's lowest and highest level):

    answer* = mu[w, d] + self_offset * [self]                        sector mean per wave and dimension
              + g[c] + s[c, d]                                       the council's lasting level and profile
              + h[c, w] + k[c, w, d]                                 its change from wave to wave
              + b[c] * [self]                                        its self-assessors' shared inflation
              + l[r]                                                 the respondent's leniency (all dimensions,
                                                                     every wave they answer: respondent_key)
              + e                                                    the rest, independent per answer
    answer  = the whole level nearest answer* (1 below 1.5, 5 above 4.5)

Every random term is normal with mean zero and its own standard deviation (a *variance component*).
The council's latent level theta[c, w, d] = mu[w, d] + g + s + h + k is on the scale of independent
(and peer) assessments: the self-assessment inflation ``self_offset + b[c]`` is identified from the
councils that have both, and for the others it is uncertain by the spread of b, which the draws carry.
The overall level is the mean of theta over the dimensions.

**The fit** treats answers as continuous (the Gaussian approximation; rounding adds 1/12 of a level
squared to the residual, which is estimated with it) and rests on one fact: every random term is
nested in a council, so the likelihood with all of them integrated out is a product of one small
Gaussian block per council, exact and cheap by the Woodbury identity. The component SDs are estimated
by maximum likelihood (sector means profiled out by GLS; L-BFGS-B with the analytic gradient), and
their uncertainty by the Laplace approximation (the curvature of the log-likelihood at its maximum).
Draws of the latent levels then come in ``vc_draws`` sets: each set takes the SDs from their
approximate sampling distribution (the first set at the estimate), the sector means from their GLS
distribution, and every council's terms from their exact Gaussian conditional distribution. So the
draws carry respondents' disagreement, leniency, rounding (as residual variance), the uncertainty of
the self-assessment bias as estimated from the councils with independent assessments, and that of
the variance components. A Gibbs sampler with the rounding in the likelihood was tried first (git
history): 76 CPU seconds on the demo store, and the SD of the self-assessment bias did not mix.

**What the data cannot tell is said, not set to zero** (:attr:`LatentFit.notes`): with no council
having two respondents of one kind in a wave, respondents' disagreement and leniency cannot be told
from a council's own profile, and the assumed values in ``data/measurement.yaml`` are used; with no
independent or peer assessment, the self-assessment bias cannot be estimated: levels are on the
self-assessment scale and every council's level is widened by the assumed spread of that bias.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..model import Model

COMPONENTS = ("council", "council_dimension", "council_wave", "council_wave_dimension", "self_bias", "leniency",
              "residual")
_G, _S, _H, _K, _B, _L, _E = range(7)


@dataclass(frozen=True)
class LatentConfig:
    """The sampler's settings, priors and stated assumptions (read from ``data/measurement.yaml``)."""
    vc_draws: int = 40
    draws_per_vc: int = 25
    seed: int = 20261122
    assumed: dict = field(default_factory=lambda: {"residual": 0.55, "leniency": 0.25, "self_bias": 0.12})
    alpha: float = 0.05
    assumed_because: dict = field(default_factory=dict)  # where an assumed value comes from, in words

    def replace(self, **kw) -> "LatentConfig":
        d = {**self.__dict__, **kw}
        return LatentConfig(**d)


def load_config(path=None) -> LatentConfig:
    """The settings in ``data/measurement.yaml`` (or ``path``); a missing or malformed key is a DQMError."""
    from ..errors import DQMError
    from ..paths import data_dir
    from ..yamlio import load_yaml

    path = path or data_dir() / "measurement.yaml"
    y = load_yaml(path, what="measurement model settings")
    try:
        s, a = y["draws"], y["assumed"]
        cfg = LatentConfig(vc_draws=int(s["variance_sets"]), draws_per_vc=int(s["per_set"]), seed=int(s["seed"]),
                           assumed={k: float(a[k]) for k in ("residual", "leniency", "self_bias")},
                           alpha=float(y["change"]["alpha"]),
                           assumed_because={k: str(v) for k, v in (y.get("assumed_because") or {}).items()})
    except (KeyError, TypeError, ValueError) as exc:
        raise DQMError(f"the measurement model settings lack or mistype {exc}.", file=path,
                       hint="Compare with the file in the dqm repository (data/measurement.yaml).") from None
    if cfg.vc_draws < 1 or cfg.draws_per_vc < 1:
        raise DQMError("draws.variance_sets and draws.per_set must be whole numbers of at least 1.", file=path)
    return cfg


# ----------------------------------------------------------------------------------------------------------------
# design
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class Design:
    """The answers laid out for the sampler: one block of random terms per council (see :func:`build_design`)."""
    councils: np.ndarray  # council codes
    waves: np.ndarray
    dims: list
    levels: tuple  # (lowest, highest)
    y: np.ndarray  # answers (float)
    obs_council: np.ndarray
    obs_wave: np.ndarray
    obs_dim: np.ndarray
    obs_self: np.ndarray  # bool
    obs_person: np.ndarray  # local person index within the council
    local: np.ndarray  # (N, 6) local indices of the random terms an answer loads on (-1: none)
    comp: np.ndarray  # (q,) component of each local position
    person_real: np.ndarray  # (C, Pmax) bool: a real respondent in that slot
    xcol: np.ndarray  # (N, 2) fixed-effect columns (-1: none)
    p: int  # fixed effects
    has_other: bool  # any independent or peer answers
    has_replication: bool  # some council has two respondents of one kind in one wave
    n_per: pd.DataFrame  # council, wave: respondents (self / other)
    person_keys: pd.DataFrame  # council, person slot, wave -> respondent key (to tell same from new respondents)

    @property
    def q(self) -> int:
        return len(self.comp)

    @property
    def C(self) -> int:
        return len(self.councils)


def salt_free_keys(frame: pd.DataFrame) -> pd.Series:
    """Each row's respondent as a label that does not depend on the store's salt: ``r`` and the first submission id
    of its ``respondent_key`` (missing where the key is). A store hashes respondents with a salt of its own, so the
    same exports ingested into a new store (``dqm run`` rebuilds its store) give other keys but the same labels:
    the fit, and every cache keyed by it, is the same.

    >>> salt_free_keys(pd.DataFrame({"submission_id": [4, 7, 9], "respondent_key": ["b", "a", "b"]})).tolist()
    ['r4', 'r7', 'r4']
    """
    key = frame["respondent_key"].astype("string")
    first = frame["submission_id"].groupby(key, dropna=True).transform("min")
    return ("r" + first.astype("Int64").astype("string")).where(key.notna())


def answers_digest(h, answers: pd.DataFrame, submissions: pd.DataFrame | None = None) -> None:
    """Feed what a fit reads from ``answers`` (and ``submissions``) into the hash ``h``: each answer's submission,
    council, wave, kind, dimension and level, and who answered as :func:`salt_free_keys` labels them (a rebuilt
    store has other salted keys, and must give the same key)."""
    cols = [c for c in ("submission_id", "council_code", "wave", "assessment_type", "dimension_id", "level")
            if c in answers.columns]
    h.update(pd.util.hash_pandas_object(answers[cols].astype(str), index=False).to_numpy().tobytes())
    for frame in (answers, submissions):
        if frame is not None and {"submission_id", "respondent_key"} <= set(frame.columns):
            who = frame[["submission_id"]].assign(respondent=salt_free_keys(frame)).astype(str)
            h.update(pd.util.hash_pandas_object(who.sort_values("submission_id", kind="mergesort"), index=False)
                     .to_numpy().tobytes())


def _people(a: pd.DataFrame, submissions: pd.DataFrame | None) -> pd.Series:
    """A key per respondent: respondent_key (persists across waves) where known, else the submission; the key as
    :func:`salt_free_keys` labels it, so that the fit does not depend on the store's salt."""
    if "respondent_key" not in a.columns and submissions is not None and "respondent_key" in submissions.columns:
        a = a.merge(submissions[["submission_id", "respondent_key"]], on="submission_id", how="left")
    if "respondent_key" in a.columns:
        key = salt_free_keys(a).fillna("sub:" + a["submission_id"].astype(str))
    else:
        key = "sub:" + a["submission_id"].astype(str)
    return (a["council_code"].astype(str) + "|" + a["assessment_type"].astype(str) + "|" + key.astype(str)).to_numpy()


def build_design(answers: pd.DataFrame, model: Model, submissions: pd.DataFrame | None = None) -> Design:
    """Lay out the answered levels of ``answers`` (the tidy frame of :func:`dqm.store.load`) for the sampler.

    ``respondent_key`` (a column of ``answers`` or of ``submissions``) links a respondent across waves;
    without it every submission is its own respondent. Answers other than ``self`` (independent, peer)
    are taken as unbiased on average: they set the scale of the latent levels.
    """
    from ..errors import DQMError

    a = answers[answers["level"].notna()].copy()
    if a.empty:
        raise DQMError("there are no answered levels to fit the measurement model to.",
                       hint="Ingest at least one survey export with answered levels.")
    dims = list(model.dimension_ids)
    a = a[a["dimension_id"].isin(dims)]
    a["person"] = _people(a, submissions)
    councils = np.array(sorted(a["council_code"].astype(str).unique()))
    waves = np.array(sorted(a["wave"].astype(int).unique()))
    D, W = len(dims), len(waves)
    oc = np.searchsorted(councils, a["council_code"].astype(str).to_numpy())
    ow = np.searchsorted(waves, a["wave"].astype(int).to_numpy())
    od = pd.Categorical(a["dimension_id"], categories=dims).codes.astype(int)
    is_self = (a["assessment_type"] == "self").to_numpy()
    # local person slots within each council
    pc = pd.DataFrame({"c": oc, "person": a["person"].to_numpy()})
    first = pc.drop_duplicates("person").copy()
    first["slot"] = first.groupby("c").cumcount()
    slot = pc["person"].map(first.set_index("person")["slot"]).to_numpy()
    pmax = int(first["slot"].max()) + 1
    person_real = np.zeros((len(councils), pmax), bool)
    person_real[first["c"].to_numpy(), first["slot"].to_numpy()] = True
    change = W > 1
    comp = [_G] + [_S] * D + ([_H] * W + [_K] * (W * D) if change else []) + [_B] + [_L] * pmax
    comp = np.array(comp)
    off_s, off_h = 1, 1 + D
    off_k = off_h + W
    off_b = (off_k + W * D) if change else 1 + D
    off_l = off_b + 1
    N = len(a)
    local = np.full((N, 6), -1, dtype=np.int64)
    local[:, 0] = 0
    local[:, 1] = off_s + od
    if change:
        local[:, 2] = off_h + ow
        local[:, 3] = off_k + ow * D + od
    local[:, 4] = np.where(is_self, off_b, -1)
    local[:, 5] = off_l + slot
    has_other = bool((~is_self).any())
    xcol = np.full((N, 2), -1, dtype=np.int64)
    xcol[:, 0] = ow * D + od
    p = W * D
    if has_other and is_self.any():
        xcol[:, 1] = np.where(is_self, W * D, -1)
        p += 1
    kinds = pd.DataFrame({"c": oc, "w": ow, "self": is_self, "slot": slot}).drop_duplicates()
    per = kinds.groupby(["c", "w", "self"]).size()
    has_replication = bool((per >= 2).any())
    n_per = kinds.assign(kind=np.where(kinds["self"], "n_self", "n_other")).pivot_table(
        index=["c", "w"], columns="kind", values="slot", aggfunc="count", fill_value=0).reset_index()
    for col in ("n_self", "n_other"):
        if col not in n_per:
            n_per[col] = 0
    n_per["council_code"] = councils[n_per["c"]]
    n_per["wave"] = waves[n_per["w"]]
    keys = kinds[["c", "w", "slot", "self"]].drop_duplicates()
    return Design(councils, waves, dims, (min(model.level_values), max(model.level_values)),
                  a["level"].astype(float).to_numpy(), oc, ow, od, is_self, slot, local, comp, person_real, xcol, p,
                  has_other, has_replication, n_per, keys)


def _block_products(dz: Design):
    """Per council: Z'Z (C, q, q), Z'X (C, q, p) and X'X (p, p), all of 0/1 designs."""
    C, q, p = dz.C, dz.q, dz.p
    L, c = dz.local, dz.obs_council
    ztz = np.zeros(C * q * q)
    for i in range(L.shape[1]):
        for j in range(L.shape[1]):
            m = (L[:, i] >= 0) & (L[:, j] >= 0)
            ztz += np.bincount((c[m] * q + L[m, i]) * q + L[m, j], minlength=C * q * q)
    ztx = np.zeros(C * q * p)
    for i in range(L.shape[1]):
        for j in range(dz.xcol.shape[1]):
            m = (L[:, i] >= 0) & (dz.xcol[:, j] >= 0)
            ztx += np.bincount((c[m] * q + L[m, i]) * p + dz.xcol[m, j], minlength=C * q * p)
    xtx = np.zeros(p * p)
    for i in range(dz.xcol.shape[1]):
        for j in range(dz.xcol.shape[1]):
            m = (dz.xcol[:, i] >= 0) & (dz.xcol[:, j] >= 0)
            xtx += np.bincount(dz.xcol[m, i] * p + dz.xcol[m, j], minlength=p * p)
    return ztz.reshape(C, q, q), ztx.reshape(C, q, p), xtx.reshape(p, p)


def _zt(dz: Design, v: np.ndarray) -> np.ndarray:
    """Z'v per council (C, q)."""
    C, q = dz.C, dz.q
    out = np.zeros(C * q)
    for i in range(dz.local.shape[1]):
        m = dz.local[:, i] >= 0
        out += np.bincount(dz.obs_council[m] * q + dz.local[m, i], weights=v[m], minlength=C * q)
    return out.reshape(C, q)


def _xt(dz: Design, v: np.ndarray) -> np.ndarray:
    out = np.zeros(dz.p)
    for j in range(dz.xcol.shape[1]):
        m = dz.xcol[:, j] >= 0
        out += np.bincount(dz.xcol[m, j], weights=v[m], minlength=dz.p)
    return out


def _zu(dz: Design, u: np.ndarray) -> np.ndarray:
    """Z u per answer."""
    out = np.zeros(len(dz.y))
    for i in range(dz.local.shape[1]):
        m = dz.local[:, i] >= 0
        out[m] += u[dz.obs_council[m], dz.local[m, i]]
    return out


def _xb(dz: Design, beta: np.ndarray) -> np.ndarray:
    out = np.zeros(len(dz.y))
    for j in range(dz.xcol.shape[1]):
        m = dz.xcol[:, j] >= 0
        out[m] += beta[dz.xcol[m, j]]
    return out


# ----------------------------------------------------------------------------------------------------------------
# the sampler
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class LatentFit:
    """The fitted measurement model: draws of every council's latent levels, and what was assumed.

    ``theta``: kept draws x councils x waves x dimensions (float32), the latent levels on the scale of
    independent assessments; ``sd``: kept draws x components (see :data:`COMPONENTS`); ``beta``: draws of
    the sector means (and the mean self-assessment offset, last, when estimable); ``notes``: what the
    data could not identify and what was assumed instead.
    """
    design: Design
    config: LatentConfig
    theta: np.ndarray
    sd: np.ndarray
    beta: np.ndarray
    fixed: dict
    notes: list
    sd_hat: pd.Series  # maximum-likelihood SD of each component (assumed value where fixed)
    sd_cov: pd.DataFrame  # Laplace covariance of the free SDs
    optimiser: dict
    cpu_seconds: float
    present: np.ndarray  # councils x waves: the council answered (any kind) in the wave

    @property
    def councils(self) -> np.ndarray:
        return self.design.councils

    @property
    def waves(self) -> np.ndarray:
        return self.design.waves

    def variance_components(self) -> pd.DataFrame:
        """Posterior mean and 90% interval of each component's standard deviation, and whether it was assumed."""
        rows = []
        for j, name in enumerate(COMPONENTS):
            x = self.sd[:, j]
            rows.append({"component": name, "sd_mean": float(x.mean()), "sd_p5": float(np.percentile(x, 5)),
                         "sd_p95": float(np.percentile(x, 95)), "status": self.fixed.get(name, "estimated")})
        return pd.DataFrame(rows)

    def assumptions(self) -> pd.DataFrame:
        """The notes as a table: topic, status and what is assumed (the reports print these in words)."""
        return pd.DataFrame(self.notes, columns=["topic", "status", "text"])


def _notes(dz: Design, cfg: LatentConfig) -> tuple[dict, list]:
    """Which components the data cannot identify, the value assumed for each, and notes in words."""
    fixed, notes = {}, []
    if len(dz.waves) == 1:
        fixed["council_wave"] = fixed["council_wave_dimension"] = 0.0
        notes.append(("change", "not estimable", "One wave only: no change between waves can be estimated."))
    if not dz.has_replication:
        fixed["residual"] = cfg.assumed["residual"]
        fixed["leniency"] = cfg.assumed["leniency"]
        notes.append(("respondents", "assumed",
                      "No council has two respondents of one kind in one wave, so the disagreement between "
                      "respondents cannot be told apart from a council's own profile. The model assumes a respondent's "
                      f"answer varies by {cfg.assumed['residual']:.2f} levels on a dimension and their leniency by "
                      f"{cfg.assumed['leniency']:.2f} levels, and every interval is widened accordingly; with two "
                      "respondents in some councils these would be measured instead."))
    else:
        notes.append(("respondents", "estimated",
                      "Disagreement between respondents and their leniency are estimated from the councils with two "
                      "or more respondents of one kind in a wave."))
    if not dz.has_other:
        fixed["self_bias"] = cfg.assumed["self_bias"]
        notes.append(("self-assessment bias", "assumed",
                      "No council has an independent or peer assessment, so how far self-assessments run high cannot "
                      "be estimated: levels are on the self-assessment scale (not corrected for any inflation), and "
                      f"each council's level is widened by an assumed council-to-council spread of {cfg.assumed['self_bias']:.2f} "
                      "levels in that inflation" + (f" ({cfg.assumed_because['self_bias']})"
                                                    if cfg.assumed_because.get("self_bias") else "") + "."))
    elif not (dz.obs_self.any()):
        fixed["self_bias"] = 0.0
        notes.append(("self-assessment bias", "not needed", "No self-assessments: no self-assessment bias to estimate."))
    else:
        both = dz.n_per.groupby("c")[["n_self", "n_other"]].sum()
        n_both = int(((both["n_self"] > 0) & (both["n_other"] > 0)).sum())
        notes.append(("self-assessment bias", "estimated",
                      f"The self-assessment bias (its sector mean and its spread between councils) is estimated from the "
                      f"{n_both:,} council{'' if n_both == 1 else 's'} with both a self-assessment and an independent or peer assessment; for the "
                      "others it is uncertain by that spread, which their intervals carry."))
    return fixed, notes


def _evaluate(dz: Design, prods, sd: np.ndarray, grad: bool = True) -> dict:
    """Log-likelihood of the answers at component SDs ``sd`` with every council's terms integrated out and the
    sector means at their GLS estimate (profile likelihood), its gradient in the SDs, and what the draws need.

    Woodbury per council block: V = s2e I + Z G Z', P = G^-1 + Z'Z / s2e, |V| = |G| |P| s2e^n and
    V^-1 = I / s2e - Z P^-1 Z' / s2e^2. The gradient uses Z'V^-1 Z = G^-1 - G^-1 P^-1 G^-1 and the
    councils' predicted terms u = P^-1 Z'r / s2e (Searle, Casella and McCulloch 1992, ch. 6).
    """
    ztz, ztx, xtx, zy, xy, yy = prods
    C, q, p = dz.C, dz.q, dz.p
    s2 = np.maximum(sd, 1e-4) ** 2
    s2e = s2[_E]
    g = s2[dz.comp]  # prior variance of each local position
    P = ztz / s2e + np.eye(q)[None] / g[None, :, None]
    Pinv = np.linalg.inv(P)
    Lc = np.linalg.cholesky(P)
    pz = Pinv @ ztx
    py = np.einsum("cij,cj->ci", Pinv, zy)
    A = (xtx - np.einsum("cqp,cqr->pr", ztx, pz) / s2e) / s2e
    b = (xy - np.einsum("cqp,cq->p", ztx, py) / s2e) / s2e
    A_inv = np.linalg.inv(A + 1e-10 * np.eye(p))
    beta = A_inv @ b
    yvy = (yy - np.einsum("cq,cq->", zy, py) / s2e) / s2e
    logdet = len(dz.y) * np.log(s2e) + C * np.log(g).sum() + 2 * np.log(np.diagonal(Lc, axis1=1, axis2=2)).sum()
    ll = -0.5 * (logdet + yvy - b @ beta + len(dz.y) * np.log(2 * np.pi))
    out = dict(ll=float(ll), P=P, Pinv=Pinv, Lc=Lc, pz=pz, py=py, A_inv=A_inv, beta=beta, s2e=s2e)
    if grad:
        u = (py - pz @ beta) / s2e  # councils' predicted terms (C, q)
        pdiag = np.diagonal(Pinv, axis1=1, axis2=2)
        d_s2 = np.zeros(len(COMPONENTS))
        for j in range(len(COMPONENTS)):
            if j == _E:
                continue
            m = dz.comp == j
            if m.any():
                d_s2[j] = (-0.5 * (1 / s2[j] - pdiag[:, m] / s2[j] ** 2) + 0.5 * u[:, m] ** 2 / s2[j] ** 2).sum()
        resid = dz.y - _xb(dz, beta) - _zu(dz, u)
        tr = np.einsum("cij,cji->", Pinv, ztz)
        d_s2[_E] = -0.5 * (len(dz.y) / s2e - tr / s2e ** 2) + 0.5 * (resid @ resid) / s2e ** 2
        out["grad"] = d_s2 * 2 * np.maximum(sd, 1e-4)  # d ll / d sd
        out["u"] = u
    return out


def _maximise(dz: Design, prods, sd0: np.ndarray, free: list) -> tuple[np.ndarray, dict]:
    """Maximum-likelihood SDs of the free components (L-BFGS-B with the analytic gradient)."""
    from scipy.optimize import minimize

    def f(x):
        sd = sd0.copy()
        sd[free] = x
        ev = _evaluate(dz, prods, sd)
        return -ev["ll"], -ev["grad"][free]

    res = minimize(f, sd0[free], jac=True, method="L-BFGS-B", bounds=[(1e-3, 5.0)] * len(free),
                   options={"maxiter": 200, "ftol": 1e-10, "gtol": 1e-6})
    sd = sd0.copy()
    sd[free] = res.x
    return sd, {"iterations": int(res.nit), "converged": bool(res.success), "message": str(res.message),
                "loglik": float(-res.fun)}


def _laplace_cov(dz: Design, prods, sd: np.ndarray, free: list, step: float = 1e-4) -> np.ndarray:
    """Covariance of the free SDs from the curvature of the log-likelihood at its maximum (central differences
    of the analytic gradient); directions with no curvature get a wide variance rather than none."""
    k = len(free)
    H = np.zeros((k, k))
    for i, j in enumerate(free):
        up, dn = sd.copy(), sd.copy()
        up[j] += step
        dn[j] = max(dn[j] - step, 1e-4)
        H[:, i] = (_evaluate(dz, prods, up)["grad"][free] - _evaluate(dz, prods, dn)["grad"][free]) / (up[j] - dn[j])
    H = (H + H.T) / 2
    vals, vecs = np.linalg.eigh(-H)
    vals = np.maximum(vals, 1.0)  # at most a variance of 1 (SD 1 level) in a flat direction
    return (vecs / vals) @ vecs.T


def fit_latent(answers: pd.DataFrame, model: Model, submissions: pd.DataFrame | None = None,
               config: LatentConfig | None = None, seed: int | None = None) -> LatentFit:
    """Fit the measurement model (module docstring) to the answered levels; seeded, so reproducible.

    ``answers``: the tidy answers of :func:`dqm.store.load` (current submissions, any waves and kinds);
    ``submissions``: its submissions frame, for ``respondent_key`` (respondents followed across waves).
    """
    t0 = time.process_time()
    cfg = config or load_config()
    rng = np.random.default_rng(cfg.seed if seed is None else seed)
    dz = build_design(answers, model, submissions)
    C, q, p, D, W = dz.C, dz.q, dz.p, len(dz.dims), len(dz.waves)
    fixed, notes = _notes(dz, cfg)
    ztz, ztx, xtx = _block_products(dz)
    prods = (ztz, ztx, xtx, _zt(dz, dz.y), _xt(dz, dz.y), float(dz.y @ dz.y))
    free = [j for j, n in enumerate(COMPONENTS) if n not in fixed]
    sd0 = np.array([fixed.get(n, 0.3) for n in COMPONENTS], dtype=float)
    sd0[_E] = fixed.get("residual", 0.5)
    sd_hat, info = _maximise(dz, prods, sd0, free)
    cov = _laplace_cov(dz, prods, sd_hat, free) if free else np.zeros((0, 0))
    n_vc, per = cfg.vc_draws, cfg.draws_per_vc
    theta = np.empty((n_vc * per, C, W, D), dtype=np.float32)
    sds = np.empty((n_vc * per, len(COMPONENTS)))
    betas = np.empty((n_vc * per, p))
    chol = np.linalg.cholesky(cov + 1e-12 * np.eye(len(free))) if free else None
    for m in range(n_vc):
        sd = sd_hat.copy()
        if free and m > 0:  # the first set is the estimate itself; the rest carry its uncertainty
            sd[free] = np.abs(sd_hat[free] + chol @ rng.standard_normal(len(free)))
        ev = _evaluate(dz, prods, sd, grad=False)
        beta = rng.multivariate_normal(ev["beta"], (ev["A_inv"] + ev["A_inv"].T) / 2, size=per)  # (per, p)
        mean_u = (ev["py"][:, None, :] - np.einsum("cqp,sp->csq", ev["pz"], beta)) / ev["s2e"]  # (C, per, q)
        z = rng.standard_normal((C, q, per))
        u = mean_u + np.transpose(np.linalg.solve(np.transpose(ev["Lc"], (0, 2, 1)), z), (0, 2, 1))
        th = beta[None, :, :W * D].reshape(1, per, W, D) + u[:, :, [0]][..., None] + u[:, :, None, 1:1 + D]
        if W > 1:
            th = th + u[:, :, 1 + D:1 + D + W][..., None] + u[:, :, 1 + D + W:1 + D + W + W * D].reshape(C, per, W, D)
        sl = slice(m * per, (m + 1) * per)
        theta[sl] = np.transpose(th, (1, 0, 2, 3))
        sds[sl] = sd
        betas[sl] = beta
    present = np.zeros((C, W), bool)
    present[dz.obs_council, dz.obs_wave] = True
    sd_fit = pd.Series(sd_hat, index=list(COMPONENTS))
    return LatentFit(dz, cfg, theta, sds, betas, fixed, notes, sd_fit, pd.DataFrame(cov, index=[COMPONENTS[j] for j in free],
                     columns=[COMPONENTS[j] for j in free]), info, time.process_time() - t0, present)
