"""A small on-disk cache for deterministic, seeded computations that do not depend on the store.

The engine's own checks on synthetic councils (thousands of simulated fits) give the same answer every
time for the same engine code, settings and library versions; the evidence review reads them from here
after the first run instead of recomputing them. The key is the SHA-256 of the named parameters, the
source code of the packages named in ``code`` and the versions of numpy, scipy, pandas and statsmodels,
so a change to any of them computes afresh. Files are written atomically.

Values are kept as typed JSON with a SHA-256 of their content (:mod:`dqm.serial`), never as pickles: a
file in the cache folder can hold data only, and one that is damaged, changed or of an unexpected type
is ignored and computed again. Files of any other kind there (an old or planted ``.pkl``) are never read.

A result computed from data (the claims battery, a claim's panel view) is keyed by the data's content as well:
:func:`content_sha256` of the inputs goes into ``params``, so a change to any input row computes afresh.

Set DQM_CACHE_DIR to choose the folder (default ``reports/_build/cache``); delete it to start again.

Example::

    from .cache import disk_cached
    value = disk_cached("engine-checks", {"replications": 400}, lambda: expensive(400), code=["claims"])
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..version import library_versions

PACKAGE = Path(__file__).resolve().parent.parent  # dqm/: code names are relative to the package


def cache_dir() -> Path:
    from ..paths import reports_dir

    return Path(os.environ.get("DQM_CACHE_DIR") or reports_dir() / "_build" / "cache")


def _code_sha256(names) -> str:
    h = hashlib.sha256()
    for name in names:
        root = PACKAGE / name
        files = sorted(root.rglob("*.py")) if root.is_dir() else [PACKAGE / f"{name}.py"]
        for p in files:
            h.update(str(p.relative_to(PACKAGE)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def content_sha256(*values) -> str:
    """The SHA-256 of ``values`` as typed JSON (:mod:`dqm.serial`: data frames with their dtypes, dataclasses, lists):
    the part of a cache key that says which data a result was computed from.

    >>> import pandas as pd
    >>> a = content_sha256(pd.DataFrame({"x": [1, 2]}))
    >>> a == content_sha256(pd.DataFrame({"x": [1, 2]})), a == content_sha256(pd.DataFrame({"x": [1, 3]}))
    (True, False)
    """
    from ..serial import dumps

    h = hashlib.sha256()
    for value in values:
        h.update(dumps(value).split(b"\n", 1)[1])  # the value's line (the first is a keyed hash of it)
    return h.hexdigest()


def disk_cached(name: str, params: dict, compute, code=(), types=()):
    """``compute()``, or its result stored by an earlier call with the same name, parameters, code and versions.

    ``types`` names the dataclasses the value may hold (see :func:`dqm.serial.loads`). A value that cannot be
    kept as data (a type :mod:`dqm.serial` does not know) is returned without being kept.
    """
    from ..errors import DQMError
    from ..serial import SUFFIX, UnreadableValue, read_value, write_value

    key = hashlib.sha256(json.dumps({"params": params, "code": _code_sha256(code), "versions": library_versions()},
                                    sort_keys=True, default=str).encode()).hexdigest()[:24]
    path = cache_dir() / f"{name}-{key}{SUFFIX}"
    if path.is_file() and not path.is_symlink():
        try:
            return read_value(path, types)
        except UnreadableValue:
            pass  # damaged or changed: compute again and replace it
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_value(path, value, "cached value")
    except (OSError, DQMError, TypeError):
        pass  # a read-only place, or a value that is not plain data: the value is still right, only not kept
    return value
