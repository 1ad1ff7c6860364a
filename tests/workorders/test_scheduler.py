"""Reminders (催办) and escalations (督办) fire at the right virtual moments: the real scheduler
on a real SQLite file, driven by trio's MockClock (pytest-trio's `autojump_clock`: MockClock(autojump_threshold=0));
every duration is asserted exactly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlite_utils
import trio
import trio.testing

from ccd.workorders import queries
from ccd.workorders.scheduler import Fired, Scheduler
from ccd.workorders.service import WorkOrders
from ccd.workorders.settings import WorkOrderSettings
from tests.workorders.conftest import HOLIDAY, WORKING_SATURDAY, local

H = 3600
T0 = local(2026, 11, 20, 16)  # Friday 16:00, Shanghai


def virtual_now(t0: float, start: float) -> Callable[[], float]:
    """Wall-clock seconds that advance with trio's (virtual) clock from `t0`."""
    return lambda: t0 + (trio.current_time() - start)


class Collector:
    """on_fire target: what fired, with the virtual seconds since `start` when it fired."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.fired: list[tuple[float, Fired]] = []
        self._more = trio.Event()

    def __call__(self, fired: Fired) -> None:
        self.fired.append((trio.current_time() - self.start, fired))
        self._more.set()
        self._more = trio.Event()

    async def wait_for(self, n: int) -> None:
        while len(self.fired) < n:
            await self._more.wait()


def make(db: sqlite_utils.Database, start: float, **settings: object) -> WorkOrders:
    queries.set_holiday(db, HOLIDAY, "off", "test holiday")
    queries.set_holiday(db, WORKING_SATURDAY, "work", "test working Saturday")
    db.execute("UPDATE departments SET head_username = 'head1' WHERE code = 'service'")
    return WorkOrders(db, WorkOrderSettings(**settings), now=virtual_now(T0, start))  # type: ignore[arg-type]


async def test_reminder_and_escalation_across_a_weekend_and_a_holiday(
        db: sqlite_utils.Database, autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    wo = make(db, start)
    got = Collector(start)
    scheduler = Scheduler(wo, on_fire=got, max_sleep=30 * 24 * H)
    wo.on_change = scheduler.wake
    # A complaint (40 business hours), dispatched to the customer service centre at once.
    number = wo.create(type="complaint", created_by="agent1", department="service",
                       phone="13800000001")["number"]
    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.run)
        await got.wait_for(2)
        nursery.cancel_scope.cancel()
    fired = got.fired
    # Deadline: Fri 1.5 h + Tue-Fri 32 h (Mon 23rd is a holiday) + 6.5 h on the working
    # Saturday 28th → Sat 16:00; reminder two business hours earlier, Sat 14:00.
    remind_at, deadline = local(2026, 11, 28, 14), local(2026, 11, 28, 16)
    assert [(t, f.kind, f.number) for t, f in fired] == [
        (remind_at - T0, "remind", number), (deadline - T0, "escalate", number)]
    assert fired[0][1].notify == ("head1",)
    assert fired[1][1].notify == ("head1", "role:teamlead")
    assert fired[1][1].department == "service"
    assert queries.overdue(db, deadline)[0]["number"] == number


async def test_a_paused_work_order_is_not_chased_and_resumes_with_the_time_owed(
        db: sqlite_utils.Database, autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    wo = make(db, start)
    got = Collector(start)
    fired = got.fired
    scheduler = Scheduler(wo, on_fire=got, max_sleep=30 * 24 * H)
    wo.on_change = scheduler.wake
    # An enquiry: 8 business hours from Fri 16:00 → 1.5 h Friday, Tue 08:30 + 6.5 h = Tue 16:00.
    number = wo.create(type="enquiry", created_by="agent1", department="service")["number"]
    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.run)
        wo.act(number, "accept", actor="crew")
        await trio.sleep(H)  # Fri 17:00: one business hour used, seven owed
        wo.act(number, "pause", actor="crew", note="等客户提供材料")
        await trio.sleep(10 * 24 * H)  # ten days paused: nothing fires
        assert fired == []
        wo.act(number, "resume", actor="crew")  # Mon 30th 17:00
        await got.wait_for(2)
        nursery.cancel_scope.cancel()
    # Owed 7 h from Mon 30th 17:00: 0.5 h Monday, then Tue 1 Dec 08:30 + 6.5 h = 16:00;
    # reminder 2 h earlier at 14:00.
    assert [(t, f.kind) for t, f in fired] == [
        (local(2026, 12, 1, 14) - T0, "remind"), (local(2026, 12, 1, 16) - T0, "escalate")]


async def test_closing_before_the_reminder_cancels_it(
        db: sqlite_utils.Database, autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    wo = make(db, start)
    fired: list[Fired] = []
    scheduler = Scheduler(wo, on_fire=fired.append, max_sleep=30 * 24 * H)
    wo.on_change = scheduler.wake
    number = wo.create(type="outage_report", created_by="a1", department="repair")["number"]
    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.run)
        await trio.sleep(50 * 60)  # the reminder falls at 60 min
        wo.act(number, "accept", actor="crew")
        wo.act(number, "request_close", actor="crew", note="误报")
        wo.act(number, "close", actor="a1", note="误报，已核实")
        await trio.sleep(10 * 24 * H)
        nursery.cancel_scope.cancel()
    assert fired == []
    assert db.execute("SELECT count(*) FROM work_orders WHERE timer_at IS NOT NULL"
                      ).fetchone() == (0,)


async def test_a_new_work_order_wakes_a_sleeping_scheduler(
        db: sqlite_utils.Database, autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    wo = make(db, start)
    got = Collector(start)
    fired = got.fired
    scheduler = Scheduler(wo, on_fire=got, max_sleep=365 * 24 * H)
    wo.on_change = scheduler.wake
    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.run)  # nothing to do: it sleeps for a year
        await trio.sleep(5 * 60)
        # An urgent repair at Fri 16:05: 4 calendar hours, reminder after 2.
        wo.create(type="repair", priority="urgent", created_by="a1", department="repair")
        await got.wait_for(2)
        nursery.cancel_scope.cancel()
    assert [(t, f.kind) for t, f in fired] == [(5 * 60 + 2 * H, "remind"),
                                               (5 * 60 + 4 * H, "escalate")]


async def test_overdue_at_start_up_escalates_at_once_without_reminding(
        db: sqlite_utils.Database, autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    wo = make(db, start)
    # Opened a day before the daemon (and its scheduler) came back.
    wo.create(type="outage_report", created_by="ivr", now=T0 - 24 * H)
    got = Collector(start)
    fired = got.fired
    scheduler = Scheduler(wo, on_fire=got)
    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.run)
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert [(t, f.kind) for t, f in fired] == [(0, "escalate")]


def test_calendar_reload_picks_up_a_new_holiday(db: sqlite_utils.Database) -> None:
    wo = WorkOrders(db, now=lambda: T0)
    assert wo.calendar.is_working_day(dt.date(2026, 11, 24))
    queries.set_holiday(db, dt.date(2026, 11, 24), "off", "x")
    wo.reload_calendar()
    assert not wo.calendar.is_working_day(dt.date(2026, 11, 24))
