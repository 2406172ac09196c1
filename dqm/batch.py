"""Every council's benchmark report in one batch: correct, resumable, incremental and fast.

How a batch runs, in order:

1. The command line resolves the store and the output folder to absolute paths, once; nothing after
   that depends on the process's working directory.
2. The wave's shared inputs (store tables, reference data, Monte Carlo scores and ranks, and
   target realism) are computed once and kept in ``<out>/_build/`` as typed JSON with a SHA-256
   (:mod:`dqm.serial`; never a pickle, which would run code when read).
3. Each council's inputs are hashed (its own answers, the peer and sector figures its report shows,
   the notebook, templates, model, reference data, the package's code and version, the parameters).
   A council whose hash matches the manifest and whose files exist is skipped (``force`` redoes all).
4. Worker processes (not threads) each start ONE kernel and ONE nbconvert exporter, and run each
   council's parameterised notebook in that kernel after restoring a clean state
   (:func:`reset_kernel_state`): user namespace, matplotlib rcParams, random state, warnings filters,
   environment, working directory and the module-level state and caches of ``dqm``.
5. Outputs are written to a temporary file and renamed; the manifest is rewritten (atomically)
   after every council, so a killed batch resumes where it stopped.
6. Failures are isolated: the others carry on; ``failures.csv`` lists council, cell and error.
7. ``index.html`` (searchable, accessible) and ``index.csv`` list every council and its files.

Example::

    from dqm.batch import run_batch
    result = run_batch(2026, store="reports/_build/demo.duckdb", out_dir="reports/councils/2026", jobs=2)
    result.summary()
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .cells import csv_text
from .errors import ParameterError
from .paths import TMP_PREFIX, make_folder, output_folder, remove_confined, write_atomic

NOTEBOOK = "council_benchmark.ipynb"
MANIFEST = "manifest.json"
FAILURES = "failures.csv"
INDEX_CSV = "index.csv"
INDEX_HTML = "index.html"


# --------------------------------------------------------------------------------------------------
# Shared inputs: computed once per batch (or once per single report when no cache is named)

@dataclass
class WaveInputs:
    """What every council's report for a wave needs, computed once.

    ``data`` is the store (:class:`dqm.store.StoreData`), ``ref`` the reference councils, ``scores``
    the Monte Carlo scores and rank intervals of every council, ``realism`` the target realism per
    dimension. (Each council's change since the last wave is tested in its own report: the test's
    random draws depend on which councils are tested, so a shared table would differ from a report made alone.)
    """
    wave: int
    draws: int
    store: str
    store_sha256: str
    model: object
    data: object
    ref: pd.DataFrame
    synthetic: bool
    scores: pd.DataFrame
    realism: pd.DataFrame


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def compute_wave_inputs(store, wave: int, draws: int = 1000) -> WaveInputs:
    """Compute the shared inputs of the council reports for ``wave`` from ``store``."""
    from . import scoring
    from .model import load_model
    from .reference import councils
    from .store import load

    store = Path(store).resolve()
    model = load_model()
    data = load(store, model=model)
    subs = data.submissions
    synthetic = bool(subs.loc[subs["wave"] == wave, "synthetic"].any())
    scores = scoring.council_scores(data.councils, data.answers, model, wave, n_draws=draws)
    realism = scoring.target_realism(data.councils, data.answers, model, wave)
    return WaveInputs(int(wave), int(draws), str(store), file_sha256(store), model, data, councils().copy(),
                      synthetic, scores, realism)


def _wave_input_types() -> tuple:
    """The dataclasses a kept :class:`WaveInputs` holds (the only ones :func:`dqm.serial.loads` may build)."""
    from .model import Model
    from .store import StoreData

    return (WaveInputs, StoreData, Model)


def write_wave_inputs(inputs: WaveInputs, path) -> Path:
    """Keep the shared inputs as typed JSON with a SHA-256 (:mod:`dqm.serial`), atomically."""
    from .serial import write_value

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_value(path, inputs, "shared inputs")


def wave_inputs(store, wave: int, draws: int = 1000, shared: str | None = None) -> WaveInputs:
    """The shared inputs for a council report: read from the batch's cache ``shared`` when named (and
    made from the same store, wave and draws), otherwise computed here.

    A notebook calls this once; in a batch the cache is read fresh for every council, so one council's
    report cannot change what the next one sees. A cache that is damaged, changed or not a kept
    :class:`WaveInputs` is not trusted: the inputs are computed here instead.
    """
    from .serial import UnreadableValue, read_value

    if shared:
        try:
            inputs = read_value(shared, _wave_input_types())
        except UnreadableValue:
            return compute_wave_inputs(store, wave, draws)
        if not isinstance(inputs, WaveInputs):
            return compute_wave_inputs(store, wave, draws)
        same_store = Path(inputs.store) == Path(store).resolve()
        if not (same_store and inputs.wave == int(wave) and inputs.draws == int(draws)):
            raise ParameterError(f"the shared inputs {shared} were made for another store, wave or number of draws.")
        return inputs
    return compute_wave_inputs(store, wave, draws)


def _claims_key(claims, wave: int, bootstrap: int, null_bootstrap: int) -> dict:
    return {"wave": int(wave), "bootstrap": int(bootstrap), "null_bootstrap": int(null_bootstrap),
            "claims": sorted(c.id for c in claims)}


def _claims_types() -> tuple:
    """The dataclasses a kept claims battery holds."""
    from .claims.engine import ClaimResult
    from .claims.registry import Claim

    return (ClaimResult, Claim)


def claims_results(claims, council_levels: pd.DataFrame, outcomes: pd.DataFrame, model, wave: int,
                   bootstrap: int = 2000, null_bootstrap: int = 500, shared: str | None = None) -> list:
    """The claims battery's results for a report: read from the run's cache ``shared`` when named (made for the
    same wave, settings and claims), otherwise computed here. ``dqm run`` computes it once for the annual report
    and the evidence review. A cache that is damaged, changed or not a kept battery is not trusted: the
    battery is computed here instead."""
    from .claims import EngineConfig, evaluate_claims
    from .serial import UnreadableValue, read_value

    if shared:
        try:
            kept = read_value(shared, _claims_types())
        except UnreadableValue:
            kept = None
        result_type = _claims_types()[0]
        results = kept.get("results") if isinstance(kept, dict) else None
        if isinstance(results, list) and all(isinstance(r, result_type) for r in results) and "key" in kept:
            if kept["key"] != _claims_key(claims, wave, bootstrap, null_bootstrap):
                raise ParameterError(f"the shared claims results {shared} were made for another wave, settings or "
                                     "claims.")
            return results
    return evaluate_claims(claims, council_levels, outcomes, model, wave,
                           EngineConfig(n_boot=bootstrap, n_null_boot=null_bootstrap))


def write_claims_results(store, wave: int, bootstrap: int, null_bootstrap: int, path) -> Path:
    """Compute the registered claims' battery once for a run and keep it (typed JSON with a SHA-256, atomically)
    for the reports that show it."""
    from .claims.registry import load_evidence
    from .model import load_model
    from .serial import write_value
    from .store import load

    model = load_model()
    evidence = load_evidence(None, None, None, model=model)
    results = claims_results(evidence.claims, load(store, model=model).councils, evidence.outcomes, model, wave,
                             bootstrap, null_bootstrap)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_value(path, {"key": _claims_key(evidence.claims, wave, bootstrap, null_bootstrap),
                              "results": results}, "claims results")


# --------------------------------------------------------------------------------------------------
# A clean kernel for every council

_KERNEL_BASELINE: dict | None = None
_MUTABLE = (dict, list, set, pd.DataFrame, pd.Series)


def _dqm_modules():
    return {name: mod for name, mod in list(sys.modules.items())
            if mod is not None and (name == "dqm" or name.startswith("dqm.")) and name != __name__}


def capture_kernel_baseline() -> None:
    """Record the state of a freshly started kernel after the heavy imports, to restore before each report."""
    global _KERNEL_BASELINE
    import warnings

    import matplotlib
    import numpy as np

    from . import benchmark, model, narrative, plots, reference, reports, scoring, sections, store  # noqa: F401
    modules = {}
    for name, mod in _dqm_modules().items():
        names = dict(vars(mod))
        mutable = {k: copy.deepcopy(v) for k, v in names.items()
                   if isinstance(v, _MUTABLE) and not k.startswith("__")}
        modules[name] = (names, mutable)
    _KERNEL_BASELINE = {
        "rc": dict(matplotlib.rcParams), "random": random.getstate(), "numpy": np.random.get_state(),
        "warnings": list(warnings.filters), "environ": dict(os.environ), "cwd": os.getcwd(),
        "sys_path": list(sys.path), "modules": modules,
    }


def reset_kernel_state() -> None:
    """Put the kernel back as :func:`capture_kernel_baseline` found it (run before every council's notebook).

    Clears the user namespace, closes figures, restores matplotlib's rcParams, Python's and numpy's
    random state, the warnings filters, the environment, working directory and ``sys.path``, and the
    module-level variables of every ``dqm`` module (rebound or mutated ones, and cached functions).
    """
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np

    base = _KERNEL_BASELINE
    if base is None:
        raise RuntimeError("capture_kernel_baseline() must run first")
    try:
        ip = get_ipython()  # noqa: F821  (defined in an IPython kernel)
    except NameError:
        ip = None
    if ip is not None:
        ip.reset(new_session=False)
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.clear()
        dict.update(matplotlib.rcParams, base["rc"])
    random.setstate(base["random"])
    np.random.set_state(base["numpy"])
    warnings.filters[:] = base["warnings"]
    warnings._filters_mutated()
    for mod in list(sys.modules.values()):  # "once" and "default" warnings fire again, as in a fresh kernel
        reg = getattr(mod, "__warningregistry__", None)
        if isinstance(reg, dict):
            reg.clear()
    os.environ.clear()
    os.environ.update(base["environ"])
    os.chdir(base["cwd"])
    sys.path[:] = base["sys_path"]
    for name, mod in _dqm_modules().items():
        names, mutable = base["modules"].get(name, (None, None))
        if names is None:  # imported since the baseline: a fresh kernel would not have it yet
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if getattr(sys.modules.get(parent), child, None) is mod:
                delattr(sys.modules[parent], child)
            continue
        d = vars(mod)
        for k in [k for k in d if k not in names and not isinstance(d[k], type(sys))]:
            del d[k]  # (submodules imported since stay bound: `import dqm.x` would not bind them again)
        d.update(names)
        d.update({k: copy.deepcopy(v) for k, v in mutable.items()})
        for v in names.values():
            if callable(getattr(v, "cache_clear", None)) and getattr(v, "__module__", None) == name:
                v.cache_clear()


# --------------------------------------------------------------------------------------------------
# Worker processes: one kernel and one exporter each

_WORKER: dict = {}


def _watch_parent(parent: int) -> None:
    """A worker whose batch was killed stops (and stops its kernel) instead of running on alone."""
    import signal

    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            try:
                if _WORKER.get("kernel_pid"):
                    os.kill(_WORKER["kernel_pid"], signal.SIGKILL)
            finally:
                os._exit(1)


def _kernel_manager():
    """An asynchronous kernel manager over local sockets (nbclient's own kind: it notices a kernel that dies)."""
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Unicode, default

    class IPCAsyncKernelManager(AsyncKernelManager):
        transport = Unicode("ipc")

        @default("ip")
        def _ip_default(self):  # a socket path of its own, so that kernels run side by side never cross
            return os.path.join(tempfile.gettempdir(), f"dqm-kernel-{uuid.uuid4().hex}")

    return IPCAsyncKernelManager(kernel_name="python3")


def _kernel_alive() -> bool:
    from jupyter_client.utils import run_sync

    km = _WORKER.get("km")
    return km is not None and bool(run_sync(km.is_alive)())


def _kernel_notebook(code: str):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _run_in_kernel(nb, cwd: str, on_error=None):
    from nbclient import NotebookClient

    client = NotebookClient(nb, km=_WORKER["km"], kernel_name="python3", timeout=900, startup_timeout=120,
                            resources={"metadata": {"path": cwd}}, on_cell_error=on_error)
    client.kc = _WORKER.get("kc")
    client.execute(cwd=cwd)
    _WORKER["kc"] = client.kc
    return client.nb


def _stop_kernel() -> None:
    from jupyter_client.utils import run_sync

    km = _WORKER.pop("km", None)
    kc = _WORKER.pop("kc", None)
    if kc is not None:
        kc.stop_channels()
    if km is not None and km.has_kernel:
        try:
            run_sync(km.shutdown_kernel)(now=not run_sync(km.is_alive)())
        except Exception:  # noqa: BLE001  (a kernel already gone)
            pass


def _start_kernel() -> None:
    _WORKER["km"] = _kernel_manager()
    _WORKER["kc"] = None
    _run_in_kernel(_kernel_notebook("import dqm.batch\ndqm.batch.capture_kernel_baseline()"), _WORKER["cwd"])
    _WORKER["kernel_pid"] = getattr(_WORKER["km"].provisioner, "pid", None)


def _worker_init(parent: int, notebooks: str) -> None:
    import threading
    from multiprocessing.util import Finalize

    from .reports import _html_exporter

    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _WORKER["cwd"] = notebooks
    _start_kernel()
    _WORKER["exporter"] = _html_exporter()
    Finalize(None, _stop_kernel, exitpriority=10)  # runs when the pool shuts the worker down


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

    from .reports import REPORTS, export_html, pdf_from_html

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
        _run_in_kernel(_kernel_notebook("import dqm.batch\ndqm.batch.reset_kernel_state()"), _WORKER["cwd"])
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


# --------------------------------------------------------------------------------------------------
# Hashes of every input, per council

def _tree_sha256(root: Path, pattern: str) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob(pattern)):
        if "__pycache__" in p.parts or not p.is_file():
            continue
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _frame_sha256(df: pd.DataFrame) -> str:
    return hashlib.sha256(df.to_csv(index=False).encode("utf-8")).hexdigest()


def common_hashes(notebook: Path, parameters: dict) -> dict:
    """Hashes of the inputs every council's report shares."""
    from . import __version__
    from .model import load_model
    from .paths import reference_dir

    pkg = Path(__file__).resolve().parent
    return {
        "notebook": file_sha256(notebook),
        "templates": _tree_sha256(pkg / "templates", "*"),
        "model": file_sha256(load_model().path),
        "reference": _tree_sha256(reference_dir(), "*.csv"),
        "code": _tree_sha256(pkg, "*.py"),
        "version": hashlib.sha256(__version__.encode()).hexdigest(),
        "parameters": hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest(),
    }


def council_hashes(inputs: WaveInputs, codes: list[str]) -> dict[str, dict]:
    """Per council: the hash of its own store content (all waves and assessment types) and of the peer and
    sector figures its report shows (its peers' and same-type councils' levels, its scores and rank
    interval, the answers its change test pools, the wave's target realism)."""
    from .scoring.peers import nearest_neighbours

    data = inputs.data
    subs = data.submissions.drop(columns=[c for c in ("ingest_id", "ingested_at") if c in data.submissions])
    ans = data.answers
    lv = data.councils
    lv_wave = lv[(lv["wave"] == inputs.wave) & (lv["assessment_type"] == "self")]
    ref = inputs.ref.set_index("local-authority-code")
    nn = nearest_neighbours(inputs.ref)
    peers = nn.groupby("council_code")["peer_code"].apply(list).to_dict()
    type_group = ref["type_group"] if "type_group" in ref else pd.Series(dtype=str)
    realism = _frame_sha256(inputs.realism)
    by_sub = dict(tuple(subs.groupby("council_code")))
    by_ans = dict(tuple(ans.groupby("council_code")))
    scores = inputs.scores.set_index("council_code")
    # a council's change test pools every council's answers in the two waves (their covariance)
    pooled = ans[ans["wave"].isin([inputs.wave - 1, inputs.wave]) & (ans["assessment_type"] == "self")]
    pooled = _frame_sha256(pooled[["council_code", "wave", "submission_id", "dimension_id", "level"]])
    out = {}
    for code in codes:
        own = hashlib.sha256()
        for part in (by_sub.get(code), by_ans.get(code)):
            own.update(_frame_sha256(part).encode() if part is not None else b"-")
        shown = hashlib.sha256()
        group = set(peers.get(code, [])) | set(lv_wave.loc[lv_wave["council_code"].map(type_group) == type_group.get(code),
                                                             "council_code"])
        shown.update(_frame_sha256(lv_wave[lv_wave["council_code"].isin(group)].sort_values("council_code")).encode())
        shown.update(_frame_sha256(scores.loc[[code]].reset_index() if code in scores.index else pd.DataFrame()).encode())
        shown.update(pooled.encode())
        shown.update(realism.encode())
        shown.update(_frame_sha256(ref.loc[[code]].reset_index() if code in ref.index else pd.DataFrame()).encode())
        out[code] = {"council_data": own.hexdigest(), "shown_peer_and_sector_data": shown.hexdigest()}
    return out


def combined_hash(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# Manifest, failures and index

def read_manifest(out_dir: Path) -> dict:
    """The batch's record of what it made, or an empty one when there is none or it cannot be read.

    The manifest is only a cache of earlier work: a link, a file that is not JSON or JSON of the wrong shape
    is set aside (the batch then remakes what it cannot vouch for). What the index shows is checked again
    against the wave's councils and the files on disk by :func:`trusted_entries`.
    """
    path = Path(out_dir) / MANIFEST
    empty = {"councils": {}}
    if path.is_symlink() or not path.is_file():
        return empty
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):  # cannot happen with atomic writes; start again rather than trust it
        return empty
    if not isinstance(manifest, dict) or not isinstance(manifest.get("councils"), dict):
        return empty
    return manifest


def write_manifest(out_dir: Path, manifest: dict) -> None:
    write_atomic(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True), "manifest", root=out_dir)


