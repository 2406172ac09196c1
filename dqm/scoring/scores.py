"""The council score table: what `dqm score` prints and the council reports quote.

One row per council (self-assessment, one wave): respondents, coverage, overall level under the
model's rule, overall mean, the Monte Carlo score and rank intervals, and what may be said about the
council's position (only what its whole rank interval supports).
"""
from __future__ import annotations

import pandas as pd

from ..model import Model
from .uncertainty import monte_carlo_ranks


def council_scores(council_levels: pd.DataFrame, answers: pd.DataFrame, model: Model, wave: int,
                   n_draws: int = 1000, seed: int = 20261122) -> pd.DataFrame:
    """One row per council with a self-assessment in ``wave``: its level and where it stands, with intervals.

    ``council_levels`` and ``answers`` are the ``councils`` and ``answers`` frames of :func:`dqm.load`;
    ``model`` is the quality model (``data.model``). Columns: council_code, wave, n_respondents,
    coverage (dimensions answered), overall_level (the model's rule), overall_mean, councils_ranked,
    score_median, score_p5, score_p95, rank_median, rank_p5, rank_p95 (1 = highest, over ``n_draws``
    seeded Monte Carlo draws, see :mod:`dqm.scoring.uncertainty`) and position (what the whole rank
    interval supports). Councils answering too few dimensions have no score or rank. Names councils:
    for analysts, not for publication. ``dqm.scores()`` is the same table with council names.

    >>> import dqm
    >>> data = dqm.load()
    >>> s = council_scores(data.councils, data.answers, data.model, 2026, n_draws=50)
    >>> s.columns.tolist()[:6]
    ['council_code', 'wave', 'n_respondents', 'coverage', 'overall_level', 'overall_mean']
    """
    lv = council_levels[(council_levels["wave"] == wave) & (council_levels["assessment_type"] == "self")]
    mc = monte_carlo_ranks(answers[answers["wave"] == wave], model, n_draws=n_draws, seed=seed)
    cols = ["council_code", "wave", "n_respondents", "coverage", "overall_level", "overall_mean"]
    out = lv[cols].merge(mc.drop(columns=["wave", "n_respondents"]), on="council_code", how="left")
    return out.sort_values("council_code").reset_index(drop=True)
