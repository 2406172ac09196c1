"""Council reports three ways, side by side in one run, and `dqm run` against its parts.

    python benchmarks/batch_reports.py [--councils 40] [--slow-sample N] [--skip-run]

1. naive: per council, the papermill command line and then the nbconvert command line, as a user
   would script it (a new kernel, new imports and a new exporter for every report);
2. one kernel per report: `dqm.reports.run_report` in a loop (the path `dqm report council --all`
   took before the batch);
3. batch: `dqm report councils --jobs 2 --force`.

Each way runs in its own process tree; peak memory is the largest sum of the resident memory of that
tree (the command, its workers and their kernels), sampled every 0.1 s. The slow ways can be measured
on the first ``--slow-sample`` councils only (seconds per report are what is compared). The batch is
also timed on 4 councils, so that its fixed cost (start-up, shared inputs) and its cost per report can
be told apart and extrapolated to 400 councils. Targets are printed, never asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BIN = Path(sys.executable).parent


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p] + p.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def timed(cmd: list[str], cwd=None, env=None) -> dict:
    """Run a command; wall seconds and the peak resident memory of its whole process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    t.join()
    secs = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{err[-3000:]}")
    return {"seconds": secs, "peak_mb": peak[0] / 2**20, "stdout": out, "stderr": err}


def build_store(tmp: Path) -> Path:
    code = ("import pandas as pd, sys\nfrom dqm.paths import demo_dir\nfrom dqm.store import ingest_files\n"
            "ex = demo_dir() / 'exports'\n"
            "for r in pd.read_csv(ex / 'manifest.csv').itertuples():\n"
            "    ingest_files([ex / r.file], wave=int(r.wave), store=sys.argv[1], assessment_type=r.assessment_type)\n")
    store = tmp / "demo.duckdb"
    subprocess.run([sys.executable, "-c", code, str(store)], check=True, capture_output=True)
    return store


def councils(store: Path, n: int) -> list[str]:
    from dqm.reports.notebook import councils_in_wave

    return councils_in_wave(store, 2026)[:n]


def naive(store: Path, codes: list[str], out: Path) -> dict:
    """papermill CLI then nbconvert CLI per council, in one shell loop."""
    nb = ROOT / "notebooks" / "council_benchmark.ipynb"
    out.mkdir(parents=True, exist_ok=True)
    script = out / "loop.sh"
    lines = ["set -e"]
    for c in codes:
        executed = out / f"council-{c}-2026.ipynb"
        lines.append(f"{BIN / 'papermill'} -k python3 --cwd {ROOT / 'notebooks'} --no-progress-bar "
                     f"-p council {c} -p wave 2026 -p store {store} {nb} {executed} > /dev/null 2>&1")
        lines.append(f"{BIN / 'jupyter'}-nbconvert --to html --no-input {executed} > /dev/null 2>&1")
    script.write_text("\n".join(lines) + "\n")
    r = timed(["bash", str(script)])
    assert len(list(out.glob("council-*-2026.html"))) == len(codes)
    return r


def one_kernel_per_report(store: Path, codes: list[str], out: Path) -> dict:
    code = ("import sys\nfrom dqm.reports import run_report\n"
            "for c in sys.argv[3:]:\n    run_report('council', 2026, store=sys.argv[1], out_dir=sys.argv[2], council=c)\n")
    r = timed([sys.executable, "-c", code, str(store), str(out), *codes])
    assert len(list(out.glob("council-*-2026.html"))) == len(codes)
    return r


def batch(store: Path, codes: list[str], out: Path, jobs: int = 2) -> dict:
    r = timed([str(BIN / "dqm"), "report", "councils", "--wave", "2026", "--store", str(store), "--out-dir", str(out),
               "--jobs", str(jobs), "--force", "--councils", ",".join(codes)])
    assert len(list(out.glob("council-*-2026.html"))) == len(codes), r["stdout"]
    return r


