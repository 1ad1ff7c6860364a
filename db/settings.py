"""The `[database]` section of ccd.toml: durability and how long the daemon waits for the lock.

synchronous: SQLite's `PRAGMA synchronous` for the daemon's connection. 'full' (the default)
    fsyncs the WAL at every commit, so a call record or work order the daemon acknowledged
    survives a power cut or kernel panic, not only a crash of the daemon. 'normal' skips that
    fsync (WAL mode stays consistent, but the last commits before a power loss may vanish):
    faster on slow disks, for sites on a UPS that accept the risk. 'extra' also fsyncs the
    folder after deleting a journal. 'off' is not offered.
busy_timeout_ms: how long one statement of the daemon blocks waiting for another process's
    write lock. Kept short because the daemon's event loop waits meanwhile; the daemon's own
    queued writes retry in the background (db/writer.py) and API writes retry for
    `api_busy_wait_s` before refusing cleanly.
api_busy_wait_s: how long an API request that writes keeps retrying a locked database before it
    is refused with `database-busy` (nothing written).
max_write_backlog: queued writes (call records, ACD rows) beyond which new calls are refused
    with 503 until the database is writable again, so a lock held for minutes cannot exhaust
    memory.
seal_key_file: the key that seals call records (db/seal.py), relative to ccd.toml; kept outside
    the database (and out of its backups). CCD_SEAL_KEY (64 hex digits) overrides it.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from ccd.errors import ConfigError


class DatabaseSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    synchronous: Literal["full", "normal", "extra"] = "full"
    busy_timeout_ms: int = 100
    api_busy_wait_s: float = 8.0
    max_write_backlog: int = 20000
    seal_key_file: str = "seal.key"


def validate(settings: DatabaseSettings) -> None:
    if not 1 <= settings.busy_timeout_ms <= 5000:
        raise ConfigError("'database.busy_timeout_ms' must be between 1 and 5000",
                          key="database.busy_timeout_ms")
    if not 0 <= settings.api_busy_wait_s <= 60:
        raise ConfigError("'database.api_busy_wait_s' must be between 0 and 60",
                          key="database.api_busy_wait_s")
    if settings.max_write_backlog < 100:
        raise ConfigError("'database.max_write_backlog' must be at least 100",
                          key="database.max_write_backlog")
