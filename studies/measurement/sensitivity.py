"""Sensitivity: the rank study without the assumed self-assessment-bias spread (data/measurement.yaml, 0.15), for
scenarios with no independent assessment. Run: PYTHONPATH=. python studies/measurement/sensitivity.py"""
import resource
import sys

import pandas as pd

sys.path.insert(0, __import__("os").path.dirname(__file__))
from study import *

cfg0 = load_config()
cfg = cfg0.replace(assumed={**cfg0.assumed, "self_bias": 0.0})
rows = []
for name in ["mixed_1_to_3", "one_respondent_each", "skewed_councils", "low_icc"]:
    for r in range(10):
        rows += [x for x in rank_replication(SCENARIOS[name], 150, 1000 + r, old=False, config=cfg) if x["method"] == "latent"]
df = pd.DataFrame(rows)
s = mc_summary(df, ["scenario"], ["coverage", "coverage_top", "coverage_bottom", "median_width"])
s.to_csv("studies/measurement/results/sensitivity_no_self_bias_prior.csv", index=False, float_format="%.4f")
u = resource.getrusage(resource.RUSAGE_SELF)
print(s.round(3).to_string())
print("CPU s", round(u.ru_utime + u.ru_stime))
