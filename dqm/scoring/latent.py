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

**The fit.** A Gibbs sampler with data augmentation (Albert and Chib 1993): the latent answers are drawn
from their truncated normals given everything else, so the rounding and the floor and ceiling of the
scale are in the likelihood, not approximated. Every random term is nested in a council, so given the
latent answers the council's terms are drawn jointly, from one small Gaussian block per council, after
the sector means are drawn with the councils' terms integrated out (a collapsed step that mixes well);
the standard deviations are updated together by an adaptive random-walk Metropolis step on their
logarithms, using the likelihood with every council's terms integrated out (exact, from the same
blocks), so that a component informed by few councils (self-assessment bias) does not stick.
Half-normal priors (``data/measurement.yaml``) keep them proper. The draws therefore carry
respondents' disagreement, leniency, rounding, the uncertainty of the self-assessment bias and of
the variance components themselves. ``likelihood="gaussian"`` takes answers as continuous instead
(the Gaussian approximation, kept to show what rounding adds).

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
from scipy import special

from ..model import Model

COMPONENTS = ("council", "council_dimension", "council_wave", "council_wave_dimension", "self_bias", "leniency",
              "residual")
_G, _S, _H, _K, _B, _L, _E = range(7)


@dataclass(frozen=True)
class LatentConfig:
    """The sampler's settings, priors and stated assumptions (read from ``data/measurement.yaml``)."""
    iterations: int = 900
    burn_in: int = 300
    seed: int = 20261122
    prior_scale: dict = field(default_factory=lambda: dict(zip(COMPONENTS, (1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 1.0))))
    assumed: dict = field(default_factory=lambda: {"residual": 0.55, "leniency": 0.25, "self_bias": 0.30})
    alpha: float = 0.05
    likelihood: str = "rounded"

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
        s, a = y["sampler"], y["assumed"]
        cfg = LatentConfig(iterations=int(s["iterations"]), burn_in=int(s["burn_in"]), seed=int(s["seed"]),
                           prior_scale={k: float(y["prior_scale"][k]) for k in COMPONENTS},
                           assumed={k: float(a[k]) for k in ("residual", "leniency", "self_bias")},
                           alpha=float(y["change"]["alpha"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise DQMError(f"the measurement model settings lack or mistype {exc}.", file=path,
                       hint="Compare with the file in the dqm repository (data/measurement.yaml).") from None
    if not 0 < cfg.burn_in < cfg.iterations:
        raise DQMError("sampler.burn_in must be positive and smaller than sampler.iterations.", file=path)
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


def _people(a: pd.DataFrame, submissions: pd.DataFrame | None) -> pd.Series:
    """A key per respondent: respondent_key (persists across waves) where known, else the submission."""
    if "respondent_key" not in a.columns and submissions is not None and "respondent_key" in submissions.columns:
        a = a.merge(submissions[["submission_id", "respondent_key"]], on="submission_id", how="left")
    if "respondent_key" in a.columns:
        key = a["respondent_key"].astype("string").fillna("sub:" + a["submission_id"].astype(str))
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
    acceptance: float
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
                      "levels in that inflation."))
    elif not (dz.obs_self.any()):
        fixed["self_bias"] = 0.0
        notes.append(("self-assessment bias", "not needed", "No self-assessments: no self-assessment bias to estimate."))
    else:
        both = dz.n_per.groupby("c")[["n_self", "n_other"]].sum()
        n_both = int(((both["n_self"] > 0) & (both["n_other"] > 0)).sum())
        notes.append(("self-assessment bias", "estimated",
                      f"The self-assessment bias (its sector mean and its spread between councils) is estimated from the "
                      f"{n_both} council(s) with both a self-assessment and an independent or peer assessment; for the "
                      "others it is uncertain by that spread, which their intervals carry."))
    return fixed, notes


def _truncnorm(rng, mean, sd, lo, hi):
    """Draws from N(mean, sd^2) truncated to (lo, hi), by the inverse CDF (reflected for stability)."""
    a, b = (lo - mean) / sd, (hi - mean) / sd
    flip = a > 0  # work in the lower tail, where the normal CDF is accurate
    a2, b2 = np.where(flip, -b, a), np.where(flip, -a, b)
    pa, pb = special.ndtr(a2), special.ndtr(b2)
    u = pa + rng.uniform(size=mean.shape) * (pb - pa)
    z = special.ndtri(np.clip(u, 1e-300, 1 - 1e-16))
    z = np.where(flip, -z, z)
    z = np.clip(z, a, b)
    return mean + sd * z


def _block_solve(ztz, ztx, dprec, s2e):
    """Per-council precision P = Z'Z/s2e + diag(dprec), its Cholesky and P^-1 Z'X (batched)."""
    P = ztz / s2e + dprec[:, :, None] * np.eye(ztz.shape[1])[None]
    Lc = np.linalg.cholesky(P)
    return P, Lc, np.linalg.solve(P, ztx)


def _collapsed_loglik(n, Lc, zr_r, pinv_zr_r, rr, s2e, dprec_log) -> float:
    """log p(latent answers | sector means, SDs) with every council's terms integrated out (Woodbury)."""
    logdet_P = 2 * np.log(np.diagonal(Lc, axis1=1, axis2=2)).sum()
    quad = rr / s2e - np.einsum("cq,cq->", zr_r, pinv_zr_r) / s2e ** 2
    return -0.5 * (n * np.log(s2e) + dprec_log + logdet_P + quad)


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
    lo_lv, hi_lv = dz.levels
    y = dz.y
    lo = np.where(y <= lo_lv, -np.inf, y - 0.5)
    hi = np.where(y >= hi_lv, np.inf, y + 0.5)
    rounded = cfg.likelihood == "rounded"
    free = [j for j, name in enumerate(COMPONENTS) if name not in fixed]
    scale = np.array([cfg.prior_scale[n] for n in COMPONENTS])
    # starting values: a third of the answers' spread each, assumed values where fixed
    log_sd = np.log(np.array([fixed.get(n, 0.3 if n != "residual" else 0.5) for n in COMPONENTS]).clip(1e-3))
    ystar = y.copy()
    prop_cov = np.eye(len(free)) * 0.05 ** 2
    hist, accepted = [], 0
    keep = cfg.iterations - cfg.burn_in
    theta = np.empty((keep, C, W, D), dtype=np.float32)
    sds = np.empty((keep, len(COMPONENTS)))
    betas = np.empty((keep, p))

    def state(log_sd_, zr, rr):
        sd = np.exp(log_sd_)
        s2 = sd ** 2
        # a fixed-at-zero component: a tiny SD keeps the block well posed and contributes nothing
        s2c = np.where(s2 < 1e-10, 1e-10, s2)
        dprec = np.broadcast_to(1 / s2c[dz.comp], (C, q))
        dprec_log = float(np.log(s2c[dz.comp]).sum() * C)
        P, Lc, pz = _block_solve(ztz, ztx, dprec, s2c[_E])
        # the sector means with the councils' terms integrated out
        s2e = s2c[_E]
        A = (xtx - np.einsum("cqp,cqr->pr", ztx, pz) / s2e) / s2e + 1e-8 * np.eye(p)
        return dict(sd=sd, s2e=s2e, dprec_log=dprec_log, P=P, Lc=Lc, pz=pz, pr=np.linalg.solve(P, zr[..., None])[..., 0],
                    A=A)

    def loglik(st, zr, xr, rr, beta):
        """Collapsed log-likelihood at sector means beta: residual r = y* - X beta."""
        zr_r = zr - np.einsum("cqp,p->cq", ztx, beta)
        pinv = st["pr"] - np.einsum("cqp,p->cq", st["pz"], beta)
        rr_b = rr - 2 * beta @ xr + beta @ xtx @ beta
        return _collapsed_loglik(len(y), st["Lc"], zr_r, pinv, rr_b, st["s2e"], st["dprec_log"])

    def logprior(log_sd_):
        sd = np.exp(log_sd_[free])
        return float((-0.5 * (sd / scale[free]) ** 2 + log_sd_[free]).sum())  # half-normal, Jacobian of log

    zr, xr, rr = _zt(dz, ystar), _xt(dz, ystar), float(ystar @ ystar)
    st = state(log_sd, zr, rr)
    beta = np.linalg.solve(xtx + 1e-8 * np.eye(p), xr)
    for it in range(cfg.iterations):
        # 1. the SDs, with the councils' terms integrated out (adaptive random-walk Metropolis on their logs)
        if free:
            prop = log_sd.copy()
            prop[free] += rng.multivariate_normal(np.zeros(len(free)), prop_cov)
            st_new = state(prop, zr, rr)
            cur = loglik(st, zr, xr, rr, beta) + logprior(log_sd)
            new = loglik(st_new, zr, xr, rr, beta) + logprior(prop)
            if np.log(rng.uniform()) < new - cur:
                log_sd, st = prop, st_new
                accepted += it >= cfg.burn_in
            hist.append(log_sd[free].copy())
            if it < cfg.burn_in and it >= 50 and it % 25 == 0:
                h = np.array(hist[len(hist) // 2:])
                prop_cov = np.cov(h.T).reshape(len(free), len(free)) * 2.38 ** 2 / len(free) + 1e-6 * np.eye(len(free))
        # 2. sector means, councils' terms integrated out
        s2e = st["s2e"]
        b_vec = (xr - np.einsum("cqp,cq->p", ztx, st["pr"]) / s2e) / s2e
        cov_b = np.linalg.inv(st["A"])
        cov_b = (cov_b + cov_b.T) / 2
        beta = rng.multivariate_normal(cov_b @ b_vec, cov_b)
        # 3. every council's terms jointly, given the sector means
        mean_u = (st["pr"] - np.einsum("cqp,p->cq", st["pz"], beta)) / s2e
        z = rng.standard_normal((C, q, 1))
        u = mean_u + np.linalg.solve(np.transpose(st["Lc"], (0, 2, 1)), z)[..., 0]
        # 4. the latent answers given everything else
        m = _xb(dz, beta) + _zu(dz, u)
        if rounded:
            ystar = _truncnorm(rng, m, np.sqrt(s2e), lo, hi)
            zr, xr, rr = _zt(dz, ystar), _xt(dz, ystar), float(ystar @ ystar)
            st["pr"] = np.linalg.solve(st["P"], zr[..., None])[..., 0]
        if it >= cfg.burn_in:
            i = it - cfg.burn_in
            th = beta[:W * D].reshape(1, W, D) + u[:, [0]][:, :, None] + u[:, None, 1:1 + D]
            if W > 1:
                th = th + u[:, 1 + D:1 + D + W][:, :, None] + u[:, 1 + D + W:1 + D + W + W * D].reshape(C, W, D)
            theta[i] = th
            sds[i] = np.where(np.exp(log_sd) < 1e-4, 0.0, np.exp(log_sd))
            betas[i] = beta
    present = np.zeros((C, W), bool)
    present[dz.obs_council, dz.obs_wave] = True
    acc = accepted / keep if free else np.nan
    return LatentFit(dz, cfg, theta, sds, betas, fixed, notes, acc, time.process_time() - t0, present)
