"""The daemon's write queue: records that must not be lost, written in order, whatever holds the lock.

Another process (a customer import, a `sqlite3` shell, a backup restore) may hold SQLite's write
lock for seconds. The daemon must neither stop nor freeze its event loop meanwhile, and must not
drop what it already promised to record (a call's CDR row, an agent's state change). So those
writes are *submitted* here and never run inline:

- `submit(op)` queues `op(db)` and returns at once; ops run in submission order, so a call's
  `UPDATE` never overtakes its `INSERT`.
- The writer task (`run`) takes everything pending, opens one `BEGIN IMMEDIATE` transaction and
  runs each op inside its own SAVEPOINT: an op that fails for its own reasons (a constraint, a
  bug) is rolled back alone, logged and counted; the others commit.
- When the lock cannot be had (`database is locked` after the connection's short busy timeout)
  nothing has been written: the writer sleeps (trio, so every call keeps being served) with
  back-off from `retry_initial_s` to `retry_max_s` and tries the same batch again, for as long as
  it takes. Nothing queued is dropped while the daemon lives.
- `await commit(op, wait_s)` is for writes someone waits on (an IVR voice report needs its row
  id): it returns op's result once committed, or, if the lock is not had within `wait_s`,
  withdraws the op (it will never run) and raises `DatabaseBusy`: a clean refusal, nothing half
  done.
- `backlog` and `congested` let telephony refuse new calls cleanly (503) if the queue grows past
  `max_backlog` ops, so memory stays bounded during a very long lock.

Without a running writer task (CLI tools, unit tests that build a CallLog on a bare database)
`submit` runs the op at once in its own transaction: the same code path, synchronous.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
import trio

from ccd.errors import DatabaseBusy

log = logging.getLogger("ccd.db")

Op = Callable[[sqlite_utils.Database], Any]


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's 'database is locked' / 'database is busy' (SQLITE_BUSY, SQLITE_LOCKED)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (and their extended codes)
    text = str(exc)
    return "database is locked" in text or "database is busy" in text


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); `DatabaseBusy` if the lock cannot be had.

    Only BEGIN can meet another writer's lock (once it succeeds this connection holds the write
    lock), so `DatabaseBusy` always means nothing was written.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise DatabaseBusy(
                "the database is locked by another process (an import, a backup, a shell?); "
                "nothing was saved, try again"
            ) from None
        raise
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# The running Writer of each connection (by id of the sqlite3 connection), for code that gets
# only the database (db.users.audit) and must not fail or wait on a lock.
_RUNNING: dict[int, Writer] = {}


def running_writer(db: sqlite_utils.Database) -> Writer | None:
    """The write queue running on `db`'s connection, if any."""
    return _RUNNING.get(id(db.conn))


@dataclass
class _Pending:
    seq: int
    op: Op
    label: str
    after: Callable[[bool], None] | None = None
    awaited: bool = False  # someone gets its error (commit), so it is not logged here
    withdrawn: bool = False
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    event: trio.Event | None = None


@dataclass(frozen=True)
class WriterStatistics:
    backlog: int
    committed: int
    failed: int
    transactions: int
    busy_retries: int
    stalled_s: float
    longest_stall_s: float


