"""Scoring: council levels, agreement, coherence, uncertainty, peer groups, change and targets.

Every function takes and returns tidy pandas DataFrames. Modules, in the order a score is built:

* ``levels``: respondents -> council level per dimension -> overall level (rules in the model file)
* ``agreement``: agreement between respondents (ICC) and the self versus independent gap
* ``coherence``: Cronbach's alpha, McDonald's omega, item-total correlations, first-component share
* ``uncertainty``: Monte Carlo over defensible choices -> score and rank intervals per council
* ``peers``: nearest-neighbour peer groups and the usual groupings
* ``change``: change between waves beyond measurement noise, sector trends, target realism
* ``sector``: summaries for the annual report (response rates, level shares, means)
* ``bodies``: only principal councils are scored or ranked (combined authorities and the GLA are left out)
"""
from .agreement import assessment_gap, icc_oneway, respondent_agreement
from .bodies import NotACouncilWarning, drop_non_councils
from .change import council_change, panel_change, sector_trend, target_realism
from .coherence import coherence, cronbach_alpha, mcdonald_omega
from .levels import council_levels, overall_level, round_half_up
from .peers import group_counts, nearest_neighbours
from .scores import council_scores
from .sector import (
    SUPPRESS_BELOW,
    dimension_means,
    level_shares,
    mean_with_ci,
    nonresponse_profile,
    response_rates,
    suppress_small,
    target_gaps,
)
from .uncertainty import monte_carlo_ranks, rank_statement

__all__ = ["NotACouncilWarning", "drop_non_councils", "assessment_gap", "icc_oneway", "respondent_agreement", "council_change", "panel_change", "sector_trend",
           "target_realism", "coherence", "cronbach_alpha", "mcdonald_omega", "group_counts", "nearest_neighbours",
           "council_scores", "monte_carlo_ranks", "rank_statement", "nonresponse_profile",
           "council_levels", "overall_level", "round_half_up", "SUPPRESS_BELOW", "dimension_means", "level_shares",
           "mean_with_ci", "response_rates", "suppress_small", "target_gaps"]
