"""Where the project's data files live. Everything is relative to the repository's data/ folder.

Set DQM_DATA_DIR to use another data folder (for example a copy with your own model and outcomes).
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("DQM_DATA_DIR", PROJECT_ROOT / "data"))


def model_path() -> Path:
    return Path(os.environ.get("DQM_MODEL", data_dir() / "model" / "dqm.yaml"))


def reference_dir() -> Path:
    return data_dir() / "reference"


def outcomes_dir() -> Path:
    return data_dir() / "outcomes"


def sources_dir() -> Path:
    return data_dir() / "sources"


def demo_dir() -> Path:
    return data_dir() / "demo"


def default_store() -> Path:
    return Path(os.environ.get("DQM_STORE", data_dir() / "dqm.duckdb"))


def notebooks_dir() -> Path:
    return PROJECT_ROOT / "notebooks"


def reports_dir() -> Path:
    return Path(os.environ.get("DQM_REPORTS_DIR", PROJECT_ROOT / "reports"))


# ---------------------------------------------------------------- where dqm writes: confinement and atomic writes
def _error(message: str, hint: str | None = None):
    from .errors import ParameterError

    return ParameterError(message, hint=hint)


def output_folder(folder, create: bool = True) -> Path:
    """The output folder, resolved once: it must be a folder (created if missing) that dqm can write to.

    A path that is a file, or a folder that cannot be written, is refused with a message saying what to do.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise _error(f"the output folder {folder} is a file, not a folder.", "Give a folder with --out-dir.")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _error(f"the output folder {folder} cannot be created ({exc.strerror or exc}).",
                         "Give a folder you can write to with --out-dir.") from None
    resolved = folder.resolve()
    if create and not os.access(resolved, os.W_OK | os.X_OK):
        raise _error(f"the output folder {folder} is not writable.", "Give a folder you can write to with --out-dir.")
    return resolved


def confined(folder, path, what: str = "output", is_folder: bool = False) -> Path:
    """``path`` (relative to ``folder`` unless absolute) resolved once and checked to lie inside ``folder``.

    Refused: a path outside the folder, and any symbolic link on the way (the file itself or a folder
    between it and ``folder``), so that a link planted in the output folder cannot send a write elsewhere.
    Returns the absolute path to write; ``folder`` must already be resolved (see :func:`output_folder`).

    >>> import tempfile; d = Path(tempfile.mkdtemp()).resolve()
    >>> confined(d, "a.html") == d / "a.html"
    True
    """
    folder = Path(folder)
    p = Path(path)
    if not p.is_absolute():
        p = folder / p
    p = Path(os.path.abspath(p))  # normalise .. without following links
    try:
        rel = p.relative_to(folder)
    except ValueError:
        # an absolute path may reach the folder through a link in its parents (e.g. /tmp -> /private/tmp)
        try:
            rel = p.parent.resolve(strict=False).joinpath(p.name).relative_to(folder)
        except ValueError:
            raise _error(f"the {what} {path} is outside the output folder {folder}.",
                         "Give a file name inside the output folder.") from None
        p = folder / rel
    if not rel.parts:
        raise _error(f"the {what} {path} is the output folder itself, not a file in it.")
    cur = folder
    for part in rel.parts:
        cur = cur / part
        if cur.is_symlink():
            raise _error(f"the {what} {path} goes through a symbolic link ({cur}); dqm does not write through links.",
                         "Remove the link, or choose another output folder.")
    if p.exists() and (not p.is_dir() if is_folder else not p.is_file()):
        raise _error(f"the {what} {path} exists and is not a {'folder' if is_folder else 'file'}.")
    return p


def write_atomic(path, data, what: str = "output") -> Path:
    """Write ``data`` (str as UTF-8, or bytes) to a temporary file beside ``path``, then rename it into place.

    A reader sees the old file or the new one, never a part-written file: a full disk or a kill leaves
    the old file as it was and no temporary file behind (the rename also replaces a link rather than
    following it).
    """
    import tempfile

    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _error(f"cannot write the {what} {path} ({exc.strerror or exc}).",
                     "Check that the output folder exists and is writable.") from None
    try:
        os.fchmod(fd, (path.stat().st_mode & 0o777) if path.is_file() else 0o644)  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            import errno

            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise _error(f"cannot write the {what} {path} ({'the disk is full' if full else exc.strerror or exc}); "
                         "any earlier version was left as it was.",
                         "Free some space and run again." if full else None) from None
        raise
    return path


