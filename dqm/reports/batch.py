"""Step 2:Every council's benchmark report in one batch: correct, resumable, incremental and fast.

How a batch runs, in order:

1. The command line resolves the store and the output folder to absolute paths, once; nothing after
   that depends on the process's working directory.
2. The wave's shared inputs (store tables, reference data, Monte Carlo scores and ranks, target
   realism, every council's nearest neighbours and change test, the action library and the
   store-level provenance) are computed once and kept in ``<out>/_build/`` as typed JSON with a
   SHA-256 (:mod:`dqm.serial`; never a pickle, which would run code when read).
3. Each council's inputs are hashed (its own answers, the peer and sector figures its report shows,
   the notebook, templates, model, reference data, the package's code and version, the parameters).
   A council whose hash matches the manifest and whose files exist is skipped (``force`` redoes all).
4. At the first council to remake, worker processes (not threads) start, while the rest are hashed;
   each starts ONE kernel and ONE nbconvert exporter, and runs each council's parameterised notebook
   in that kernel after restoring a clean state (:func:`reset_kernel_state`): user namespace,
   matplotlib rcParams, random state, warnings filters, environment, working directory and the
   module-level state and caches of ``dqm``.
5. Outputs are written to a temporary file and renamed. The manifest is written whole at the start
   and the end; each council finished in between adds its own small entry to a journal (in ``_build``)
   (:func:`dqm.reports.manifest.record_entry`), so a killed batch resumes where it stopped.
6. Failures are isolated: the others carry on; ``failures.csv`` lists council, cell and error.
7. ``index.html`` (searchable, accessible) and ``index.csv`` list every council and its files.

Example::

    from dqm.reports.batch import run_batch
    result = run_batch(2026, store="reports/_build/demo.duckdb", out_dir="reports/councils/2026", jobs=2)
    result.summary()
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..paths import TMP_PREFIX, make_folder, output_folder, remove_confined, write_atomic
from .index import index_table, report_name, trusted_entries, write_index
from .kernel import _WORKER, _kernel_alive, _kernel_notebook, _run_in_kernel, _start_kernel, _stop_kernel, _worker_init
from .manifest import (
    combined_hash,
    common_hashes,
    council_hashes,
    read_manifest,
    record_entry,
    write_failures,
    write_manifest,
)
from .wave import compute_wave_inputs, write_wave_inputs

NOTEBOOK = "council_benchmark.ipynb"


@dataclass
class Task:
    council: str
    name: str
    wave: int
    store: str
    draws: int
    shared: str
    notebook: str
    html: str
    build: str
    pdf: bool
    extra: dict = field(default_factory=dict)


def _render(task: Task) -> dict:
    """Run one council's notebook in this worker's kernel and export it; never raises."""
    import nbformat
    from nbclient.exceptions import CellExecutionError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from .html import export_html
    from .notebook import REPORTS
    from .pdf import pdf_from_html

    start = time.perf_counter()
    row = {"council": task.council, "status": "failed", "cell": "", "error": "", "seconds": 0.0,
           "html": "", "pdf": ""}
    executed = Path(task.build) / Path(task.html).with_suffix(".ipynb").name
    failed_cell = {}

    def on_error(cell, cell_index, execute_reply):
        failed_cell["index"] = cell_index
        failed_cell["count"] = cell.get("execution_count")

    nb = None
    try:
        if not _kernel_alive():  # the last council's notebook killed its kernel: start a fresh one
            _stop_kernel()
            _start_kernel()
        nb = load_notebook_node(task.notebook)  # as papermill reads it (every cell has tags)
        params = {"council": task.council, "wave": task.wave, "store": task.store, "draws": task.draws,
                  "shared": task.shared, **task.extra}
        nb = parameterize_notebook(nb, params, report_mode=True, kernel_name="python3", language="python")
        _run_in_kernel(_kernel_notebook("import dqm.reports.kernel\ndqm.reports.kernel.reset_kernel_state()"), _WORKER["cwd"])
        nb = _run_in_kernel(nb, _WORKER["cwd"], on_error)
        title = REPORTS["council"]["title"].format(wave=task.wave, council=task.name)
        html = export_html(nb, title, exporter=_WORKER["exporter"])
        out = Path(task.html)
        if task.pdf:  # the PDF first: a kill between the two never leaves a new HTML beside an old PDF
            write_atomic(out.with_suffix(".pdf"), pdf_from_html(html), "PDF", root=out.parent)
            row["pdf"] = str(out.with_suffix(".pdf"))
        write_atomic(out, html, "council report", root=out.parent)
        row.update(status="ok", html=str(out))
    except CellExecutionError as exc:
        cell = failed_cell.get("count") or failed_cell.get("index", "")
        row.update(cell=str(cell), error=f"{exc.ename}: {exc.evalue}")
    except Exception as exc:  # noqa: BLE001  (one council's failure must not stop the batch)
        row.update(error=f"{type(exc).__name__}: {exc}")
    finally:
        if nb is not None:
            try:
                write_atomic(executed, nbformat.writes(nb), "executed notebook", root=Path(task.html).parent)
            except Exception:  # noqa: BLE001
                pass
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


class Progress:
    """What the batch is doing, on ``stream`` (stderr) from its first second.

    Set-up steps are plain lines (:meth:`step`); once the workers start (:meth:`begin`), each finished report is a
    line "[n/N] council: ok in S s; M:SS elapsed, about M:SS left" (a tqdm bar on a terminal). S is the report's
    own wall time in its worker; elapsed and the time left are counted from when the workers started, so the
    set-up never inflates the estimate: time left = the mean of the finished reports' own times x the reports
    left / the workers. ``clock`` is injectable for tests.
    """

    def __init__(self, total: int = 0, stream=None, enabled: bool = True, clock=None):
        self.total, self.done, self.workers = total, 0, 1
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.clock = clock or _now
        self.started = None  # when the workers started: the clock of "elapsed" and of the time left
        self.own = []  # each finished report's own seconds in its worker
        self.bar = None

    def step(self, text: str) -> None:
        """Say what the batch is doing now (a set-up step), as a plain line."""
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def begin(self, total: int, workers: int) -> None:
        """The workers start: from here on, count reports and time."""
        self.total, self.workers, self.started = total, max(1, workers), self.clock()
        if self.enabled and total and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self.stream, unit="report", desc="Council reports",
                            bar_format="{desc}: {n}/{total} |{bar}| {elapsed} elapsed, {remaining} left")

    def left(self) -> float:
        """Seconds left: the mean own time of the reports made so far x the reports left / the workers busy."""
        remaining = self.total - self.done
        if remaining <= 0:
            return 0.0
        if self.own:
            return sum(self.own) / len(self.own) * remaining / min(self.workers, remaining)
        elapsed = self.clock() - (self.started if self.started is not None else self.clock())
        return elapsed / max(self.done, 1) * remaining  # no report has run yet (every one failed to start)

    def update(self, row: dict) -> None:
        if self.started is None:
            self.begin(self.total, self.workers)
        self.done += 1
        if row.get("seconds"):
            self.own.append(float(row["seconds"]))
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            if row["status"] != "ok":
                self.bar.write(f"{row['council']}: failed ({row['error']})", file=self.stream)
            return
        elapsed = self.clock() - self.started
        what = "ok" if row["status"] == "ok" else f"failed ({row['error']})"
        took = f" in {float(row['seconds']):.1f} s" if row.get("seconds") else ""
        print(f"[{self.done}/{self.total}] {row['council']}: {what}{took}; {_clock(elapsed)} elapsed, "
              f"about {_clock(self.left())} left", file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _now() -> float:
    """The progress lines' clock (a test replaces it)."""
    return time.perf_counter()


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


