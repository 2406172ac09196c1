"""The main job (`dqm run`): ingest the demo exports into a fresh store, then build the reports side by side.

Where the time went before (profiled with cProfile on the demo data): the evidence review was about
half of the run, most of it the engine's own checks on synthetic councils (thousands of seeded
simulated fits that do not depend on the data), and the claims battery was computed twice, once by the
annual report and once by the evidence review. Now:

- the claims battery is computed once per run and handed to both reports (``shared_claims``);
- the engine's checks are kept on disk between runs (:mod:`dqm.reports.cache`), keyed by the engine's code,
  the settings and the library versions;
- the reports run in worker processes side by side (``jobs``, default the number of cores), longest first.

Layout of the output folder::

    state-of-digital-YEAR.html/.pdf, evidence-review-YEAR.html/.pdf   for publication
    councils/YEAR/council-CODE-YEAR.html/.pdf, index.html, index.csv  one example council (all: `dqm report councils`)
    analysts/data-quality-YEAR.html                                  names councils: not for publication
    _build/                                                           the store, executed notebooks, caches
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import DQMError

QUICK = {"annual": {"bootstrap": 200, "null_bootstrap": 50}, "evidence": {"bootstrap": 200, "null_bootstrap": 50,
         "check_replications": 50}, "council": {"draws": 200}, "quality": {}}
FULL = {"annual": {"bootstrap": 2000, "null_bootstrap": 500}, "evidence": {"bootstrap": 2000, "null_bootstrap": 500,
        "check_replications": 400}}


def example_council(store, wave: int) -> str:
    """The demo's example council: one with both a self and an independent assessment and the most respondents."""
    from .store import connect

    con = connect(store, read_only=True)
    try:
        row = con.execute("""
            SELECT council_code, count(*) FILTER (WHERE assessment_type = 'self') AS n,
                   bool_or(assessment_type <> 'self') AS other
            FROM submissions WHERE wave = ? AND superseded_by IS NULL
            GROUP BY council_code HAVING n > 0 ORDER BY other DESC, n DESC, council_code LIMIT 1""", [wave]).fetchall()
    finally:
        con.close()
    return row[0][0]


@dataclass
class Made:
    kind: str
    html: str
    pdf: str
    seconds: float


