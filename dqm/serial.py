"""Computed values kept on disk as data that cannot run code: typed JSON with a keyed hash (HMAC-SHA-256).

dqm keeps some computed values between processes (the engine checks in ``reports/_build/cache``, a
batch's shared wave inputs, a run's claims battery). Those folders may be writable by others, so a
value is never kept as a pickle (loading a pickle runs whatever code it names). It is written as two
JSON lines:

1. a header, ``{"format": "dqm-value", "version": 2, "hmac_sha256": ...}``, the HMAC-SHA-256 of line 2;
2. the value, in a small typed encoding that can describe data only.

The HMAC's key (:func:`cache_key`) is the user's own: ``DQM_CACHE_KEY`` if set, else 32 random bytes kept
in ``~/.config/dqm/cache-key`` (mode 0600, made on first use; the one file dqm writes outside an output
folder, because a secret must not be readable by others). Someone who can write to a shared reports
folder, but not read the analyst's key, can therefore not forge a kept value (say, an engine-checks table
that the evidence review would print): a file whose HMAC does not check out is computed again.

The encoding knows None, bool, int, float (with NaN and infinities), str, list, tuple, dict, dates and
times, numpy scalars and numeric or boolean arrays, pandas DataFrames and Series (columns of numeric,
boolean, nullable, string, datetime, categorical or object dtype; a RangeIndex or a flat index) and
instances of the dataclasses the READER names. A file whose hash, JSON or content does not check out
is :class:`UnreadableValue`: callers compute the value again and never trust it.

Example::

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    >>> back = loads(dumps(frame))
    >>> back.equals(frame) and list(back.dtypes) == list(frame.dtypes)
    True
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

FORMAT = "dqm-value"
VERSION = 2
SUFFIX = ".jsonl"
_NUMERIC_KINDS = "biuf"  # numpy dtype kinds kept as JSON numbers or booleans
_TIME_KINDS = "mM"  # numpy timedelta64 and datetime64, kept as integers of their unit


class UnreadableValue(ValueError):
    """A kept value that is damaged, was changed, or holds something the reader did not ask for."""


# ------------------------------------------------------------------------------------------ encoding
def _encode(value):
    """``value`` as plain JSON data (lists, dicts with a ``$t`` tag, strings, numbers, booleans, null)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if value is pd.NA or value is pd.NaT:
        return {"$t": "NA" if value is pd.NA else "NaT"}
    if isinstance(value, np.generic):
        return _encode_numpy_scalar(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$t": "tuple", "items": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$t": "dict", "items": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, pd.Timestamp):
        if value.tz is not None:
            raise TypeError("a time with a time zone cannot be kept")
        return {"$t": "timestamp", "value": value.isoformat()}
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise TypeError("a time with a time zone cannot be kept")
        return {"$t": "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$t": "date", "value": value.isoformat()}
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, pd.DataFrame):
        return {"$t": "frame", "index": _encode_index(value.index), "columns": _encode_index(value.columns),
                "data": [_encode_column(value.iloc[:, i]) for i in range(value.shape[1])]}
    if isinstance(value, pd.Series):
        return {"$t": "series", "index": _encode_index(value.index), "name": _encode(value.name),
                "data": _encode_column(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        return {"$t": "dataclass", "type": f"{cls.__module__}.{cls.__qualname__}",
                "fields": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}}
    raise TypeError(f"a value of type {type(value).__name__} cannot be kept")


def _encode_numpy_scalar(value: np.generic):
    if value.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"a numpy {value.dtype} cannot be kept")
    return {"$t": "np", "dtype": value.dtype.str, "value": value.item()}


def _encode_array(value: np.ndarray):
    if value.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"a numpy array of {value.dtype} cannot be kept")
    return {"$t": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape), "data": value.ravel().tolist()}


def _encode_index(index: pd.Index):
    if isinstance(index, pd.RangeIndex):
        return {"$t": "range", "start": index.start, "stop": index.stop, "step": index.step,
                "name": _encode(index.name)}
    if isinstance(index, pd.MultiIndex):
        raise TypeError("a table with a multi-level index cannot be kept")
    return {"$t": "index", "name": _encode(index.name), "data": _encode_column(pd.Series(index, copy=False))}


