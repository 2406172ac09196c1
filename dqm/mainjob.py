"""The main job (`dqm run`): ingest the demo exports into a fresh store, then build the reports side by side.

Where the time went before (profiled in CPU seconds on the demo data, second run): the three PDFs were 39% of
all CPU (WeasyPrint measuring every cell of 80 tables), the claims battery was recomputed on every run, every
report's kernel paid its imports after the ingest, and the council report went through the whole batch. Now:

- the PDFs print without the data behind the charts and lay their tables out from set column widths
  (:mod:`dqm.reports.pdf`, ``report.css``);
- the claims battery is computed once per run for the annual report and the evidence review (``shared_claims``),
  and kept on disk between runs keyed by its inputs' content and code
  (:func:`dqm.reports.wave.claims_battery`); the engine's checks come from the committed record or the same cache (:mod:`dqm.reports.cache`), and so does each claim's panel view;
- the worker processes start, each with a report kernel that has imported the reports' modules
  (:func:`dqm.reports.notebook.start_kernel`), while the main process ingests; the reports then run side by
  side (``jobs``, default the number of cores), longest first; each report reads the store once;
- the example council's report is made directly (:func:`dqm.reports.notebook.run_report`, the report a batch
  makes), then listed in its folder's manifest and index as a batch would list it.

Layout of the output folder::

    state-of-digital-YEAR.html/.pdf, evidence-review-YEAR.html/.pdf   for publication
    dqm-handbook-VERSION.html                                          what each level means (the reports link to it)
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


_WORKER: dict = {}


def _worker_start(cache: str) -> None:
    """A worker process's start, while the main process ingests: the cache folder for its kernels, one report kernel
    started with the reports' modules imported (:func:`dqm.reports.notebook.start_kernel`) for the first report
    this worker makes, and meanwhile the libraries that export a report."""
    import threading
    from multiprocessing.util import Finalize

    from .reports.notebook import start_kernel, stop_kernel

    os.environ["DQM_CACHE_DIR"] = cache  # the kernels inherit it: the engine's checks and panel views are kept here
    exporters = threading.Thread(target=_import_exporters, daemon=True)
    exporters.start()
    _WORKER["kernel"] = start_kernel()  # (waits on the kernel's sockets, leaving the imports the interpreter)
    Finalize(None, lambda: stop_kernel(_WORKER.pop("kernel", None)), exitpriority=10)  # one never used
    exporters.join()


def _import_exporters() -> None:
    """Import what a report's export needs (nbconvert, papermill, WeasyPrint); a failure shows when they are used."""
    try:
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401
        import weasyprint  # noqa: F401
    except Exception:  # noqa: BLE001
        pass


def _started() -> None:
    """Nothing: submitted once per worker before the ingest, so that every worker starts (and warms up) then."""


def _report(kind: str, wave: int, store: str, out_dir: str, extra: dict, pdf: bool, cache: str,
            council: str | None = None) -> Made:
    """One report in a worker process, in this worker's waiting kernel if it has one (else a fresh one)."""
    from .reports.notebook import run_report

    os.environ["DQM_CACHE_DIR"] = cache  # the kernel inherits it: the engine's checks are kept here
    r = run_report(kind, wave, store=store, out_dir=out_dir, pdf=pdf, extra=extra, council=council,
                   kernel=_WORKER.pop("kernel", None))
    return Made(kind, str(r.html), str(r.pdf or ""), r.seconds)


def _claims(store: str, wave: int, bootstrap: int, null_bootstrap: int, path: str) -> str:
    """The run's claims battery, computed once (or read back, kept by its inputs' content) and written where the
    annual report and the evidence review read it (their ``shared_claims``)."""
    from .reports.wave import write_claims_results

    return str(write_claims_results(store, wave, bootstrap, null_bootstrap, path))


def _engine_checks(replications: int, cache: str) -> None:
    os.environ["DQM_CACHE_DIR"] = cache
    from .reports.sections import engine_checks

    engine_checks(replications)


def _handbook(out_dir: str) -> str:
    """The model's handbook beside the annual report (every report links to it); HTML only (`dqm handbook --pdf`
    prints it)."""
    from .documents.handbook import write_handbook
    from .model import load_model

    return str(write_handbook(out_dir, load_model())[0])


def _council(wave: int, store: str, out_dir: str, council: str, extra: dict) -> Made:
    """The example council's report, made directly: the report a batch makes for it (the main process then lists
    it in the folder's manifest and index, :func:`_list_council`)."""
    return _report("council", wave, store, out_dir, extra, True, os.environ.get("DQM_CACHE_DIR", ""), council)