def _step(label: str, fn, *args):
    """Run ``fn(*args)`` in a worker, saying on stderr when it starts; returns (its result, its own seconds)."""
    print(f"Started {label}...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def _report(kind: str, wave: int, store: str, out_dir: str, extra: dict, pdf: bool, cache: str) -> Made:
    """One report in a worker process (its own papermill kernel)."""
    from .reports.notebook import run_report

    os.environ["DQM_CACHE_DIR"] = cache  # the kernel inherits it: the engine's checks are kept here
    r = run_report(kind, wave, store=store, out_dir=out_dir, pdf=pdf, extra=extra)
    return Made(kind, str(r.html), str(r.pdf or ""), r.seconds)


def _claims(store: str, wave: int, bootstrap: int, null_bootstrap: int, path: str) -> str:
    from .reports.wave import write_claims_results

    return str(write_claims_results(store, wave, bootstrap, null_bootstrap, path))


def _engine_checks(replications: int, cache: str) -> None:
    os.environ["DQM_CACHE_DIR"] = cache
    from .reports.sections import engine_checks

    engine_checks(replications)


def _council(wave: int, store: str, out_dir: str, council: str, extra: dict) -> Made:
    from .reports.batch import run_batch

    start = time.perf_counter()
    res = run_batch(wave, store, out_dir, councils=[council], jobs=1, pdf=True, draws=int(extra.get("draws", 1000)),
                    progress=False)
    row = res.results.iloc[0]
    if row["status"] == "failed":
        raise DQMError(f"the council report for {council} failed in cell {row['cell']} ({row['error']}).")
    return Made("council", row["html"], row["pdf"], time.perf_counter() - start)


def run_main_job(exports: Path, out_dir: Path, store: Path, wave: int | None = None, council: str | None = None,
                 quick: bool = False, jobs: int | None = None, default_store: bool = True, echo=print,
                 reports: bool = True) -> list[Made]:
    """Ingest ``exports`` (listed in its manifest.csv) into a fresh ``store`` and build the four reports.

    ``reports=False`` builds the store only (``dqm run --no-reports``, which `make lab` uses).

    ``default_store``: the store is the run's own default one (not named by the user); see
    :func:`dqm.paths.clear_run_store` for which stores a run may replace.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from .ingest import read_run_manifest
    from .paths import clear_run_store, confined, make_folder, mark_run_store, output_folder
    from .reports.batch import default_jobs
    from .store import connect, ingest_files

    exports, out_dir, store = Path(exports).resolve(), Path(out_dir).resolve(), Path(store).resolve()
    manifest_path = exports / "manifest.csv"
    if not manifest_path.exists():
        raise DQMError("no manifest.csv; it lists each export's wave and assessment type.", file=manifest_path,
                       hint="Run `dqm demo --out DIR` to make one, or pass --exports.")
    manifest = read_run_manifest(manifest_path)
    out_dir = output_folder(out_dir)  # meant for output; below it, no link is followed (see dqm.paths)
    build = make_folder(out_dir, "_build", "build folder")
    if default_store:
        store = confined(out_dir, store, "store")
    store.parent.mkdir(parents=True, exist_ok=True)
    clear_run_store(store, default=default_store)  # the main job rebuilds its store every time, but only its own
    connect(store).close()
    mark_run_store(store)  # marked before any ingest, so that a killed run's store can be rebuilt next time
    echo(f"Ingesting {len(manifest)} exports listed in {manifest_path} into {store}...")
    for r in manifest.itertuples():
        for res in ingest_files([exports / r.file], wave=int(r.wave), store=store, assessment_type=r.assessment_type):
            echo(res.summary())
    if not reports:
        echo(f"Built the store {store}; no reports (--no-reports).")
        return []
    wave = int(wave or manifest["wave"].max())
    council = council or example_council(store, wave)
    settings = QUICK if quick else FULL
    cache = str(make_folder(out_dir, "_build/cache", "cache folder"))
    analysts = make_folder(out_dir, "analysts", "analysts' folder")
    councils = make_folder(out_dir, f"councils/{wave}", "council reports folder")
    claims_path = str(build / f"claims-{wave}.jsonl")
    a, ev = settings["annual"], settings["evidence"]
    jobs = max(1, jobs or default_jobs())
    labels = {"checks": f"the engine's checks ({ev.get('check_replications', 400)} replications; kept between runs)",
              "claims": f"the claims battery ({a['bootstrap']} bootstrap draws)", "quality": "the data-quality report",
              "annual": "the annual report", "evidence": "the evidence review",
              "council": f"the council report for {council}"}
    echo(f"Building the reports of wave {wave} in {jobs} worker{'s' if jobs > 1 else ''}, longest first: "
         + ", ".join(labels.values()) + ".")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        # longest first: the engine's checks (unless kept from an earlier run) and the claims battery, which the
        # annual report and the evidence review share; the evidence review starts once both are ready
        def submit(key, fn, *args):
            pending[pool.submit(_step, labels[key], fn, *args)] = key

        pending, finished, made = {}, set(), []
        submit("checks", _engine_checks, ev.get("check_replications", 400), cache)
        submit("claims", _claims, str(store), wave, a["bootstrap"], a["null_bootstrap"], claims_path)
        submit("quality", _report, "quality", wave, str(store), str(analysts), {}, False, cache)
        shared = {"shared_claims": claims_path}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                key = pending.pop(fut)
                out, seconds = fut.result()
                finished.add(key)
                if isinstance(out, Made):
                    made.append(out)
                    echo(f"Wrote {out.html}" + (f" and {out.pdf}" if out.pdf else "") + f" in {out.seconds:.1f} s.")
                else:
                    echo(f"Finished {labels[key]} in {seconds:.1f} s.")
                if key == "claims":
                    submit("annual", _report, "annual", wave, str(store), str(out_dir), {**a, **shared}, True, cache)
                if key in ("claims", "checks") and {"claims", "checks"} <= finished:
                    submit("evidence", _report, "evidence", wave, str(store), str(out_dir), {**ev, **shared}, True,
                           cache)
                    submit("council", _council, wave, str(store), str(councils), council, settings.get("council", {}))
    order = ["quality", "annual", "evidence", "council"]
    return sorted(made, key=lambda m: order.index(m.kind))
