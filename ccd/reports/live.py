"""The daemon's live view: one Aggregator kept up to date from the rows the store writes.

    board = LiveBoard(db, settings, timezone="Asia/Shanghai")
    board.load(now)            # today so far (and `lookback_hours` before midnight)
    board.poll()               # the rows written since the last poll; cheap
    snap = board.snapshot(now, seq=7)

Reading the stored rows (rather than the ACD's in-memory records) means the board shows exactly
what reports will later compute from the same rows, whoever wrote them. Reads go by row id, so a
poll costs one indexed query per table whatever the size of the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from ccd.reports import board as wire
from ccd.reports import source
from ccd.reports.aggregator import Aggregator
from ccd.reports.intervals import Calendar
from ccd.reports.settings import WallboardSettings

NAMES_REFRESH_S = 60.0


@dataclass
class LiveBoard:
    """db: the daemon's database; settings: [wallboard]; timezone: the site's time zone.
    queue_targets: a callable giving queue -> target seconds from the running ACD, if any
    (it wins over the `queues` table)."""

    db: sqlite_utils.Database
    settings: WallboardSettings
    timezone: str = "Asia/Shanghai"
    queue_targets: Callable[[], dict[str, float]] | None = None
    cursor: source.Cursor = field(default_factory=source.Cursor)
    events_read: int = 0
    help_dirty: bool = True
    _agg: Aggregator | None = None
    _queues: dict[str, source.QueueInfo] = field(default_factory=dict)
    _names: dict[str, dict[str, str]] = field(default_factory=dict)
    _names_at: float = float("-inf")
    _help: list[dict[str, Any]] = field(default_factory=list)
    _work_orders: source.WorkOrderAlerts = field(default_factory=source.WorkOrderAlerts)
    _work_orders_at: float = float("-inf")
    _day: str = ""
    # Surge mode's alert while it is on (set by ccd/telephony/surge.py), shown with the others.
    surge: wire.Alert | None = None
    # Trunks that are not registered (ccd/telephony/trunks.py).
    trunk_alerts: list[wire.Alert] = field(default_factory=list)

    @property
    def aggregator(self) -> Aggregator:
        assert self._agg is not None, "load() first"
        return self._agg

    def load(self, now: float) -> None:
        """Start over: read today's rows (and the lookback before midnight) into a new
        Aggregator. now: Unix time."""
        calendar = Calendar(self.timezone, self.settings.interval_minutes)
        self._refresh_names(now, force=True)
        self._agg = Aggregator(
            calendar,
            short_abandon_s=self.settings.short_abandon_s,
            targets=self._targets(),
            default_target_s=self.settings.default_sl_target_s,
        )
        self._day = calendar.day(now)
        start = calendar.day_start(self._day) - self.settings.lookback_hours * 3600
        self.cursor = source.last_cursor(self.db)
        events = source.read_between(self.db, start, cursor=self.cursor)
        self._agg.feed(events)
        self.events_read = len(events)
        self.help_dirty = True

    def _targets(self) -> dict[str, float]:
        targets = {name: q.target_s for name, q in self._queues.items()}
        if self.queue_targets is not None:
            targets.update(self.queue_targets())
        return targets

    def _refresh_names(self, now: float, force: bool = False) -> None:
        if force or now - self._names_at >= NAMES_REFRESH_S:
            self._queues = source.queues(self.db)
            self._names = source.people(self.db)
            self._names_at = now
            if self._agg is not None:
                self._agg.targets = self._targets()

    def poll(self, now: float) -> int:
        """Feed the rows written since the last poll; returns how many there were."""
        agg = self.aggregator
        events, self.cursor = source.read_new(self.db, self.cursor)
        agg.feed(events)
        self.events_read += len(events)
        day = agg.calendar.day(now)
        if day != self._day:  # midnight: keep yesterday (late ends of its calls), drop the rest
            self._day = day
            yesterday = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
            agg.forget_before(yesterday)
        return len(events)

    def snapshot(self, now: float, seq: int = 0, live: bool = True) -> wire.Wallboard:
        """The full board at Unix time `now` (re-reading names, help requests and work orders
        when they are due)."""
        self._refresh_names(now)
        if self.help_dirty:
            self._help = source.open_help_requests(self.db)
            self.help_dirty = False
        if now - self._work_orders_at >= self.settings.work_order_refresh_s:
            self._work_orders = source.work_order_alerts(self.db, now)
            self._work_orders_at = now
        stats = self.aggregator.statistics(now)
        alert_list = wire.alerts(
            stats,
            thresholds=self.settings.thresholds,
            help_requests=self._help,
            work_orders=self._work_orders,
            names=self._names,
        )
        if self.surge is not None:
            alert_list.insert(0, self.surge)
        alert_list.extend(self.trunk_alerts)
        return wire.build(
            stats,
            settings=self.settings,
            queues=self._queues,
            names=self._names,
            alert_list=alert_list,
            seq=seq,
            high_water={
                "queue_events": self.cursor.queue_events,
                "agent_state_log": self.cursor.agent_state_log,
            },
            live=live,
        )

    def work_orders_changed(self) -> None:
        """A work-order timer fired: re-read the counts at the next snapshot."""
        self._work_orders_at = float("-inf")


def one_off(
    db: sqlite_utils.Database, settings: WallboardSettings, timezone: str, now: float
) -> wire.Wallboard:
    """A snapshot computed from the database alone (no publisher running): `live` is False."""
    board = LiveBoard(db, settings, timezone)
    board.load(now)
    return board.snapshot(now, 0, live=False)

