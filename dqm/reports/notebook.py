"""Step 1: run one parameterised notebook with papermill and publish it.

Parameters are validated before a kernel starts. A failing cell stops the report with a message
naming the notebook, the cell and the error, and the partly executed notebook is kept in
``reports/_build/`` for inspection. Papermill's timestamps stay in notebook metadata; the HTML holds
one run-time line only, so two runs on the same inputs differ only there.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..errors import DQMError, ParameterError
from ..paths import (
    confined,
    copy_atomic,
    make_folder,
    notebooks_dir,
    output_folder,
    remove_confined,
    reports_dir,
    write_atomic,
)
from .html import export_html
from .pdf import pdf_from_html

REPORTS = {
    "annual": {"notebook": "state_of_digital.ipynb", "output": "state-of-digital-{wave}.html",
               "title": "State of Digital in local government, {wave}"},
    "quality": {"notebook": "data_quality.ipynb", "output": "data-quality-{wave}.html",
                "title": "Data quality report: DQM assessments, {wave}"},
    "council": {"notebook": "council_benchmark.ipynb", "output": "council-{council}-{wave}.html",
                "title": "Digital Quality Model benchmark: {council}, {wave}"},
    "evidence": {"notebook": "evidence_review.ipynb", "output": "evidence-review-{wave}.html",
                 "title": "Does better digital deliver? Evidence review, {wave}"},
}


class ReportError(DQMError):
    """A report could not be produced."""


def _kernel_manager_class():
    """Kernels talk to papermill over local sockets beside their connection file, not TCP ports (and
    ipykernel then has no reason to warn about unencrypted TCP on the console)."""
    import os
    import tempfile
    import uuid

    from jupyter_client.manager import KernelManager
    from traitlets import Unicode, default

    class IPCKernelManager(KernelManager):
        transport = Unicode("ipc")

        @default("ip")
        def _ip_default(self):  # a socket path of its own, so that kernels run side by side never cross
            return os.path.join(tempfile.gettempdir(), f"dqm-kernel-{uuid.uuid4().hex}")

    return IPCKernelManager


# what every report notebook imports first; a kernel started ahead of its notebook (start_kernel) imports them while
# it waits, so that importing them again in the notebook's first cell costs nothing
PRELOAD = ("IPython.display", "dqm", "dqm.markup", "dqm.model", "dqm.reference", "dqm.scoring", "dqm.store",
           "dqm.reports.narrative", "dqm.reports.plots", "dqm.reports.provenance", "dqm.reports.sections",
           "dqm.reports.wave", "dqm.claims", "dqm.claims.registry")


def start_kernel(preload=PRELOAD, startup_timeout: float = 120):
    """A report kernel started ahead of its notebook (while the store is still being built), or None if it failed.

    The kernel is started as :func:`run_report` starts one (same kernel, working directory and environment) and
    imports ``preload`` silently: nothing is bound in the notebook's namespace, no execution is counted, nothing is
    displayed, so the report run in it is the report a fresh kernel makes; only the imports' time is spent earlier.
    Pass it to :func:`run_report` as ``kernel``, which runs one notebook in it and shuts it down.
    """
    km = _kernel_manager_class()(kernel_name="python3")
    try:
        # as nbclient starts papermill's kernel: history in memory, not in the user's SQLite file
        km.start_kernel(cwd=str(notebooks_dir()), extra_arguments=["--HistoryManager.hist_file=:memory:"])
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=startup_timeout)
            code = ("def _dqm_preload():\n    import importlib\n    for name in %r:\n        importlib.import_module(name)\n"
                    "_dqm_preload()\ndel _dqm_preload\n" % (tuple(preload),))
            reply = kc.execute_interactive(code, silent=True, store_history=False, timeout=300,
                                           output_hook=lambda msg: None)
        finally:
            kc.stop_channels()
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"the kernel could not import the reports' modules: {reply['content'].get('evalue')}")
        return km
    except Exception:  # noqa: BLE001  (a report then starts its own kernel, as without this)
        stop_kernel(km)
        return None


def stop_kernel(km) -> None:
    """Shut a kernel from :func:`start_kernel` down (and wait for it), whatever state it is in."""
    if km is None:
        return
    try:
        if km.has_kernel:
            km.shutdown_kernel(now=not km.is_alive())
    except Exception:  # noqa: BLE001  (already gone)
        pass


@dataclass
class ReportResult:
    kind: str
    html: Path
    notebook: Path
    seconds: float
    pdf: Path | None = None


def validate_parameters(kind: str, wave, store, out_dir: Path, output: Path, council=None) -> None:
    """Check parameters before a kernel starts; raise ParameterError with a one-line message."""
    if kind not in REPORTS:
        raise ParameterError(f"unknown report {kind!r}; choose one of {', '.join(REPORTS)}.")
    if not isinstance(wave, int) or isinstance(wave, bool):
        raise ParameterError(f"wave must be a year such as 2026, not {wave!r}.")
    if Path(output).suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"the output {output} must be an .html file; with --pdf the PDF is written beside it "
                             "with the same name ending .pdf.")
    confined(output_folder(out_dir, create=False) if Path(out_dir).exists() else Path(os.path.abspath(out_dir)),
             output, "output")
    validate_store_wave(store, wave)
    if kind == "council":
        from ..reference import councils, match_council

        if not isinstance(council, str) or not council:
            raise ParameterError("a council report needs a council code, for example BST.")
        if council not in set(councils()["local-authority-code"]):
            m = match_council(council)
            hint = f" Did you mean {m.code} ({m.name})?" if m.code else ""
            raise ParameterError(f"{council!r} is not a council code.{hint}")
        if council not in councils_in_wave(store, wave):
            raise ParameterError(f"council {council} has no self-assessment in wave {wave}.")


def validate_store_wave(store, wave) -> None:
    """The store exists and holds the wave; raise ParameterError with a one-line message otherwise."""
    from ..store import connect

    if not isinstance(wave, int) or isinstance(wave, bool):
        raise ParameterError(f"wave must be a year such as 2026, not {wave!r}.")
    store = Path(store)
    if not store.exists():
        raise ParameterError(f"the store {store} does not exist; run `dqm ingest` first.")
    con = connect(store, read_only=True)
    try:
        waves = [r[0] for r in con.execute("SELECT DISTINCT wave FROM submissions ORDER BY wave").fetchall()]
    finally:
        con.close()
    if wave not in waves:
        have = ", ".join(map(str, waves)) or "none"
        raise ParameterError(f"the store {store} has no submissions for wave {wave} (waves held: {have}).")


def run_report(kind: str, wave: int, store=None, out_dir=None, output: str | Path | None = None,
               extra: dict | None = None, council: str | None = None, pdf: bool = False, kernel=None) -> ReportResult:
    """Execute a report notebook with papermill and export it to HTML in the output folder.

    ``kernel``: a kernel from :func:`start_kernel` to run the notebook in (it is shut down afterwards, used or not);
    by default papermill starts a fresh one.
    """
    try:
        return _run_report(kind, wave, store, out_dir, output, extra, council, pdf, kernel)
    finally:
        stop_kernel(kernel)


def _run_report(kind, wave, store, out_dir, output, extra, council, pdf, kernel) -> ReportResult:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from ..paths import default_store

    spec = REPORTS.get(kind)
    if spec is None:
        raise ParameterError(f"unknown report {kind!r}; choose one of {', '.join(REPORTS)}.")
    store = Path(store) if store else default_store()
    out_dir = Path(out_dir) if out_dir else reports_dir()
    html_name = Path(output) if output else Path(spec["output"].format(wave=wave, council=council))
    validate_parameters(kind, wave, store, out_dir, html_name if html_name.is_absolute() else out_dir / html_name,
                        council)
    # every path written is resolved once, inside the output folder, through no symbolic link
    folder = output_folder(out_dir)
    html_path = confined(folder, html_name, "output")
    pdf_path = confined(folder, html_path.with_suffix(".pdf"), "PDF output") if pdf else None
    build = make_folder(folder, "_build", "build folder")
    executed = confined(folder, build / html_path.with_suffix(".ipynb").name, "executed notebook")
    nb_in = notebooks_dir() / spec["notebook"]
    start = dt.datetime.now()
    with store_snapshot(store, build) as snap:
        # papermill's Python API keeps types: the council code "007" stays a string, the wave an integer
        params = {"wave": int(wave), "store": str(snap), **({"council": council} if kind == "council" else {}),
                  **(extra or {})}
        running = build / f".{executed.stem}.{uuid.uuid4().hex[:8]}.running.ipynb"
        try:
            warm = {"km": kernel} if kernel is not None and kernel.is_alive() else {}
            pm.execute_notebook(str(nb_in), str(running), parameters=params, kernel_name="python3",
                                cwd=str(notebooks_dir()), progress_bar=False, log_output=False, report_mode=True,
                                kernel_manager_class=_kernel_manager_class(), **warm)
        except PapermillExecutionError as exc:
            _keep(running, executed)
            raise ReportError(
                f"notebook {nb_in.name} failed in cell {exc.exec_count} ({exc.ename}: {exc.evalue}). "
                f"The partly executed notebook is kept at {executed}.") from None
        except BaseException:
            running.unlink(missing_ok=True)
            raise
    nb = nbformat.read(running, as_version=4)
    _keep(running, executed)
    name = council
    if kind == "council":
        from ..reference import councils

        name = councils().set_index("local-authority-code").loc[council, "nice-name"]
    title = spec["title"].format(wave=wave, council=name)
    page = export_html(nb, title)
    pdf_bytes = pdf_from_html(page) if pdf else None  # made before anything is replaced
    # an old PDF goes first, so a kill between the two renames never leaves a new HTML beside an old PDF
    if pdf:
        remove_confined(pdf_path, folder, "old PDF")
    write_atomic(html_path, page, "report", root=folder)
    if pdf:
        write_atomic(pdf_path, pdf_bytes, "PDF", root=folder)
    return ReportResult(kind, html_path, executed, (dt.datetime.now() - start).total_seconds(), pdf_path)


def _keep(running: Path, executed: Path) -> None:
    """Move the executed notebook into place (a rename in the build folder; a link there is replaced, not followed)."""
    if running.exists():
        os.replace(running, executed)


class store_snapshot:
    """A copy of the store, taken once while holding a read lock, that a report reads from start to finish.

    An ingest while a report runs can then neither change its figures part way nor add a file to its
    provenance that its figures do not include. The copy keeps the store's file name (so provenance
    names it as the user did) in a private folder under ``_build/``, removed afterwards.
    """

    def __init__(self, store: Path, build: Path):
        self.store, self.build = Path(store), Path(build)
        self.folder = None

    def __enter__(self) -> Path:
        from ..store import connect

        self.folder = make_folder(self.build, f".snapshot-{uuid.uuid4().hex[:12]}", "snapshot folder")
        snap = self.folder / self.store.name
        con = connect(self.store, read_only=True)  # a writer cannot commit while this is open
        try:
            copy_atomic(self.store, snap, "snapshot of the store", root=self.build)
            wal = Path(str(self.store) + ".wal")
            if wal.is_file() and not wal.is_symlink():  # (a linked log was refused when the store was opened)
                copy_atomic(wal, Path(str(snap) + ".wal"), "snapshot of the store", root=self.build)
        except BaseException:
            remove_confined(self.folder, self.build, "snapshot folder")
            raise
        finally:
            con.close()
        return snap

    def __exit__(self, *exc):
        try:
            remove_confined(self.folder, self.build, "snapshot folder")
        except DQMError:
            pass  # a snapshot left behind is removed by the next batch; the report itself is done
        return False


def councils_in_wave(store, wave: int) -> list[str]:
    """Councils with a current self-assessment in the wave (the ones a council report can be made for).

    A store made by an older dqm may hold combined authorities or the GLA: they are not councils and get no report.
    """
    from ..store import connect

    con = connect(store, read_only=True)
    try:
        rows = con.execute("SELECT DISTINCT council_code FROM submissions WHERE wave = ? AND assessment_type = 'self' "
                           "AND superseded_by IS NULL ORDER BY council_code", [wave]).fetchall()
    finally:
        con.close()
    from ..reference import principal_councils

    known = set(principal_councils()["local-authority-code"])  # (a code the reference does not know gets no report)
    return [r[0] for r in rows if r[0] in known]