def _encode_column(col: pd.Series) -> dict:
    """One column: how its dtype is named (``kind`` and ``dtype``) and its values (missing values as null)."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {"kind": "category", "ordered": bool(dtype.ordered),
                "categories": _encode_column(pd.Series(dtype.categories, copy=False)),
                "codes": col.cat.codes.tolist()}
    if isinstance(dtype, np.dtype) and dtype.kind in _NUMERIC_KINDS:
        return {"kind": "numpy", "dtype": dtype.str, "values": col.to_numpy().tolist()}
    if isinstance(dtype, np.dtype) and dtype.kind in _TIME_KINDS:
        raw = col.to_numpy()
        return {"kind": "time", "dtype": dtype.str,
                "values": [None if m else int(v) for v, m in zip(raw.view("i8").tolist(), np.isnat(raw).tolist())]}
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, pd.api.extensions.ExtensionDtype)
                                              and dtype.kind in _NUMERIC_KINDS):
        return {"kind": "pandas", "dtype": str(dtype),
                "values": [None if m else v for v, m in zip(col.tolist(), col.isna().tolist())]}
    if dtype == object:  # noqa: E721  (a numpy dtype equals object without being it: `is` would be wrong)
        return {"kind": "object", "values": [_encode(v) for v in col.tolist()]}
    raise TypeError(f"a column of dtype {dtype} cannot be kept")


def cache_key() -> bytes:
    """The key of the kept values' HMAC: ``DQM_CACHE_KEY`` (hex), else the user's key file, made if missing.

    The file is ``$XDG_CONFIG_HOME/dqm/cache-key`` (default ``~/.config/dqm/cache-key``), created with mode
    0600 and never through a link; a key file that is a link, not a regular file, or readable by others is
    not used. When no key file can be kept (a read-only home), a key for this run is made and passed to
    the run's worker processes through ``DQM_CACHE_KEY``, so values are shared within the run only.
    """
    import os
    import secrets
    import stat

    env = os.environ.get("DQM_CACHE_KEY", "")
    if len(env) >= 32:
        return env.encode("ascii", "replace")
    folder = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "dqm"
    path = folder / "cache-key"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as fh:
            st = os.fstat(fh.fileno())
            key = fh.read(200).strip()
        if stat.S_ISREG(st.st_mode) and not st.st_mode & 0o077 and st.st_uid == os.getuid() and len(key) >= 32:
            return key.encode("ascii", "replace")
    except OSError:
        pass
    key = secrets.token_hex(32)
    os.environ["DQM_CACHE_KEY"] = key  # worker processes of this run inherit it
    return key.encode("ascii")


def _mac(payload: bytes) -> str:
    import hmac

    return hmac.new(cache_key(), payload, hashlib.sha256).hexdigest()


def dumps(value) -> bytes:
    """``value`` as the two-line file (header with the HMAC, then the value). TypeError if it cannot be kept."""
    payload = json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    header = json.dumps({"format": FORMAT, "version": VERSION, "hmac_sha256": _mac(payload)})
    return header.encode("utf-8") + b"\n" + payload + b"\n"


# ------------------------------------------------------------------------------------------ decoding
class _Decoder:
    """Turns encoded data back into values, building only the dataclasses it was given."""

    def __init__(self, types):
        self.types = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in types}

    def value(self, data):
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.value(v) for v in data]
        tag = data["$t"]
        if tag in ("NA", "NaT"):
            return pd.NA if tag == "NA" else pd.NaT
        if tag == "tuple":
            return tuple(self.value(v) for v in data["items"])
        if tag == "dict":
            return {self.value(k): self.value(v) for k, v in data["items"]}
        if tag == "timestamp":
            return pd.Timestamp(data["value"])
        if tag == "datetime":
            return dt.datetime.fromisoformat(data["value"])
        if tag == "date":
            return dt.date.fromisoformat(data["value"])
        if tag == "np":
            return _numeric_dtype(data["dtype"]).type(data["value"])
        if tag == "ndarray":
            return np.array(data["data"], dtype=_numeric_dtype(data["dtype"])).reshape(data["shape"])
        if tag == "frame":
            index, columns = self.index(data["index"]), self.index(data["columns"])
            cols = [self.column(c, index) for c in data["data"]]
            if len(cols) != len(columns):
                raise ValueError("a table's columns do not match their names")
            frame = pd.DataFrame({i: c.array for i, c in enumerate(cols)}, index=index)  # no alignment
            # an object column stays object (pandas 3 would otherwise infer its own string dtype from the values)
            frame = frame.astype({i: object for i, c in enumerate(cols) if c.dtype == object})
            frame.columns = columns
            return frame
        if tag == "series":
            return self.column(data["data"], self.index(data["index"])).rename(self.value(data["name"]))
        if tag == "dataclass":
            return self.dataclass(data["type"], data["fields"])
        raise ValueError(f"unknown tag {tag!r}")

    def dataclass(self, name: str, fields: dict):
        cls = self.types.get(name)
        if cls is None:
            raise ValueError(f"a {name} was not asked for")
        wanted = {f.name for f in dataclasses.fields(cls) if f.init}
        if set(fields) != wanted:
            raise ValueError(f"the fields of a {name} do not match")
        return cls(**{k: self.value(v) for k, v in fields.items()})

    def index(self, data) -> pd.Index:
        if data["$t"] == "range":
            return pd.RangeIndex(int(data["start"]), int(data["stop"]), int(data["step"]), name=self.value(data["name"]))
        if data["$t"] == "index":
            return pd.Index(self.column(data["data"]), name=self.value(data["name"]))
        raise ValueError("not an index")

    def column(self, data: dict, index: pd.Index | None = None) -> pd.Series:
        """A column made by :func:`_encode_column` (on ``index``, whose length it must have)."""
        kind = data["kind"]
        if kind == "category":
            values = pd.Categorical.from_codes(data["codes"], categories=pd.Index(self.column(data["categories"])),
                                               ordered=bool(data["ordered"]))
        elif kind == "object":
            values = np.empty(len(data["values"]), dtype=object)
            values[:] = [self.value(v) for v in data["values"]]
        elif kind == "numpy":
            values = np.array(data["values"], dtype=_numeric_dtype(data["dtype"]))
        elif kind == "time":
            dtype = np.dtype(str(data["dtype"]))
            if dtype.kind not in _TIME_KINDS:
                raise ValueError(f"dtype {dtype} is not a time")
            values = np.array([_NAT if v is None else v for v in data["values"]], dtype="i8").view(dtype)
        elif kind == "pandas":
            values = pd.array(data["values"], dtype=_pandas_dtype(data["dtype"]))
        else:
            raise ValueError(f"unknown column kind {kind!r}")
        if values.ndim != 1 or (index is not None and len(values) != len(index)):
            raise ValueError("a column's length does not match its table")
        # an object column stays object (pandas 3 would otherwise infer its own string dtype from the values)
        return pd.Series(values, index=index, copy=False, dtype=object if kind == "object" else None)


_NAT = np.iinfo("i8").min  # numpy's integer for NaT


def _numeric_dtype(name: str) -> np.dtype:
    dtype = np.dtype(str(name))
    if dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(f"dtype {name} is not numeric")
    return dtype


def _pandas_dtype(name: str):
    """A pandas string or nullable numeric dtype from its name (a name only: nothing is imported or run)."""
    dtype = pd.api.types.pandas_dtype(str(name))
    if not (isinstance(dtype, pd.StringDtype) or (isinstance(dtype, pd.api.extensions.ExtensionDtype)
                                                   and dtype.kind in _NUMERIC_KINDS)):
        raise ValueError(f"dtype {name} cannot be read")
    return dtype


def loads(data: bytes, types=()):
    """The value in a file made by :func:`dumps`; dataclasses only of the given ``types``.

    Raises :class:`UnreadableValue` for anything else: a wrong header or hash, bad JSON, an unknown tag
    or dtype, a dataclass not in ``types``, or fields that do not fit.
    """
    try:
        head, _, payload = bytes(data).partition(b"\n")
        header = json.loads(head)
        if not (isinstance(header, dict) and header.get("format") == FORMAT and header.get("version") == VERSION):
            raise UnreadableValue("not a kept dqm value")
        payload = payload.removesuffix(b"\n")
        import hmac

        if not hmac.compare_digest(_mac(payload), str(header.get("hmac_sha256", ""))):
            raise UnreadableValue("the content does not match its HMAC (changed, or kept with another user's key)")
        return _Decoder(types).value(json.loads(payload))
    except UnreadableValue:
        raise
    except Exception as exc:  # any malformed content: never trusted, computed again by the caller
        raise UnreadableValue(f"the kept value cannot be read ({type(exc).__name__}: {exc})") from None


def write_value(path, value, what: str = "kept value") -> Path:
    """Keep ``value`` in ``path`` atomically (see :func:`dqm.paths.write_atomic`). TypeError if it cannot be kept."""
    from .paths import write_atomic

    return write_atomic(Path(path), dumps(value), what)


def read_value(path, types=()):
    """The value kept in ``path`` (see :func:`loads`); :class:`UnreadableValue` if it is missing or does not check out."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableValue(f"{path} cannot be read ({exc.strerror or exc})") from None
    return loads(data, types)
