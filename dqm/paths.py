"""Where the project's data files live. Everything is relative to the repository's data/ folder.

Set DQM_DATA_DIR to use another data folder (for example a copy with your own model and outcomes).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from .datadir import PROJECT_ROOT, data_dir  # noqa: F401  (re-exported: `from dqm.paths import data_dir`)
from .errors import ParameterError


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


# ---------------------------------------------------------------- where dqm writes: one confined, atomic writer
#
# Every file dqm writes goes through :func:`write_atomic` (or :func:`copy_atomic` for a copy), every folder it
# makes inside an output folder through :func:`make_folder`, and every file or folder it deletes through
# :func:`remove_confined`. The rules, in one place:
#
# * an output folder (``--out-dir``, the user data folder, the batch's folder) is resolved once and must be
#   meant for output: not ``/``, the project folder itself, the home folder itself, or a system folder
#   (``data/output_folders.yaml``); a single file the user names may go anywhere but a system folder;
# * below the output folder no symbolic link is followed, for writing or deleting: the folders on the way
#   are opened one at a time without following links, so a link planted (even while dqm runs) is refused;
# * a file is written to a temporary file ``.tmp-NAME.XXXX`` in its own folder and renamed over the final
#   name: a reader sees the old file or the new one, never a part of one; on any failure the temporary
#   file is removed and the old file is left as it was; a full disk is named as such;
# * new files get the usual permissions (0666 less the umask: 0644 with umask 022).

TMP_PREFIX = ".tmp-"  # every temporary file dqm writes starts with this (a batch clears stale ones)


class WriteError(ParameterError, OSError):
    """A file could not be written (or a folder made or removed): a message for the user, and an OSError."""


def _error(message: str, hint: str | None = None, errno_: int | None = None) -> WriteError:
    err = WriteError(message, hint=hint)
    err.errno = errno_
    return err


def _reason(exc: OSError) -> tuple[str, str | None]:
    """What went wrong with a write, as a user would say it, and what to do."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full", "Free some space and run again."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return exc.strerror or "permission denied", "Write to a folder you can write to."
    return exc.strerror or str(exc), None


@lru_cache(maxsize=4)
def _system_folders(source: str) -> tuple[Path, ...]:
    from .yamlio import load_yaml

    raw = load_yaml(Path(source), what="list of system folders") or {}
    folders = raw.get("system_folders") if isinstance(raw, dict) else None
    if not isinstance(folders, list) or not all(isinstance(f, str) and f.startswith("/") for f in folders):
        raise ParameterError("the file must hold system_folders: a list of absolute folder paths.", file=source)
    return tuple(Path(f) for f in folders)


def system_folders() -> tuple[Path, ...]:
    """The operating system's folders, in which (and below which) dqm writes nothing (``data/output_folders.yaml``)."""
    path = data_dir() / "output_folders.yaml"
    if not path.is_file():  # a data folder of your own without the list: the project's
        path = PROJECT_ROOT / "data" / "output_folders.yaml"
    return _system_folders(str(path))


def _not_for_output(folder: Path, whole_folder: bool = True) -> str | None:
    """Why ``folder`` (absolute) may not receive dqm's output, or None when it may.

    ``whole_folder``: dqm fills the folder (reports, a build folder, a user data folder), so the root of the
    file system, the project folder and the home folder themselves are refused too; a single file the user
    named is refused only in a system folder, a hidden folder of the home folder (``~/.ssh``) or directly in ``/``.
    """
    candidates = {Path(os.path.abspath(folder))}
    try:
        candidates.add(Path(folder).resolve())
    except (OSError, RuntimeError):
        pass
    try:
        home = Path.home().resolve()
    except (KeyError, RuntimeError, OSError):
        home = None
    own = [o for o in (home, PROJECT_ROOT) if o is not None and o != Path(o.anchor)]
    for f in candidates:
        if f == Path(f.anchor):
            return "the root of the file system"
        in_project = PROJECT_ROOT != Path(PROJECT_ROOT.anchor) and PROJECT_ROOT in f.parents
        if not in_project and home is not None and home in f.parents and f.relative_to(home).parts[0].startswith("."):
            # ~/.ssh, ~/.config, ~/.local/bin ...: your programs' settings and keys, never a place for reports
            return f"a hidden settings folder of your home ({home.name}/{f.relative_to(home).parts[0]})"
        if any(o in f.parents for o in own):  # inside your home or the project (even if that is below /usr)
            continue
        for system in system_folders():
            if f == system or system in f.parents:
                return f"a system folder ({system})"
        if whole_folder and f == PROJECT_ROOT:
            return "the project folder itself"
        if whole_folder and home is not None and f == home:
            return "your home folder itself"
    return None


