"""The one way dqm opens a DuckDB database: with no access to anything outside the database file.

A store may come from someone else, and DuckDB SQL is code: a view or macro in a received file runs with
the analyst's rights when dqm reads it (``read_text('/etc/passwd')``, ``read_csv``, ``COPY ... TO``,
``ATTACH``, or an extension autoloaded to fetch a URL). Every connection dqm opens therefore goes
through :func:`open_duckdb`, which turns off

* external access (``enable_external_access``): no file but the database itself (and its WAL and temporary
  folder) can be read or written, no database attached, no extension installed or loaded;
* extension autoloading and autoinstalling, and community extensions;

and locks that configuration so no SQL can turn it back on. DataFrames handed over with
``con.register`` still work (that is the connection's own data, not external access); reading a
pandas variable by name from the caller's scope (a "replacement scan") does not.

:func:`code_objects` lists what in a database is SQL rather than data (views, macros, indexes, types,
schemas); :mod:`dqm.store` refuses a store holding any, and checks that its tables are dqm's own.

This module imports nothing from dqm, so that :mod:`dqm.paths` and :mod:`dqm.store` can both use it.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

SAFE_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}


def open_duckdb(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to ``path`` (or ``":memory:"``) that can touch no other file, URL or extension.

    The files DuckDB keeps beside a database (its write-ahead log ``PATH.wal`` and temporary folder
    ``PATH.tmp``) are checked first (:func:`check_companions`). Other errors are DuckDB's own
    (``duckdb.Error``); :func:`dqm.store.connect` turns them into messages.
    """
    if str(path) != ":memory:":
        check_companions(path)
    return duckdb.connect(str(path), read_only=read_only, config=dict(SAFE_CONFIG))


def check_companions(path: str | Path) -> None:
    """Refuse a database whose ``.wal`` is not a regular file or whose ``.tmp`` is not a folder.

    DuckDB opens, writes and replays these by name and follows links: a link planted at ``store.wal``
    would make an ingest overwrite the file it points to, and a snapshot copy it into a report folder;
    a named pipe there would block every command for ever. A regular file left by a crash is the store's
    own log and is fine. Raises :class:`dqm.errors.DQMError` naming the file and what to do.
    """
    import os
    import stat

    from .errors import DQMError  # dqm.errors imports nothing from dqm

    for suffix, want, what in ((".wal", stat.S_ISREG, "write-ahead log"), (".tmp", stat.S_ISDIR, "temporary folder")):
        companion = Path(str(path) + suffix)
        try:
            mode = os.lstat(companion).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise DQMError(f"the store's {what} {companion.name} cannot be checked ({exc.strerror or exc}).",
                           file=path) from None
        if not want(mode):
            is_link = stat.S_ISLNK(mode)
            raise DQMError(f"the store's {what} {companion.name} is {'a symbolic link' if is_link else 'not a ' + ('file' if suffix == '.wal' else 'folder')}"
                           f"; DuckDB would {'follow it' if is_link else 'read or write it'}, so the store was not opened "
                           "and nothing was changed.", file=path,
                           hint=f"Remove {companion.name} (no dqm store makes it) and run again.")


# the database's own objects by kind: (name, definition); every kind but sequence and table is SQL that runs
_CATALOG_QUERIES = {
    "schema": "SELECT schema_name, '' FROM duckdb_schemas() WHERE database_name = $db AND NOT internal",
    "view": "SELECT view_name, sql FROM duckdb_views() WHERE database_name = $db AND NOT internal",
    "macro": "SELECT DISTINCT function_name, '' FROM duckdb_functions() WHERE database_name = $db AND NOT internal",
    "index": "SELECT index_name, sql FROM duckdb_indexes() WHERE database_name = $db",
    "type": "SELECT type_name, '' FROM duckdb_types() WHERE database_name = $db AND NOT internal",
    "sequence": "SELECT sequence_name, '' FROM duckdb_sequences() WHERE database_name = $db AND schema_name = 'main'",
    "table": "SELECT table_name, sql FROM duckdb_tables() WHERE database_name = $db AND schema_name = 'main'",
}
CODE_KINDS = ("view", "macro", "index", "type", "schema")


def catalog(con) -> dict[str, dict[str, str]]:
    """Every object in the connected database's own catalog, by kind: {name: definition}. Reads no table's data."""
    db = con.execute("SELECT current_database()").fetchall()[0][0]
    return {kind: dict(con.execute(sql, {"db": db}).fetchall()) for kind, sql in _CATALOG_QUERIES.items()}


def code_objects(found: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """The (kind, name) of every object in a :func:`catalog` that is SQL rather than data, sorted."""
    return sorted((kind, name) for kind in CODE_KINDS for name in found[kind])