RUN_STORE_MARK = ("made_by", "dqm run")  # a row in the store's meta table: a store `dqm run` made and may rebuild


def _store_meta(path: Path) -> dict | None:
    """The meta table of a dqm store, or None when the file is not a dqm store (read-only; nothing is changed).

    A database holding any view, macro or other SQL object is not a store, and its meta is not read; it
    is opened with :func:`dqm.safe_duckdb.open_duckdb`, which can touch no other file.
    """
    from .safe_duckdb import catalog, code_objects, open_duckdb

    try:
        con = open_duckdb(path, read_only=True)
    except Exception:
        return None
    try:
        found = catalog(con)
        if code_objects(found) or "meta" not in found["table"]:
            return None
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    except Exception:
        return None
    finally:
        con.close()


def clear_run_store(store, default: bool = False) -> Path:
    """Make way for the store `dqm run` rebuilds from the exports every time; delete only a store it made.

    A missing store is fine. An existing one is deleted only if it is a dqm store marked as made by
    `dqm run` (or, at the default place in the build folder, any dqm store). Anything else (a link, a
    folder, a file that is not a dqm store, a store made by `dqm ingest`) is refused untouched.
    """
    store = Path(store)
    wal = Path(str(store) + ".wal")
    if not store.exists() and not store.is_symlink():
        if wal.exists() and not wal.is_symlink() and wal.is_file():
            wal.unlink()  # left by a killed run; no store to go with it
        return store
    if store.is_symlink() or not store.is_file():
        raise _error(f"the store {store} is a link or a folder, not a store `dqm run` made; it was left untouched.",
                     "Give --store a new file name.")
    meta = _store_meta(store)
    ours = meta is not None and (meta.get(RUN_STORE_MARK[0]) == RUN_STORE_MARK[1] or (default and "schema_version" in meta))
    if not ours:
        raise _error(f"{store} exists and is not a store made by `dqm run`, which rebuilds its store from the exports "
                     "every time; it was left untouched.",
                     "Give --store a new file name (or leave it out to use reports/_build/demo.duckdb).")
    store.unlink()
    if wal.is_file() and not wal.is_symlink():
        wal.unlink()
    return store


def mark_run_store(store) -> None:
    """Record in the store that `dqm run` made it (so that the next run may rebuild it)."""
    from .safe_duckdb import open_duckdb

    con = open_duckdb(store)
    try:
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(RUN_STORE_MARK))
    finally:
        con.close()

def demo_store() -> Path:
    """The store `make report` (`dqm run`) builds from the bundled synthetic exports."""
    return reports_dir() / "_build" / "demo.duckdb"


def _shown(path: Path) -> str:
    """A path as a user would type it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def resolve_store(store=None) -> tuple[Path, str]:
    """The store to read when none is named, and a one-line note saying which it is and why.

    A named store is used as given. Otherwise: ``DQM_STORE`` if set; else ``data/dqm.duckdb`` (where
    ``dqm ingest`` writes) if it exists; else the demo store ``reports/_build/demo.duckdb`` if
    ``make report`` has built it. When none exists a :class:`~dqm.errors.DQMError` says how to make one.
    Writing (``dqm ingest``) always goes to :func:`default_store`, never to the demo store.

    >>> path, note = resolve_store("/tmp/my.duckdb")
    >>> path.name, note
    ('my.duckdb', 'store /tmp/my.duckdb (named)')
    """
    from .errors import DQMError

    if store:
        return Path(store), f"store {_shown(Path(store))} (named)"
    if os.environ.get("DQM_STORE"):
        path = Path(os.environ["DQM_STORE"])
        return path, f"store {_shown(path)} (from DQM_STORE)"
    own = data_dir() / "dqm.duckdb"
    if own.exists():
        return own, f"store {_shown(own)} (your ingested data)"
    demo = demo_store()
    if demo.exists():
        return demo, f"store {_shown(demo)} (the demo store: synthetic data; ingest your own with `dqm ingest`)"
    raise DQMError(
        f"no store to read: neither {_shown(own)} (written by `dqm ingest`) nor the demo store {_shown(demo)} exists.",
        hint="Run `make report` (or `dqm run`) to build the demo store from the bundled synthetic exports, ingest "
             "your own exports with `dqm ingest FILE --wave YEAR`, or name a store with --store or DQM_STORE.")
