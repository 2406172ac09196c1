"""Performance benchmarks. Run with `make bench`; results print as a table and go to benchmarks/results/.

Each benchmark measures the workbook and a baseline side by side in the same run and reports the
ratio, so the figures mean the same on a faster or slower machine. Targets are printed, never asserted.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
kind, path, store = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
if kind == "ingest":
    from dqm.store import ingest_files
    res = ingest_files([Path(path)], wave=2026, store=store)[0]
    rows = res.rows_read
    assert res.rows_read == res.stored + res.superseded + res.rejected
else:  # baseline: the file read into pandas, nothing else
    import pandas as pd
    rows = len(pd.read_csv(path, dtype=str, keep_default_na=False))
secs = time.perf_counter() - t
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": secs, "rows": rows, "peak_mb": peak_mb}))
"""


def _child(kind, path, store):
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(store)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_ingest(n=20_000, repeats=3):
    from dqm.demo import write_bulk_export

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        export = write_bulk_export(tmp / "bulk.csv", n)
        runs = []
        for i in range(repeats):  # alternate, so both see the same machine state
            base = _child("baseline", export, tmp / f"none{i}")
            ing = _child("ingest", export, tmp / f"store{i}.duckdb")
            runs.append((ing, base))
        best_ing = min(runs, key=lambda r: r[0]["seconds"])[0]
        best_base = min(runs, key=lambda r: r[1]["seconds"])[1]
        return {
            "benchmark": "ingest", "submissions": n, "file_mb": round(export.stat().st_size / 1e6, 1),
            "seconds": round(best_ing["seconds"], 2), "rows_per_second": round(n / best_ing["seconds"]),
            "peak_mb": round(best_ing["peak_mb"]), "baseline_pandas_read_seconds": round(best_base["seconds"], 2),
            "ratio_to_baseline": round(best_ing["seconds"] / best_base["seconds"], 1),
            "target": "20,000 submissions in under 10 s", "meets_target": best_ing["seconds"] < 10,
        }


def _answers_for(n_councils=400, waves=(2024, 2025, 2026), respondents=2, seed=1):
    import numpy as np
    import pandas as pd

    from dqm.model import load_model

    model = load_model()
    rng = np.random.default_rng(seed)
    dims = model.dimension_ids
    codes = [f"C{i:03d}" for i in range(n_councils)]
    latent = rng.normal(3, 0.6, n_councils)
    frames, sid = [], 0
    for w_i, wave in enumerate(waves):
        for _r in range(respondents):
            lv = np.clip(np.rint(latent[:, None] + 0.15 * w_i + rng.normal(0, 0.5, (n_councils, len(dims)))), 1, 5)
            ids = np.arange(sid, sid + n_councils)
            sid += n_councils
            frames.append(pd.DataFrame({
                "submission_id": np.repeat(ids, len(dims)), "council_code": np.repeat(codes, len(dims)),
                "wave": wave, "assessment_type": "self", "dimension_id": np.tile(dims, n_councils),
                "level": lv.ravel().astype(int)}))
    return pd.concat(frames, ignore_index=True), model


def bench_scoring(n_draws=1000, repeats=3):
    """400 councils x 3 waves x 1,000 Monte Carlo draws, against one deterministic scoring pass."""
    from dqm.scoring import council_levels, monte_carlo_ranks

    answers, model = _answers_for()
    mc, det = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        council_levels(answers, model)
        det.append(time.perf_counter() - t)
        t = time.perf_counter()
        res = monte_carlo_ranks(answers, model, n_draws=n_draws)
        mc.append(time.perf_counter() - t)
    return {
        "benchmark": "scoring", "councils": 400, "waves": 3, "draws": n_draws, "councils_scored": len(res),
        "seconds": round(min(mc), 2), "deterministic_pass_seconds": round(min(det), 3),
        "ratio_to_deterministic_pass": round(min(mc) / min(det), 1),
        "target": "400 councils x 3 waves x 1,000 draws in under 10 s", "meets_target": min(mc) < 10,
    }


def bench_claims(repeats=2):
    """The full battery on the demo data: every claim, >= 48 specifications each, 2,000 BCa resamples,
    against the main estimates alone (no bootstrap, no specification curve) in the same run."""
    import pandas as pd

    import dqm
    from dqm.claims import EngineConfig, evaluate_claims, load_claims
    from dqm.model import load_model
    from dqm.outcomes import load_outcomes
    from dqm.paths import demo_dir
    from dqm.store import ingest_files

    model = load_model()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "demo.duckdb"
        exports = demo_dir() / "exports"
        for r in pd.read_csv(exports / "manifest.csv").itertuples():
            ingest_files([exports / r.file], wave=int(r.wave), store=store, assessment_type=r.assessment_type)
        data = dqm.load(store, model=model)
    claims, outcomes = load_claims(), load_outcomes()
    full, light = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        res = evaluate_claims(claims, data.councils, outcomes, model, 2026, EngineConfig(n_boot=2000, n_null_boot=500))
        full.append(time.perf_counter() - t)
        t = time.perf_counter()
        evaluate_claims(claims, data.councils, outcomes, model, 2026, EngineConfig(n_boot=0, n_null_boot=0, spec_curve=False))
        light.append(time.perf_counter() - t)
    specs = [len(r.specs) for r in res if r.claim.kind == "association" and r.verdict != "untestable"]
    return {
        "benchmark": "claims", "claims": len(claims), "tested": sum(r.verdict != "untestable" for r in res),
        "min_specifications": min(specs), "total_specifications": sum(specs), "bca_resamples": 2000,
        "joint_test_resamples": 500, "seconds": round(min(full), 2), "main_estimates_only_seconds": round(min(light), 2),
        "ratio_to_main_estimates": round(min(full) / min(light), 1),
        "target": "full battery in under 20 s", "meets_target": min(full) < 20,
    }


BENCHMARKS = {"ingest": bench_ingest, "scoring": bench_scoring, "claims": bench_claims}


def main(names=None):
    RESULTS.mkdir(exist_ok=True)
    for name in names or BENCHMARKS:
        t = time.perf_counter()
        result = BENCHMARKS[name]()
        result["wall_seconds"] = round(time.perf_counter() - t, 1)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
        print(f"\n{name}")
        for k, v in result.items():
            print(f"  {k:32s} {v}")


if __name__ == "__main__":
    main(sys.argv[1:] or None)
