"""The batch's workers: one kernel and one exporter per worker process, reset to a clean state between councils.
"""
from __future__ import annotations

import copy
import gc
import importlib
import os
import random
import sys
import tempfile
import time

import pandas as pd

_KERNEL_BASELINE: dict | None = None


_MUTABLE = (dict, list, set, pd.DataFrame, pd.Series)


# what a council report imports: loaded before the baseline is taken, so that their state is restored too
PRELOADED = ("dqm.model", "dqm.reference", "dqm.scoring", "dqm.scoring.profile", "dqm.store", "dqm.reports.narrative",
             "dqm.reports.plots", "dqm.reports.provenance", "dqm.reports.sections", "dqm.reports.wave")


def _dqm_modules():
    return {name: mod for name, mod in list(sys.modules.items())
            if mod is not None and (name == "dqm" or name.startswith("dqm.")) and name != __name__}


def capture_kernel_baseline() -> None:
    """Record the state of a freshly started kernel after the heavy imports, to restore before each report."""
    global _KERNEL_BASELINE
    import warnings

    import matplotlib
    import numpy as np

    for name in PRELOADED:
        importlib.import_module(name)
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
    # what is loaded now lives as long as the kernel: the garbage collector need not look at it again, so the
    # collection that clearing the namespace runs before each report (IPython's reset) sees only the last report's objects
    gc.collect()
    gc.freeze()


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
    _run_in_kernel(_kernel_notebook("import dqm.reports.kernel\ndqm.reports.kernel.capture_kernel_baseline()"), _WORKER["cwd"])
    _WORKER["kernel_pid"] = getattr(_WORKER["km"].provisioner, "pid", None)


def _worker_init(parent: int, notebooks: str) -> None:
    import threading
    from multiprocessing.util import Finalize

    from .html import _html_exporter

    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _WORKER["cwd"] = notebooks
    _start_kernel()
    _WORKER["exporter"] = _html_exporter()
    Finalize(None, _stop_kernel, exitpriority=10)  # runs when the pool shuts the worker down
