"""Limits on the size of what dqm reads, with their defaults in ``data/limits.yaml``, and the one check
of a file before dqm reads it.

Every reader of a file a user gives (survey exports, packs, outcome CSVs, council maps, YAML files such
as the model and claims) goes through :func:`read_file` (or :func:`check_regular_file` before a library
opens the path): only a regular file is read, never a folder, device (``/dev/zero``), named pipe or socket,
and never more than its size limit. An XLSX workbook (a zip) is checked by :func:`check_zip` before
openpyxl touches it: on its unzipped size, the size of each part and each part's compression ratio, so a
zip bomb is refused from its central directory, before anything is decompressed.

A limit is read, in order of precedence, from an override set for this process (the CLI's
``--max-rows`` and similar options call :func:`set_limits`), an environment variable
``DQM_<NAME>`` (``DQM_MAX_ROWS=500000``), or ``data/limits.yaml``.

>>> limit("max_cell_chars")
32767
"""
from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from .datadir import data_dir
from .errors import DQMError
from .yamltext import load_yaml_bytes

_OVERRIDES: dict[str, float] = {}
_BUILT_IN = {"max_file_mb": 100, "max_rows": 200_000, "max_cell_chars": 32_767, "max_council_chars": 200,
             "max_yaml_kb": 1024, "max_cells": 10_000_000, "max_line_kb": 4096,
             "max_unzipped_mb": 500, "max_part_mb": 100, "max_zip_ratio": 200}


@lru_cache(maxsize=4)
def _defaults(folder: str) -> dict:
    path = data_dir() / "limits.yaml"
    if not path.exists():
        return dict(_BUILT_IN)
    # read with a fixed cap (the limits cannot bound the reading of their own file), parsed as every YAML file is
    raw = load_yaml_bytes(read_file(path, "limits file", max_bytes=64 * 1024), path, what="limits file") or {}
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


# ---------------------------------------------------------------- cells
CELL_MARGIN = 65_536
"""A cell more than this many characters over ``max_cell_chars`` is not an answer: the whole file is refused as
it is read, before the cell is held whole. A cell over the limit by less is read and its row quarantined."""


def cell_cap() -> int:
    """The most characters a cell may hold before the file holding it is refused (see :data:`CELL_MARGIN`)."""
    return int(min(limit("max_cell_chars") + CELL_MARGIN, 2**31 - 1))


@contextmanager
def csv_field_limit(chars: int | None = None):
    """Python's csv reader (and pandas' python engine) refuse a field longer than ``chars`` (default
    :func:`cell_cap`) while reading it, raising ``csv.Error("field larger than field limit")``; restored after."""
    old = csv.field_size_limit(cell_cap() if chars is None else chars)
    try:
        yield
    finally:
        csv.field_size_limit(old)


# ---------------------------------------------------------------- the one check before reading a file
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))
_NOT_REGULAR_HINT = "Give the path of a file saved on disk; dqm reads only regular files, never devices, pipes or sockets."


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _describe_size(size: int, unit: str) -> str:
    """A file's size for a message, in the limit's unit unless that would round it to nothing."""
    if size < 1024:
        return f"{size:,} bytes"
    if unit == "KB" or size < 1024 * 1024:
        return f"{size / 1024:,.0f} KB"
    return f"{size / 1024 / 1024:,.0f} MB"


