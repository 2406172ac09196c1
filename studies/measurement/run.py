"""Run the measurement-model simulation study and write results/*.csv and results/summary.md.

    PYTHONPATH=. python studies/measurement/run.py --reps 30 --councils 150

Prints the CPU seconds it took (this process and its children). ``--parts`` runs some parts only (ranks,
change, exposure, engine_exposure) and writes ``results/summary_<parts>.md`` instead of ``summary.md``.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from study import (  # noqa: E402
    ALL_SCENARIOS,
    EXPOSURE_VARIANTS,
    SCENARIOS,
    change_replication,
    engine_exposure_replication,
    exposure_replication,
    mc_summary,
    rank_replication,
)

PARTS = ("ranks", "change", "exposure", "engine_exposure")

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
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    ap.add_argument("--old", type=int, default=1, help="0: leave out the old engine (ranks and change parts)")
    ap.add_argument("--scenarios", default="",
                    help="comma-separated scenario names for the ranks part (default: all of study.SCENARIOS; "
                         "also NAME_unclipped: the answers not clipped at 1 and 5)")
    ap.add_argument("--methods", default="latent,latent_plugin,latent_mixture",
                    help="comma-separated model methods of the ranks part: latent, latent_posterior, latent_plugin, latent_mixture (the old engine: --old)")
    ap.add_argument("--variants", default="no_independent",
                    help="comma-separated variants of the engine_exposure part: " + ", ".join(EXPOSURE_VARIANTS))
    ap.add_argument("--whole-level", type=int, default=0,
                    help="1: in the change part, changed councils move one level on every dimension (the overall "
                         "level moves one level) instead of on one dimension")
    ap.add_argument("--tag", default="", help="added to the names of the files written for a partial run")
    a = ap.parse_args(argv)
    parts = [p for p in a.parts.split(",") if p]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"unknown part(s) {bad}; choose from {PARTS}")
    OUT.mkdir(exist_ok=True)
    t0 = time.time()
    tag = "" if set(parts) == set(PARTS) and not a.scenarios else "_" + "_".join(parts) + (a.tag and "_" + a.tag)
    sections = []
    if "ranks" in parts:
        ranks = []
        chosen = [n for n in a.scenarios.split(",") if n] or list(SCENARIOS)
        for name in chosen:
            sc = ALL_SCENARIOS[name]
            for r in range(a.reps):
                ranks += rank_replication(sc, a.councils, a.seed + r, old=bool(a.old),
                                          methods=tuple(m for m in a.methods.split(",") if m))
            print(f"{name}: {time.time() - t0:.0f} s", flush=True)
        ranks = pd.DataFrame(ranks)
        ranks.to_csv(OUT / f"ranks_replications{tag}.csv", index=False, float_format="%.4f")
        rs = mc_summary(ranks, ["scenario", "method"], ["coverage", "coverage_top", "coverage_bottom", "median_width"])
        sections.append(("Rank intervals (5th-95th)", rs))
    if "change" in parts:
        changes = []
        for same in (True, False):
            for r in range(a.reps):
                changes += change_replication(SCENARIOS["mixed_1_to_3"], a.councils, a.seed + 500 + r, same=same,
                                              change_share=0.3, old=bool(a.old), whole_level=bool(a.whole_level))
            print(f"change same={same}: {time.time() - t0:.0f} s", flush=True)
        changes = pd.DataFrame(changes)
        changes.to_csv(OUT / f"change_replications{tag}.csv", index=False, float_format="%.4f")
        cs = mc_summary(changes, ["respondents", "method"], ["false_flag", "power", "stated_power"]
                        + ["overall_false_flag", "overall_power", "overall_stated_power"])
        moved = "every dimension (the overall level)" if a.whole_level else "one dimension"
        sections.append((f"Change flags (two waves; 30% of councils move one level on {moved})", cs))
    if "exposure" in parts:
        exposure = pd.DataFrame([row for r in range(a.reps) for row in exposure_replication(a.exposure_councils,
                                                                                            a.seed + 900 + r)])
        exposure.to_csv(OUT / "exposure_replications.csv", index=False, float_format="%.4f")
        exposure["ratio"] = exposure["estimate"] / 0.25
        sections.append(("Exposure (true effect 0.25)", mc_summary(exposure, ["method"], ["ratio", "covers", "reliability"])))
    if "engine_exposure" in parts:
        variants = [v for v in a.variants.split(",") if v]
        bad = [v for v in variants if v not in EXPOSURE_VARIANTS]
        if bad:
            ap.error(f"unknown variant(s) {bad}; choose from {list(EXPOSURE_VARIANTS)}")
        rows = []
        for v in variants:
            rows += [row for conf in (0.0, 0.5) for r in range(a.reps)
                     for row in engine_exposure_replication(a.exposure_councils, a.seed + 900 + r, confounder=conf,
                                                            variant=v)]
            print(f"engine_exposure {v}: {time.time() - t0:.0f} s", flush=True)
        eng = pd.DataFrame(rows)
        eng.to_csv(OUT / f"engine_exposure_replications{tag}.csv", index=False, float_format="%.4f")
        eng["ratio"] = eng["estimate"] / 0.25
        sections.append(("The claims engine's exposure (dqm.claims.evaluate_claims; true effect 0.25; confounder: "
                         "correlation of the claim's control with the true level; stated_overstatement: what the "
                         "measurement notes say the effect may be overstated by if self-ratings share no bias)",
                         mc_summary(eng, ["variant", "confounder", "method"],
                                    ["ratio", "covers", "reliability", "stated_overstatement"])))
    cpu = cpu_seconds()
    cmd = "PYTHONPATH=. python studies/measurement/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with open(OUT / f"summary{tag}.md", "w") as fh:
        fh.write(f"# Measurement model study: results{' (' + ', '.join(parts) + ')' if tag else ''}\n\n"
                 f"Command: `{cmd}`  \nCPU seconds (self + children): {cpu:.0f}; wall {time.time() - t0:.0f} s.\n")
        for title, tab in sections:
            fh.write(f"\n## {title}\n\n" + markdown(tab) + "\n")
    print(open(OUT / f"summary{tag}.md").read())


if __name__ == "__main__":
    main()
