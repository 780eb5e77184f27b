"""The connection to the published database and the helpers every query reads through.

Values always travel as parameters, never pasted into SQL.
"""

from __future__ import annotations

import os
import threading

import duckdb
import pandas as pd


class QueryError(Exception):
    """A question the database cannot answer: no database, unknown region, region out of scope."""


# ------------------------------------------------------------------------------ connections

_connections: dict[str, tuple[tuple[int, int], duckdb.DuckDBPyConnection]] = {}
_lock = threading.Lock()


def cursor(db: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A fresh cursor on a read-only connection to the file as it is published now.

    A publish renames a new file over the old one; the connection is reopened when the file
    changes, while cursors already handed out keep reading the file they started on.
    """
    return _identified_cursor(os.path.abspath(db))[1]


def _identified_cursor(path: str) -> tuple[tuple[int, int], duckdb.DuckDBPyConnection]:
    """The publication of the file at `path` now, and a fresh cursor reading exactly that one."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise QueryError(f"数据库不存在：{path}") from None
    identity = (stat.st_ino, stat.st_mtime_ns)
    with _lock:
        cached = _connections.get(path)
        if cached is None or cached[0] != identity:
            try:
                connection = _open(path)
            except duckdb.Error as exc:
                raise QueryError(f"无法打开数据库 {path}：{str(exc).splitlines()[0]}") from None
            _connections[path] = (identity, connection)
            cached = _connections[path]
        identity, handed_out = cached[0], cached[1].cursor()
    handed_out.execute(f"use {_PUBLISHED}")
    return identity, handed_out


_PUBLISHED = "published"


def _open(path: str) -> duckdb.DuckDBPyConnection:
    """A connection to the file at `path` as it is now.

    Not `duckdb.connect(path)`: DuckDB keeps one database instance per path in a process, so after a
    publish it would hand back the replaced file for as long as any cursor on it lives
    (duckdb/duckdb#15912). A fresh in-memory instance that attaches the file reads what is there now.
    """
    connection = duckdb.connect(":memory:")
    try:
        connection.execute(f"attach '{path.replace(chr(39), chr(39) * 2)}' as {_PUBLISHED} (read_only)")
    except duckdb.Error:
        connection.close()
        raise
    return connection


def publication(db: str | os.PathLike) -> tuple[int, int]:
    """What identifies the published file now; caches key on it to notice a new publish."""
    try:
        stat = os.stat(db)
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_ino, stat.st_mtime_ns)


def _frame(cur: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> pd.DataFrame:
    try:
        return cur.execute(sql, params).df()
    except duckdb.Error as exc:
        raise QueryError(f"查询失败：{str(exc).splitlines()[0]}") from None


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> list[tuple]:
    try:
        return cur.execute(sql, params).fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"查询失败：{str(exc).splitlines()[0]}") from None


def _one(cur: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> dict:
    try:
        result = cur.execute(sql, params)
        names = [d[0] for d in result.description]
        rows = result.fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"查询失败：{str(exc).splitlines()[0]}") from None
    return dict(zip(names, rows[0], strict=True)) if rows else {}


_held = threading.local()


def _thread_cursor(db: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """This thread's cursor on the file as published now, kept for the thread's next questions.

    Making a cursor and pointing it at the published file costs as much as a small query, and a page
    asks many questions in one run. The thread keeps one cursor, for the database it asked last, and
    makes another when a new file is published or it asks another database; the old one is closed
    then, so a replaced file stays open only until the thread's next question. The caller does not
    close it. A thread that pinned the database (`pin`) keeps its cursor until it pins again.
    """
    path = os.path.abspath(db)
    kept = getattr(_held, "kept", None)
    if kept is not None:
        if kept[0] == path and (getattr(_held, "pinned", None) == path or kept[1] == publication(path)):
            return kept[2]
        _held.kept = None
        kept[2].close()
    identity, fresh = _identified_cursor(path)
    _held.kept = (path, identity, fresh)
    return fresh


def pin(db: str | os.PathLike) -> tuple[int, int]:
    """From now until its next pin, every question this thread asks of `db` reads the file as it is
    published now, and `read_publication` names that publish: a page's run shows one publish, even
    when another lands while it runs. Returns the publication pinned."""
    path = os.path.abspath(db)
    _held.pinned = None
    _thread_cursor(path)
    _held.pinned = path
    return _held.kept[1]


def read_publication(db: str | os.PathLike) -> tuple[int, int]:
    """The publication this thread reads `db` at: the pinned one, else the one published now."""
    path = os.path.abspath(db)
    kept = getattr(_held, "kept", None)
    if getattr(_held, "pinned", None) == path and kept is not None and kept[0] == path:
        return kept[1]
    return publication(path)


def _fetch_df(db: str | os.PathLike, sql: str, params: dict | list | None = None) -> pd.DataFrame:
    return _frame(_thread_cursor(db), sql, params)


def _fetch_one(db: str | os.PathLike, sql: str, params: dict | list | None = None) -> dict:
    return _one(_thread_cursor(db), sql, params)