def dqm_run(tmp: Path) -> dict:
    r = timed([str(BIN / "dqm"), "run", "--out-dir", str(tmp / "run")])
    parts = {}
    for line in r["stdout"].splitlines():
        m = re.search(r"Wrote .*?([a-z-]+)-(?:[A-Z0-9]+-)?2026\.html.* in ([0-9.]+) s", line)
        if m:
            parts[m.group(1)] = float(m.group(2))
    return {"seconds": r["seconds"], "peak_mb": r["peak_mb"], "parts": parts, "stdout": r["stdout"]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--councils", type=int, default=40, help="councils in the batch (default 40)")
    ap.add_argument("--slow-sample", type=int, help="councils for the two slow ways (default: all of --councils)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-run", action="store_true", help="do not time `dqm run`")
    args = ap.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = build_store(tmp)
        codes = councils(store, args.councils)
        slow = codes[: args.slow_sample or len(codes)]
        ways = {}
        ways["naive: papermill CLI + nbconvert CLI"] = (naive(store, slow, tmp / "naive"), len(slow))
        ways["one kernel per report (run_report loop)"] = (one_kernel_per_report(store, slow, tmp / "perkernel"), len(slow))
        small = batch(store, codes[:4], tmp / "batch-small", args.jobs)
        ways[f"batch: dqm report councils --jobs {args.jobs}"] = (batch(store, codes, tmp / "batch", args.jobs), len(codes))
        run = None if args.skip_run else dqm_run(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    naive_per = ways["naive: papermill CLI + nbconvert CLI"][0]["seconds"] / len(slow)
    rows = []
    for name, (r, n) in ways.items():
        per = r["seconds"] / n
        rows.append({"way": name, "councils": n, "seconds": round(r["seconds"], 1), "seconds_per_report": round(per, 3),
                     "speed_up_vs_naive": round(naive_per / per, 1), "peak_mb": round(r["peak_mb"]),
                     "extrapolated_400_minutes": round(per * 400 / 60, 1)})
    b = ways[f"batch: dqm report councils --jobs {args.jobs}"][0]
    marginal = (b["seconds"] - small["seconds"]) / max(1, len(codes) - 4)
    fixed = max(0.0, small["seconds"] - 4 * marginal)
    rows[-1]["extrapolated_400_minutes"] = round((fixed + 400 * marginal) / 60, 2)
    result = {
        "benchmark": "batch_reports", "load_average_at_start": [round(x, 1) for x in load], "cores": os.cpu_count(),
        "ways": rows, "batch_fixed_seconds": round(fixed, 1), "batch_marginal_seconds_per_report": round(marginal, 3),
        "batch_400_html_seconds_extrapolated": round(fixed + 400 * marginal, 1),
        "targets": {"speed_up_vs_naive": ">= 20", "400 councils' HTML": "< 120 s"},
        "meets_targets": {"speed_up_vs_naive": rows[-1]["speed_up_vs_naive"] >= 20,
                          "400_html_under_2_minutes": fixed + 400 * marginal < 120},
    }
    if run:
        result["dqm_run"] = {"seconds": round(run["seconds"], 1), "peak_mb": round(run["peak_mb"]),
                             "parts_seconds": run["parts"], "target_seconds": 30, "meets_target": run["seconds"] < 30}
    (RESULTS / "batch_reports.json").write_text(json.dumps(result, indent=2))
    print(f"\nCouncil reports, three ways (load average at start {result['load_average_at_start']} on {os.cpu_count()} cores)")
    print(f"{'way':44s} {'councils':>8s} {'seconds':>8s} {'s/report':>9s} {'vs naive':>9s} {'peak MB':>8s} {'400 (min)':>9s}")
    for r in rows:
        print(f"{r['way']:44s} {r['councils']:8d} {r['seconds']:8.1f} {r['seconds_per_report']:9.3f} "
              f"{r['speed_up_vs_naive']:8.1f}x {r['peak_mb']:8d} {r['extrapolated_400_minutes']:9.2f}")
    print(f"batch: fixed {fixed:.1f} s + {marginal:.3f} s per report -> 400 councils' HTML in about "
          f"{fixed + 400 * marginal:.0f} s (target < 120 s); speed-up vs naive {rows[-1]['speed_up_vs_naive']}x (target >= 20x)")
    if run:
        print(f"dqm run: {run['seconds']:.1f} s (target < 30 s), peak {run['peak_mb']:.0f} MB; parts (s): {run['parts']}")
    return result


if __name__ == "__main__":
    main()