def write_failures(out_dir: Path, failures: pd.DataFrame) -> Path:
    return write_atomic(FAILURES, csv_text(failures[["council", "cell", "error"]]), "list of failures", root=out_dir)


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_STATUSES = ("ok", "failed")


def report_name(code: str, wave: int, suffix: str = ".html") -> str:
    """The file name of a council's report in the batch's output folder (the only name the index links to)."""
    return f"council-{code}-{int(wave)}{suffix}"


def trusted_entries(manifest: dict, councils, out_dir: Path, wave: int) -> tuple[dict, list[str]]:
    """The manifest's entries that the index may publish, and a warning for each one dropped or corrected.

    The index is derived from what the batch made, not from what the manifest says: an entry is kept only
    for a council taking part in the wave (``councils``, codes), with a known status; its links are the
    report names the batch writes (:func:`report_name`) in ``out_dir``, shown only when that file is there
    (a regular file, not a link); a path the manifest records anywhere else is ignored, and a time that is
    not one the batch writes is blanked. A report the manifest calls made but whose file is missing is
    listed as failed. (The manifest records file names; older manifests recorded absolute paths.)

    >>> trusted_entries({"councils": {"../x": {"status": "ok"}}}, ["BST"], Path("."), 2026)[1]
    ["manifest entry '../x' is not a council taking part in wave 2026; it was left out of the index."]
    """
    out_dir = Path(out_dir)
    allowed = set(councils)
    entries = manifest.get("councils") if isinstance(manifest, dict) else None
    if not isinstance(entries, dict):
        return {}, ["the manifest has no list of councils; the index lists none."] if entries is not None else []
    kept, warnings = {}, []
    for code, m in sorted(entries.items(), key=lambda kv: str(kv[0])):
        shown = repr(str(code)[:60])
        if not isinstance(code, str) or code not in allowed:
            warnings.append(f"manifest entry {shown} is not a council taking part in wave {int(wave)}; "
                            "it was left out of the index.")
            continue
        if not isinstance(m, dict) or m.get("status") not in _STATUSES:
            warnings.append(f"manifest entry {shown} has no valid status; it was left out of the index.")
            continue
        files = {}
        for kind, suffix in (("html", ".html"), ("pdf", ".pdf")):
            expected = out_dir / report_name(code, wave, suffix)
            recorded = m.get(kind) or ""
            if recorded and (not isinstance(recorded, str) or recorded not in (expected.name, str(expected))):
                warnings.append(f"manifest entry {shown} names {'an HTML' if kind == 'html' else 'a PDF'} file other than {expected.name}; "
                                "the index links only to the report the batch writes.")
            ok = m["status"] == "ok" and expected.is_file() and not expected.is_symlink()
            files[kind] = expected.name if ok else ""
        status = "ok" if m["status"] == "ok" and files["html"] else "failed"
        when = m.get("finished_at", "")
        if not (isinstance(when, str) and _TIMESTAMP.fullmatch(when)):
            if when:
                warnings.append(f"manifest entry {shown} has a time that is not one the batch writes; it was blanked.")
            when = ""
        kept[code] = {"status": status, "html": files["html"], "pdf": files["pdf"], "finished_at": when}
    return kept, warnings