@dataclass
class BatchResult:
    out_dir: Path
    results: pd.DataFrame  # one row per council: council, status (ok, failed, unchanged), cell, error, seconds, html, pdf
    seconds: float
    index_html: Path | None = None
    failures_csv: Path | None = None
    warnings: list = field(default_factory=list)  # manifest entries left out of the index, and why

    @property
    def failed(self) -> pd.DataFrame:
        return self.results[self.results["status"] == "failed"]

    def summary(self) -> str:
        r = self.results
        made, same, bad = (r["status"] == "ok").sum(), (r["status"] == "unchanged").sum(), len(self.failed)
        text = (f"{made} council reports written, {same} unchanged, {bad} failed, in {self.seconds:.1f} s; "
                f"index: {self.index_html}")
        if self.warnings:
            text += f"\n{len(self.warnings)} manifest entries were not published in the index (see the warnings above)."
        if bad:
            text += f"\nFailures (also in {self.failures_csv}):\n" + "\n".join(
                f"  {f.council}: " + (f"cell {f.cell}: " if f.cell else "") + f.error for f in self.failed.itertuples())
        return text


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def run_batch(wave: int, store, out_dir, councils: list[str] | None = None, jobs: int | None = None,
              pdf: bool = False, force: bool = False, draws: int = 1000, extra: dict | None = None,
              notebook=None, progress: bool = True, stream=None) -> BatchResult:
    """Council reports for every council in ``wave`` (or those named) into ``out_dir``; see the module docstring.

    With ``progress``, what it is doing is said on ``stream`` (stderr) from the first second; see :class:`Progress`.
    """
    from ..paths import notebooks_dir
    from .notebook import councils_in_wave, store_snapshot, validate_store_wave

    start = time.perf_counter()
    bar = Progress(stream=stream, enabled=progress)
    store = Path(store).resolve()  # resolved once; nothing after uses the cwd
    notebook = Path(notebook).resolve() if notebook else notebooks_dir() / NOTEBOOK
    validate_store_wave(store, wave)
    # the output folder, resolved once and meant for output; below it, no link is followed (see dqm.paths).
    # Checked before anything is said or made: a refusal is the command's one line of output.
    out_dir = output_folder(out_dir)
    build = make_folder(out_dir, "_build", "build folder")
    bar.step(f"Reading the store {store} (wave {wave})...")
    taking_part = councils_in_wave(store, wave)
    unknown = []
    if councils:
        known = set(taking_part)
        unknown = [c for c in councils if c not in known]
        codes = [c for c in dict.fromkeys(councils) if c in known]
    else:
        codes = taking_part
    for stale in list(out_dir.glob(TMP_PREFIX + "*")) + list(build.glob(TMP_PREFIX + "*")):
        remove_confined(stale, out_dir, "unfinished file")  # left by a killed batch; never mistaken for a report
    for stale in build.glob(".snapshot-*"):  # left by a killed batch
        remove_confined(stale, out_dir, "old snapshot")
    bar.step("Taking a snapshot of the store, so that every report reads the same data...")
    with store_snapshot(store, build) as snap:  # every report of the batch reads the same state of the store
        return _run_batch(wave, snap, out_dir, build, codes, unknown, jobs, pdf, force, draws, extra, notebook,
                          bar, stream, start, taking_part)