def check_regular_file(path, what: str = "file", error=DQMError, hint: str | None = None,
                       limit_name: str | None = "max_file_mb", max_bytes: float | None = None,
                       size_hint: str | None = None) -> os.stat_result:
    """Refuse, with a one-line ``error`` naming the file, anything but an existing regular file within its size limit.

    ``path`` is looked up with :func:`os.stat`, so a link is judged by what it points at (a link to /dev/zero
    is a device). A folder, device, named pipe or socket is refused without being opened: opening a named
    pipe would wait for a writer for ever. ``what`` names the file in messages ("council map"); the size
    limit is ``max_bytes`` if given, else the limit ``limit_name`` (``max_file_mb`` or ``max_yaml_kb``).
    Returns the file's stat.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"the {what} does not exist.", file=path, hint="Check the path.") from None
    except OSError as exc:
        raise error(f"the {what} cannot be read ({exc.strerror or exc}).", file=path,
                    hint="Check the path and its permissions.") from None
    if not stat.S_ISREG(st.st_mode):
        kind = _kind(st.st_mode)
        link = f" (a link to {os.path.realpath(path)})" if path.is_symlink() else ""
        if kind == "a folder":
            raise error(f"the {what} is a folder{link}, not a file.", file=path, hint=hint or "Give the path of a file.")
        raise error(f"the {what} is {kind}{link}, not a regular file.", file=path, hint=_NOT_REGULAR_HINT)
    _check_size(path, st.st_size, what, error, limit_name, max_bytes, size_hint or hint)
    return st


def _cap_bytes(limit_name: str | None, max_bytes: float | None) -> float | None:
    """The size limit in bytes: ``max_bytes`` if given, else the limit ``limit_name`` (in MB, or KB if it ends _kb)."""
    if max_bytes is not None or limit_name is None:
        return max_bytes
    return limit(limit_name) * (1024 if limit_name.endswith("_kb") else 1024 * 1024)


def _check_size(path, size, what, error, limit_name, max_bytes, hint) -> None:
    cap = _cap_bytes(limit_name, max_bytes)
    if cap is None:
        return
    unit = "KB" if (limit_name or "").endswith("_kb") else "MB"
    if size > cap:
        shown = cap / 1024 if unit == "KB" else cap / 1024 / 1024
        env = f"DQM_{limit_name.upper()}" if limit_name else "the matching DQM_ environment variable"
        raise error(f"the {what} is {_describe_size(size, unit)}, more than the limit of {shown:,g} {unit}.", file=path,
                    hint=hint or f"Check it is the file you meant; if it is, raise the limit with {env}.")


def read_file(path, what: str = "file", error=DQMError, hint: str | None = None,
              limit_name: str | None = "max_file_mb", max_bytes: float | None = None,
              size_hint: str | None = None) -> bytes:
    """The bytes of a regular file within its size limit (see :func:`check_regular_file`), read boundedly.

    The file is opened without waiting (``O_NONBLOCK``) and checked again once open, so a file replaced by a
    pipe or device after the check is still refused, and no more than the limit is ever read, even from a
    file that grows while it is read.
    """
    path = Path(path)
    check_regular_file(path, what, error, hint, limit_name, max_bytes, size_hint)
    cap = _cap_bytes(limit_name, max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise error(f"the {what} cannot be read ({exc.strerror or exc}).", file=path,
                    hint="Check the file's permissions.") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):
            raise error(f"the {what} is {_kind(now.st_mode)}, not a regular file.", file=path, hint=_NOT_REGULAR_HINT)
        most = int(cap) + 1 if cap is not None else None  # one byte over the limit shows the file grew past it
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(now.st_size + 1 if most is None else min(now.st_size + 1, most))
            if len(data) > now.st_size and (most is None or len(data) < most):  # it grew while being read
                data += fh.read(-1 if most is None else most - len(data))
    except OSError as exc:
        raise error(f"the {what} cannot be read ({exc.strerror or exc}).", file=path,
                    hint="Check the file's permissions.") from None
    finally:
        os.close(fd)
    _check_size(path, len(data), what, error, limit_name, max_bytes, size_hint or hint)
    return data


# ---------------------------------------------------------------- zip archives (XLSX workbooks)
def check_zip(data: bytes, path, what: str = "workbook", error=DQMError, hint: str | None = None) -> None:
    """Refuse a zip (an XLSX workbook) whose parts would unzip to too much, from its central directory alone.

    Refused, naming the part: a total unzipped size over ``max_unzipped_mb``, one part over ``max_part_mb``
    (openpyxl loads the shared strings and styles whole), or a part of more than 1 MB unzipped that is
    compressed more than ``max_zip_ratio`` times (a zip bomb: real workbooks compress 3 to 20 times). The
    sizes read here also bound what is decompressed later: Python's zip reader stops at a part's stated size.
    A file that is not a zip at all is left to the reader to report.
    """
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return  # not a zip: the reader says what it is
    mb = 1024 * 1024
    hint = hint or ("Check it is the workbook you meant: a real survey export is far smaller. If it is, raise the "
                    "limit with the environment variable named.")
    total, cap_part, ratio_cap = 0, limit("max_part_mb") * mb, limit("max_zip_ratio")
    for info in infos:
        size = info.file_size
        total += size
        if size > mb and size > ratio_cap * max(info.compress_size, 1):
            raise error(f"the {what} is a zip bomb: its part {info.filename!r} unzips to {size / mb:,.0f} MB from "
                        f"{info.compress_size / 1024:,.0f} KB (compressed {size / max(info.compress_size, 1):,.0f} times; the "
                        f"limit is {ratio_cap:,g}, DQM_MAX_ZIP_RATIO); it is not read.", file=path, hint=hint)
        if size > cap_part:
            raise error(f"the {what}'s part {info.filename!r} unzips to {size / mb:,.0f} MB, more than the limit of "
                        f"{cap_part / mb:,g} MB (DQM_MAX_PART_MB); it is not read.", file=path, hint=hint)
    cap_total = limit("max_unzipped_mb") * mb
    if total > cap_total:
        raise error(f"the {what} unzips to {total / mb:,.0f} MB, more than the limit of {cap_total / mb:,g} MB "
                    "(DQM_MAX_UNZIPPED_MB); it is not read.", file=path, hint=hint)