def index_table(entries: dict, ref: pd.DataFrame) -> pd.DataFrame:
    """One row per council in ``entries`` (from :func:`trusted_entries`): code, name, type, region, files
    (names in the output folder), status."""
    r = ref.set_index("local-authority-code")
    rows = []
    for code, m in sorted(entries.items()):
        rows.append({
            "council_code": code, "council": r["nice-name"].get(code, code),
            "type": r["local-authority-type-name"].get(code, ""), "region": r["region"].get(code, ""),
            "html": m["html"], "pdf": m["pdf"],
            "status": "ready" if m["status"] == "ok" else "failed",
            "updated": m["finished_at"],
        })
    return pd.DataFrame(rows, columns=["council_code", "council", "type", "region", "html", "pdf", "status", "updated"])


def write_index(out_dir: Path, table: pd.DataFrame, wave: int, synthetic: bool) -> tuple[Path, Path]:
    """``index.csv`` and an accessible, searchable ``index.html`` (no scripts or styles fetched)."""
    import jinja2

    from .markup import escape

    # every value goes through the reports' one escaping path (controls and bidi overrides removed, right-to-left
    # names isolated), as in the reports themselves
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=escape)
    ready = int((table["status"] == "ready").sum())
    html = env.get_template("council_index.html.j2").render(
        rows=table.to_dict("records"), wave=wave, synthetic=synthetic, ready=ready, total=len(table))
    csv_path, html_path = Path(out_dir) / INDEX_CSV, Path(out_dir) / INDEX_HTML
    write_atomic(csv_path, csv_text(table), "index", root=out_dir)
    write_atomic(html_path, html, "index page", root=out_dir)
    return csv_path, html_path