def run_council_reports(wave: int, store=None, out_dir=None, councils: list[str] | None = None, pdf: bool = False,
                        jobs: int | None = None, extra: dict | None = None, progress: bool = True,
                        force: bool = False) -> "pd.DataFrame":
    """Council reports for every council in the wave (or the given codes), with defaults: see :func:`run_batch`.

    Returns one row per council: council, status (ok, unchanged or failed), cell, error, seconds, html, pdf.
    """
    from ..paths import default_store, reports_dir

    store = Path(store) if store else default_store()
    out_dir = Path(out_dir) if out_dir else reports_dir() / "councils" / str(wave)
    extra = dict(extra or {})
    draws = int(extra.pop("draws", 1000))
    return run_batch(wave, store, out_dir, councils=councils, jobs=jobs, pdf=pdf, force=force, draws=draws,
                     extra=extra, progress=progress).results


def _run_batch(wave, store, out_dir, build, codes, unknown, jobs, pdf, force, draws, extra, notebook, bar, stream,
               start, taking_part) -> BatchResult:
    import contextlib
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from ..paths import notebooks_dir

    bar.step(f"Computing the wave's shared inputs (scores and rank intervals of {len(taking_part)} councils, "
             f"{draws} draws)...")
    inputs = compute_wave_inputs(store, wave, draws, councils=codes)  # change tests for the councils to report on
    shared = write_wave_inputs(inputs, build / f"wave-inputs-{wave}.jsonl")
    extra = dict(extra or {})
    parameters = {"wave": int(wave), "draws": int(draws), "pdf": bool(pdf), **extra}
    bar.step("Hashing the inputs of each report, to find those already up to date...")
    common = common_hashes(notebook, parameters)
    manifest = read_manifest(out_dir)
    manifest.update(wave=int(wave), store_sha256=inputs.store_sha256)
    entries = manifest.setdefault("councils", {})
    write_manifest(out_dir, manifest)  # whole, once (with what a killed batch left in the journal); then per council
    names = inputs.ref.set_index("local-authority-code")["nice-name"]
    rows = []
    for code in unknown:
        rows.append({"council": code, "status": "failed", "cell": "", "error":
                     f"{code!r} has no self-assessment in wave {wave} (or is not a council code)", "seconds": 0.0,
                     "html": "", "pdf": ""})

    def record(row, h, parts):
        rows.append(row)
        entries[row["council"]] = entry = {
            "hash": h if row["status"] == "ok" else "", "inputs": parts, "status": row["status"],
            "html": Path(row["html"]).name if row["html"] else "", "pdf": Path(row["pdf"]).name if row["pdf"] else "",
            "seconds": row["seconds"], "cell": row["cell"],
            "error": row["error"], "finished_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        record_entry(out_dir, row["council"], entry)
        bar.update(row)

    jobs = max(1, min(jobs or default_jobs(), len(codes) or 1))
    futures = {}
    with contextlib.ExitStack() as stack:
        pool = None
        for code, own in council_hashes(inputs, codes):
            parts = {**common, **own}
            h = combined_hash(parts)
            old = entries.get(code) if isinstance(entries.get(code), dict) else {}
            html = out_dir / report_name(code, wave)
            have = html.exists() and (not pdf or html.with_suffix(".pdf").exists())
            if not force and old.get("status") == "ok" and old.get("hash") == h and have:
                rows.append({"council": code, "status": "unchanged", "cell": "", "error": "", "seconds": 0.0,
                             "html": str(html), "pdf": str(html.with_suffix(".pdf")) if old.get("pdf") else ""})
                continue
            if pool is None:  # the first report to remake: the workers start (and their kernels) while hashing goes on
                pool = stack.enter_context(ProcessPoolExecutor(
                    max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                    initargs=(os.getpid(), str(notebooks_dir()))))
            task = Task(code, str(names.get(code, code)), int(wave), str(store), int(draws), str(shared),
                        str(notebook), str(html), str(build), bool(pdf), extra)
            futures[pool.submit(_render, task)] = (task, h, parts)
        same = sum(r["status"] == "unchanged" for r in rows)
        if futures:
            workers = min(jobs, len(futures))
            bar.step(f"{len(futures)} reports to write ({same} unchanged); starting {workers} worker"
                     f"{'s' if workers > 1 else ''}, each with its own Python kernel...")
            bar.begin(len(futures), workers)
        else:
            bar.step(f"Nothing to write: {same} reports are up to date.")
        for fut in as_completed(futures):
            task, h, parts = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001  (a worker that died: record it, carry on)
                row = {"council": task.council, "status": "failed", "cell": "", "error":
                       f"the worker stopped ({type(exc).__name__}: {exc})", "seconds": 0.0, "html": "", "pdf": ""}
            record(row, h, parts)
    write_manifest(out_dir, manifest)  # the journal folded into the manifest
    bar.close()
    bar.step("Writing the index...")

    results = pd.DataFrame(rows, columns=["council", "status", "cell", "error", "seconds", "html", "pdf"])
    failures = results[results["status"] == "failed"]
    failures_csv = write_failures(out_dir, failures)
    published, warnings = trusted_entries(manifest, taking_part, out_dir, int(wave))
    for w in warnings:
        print(f"Warning: {w}", file=stream or sys.stderr, flush=True)
    _, index_html = write_index(out_dir, index_table(published, inputs.ref), int(wave), inputs.synthetic)
    return BatchResult(out_dir, results, time.perf_counter() - start, index_html, failures_csv, warnings)
