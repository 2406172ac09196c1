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


BENCHMARKS = {"ingest": bench_ingest}


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