def output_folder(folder, create: bool = True, what: str = "output folder", option: str = "--out-dir") -> Path:
    """The output folder, resolved once: a folder meant for output (created if missing) that dqm can write to.

    Refused with a message saying what to do: a path that is a file, a folder that cannot be written, and
    a folder not meant for output (see :func:`_not_for_output`).
    """
    folder = Path(folder)
    why = _not_for_output(folder)
    if why:
        raise _error(f"the {what} {folder} is {why}; dqm does not write its files there.",
                     f"Give a folder of its own with {option}, for example a new folder inside your project or home folder.")
    if folder.exists() and not folder.is_dir():
        raise _error(f"the {what} {folder} is a file, not a folder.", f"Give a folder with {option}.")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason, hint = _reason(exc)
            raise _error(f"the {what} {folder} cannot be created ({reason}).",
                         hint or f"Give a folder you can write to with {option}.", exc.errno) from None
    resolved = folder.resolve()
    why = _not_for_output(resolved)  # a link made meanwhile
    if why:
        raise _error(f"the {what} {folder} is {why}; dqm does not write its files there.",
                     f"Give a folder of its own with {option}.")
    if create and not os.access(resolved, os.W_OK | os.X_OK):
        raise _error(f"the {what} {folder} is not writable.", f"Give a folder you can write to with {option}.")
    return resolved


def confined(folder, path, what: str = "output", is_folder: bool = False, final_link: bool = False) -> Path:
    """``path`` (relative to ``folder`` unless absolute) resolved once and checked to lie inside ``folder``.

    Refused: a path outside the folder, and any symbolic link on the way (the file itself or a folder
    between it and ``folder``), so that a link planted in the output folder cannot send a write elsewhere.
    ``final_link``: the last part may itself be a link (to remove the link, never what it points to).
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
    for i, part in enumerate(rel.parts):
        cur = cur / part
        if cur.is_symlink() and not (final_link and i == len(rel.parts) - 1):
            way = "is a symbolic link" if i == len(rel.parts) - 1 else f"goes through a symbolic link ({cur})"
            raise _error(f"the {what} {path} {way}; dqm does not write through links.",
                         "Remove the link, or choose another output folder.")
    if not final_link and p.exists() and (not p.is_dir() if is_folder else not p.is_file()):
        raise _error(f"the {what} {path} exists and is not a {'folder' if is_folder else 'file'}.")
    return p


def _place(path, root, what: str, is_folder: bool = False, final_link: bool = False,
           create: bool = False) -> tuple[Path, Path]:
    """The output root (resolved) and the target inside it (checked by :func:`confined`).

    With no ``root``, the target's own folder is the root: a single file the user named, which may be
    written anywhere except in a system folder, and never through a link at its own name.
    """
    if root is None:
        path = Path(path)
        parent = Path(os.path.abspath(path)).parent
        why = _not_for_output(parent, whole_folder=False)
        if why:
            raise _error(f"the {what} {path} would be written in {why}; dqm does not write there.",
                         "Write it to a folder of your own.")
        if create and not parent.exists():
            try:
                parent.mkdir(parents=True)
            except OSError as exc:
                reason, hint = _reason(exc)
                raise _error(f"cannot make the folder {parent} for the {what} ({reason}).", hint, exc.errno) from None
        if not parent.is_dir():
            raise _error(f"cannot write the {what} {path}: the folder {parent} does not exist.",
                         "Create it first, or write somewhere else.")
        root = parent.resolve()
        why = _not_for_output(root, whole_folder=False)
        if why:
            raise _error(f"the {what} {path} would be written in {why}; dqm does not write there.",
                         "Write it to a folder of your own.")
        path = root / path.name
    return Path(root), confined(root, path, what, is_folder=is_folder, final_link=final_link)


def output_file(path, what: str = "output", create: bool = False) -> Path:
    """A single file the user named, checked before the work that makes it: its folder exists (or, with
    ``create``, is made) and is not a system folder, and the name is not a link or a folder. Returns the
    absolute path (write it with :func:`write_atomic`, which checks again)."""
    return _place(path, None, what, create=create)[1]


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _open_folder(root: Path, parts, what: str, shown, create: bool = False) -> int:
    """A file descriptor for ``root/parts``, each folder opened (and made, with ``create``) without following links.

    A link that appears on the way after :func:`confined` looked (a race) is refused here all the same.
    """
    import errno

    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for part in parts:
            if create:
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                nfd = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _error(f"the {what} {shown} goes through a symbolic link or a file ({part}); dqm does not "
                                 "write through links.", "Remove the link, or choose another output folder.") from None
                raise
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_chunks(fd: int, chunks) -> None:
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]


def _atomic(path, chunks, what: str, root) -> Path:
    """Write the byte chunks to a temporary file beside the target, then rename it over the target."""
    import secrets

    root, target = _place(path, root, what)
    parts = target.relative_to(root).parts
    name = parts[-1]
    tmp = f"{TMP_PREFIX}{name[:100]}.{secrets.token_hex(4)}"
    dfd = fd = None
    made = False
    try:
        dfd = _open_folder(root, parts[:-1], what, path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666, dir_fd=dfd)
        made = True
        _write_chunks(fd, chunks)
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)  # replaces a link at the name, never follows it
        made = False
        try:
            os.fsync(dfd)  # the rename itself survives a crash
        except OSError:
            pass
    except BaseException as exc:
        if fd is not None:
            os.close(fd)
        if made:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            reason, hint = _reason(exc)
            raise _error(f"cannot write the {what} {path} ({reason}); any earlier version was left as it was.",
                         hint or "Check that the output folder exists and is writable.", exc.errno) from None
        raise
    finally:
        if dfd is not None:
            os.close(dfd)
    return target


def write_atomic(path, data, what: str = "output", root=None) -> Path:
    """Write ``data`` (str as UTF-8, or bytes) to ``path`` inside the output folder ``root``; returns the path.

    ``root`` is an output folder from :func:`output_folder` (``path`` is relative to it, or absolute inside
    it); without one, ``path`` is a single file the user named and its own folder is the root. See the
    rules at the top of this section: no link on the way, a temporary file renamed into place, nothing
    partial left on any failure, a full disk named as such.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return _atomic(path, [payload], what, root)