def _list_council(out_dir: Path, wave: int, store: str, council: str, made: Made, echo=print) -> None:
    """Record a council's new report in the folder's ``manifest.json`` and rewrite ``index.html`` and ``index.csv``
    from it, as :func:`dqm.reports.batch.run_batch` does. No input hash is recorded, so a later batch makes the
    report again rather than trust one it did not make."""
    import datetime as dt

    from .reference import councils
    from .reports.index import index_table, trusted_entries, write_index
    from .reports.manifest import read_manifest, write_manifest
    from .reports.notebook import councils_in_wave
    from .store import connect

    manifest = read_manifest(out_dir)
    manifest["councils"][council] = {
        "hash": "", "inputs": {}, "status": "ok", "html": Path(made.html).name, "pdf": Path(made.pdf).name,
        "seconds": round(made.seconds, 3), "cell": "", "error": "",
        "finished_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    write_manifest(out_dir, manifest)
    con = connect(store, read_only=True)
    try:
        synthetic = bool(con.execute("SELECT coalesce(bool_or(synthetic), false) FROM submissions WHERE wave = ?",
                                     [wave]).fetchone()[0])
    finally:
        con.close()
    published, warnings = trusted_entries(manifest, councils_in_wave(store, wave), out_dir, int(wave))
    for w in warnings:
        echo(f"Warning: {w}")
    write_index(out_dir, index_table(published, councils()), int(wave), synthetic)


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
    from .store import connect

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
    if not reports:
        _ingest(manifest, exports, store, echo)
        echo(f"Built the store {store}; no reports (--no-reports).")
        return []
    wave = int(wave or manifest["wave"].max())
    settings = QUICK if quick else FULL
    cache = str(make_folder(out_dir, "_build/cache", "cache folder"))
    analysts = make_folder(out_dir, "analysts", "analysts' folder")
    councils = make_folder(out_dir, f"councils/{wave}", "council reports folder")
    claims_path = str(build / f"claims-{wave}.jsonl")
    a, ev = settings["annual"], settings["evidence"]
    jobs = max(1, jobs or _cores())
    labels = {"checks": f"the engine's checks ({ev.get('check_replications', 400)} replications; kept between runs)",
              "claims": f"the claims battery ({a['bootstrap']} bootstrap draws)",
              "quality": "the data-quality report", "annual": "the annual report", "evidence": "the evidence review",
              "handbook": "the model's handbook"}
    # the workers start now, each starting a report kernel, and the engine's checks (which do not read the store)
    # run while this process ingests
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_worker_start,
                             initargs=(cache,)) as pool:
        def submit(key, fn, *args):
            pending[pool.submit(_step, labels[key], fn, *args)] = key

        pending, finished, made = {}, set(), []
        submit("checks", _engine_checks, ev.get("check_replications", 400), cache)
        for _ in range(jobs - 1):
            pool.submit(_started)
        _ingest(manifest, exports, store, echo)
        council = council or example_council(store, wave)
        labels["council"] = f"the council report for {council}"
        echo(f"Building the reports of wave {wave} in {jobs} worker{'s' if jobs > 1 else ''}, longest first: "
             + ", ".join(labels[k] for k in ("checks", "claims", "quality", "evidence", "annual", "council", "handbook"))
             + ".")
        # longest first: the claims battery, which the annual report and the evidence review share; the evidence
        # review starts once the battery and the engine's checks are ready
        submit("claims", _claims, str(store), wave, a["bootstrap"], a["null_bootstrap"], claims_path)
        submit("quality", _report, "quality", wave, str(store), str(analysts), {}, False, cache)
        submit("handbook", _handbook, str(out_dir))
        shared = {"shared_claims": claims_path}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                key = pending.pop(fut)
                out, seconds = fut.result()
                finished.add(key)
                if isinstance(out, Made):
                    if key == "council":
                        _list_council(councils, wave, store, council, out, echo)
                    made.append(out)
                    echo(f"Wrote {out.html}" + (f" and {out.pdf}" if out.pdf else "") + f" in {out.seconds:.1f} s.")
                elif key == "handbook":
                    echo(f"Wrote {out} in {seconds:.1f} s.")
                else:
                    echo(f"Finished {labels[key]} in {seconds:.1f} s.")
                if key in ("claims", "checks") and {"claims", "checks"} <= finished:
                    submit("evidence", _report, "evidence", wave, str(store), str(out_dir), {**ev, **shared}, True,
                           cache)
                if key == "claims":
                    submit("annual", _report, "annual", wave, str(store), str(out_dir), {**a, **shared}, True, cache)
                if key in ("claims", "checks") and {"claims", "checks"} <= finished:
                    submit("council", _council, wave, str(store), str(councils), council, settings.get("council", {}))
    order = ["quality", "annual", "evidence", "council"]
    return sorted(made, key=lambda m: order.index(m.kind))


def _cores() -> int:
    """The CPU cores this process may use (the default number of workers). (As :func:`dqm.reports.batch.default_jobs`,
    without importing the batch: the main process stays light while it ingests.)"""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _ingest(manifest, exports: Path, store: Path, echo) -> None:
    """Every export the run's manifest lists, into the store, saying what became of each."""
    from .store import ingest_files

    for r in manifest.itertuples():
        for res in ingest_files([exports / r.file], wave=int(r.wave), store=store, assessment_type=r.assessment_type):
            echo(res.summary())