# --------------------------------------------------------------------------------------------------
# Progress

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


# --------------------------------------------------------------------------------------------------
# The batch

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
    from .paths import notebooks_dir
    from .reports import councils_in_wave, store_snapshot, validate_store_wave

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
    from .paths import default_store, reports_dir

    store = Path(store) if store else default_store()
    out_dir = Path(out_dir) if out_dir else reports_dir() / "councils" / str(wave)
    extra = dict(extra or {})
    draws = int(extra.pop("draws", 1000))
    return run_batch(wave, store, out_dir, councils=councils, jobs=jobs, pdf=pdf, force=force, draws=draws,
                     extra=extra, progress=progress).results


def _run_batch(wave, store, out_dir, build, codes, unknown, jobs, pdf, force, draws, extra, notebook, bar, stream,
               start, taking_part) -> BatchResult:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .paths import notebooks_dir

    bar.step(f"Computing the wave's shared inputs (scores and rank intervals of {len(taking_part)} councils, "
             f"{draws} draws)...")
    inputs = compute_wave_inputs(store, wave, draws)
    shared = write_wave_inputs(inputs, build / f"wave-inputs-{wave}.jsonl")
    extra = dict(extra or {})
    parameters = {"wave": int(wave), "draws": int(draws), "pdf": bool(pdf), **extra}
    bar.step("Hashing the inputs of each report, to find those already up to date...")
    common = common_hashes(notebook, parameters)
    per_council = council_hashes(inputs, codes)
    manifest = read_manifest(out_dir)
    manifest.update(wave=int(wave), store_sha256=inputs.store_sha256)
    entries = manifest.setdefault("councils", {})
    names = inputs.ref.set_index("local-authority-code")["nice-name"]

    rows, todo = [], []
    for code in codes:
        parts = {**common, **per_council[code]}
        h = combined_hash(parts)
        old = entries.get(code) if isinstance(entries.get(code), dict) else {}
        html = out_dir / report_name(code, wave)
        have = html.exists() and (not pdf or html.with_suffix(".pdf").exists())
        if not force and old.get("status") == "ok" and old.get("hash") == h and have:
            rows.append({"council": code, "status": "unchanged", "cell": "", "error": "", "seconds": 0.0,
                         "html": str(html), "pdf": str(html.with_suffix(".pdf")) if old.get("pdf") else ""})
            continue
        todo.append((Task(code, str(names.get(code, code)), int(wave), str(store), int(draws), str(shared),
                          str(notebook), str(html), str(build), bool(pdf), extra), h, parts))
    for code in unknown:
        rows.append({"council": code, "status": "failed", "cell": "", "error":
                     f"{code!r} has no self-assessment in wave {wave} (or is not a council code)", "seconds": 0.0,
                     "html": "", "pdf": ""})

    def record(row, h, parts):
        rows.append(row)
        entries[row["council"]] = {
            "hash": h if row["status"] == "ok" else "", "inputs": parts, "status": row["status"],
            "html": Path(row["html"]).name if row["html"] else "", "pdf": Path(row["pdf"]).name if row["pdf"] else "",
            "seconds": row["seconds"], "cell": row["cell"],
            "error": row["error"], "finished_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        write_manifest(out_dir, manifest)
        bar.update(row)

    same = sum(r["status"] == "unchanged" for r in rows)
    if todo:
        jobs = max(1, min(jobs or default_jobs(), len(todo)))
        bar.step(f"{len(todo)} reports to write ({same} unchanged); starting {jobs} worker"
                 f"{'s' if jobs > 1 else ''}, each with its own Python kernel...")
        bar.begin(len(todo), jobs)
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                 initargs=(os.getpid(), str(notebooks_dir()))) as pool:
            futures = {pool.submit(_render, task): (task, h, parts) for task, h, parts in todo}
            for fut in as_completed(futures):
                task, h, parts = futures[fut]
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001  (a worker that died: record it, carry on)
                    row = {"council": task.council, "status": "failed", "cell": "", "error":
                           f"the worker stopped ({type(exc).__name__}: {exc})", "seconds": 0.0, "html": "", "pdf": ""}
                record(row, h, parts)
    else:
        bar.step(f"Nothing to write: {same} reports are up to date.")
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
