"""Run the measurement-model simulation study and write results/*.csv and results/summary.md.

    PYTHONPATH=. python studies/measurement/run.py --reps 30 --councils 150

Prints the CPU seconds it took (this process and its children).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from study import SCENARIOS, change_replication, exposure_replication, mc_summary, rank_replication  # noqa: E402

OUT = Path(__file__).parent / "results"


def cpu_seconds() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def markdown(df: pd.DataFrame) -> str:
    """A pipe table (3 decimals), without the optional tabulate package."""
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--councils", type=int, default=150)
    ap.add_argument("--exposure-councils", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1000)
    a = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    t0 = time.time()
    ranks, changes, exposure = [], [], []
    for name, sc in SCENARIOS.items():
        for r in range(a.reps):
            ranks += rank_replication(sc, a.councils, a.seed + r)
        print(f"{name}: {time.time() - t0:.0f} s", flush=True)
    for same in (True, False):
        for r in range(a.reps):
            changes += change_replication(SCENARIOS["mixed_1_to_3"], a.councils, a.seed + 500 + r, same=same,
                                          change_share=0.3)
        print(f"change same={same}: {time.time() - t0:.0f} s", flush=True)
    for r in range(a.reps):
        exposure += exposure_replication(a.exposure_councils, a.seed + 900 + r)
    ranks, changes, exposure = pd.DataFrame(ranks), pd.DataFrame(changes), pd.DataFrame(exposure)
    ranks.to_csv(OUT / "ranks_replications.csv", index=False, float_format="%.4f")
    changes.to_csv(OUT / "change_replications.csv", index=False, float_format="%.4f")
    exposure.to_csv(OUT / "exposure_replications.csv", index=False, float_format="%.4f")
    rs = mc_summary(ranks, ["scenario", "method"], ["coverage", "coverage_top", "coverage_bottom", "median_width"])
    cs = mc_summary(changes, ["respondents", "method"], ["false_flag", "power", "stated_power"])
    exposure["ratio"] = exposure["estimate"] / 0.25
    es = mc_summary(exposure, ["method"], ["ratio", "covers", "reliability"])
    cpu = cpu_seconds()
    cmd = "PYTHONPATH=. python studies/measurement/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with open(OUT / "summary.md", "w") as fh:
        fh.write(f"# Measurement model study: results\n\nCommand: `{cmd}`  \nCPU seconds (self + children): {cpu:.0f}; "
                 f"wall {time.time() - t0:.0f} s.\n\n## Rank intervals (5th-95th)\n\n")
        fh.write(markdown(rs) + "\n\n## Change flags (two waves; 30% of councils move "
                 "one level on one dimension)\n\n")
        fh.write(markdown(cs) + "\n\n## Exposure (true effect 0.25)\n\n")
        fh.write(markdown(es) + "\n")
    print(open(OUT / "summary.md").read())


if __name__ == "__main__":
    main()