@dataclass
class Writer:
    """See the module docstring. db: the daemon's connection (autocommit)."""

    db: sqlite_utils.Database
    max_backlog: int = 20_000
    retry_initial_s: float = 0.02
    retry_max_s: float = 0.5
    max_batch: int = 500
    _pending: list[_Pending] = field(default_factory=list)
    _seq: int = 0
    _running: bool = False
    _wake: trio.Event | None = None
    _stall_started: float | None = None
    _warned: bool = False
    committed: int = 0
    failed: int = 0
    transactions: int = 0
    busy_retries: int = 0
    longest_stall_s: float = 0.0

    # ------------------------------------------------------------ submitting

    @property
    def backlog(self) -> int:
        return len(self._pending)

    @property
    def congested(self) -> bool:
        """True while the backlog is past `max_backlog`: take on no new work that writes."""
        return len(self._pending) >= self.max_backlog

    def submit(self, op: Op, *, label: str = "", after: Callable[[bool], None] | None = None) -> None:
        """Queue `op(db)`; `after(ok)` runs once it is settled: committed (True) or failed."""
        self._seq += 1
        item = _Pending(self._seq, op, label or getattr(op, "__name__", "write"), after)
        if not self._running:
            self._run_now(item)
            return
        self._pending.append(item)
        if self._wake is not None:
            self._wake.set()

    async def commit(self, op: Op, *, wait_s: float = 5.0, label: str = "") -> Any:
        """Run `op(db)` after everything queued before it and return its result once committed.

        Raises `DatabaseBusy` (and the op never runs) if it is not committed within `wait_s`
        seconds; re-raises op's own exception if it failed.
        """
        self._seq += 1
        item = _Pending(self._seq, op, label or getattr(op, "__name__", "write"))
        if not self._running:
            self._run_now(item, raise_errors=True)
            return item.result
        item.awaited = True
        item.event = trio.Event()
        self._pending.append(item)
        if self._wake is not None:
            self._wake.set()
        with trio.move_on_after(wait_s):
            await item.event.wait()
        if not item.done:
            item.withdrawn = True
            raise DatabaseBusy(
                f"the database stayed locked for {wait_s:g} s (an import, a backup, a shell?); "
                "nothing was saved, try again",
                label=item.label,
            )
        if item.error is not None:
            raise item.error
        return item.result

    def _run_now(self, item: _Pending, raise_errors: bool = False) -> None:
        conn = self.db.conn
        try:
            if conn.in_transaction:
                item.result = item.op(self.db)
            else:
                with immediate(conn):
                    item.result = item.op(self.db)
        except Exception:
            self.failed += 1
            if item.after is not None:
                item.after(False)
            if raise_errors:
                raise
            log.exception("could not write %s", item.label)
            return
        self.committed += 1
        if item.after is not None:
            item.after(True)

    # ------------------------------------------------------------ the writer task

    async def run(self, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        """Write until cancelled; on the way out, try once more to write what is left."""
        self._running = True
        self._wake = trio.Event()
        _RUNNING[id(self.db.conn)] = self
        task_status.started(self)
        try:
            while True:
                if not self._pending:
                    await self._wake.wait()
                    self._wake = trio.Event()
                await self._write_some()
        finally:
            self._running = False
            _RUNNING.pop(id(self.db.conn), None)
            self._final_flush()

    async def _write_some(self) -> None:
        delay = self.retry_initial_s
        while self._pending:
            try:
                self._write_batch()
            except DatabaseBusy:
                self.busy_retries += 1
                now = time.monotonic()
                if self._stall_started is None:
                    self._stall_started, self._warned = now, False
                # Brief waits (an import's chunk) are normal; a second or more is worth a line.
                if not self._warned and now - self._stall_started >= 1.0:
                    self._warned = True
                    log.warning(
                        "database locked by another process: %d writes wait (retrying)",
                        len(self._pending),
                    )
                await trio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            if self._stall_started is not None:
                stalled = time.monotonic() - self._stall_started
                self.longest_stall_s = max(self.longest_stall_s, stalled)
                if self._warned:
                    log.warning("database writable again after %.1f s", stalled)
                self._stall_started = None
            delay = self.retry_initial_s
            await trio.lowlevel.checkpoint()

    def _write_batch(self) -> None:
        taken = self._pending[: self.max_batch]
        batch = [p for p in taken if not p.withdrawn]
        if batch:
            conn = self.db.conn
            with immediate(conn):  # DatabaseBusy: nothing written, the batch stays queued
                for i, item in enumerate(batch):
                    conn.execute(f"SAVEPOINT w{i}")
                    try:
                        item.result = item.op(self.db)
                    except Exception as exc:
                        conn.execute(f"ROLLBACK TO w{i}")
                        item.error = exc
                        if not item.awaited:  # nobody gets the error: the log is where it goes
                            log.error("could not write %s: %r", item.label, exc, exc_info=exc)
                    conn.execute(f"RELEASE w{i}")
            self.transactions += 1
        del self._pending[: len(taken)]
        for item in taken:
            item.done = not item.withdrawn
            if not item.done:
                if item.event is not None:
                    item.event.set()
                continue
            ok = item.error is None
            if ok:
                self.committed += 1
            else:
                self.failed += 1
            if item.after is not None:
                try:
                    item.after(ok)
                except Exception:
                    log.exception("after writing %s", item.label)
            if item.event is not None:
                item.event.set()

    def _final_flush(self) -> None:
        """Stopping: one last attempt (the connection's busy timeout applies) for what is left."""
        if not self._pending:
            return
        try:
            while self._pending:
                self._write_batch()
        except Exception:
            log.exception("stopping with %d writes not saved", len(self._pending))
        for item in self._pending:
            if item.event is not None:
                item.event.set()

    async def wait_idle(self) -> None:
        """Return once everything submitted before this call is committed (or failed)."""
        if not self._running or not self._pending:
            return
        marker = self._pending[-1]
        if marker.event is None:
            marker.event = trio.Event()
        await marker.event.wait()

    def statistics(self) -> WriterStatistics:
        stalled = 0.0 if self._stall_started is None else time.monotonic() - self._stall_started
        return WriterStatistics(
            backlog=len(self._pending),
            committed=self.committed,
            failed=self.failed,
            transactions=self.transactions,
            busy_retries=self.busy_retries,
            stalled_s=round(stalled, 3),
            longest_stall_s=round(max(self.longest_stall_s, stalled), 3),
        )
