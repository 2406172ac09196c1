"""Claims: the pre-registered registry, the engine that tests each claim, and the engine's own checks.

* ``registry``: load and validate ``data/claims.yaml``
* ``frame``: one analysis table per claim (exposures, outcome, controls)
* ``ols``: batched OLS with HC3 standard errors (checked against statsmodels)
* ``engine``: estimates, equivalence, MDE, Holm, specification curve, verdicts
* ``run``: the whole registry against a store; tidy results
* ``panel``: change against change across waves, where outcome periods allow
* ``simulation``: the engine on synthetic councils, to show it is honest
"""
from .engine import VERDICT_RULE, ClaimResult, EngineConfig, verdict
from .registry import Claim, load_claims
from .run import evaluate_claims, losses_sentence, losses_table, results_json, results_table

__all__ = ["VERDICT_RULE", "ClaimResult", "EngineConfig", "verdict", "Claim", "load_claims", "evaluate_claims",
           "losses_sentence", "losses_table",
           "results_json", "results_table"]
