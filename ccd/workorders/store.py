"""Small database helpers the work-order and knowledge-base services share.

The daemon's connection is in autocommit mode (db.connect), so a multi-statement change opens its
own transaction here; inside a caller's transaction it nests as a SAVEPOINT instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlite_utils

from ccd.timefmt import iso, parse
from db.writer import immediate

_savepoints = itertools.count()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); a SAVEPOINT when already in a transaction."""
    conn = db.conn
    if conn.in_transaction:
        name = f"ccd_sp_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    with immediate(conn):  # DatabaseBusy when another process holds the lock
        yield


def rows(db: sqlite_utils.Database, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    """All rows of a query as dicts."""
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def row(db: sqlite_utils.Database, sql: str, params: Any = ()) -> dict[str, Any] | None:
    """The first row of a query as a dict, or None."""
    cursor = db.execute(sql, params)
    r = cursor.fetchone()
    if r is None:
        return None
    return dict(zip([d[0] for d in cursor.description], r, strict=True))


def iso_or_none(moment: float | None) -> str | None:
    return None if moment is None else iso(moment)


def parse_or_none(text: str | None) -> float | None:
    return None if text is None else parse(text)
