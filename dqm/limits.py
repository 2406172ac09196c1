"""Limits on the size of what dqm reads, with their defaults in ``data/limits.yaml``.

A limit is read, in order of precedence, from an override set for this process (the CLI's
``--max-rows`` and similar options call :func:`set_limits`), an environment variable
``DQM_<NAME>`` (``DQM_MAX_ROWS=500000``), or ``data/limits.yaml``.

>>> limit("max_cell_chars")
32767
"""
from __future__ import annotations

import os
from functools import lru_cache

from .errors import DQMError
from .paths import data_dir

_OVERRIDES: dict[str, float] = {}
_BUILT_IN = {"max_file_mb": 100, "max_rows": 200_000, "max_cell_chars": 32_767, "max_council_chars": 200,
             "max_yaml_kb": 1024}


@lru_cache(maxsize=4)
def _defaults(folder: str) -> dict:
    from .yamlio import load_yaml

    path = data_dir() / "limits.yaml"
    if not path.exists():
        return dict(_BUILT_IN)
    raw = load_yaml(path, what="limits file", max_kb=64) or {}
    if not isinstance(raw, dict):
        raise DQMError("the limits file must map limit names to numbers.", file=path)
    out = dict(_BUILT_IN)
    for k, v in raw.items():
        if k not in _BUILT_IN:
            raise DQMError(f"{k!r} is not a known limit; the limits are {', '.join(_BUILT_IN)}.", file=path)
        out[k] = _positive(k, v, path)
    return out


def _positive(name, value, source):
    try:
        num = float(value)
    except (TypeError, ValueError):
        raise DQMError(f"limit {name} must be a positive number, not {value!r}.", file=source) from None
    if not num > 0 or num == float("inf"):
        raise DQMError(f"limit {name} must be a positive number, not {value!r}.", file=source)
    return int(num) if num.is_integer() else num


def limit(name: str):
    """The current value of one limit (see the module docstring for where it comes from)."""
    if name not in _BUILT_IN:
        raise KeyError(name)
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    env = os.environ.get(f"DQM_{name.upper()}")
    if env is not None and env.strip():
        return _positive(name, env, f"environment variable DQM_{name.upper()}")
    return _defaults(str(data_dir()))[name]


def set_limits(**values) -> None:
    """Override limits for this process (None leaves a limit as it is)."""
    for k, v in values.items():
        if k not in _BUILT_IN:
            raise KeyError(k)
        if v is not None:
            _OVERRIDES[k] = _positive(k, v, "the command line")


def reset_limits() -> None:
    _OVERRIDES.clear()
