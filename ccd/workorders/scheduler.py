"""Reminders (催办) and escalations (督办) at the right moment: a trio service.

It sleeps until the earliest `timer_at` of any work order (the partial index makes that one
lookup), fires what is due through the lifecycle (so a work order closed a moment earlier is not
chased), and sleeps again. `wake()` cuts the sleep short after a change; `max_sleep` bounds it so
wall-clock jumps and rows written by other processes are noticed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from ccd.errors import DatabaseBusy
from ccd.timefmt import iso, parse
from ccd.workorders.service import WorkOrders

log = logging.getLogger("ccd.workorders")


@dataclass(frozen=True)
class Fired:
    """A reminder or escalation that was written: which work order, what, when, to whom."""

    number: str
    kind: str
    at: float
    notify: tuple[str, ...]
    department: str | None


class Scheduler:
    """The reminder/escalation loop over one WorkOrders service.

    service: where work orders live (its `now` is the scheduler's clock). on_fire: called with
    each Fired after it is committed (the daemon publishes it to the wallboard). max_sleep: the
    longest sleep in seconds (default: the service's `scheduler_max_sleep_s`).
    """

    def __init__(
        self,
        service: WorkOrders,
        *,
        on_fire: Callable[[Fired], None] | None = None,
        max_sleep: float | None = None,
    ) -> None:
        self.service = service
        self.on_fire = on_fire
        self.max_sleep = service.settings.scheduler_max_sleep_s if max_sleep is None else max_sleep
        self._wakeup = trio.Event()
        self.fired = 0
        self.busy_retry_s = 1.0  # pause after a pass the database lock refused

    def wake(self) -> None:
        """Look again now (a work order changed). Call from the trio thread."""
        self._wakeup.set()

    def due(self, now: float) -> list[str]:
        db = self.service.db
        return [
            r[0]
            for r in db.execute(
                "SELECT number FROM work_orders WHERE timer_at IS NOT NULL AND timer_at <= ? "
                "ORDER BY timer_at",
                [iso(now)],
            )
        ]

    def next_at(self) -> float | None:
        (at,) = self.service.db.execute(
            "SELECT MIN(timer_at) FROM work_orders WHERE timer_at IS NOT NULL"
        ).fetchone()
        return None if at is None else parse(at)

    def run_once(self, now: float) -> list[Fired]:
        """Fire everything due at `now`; returns what fired."""
        out = []
        for number in self.due(now):
            kind = self.service.fire_timer(number, now)
            if kind is None:
                continue
            wo = self.service.db.execute(
                "SELECT department, (SELECT data FROM work_order_events e "
                "WHERE e.work_order_id = w.id ORDER BY id DESC LIMIT 1) "
                "FROM work_orders w WHERE number = ?",
                [number],
            ).fetchone()
            notify = tuple(json.loads(wo[1]).get("notify", [])) if wo and wo[1] else ()
            fired = Fired(number, kind, now, notify, wo[0] if wo else None)
            self.fired += 1
            log.info("%s %s → %s", kind, number, ", ".join(notify))
            out.append(fired)
            if self.on_fire is not None:
                self.on_fire(fired)
        return out

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled."""
        task_status.started(self)
        while True:
            self._wakeup = trio.Event()
            try:
                self.run_once(self.service.now())
            except DatabaseBusy:
                # Another process holds the lock: the timer that could not fire is still due
                # (its transaction never began), so it fires on the next pass.
                log.warning("work-order timers wait: the database is locked")
                await trio.sleep(self.busy_retry_s)
                continue
            nxt = self.next_at()
            delay = self.max_sleep
            if nxt is not None:
                delay = min(delay, max(0.0, nxt - self.service.now()))
            with trio.move_on_after(delay):
                await self._wakeup.wait()
