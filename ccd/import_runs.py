"""Imports that survive an interruption: each run is a row of `import_runs`, advanced with
every committed chunk, so a run cut short (a crash, a full disk, Ctrl-C) resumes where it
stopped when the same file is imported again, and its report counts the whole file once.

A long import must not hold SQLite's write lock for long (the daemon's call records wait behind
it), so rows are committed in chunks of at most `CHUNK_ROWS` rows or `CHUNK_SECONDS` seconds, with
`PAUSE_SECONDS` between them; the
run row moves in the same transaction as its chunk, so it never claims rows that were not
committed, nor misses rows that were.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from ccd.timefmt import iso

CHUNK_ROWS = 5000
CHUNK_SECONDS = 0.25
# Between chunks the import lets go of the lock this long. SQLite has no queue for the write
# lock: a waiter polls (its busy handler sleeps at most 100 ms between tries), so chunks run
# back to back could starve the daemon. A gap longer than the longest poll interval means every
# waiter's next try falls into one.
PAUSE_SECONDS = 0.11


@dataclass
class Run:
    id: int
    next_line: int  # data lines up to and including this one are committed
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    resumed: bool = False


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def start(db: sqlite_utils.Database, *, kind: str, file: str, digest: str, encoding: str,
          rows: int, rejected: int) -> Run:
    """The unfinished run of this very file (same kind and SHA-256) to resume, or a new one."""
    found = db.execute(
        "SELECT id, next_line, added, changed, unchanged FROM import_runs WHERE kind = ? AND "
        "sha256 = ? AND status = 'running' ORDER BY id DESC LIMIT 1", [kind, digest]
    ).fetchone()
    if found is not None:
        return Run(found[0], found[1], found[2], found[3], found[4], resumed=True)
    cursor = db.execute(
        "INSERT INTO import_runs (kind, file, sha256, encoding, started_at, rows, rejected, "
        "status) VALUES (?, ?, ?, ?, ?, ?, ?, 'running')",
        [kind, file, digest, encoding, iso(), rows, rejected],
    )
    return Run(int(cursor.lastrowid or 0), 0)


def advance(db: sqlite_utils.Database, run: Run, last_line: int, counts: dict[str, int]) -> None:
    """Inside the chunk's transaction: the run now covers lines up to `last_line`."""
    run.next_line = last_line
    run.added += counts.get("added", 0)
    run.changed += counts.get("changed", 0)
    run.unchanged += counts.get("unchanged", 0)
    db.execute(
        "UPDATE import_runs SET next_line = ?, added = ?, changed = ?, unchanged = ? WHERE id = ?",
        [run.next_line, run.added, run.changed, run.unchanged, run.id],
    )


def finish(db: sqlite_utils.Database, run: Run) -> None:
    db.execute("UPDATE import_runs SET status = 'done', finished_at = ? WHERE id = ?",
               [iso(), run.id])


def recent(db: sqlite_utils.Database, limit: int = 20) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM import_runs ORDER BY id DESC LIMIT ?", [limit]))