def copy_atomic(source, path, what: str = "copy", root=None) -> Path:
    """Copy the file ``source`` to ``path`` (as :func:`write_atomic` writes, streamed in blocks)."""
    def blocks():
        with open(source, "rb") as fh:
            while block := fh.read(1 << 20):
                yield block

    return _atomic(path, blocks(), what, root)


def make_folder(root, path, what: str = "folder") -> Path:
    """Make the folder ``path`` inside the output folder ``root`` (and any between), through no link; returns it."""
    root, target = _place(path, root, what, is_folder=True)
    try:
        os.close(_open_folder(root, target.relative_to(root).parts, what, path, create=True))
    except WriteError:
        raise
    except OSError as exc:
        reason, hint = _reason(exc)
        raise _error(f"cannot make the {what} {path} ({reason}).", hint, exc.errno) from None
    return target


def remove_confined(path, root=None, what: str = "file") -> bool:
    """Delete the file or folder ``path`` inside ``root``, never through a link; returns whether it existed.

    A link at ``path`` itself is removed as a link (what it points to is left alone); a folder is removed
    with everything in it, without following links inside it.
    """
    import shutil
    import stat

    root, target = _place(path, root, what, final_link=True)
    parts = target.relative_to(root).parts
    try:
        dfd = _open_folder(root, parts[:-1], what, path)
    except FileNotFoundError:
        return False
    try:
        try:
            st = os.stat(parts[-1], dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            try:
                shutil.rmtree(parts[-1], dir_fd=dfd)  # Python 3.11+: no link inside is followed
            except TypeError:  # pragma: no cover  (Python 3.10: rmtree by path, which also refuses links)
                shutil.rmtree(target)
        else:
            os.unlink(parts[-1], dir_fd=dfd)
        return True
    except OSError as exc:
        reason, hint = _reason(exc)
        raise _error(f"cannot remove the {what} {path} ({reason}).", hint, exc.errno) from None
    finally:
        os.close(dfd)


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
