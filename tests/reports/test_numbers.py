"""The numbers: a scripted morning (tests/reports/day.py) against values worked out by hand.

Hand calculations (waits, talk, hold and wrap-up in seconds; see the script's docstring):

general, interval 08:00 (I0): offered c1 c2 c3 c4 c5 = 5
    answered c1 (5, within 20), c2 (25, not), c5 (20, within: the answer falls in I1, the call
    counts in I0 where it was offered) = 3, within 2; abandoned c4 = 1; short abandon c3 = 1.
    SL = 2 / (3 + 1) = 0.5; abandon rate = 1 / (5 - 1) = 0.25; ASA = (5 + 25 + 20) / 3.
    handled: a1 on c1 = talk 155 + hold 30 + wrap 30 = 215; a2 on c2 = 75 + 0 + 30 = 105;
    a2 on c5 = 90 + 0 + 30 = 120; AHT = 440 / 3.
general, 08:15 (I1): offered c6 = 1, answered 1 (35, not within): SL 0, abandon rate 0, ASA 35;
    handled: a2 = talk 60 + hold 60 (consulting) + wrap 30 = 150, a1 after the consulted
    transfer = 240 + 0 + 30 = 270; AHT 210. One ring without answer, one transfer.
billing, I0: offered c2 (transferred in at 120) = 1, answered 1 (5, within 30): SL 1, ASA 5;
    handled a3 = 175 + 0 + 10 = 185.
billing, I1: offered c7 c8 c9 = 3: a callback, one back to self-service, one abandoned (10 s):
    SL = 0 / (0 + 1) = 0; abandon rate = 1 / 3; ASA none.
today: general offered 6, answered 4, within 2, abandoned 1, short 1: SL 2/5, abandon 1/5,
    ASA 85/4, AHT 860/5. billing: offered 4, answered 1, within 1, abandoned 1: SL 1/2, abandon
    1/4, ASA 5, AHT 185. overall: offered 10, answered 5, within 3, abandoned 2, short 1:
    SL 3/7, abandon 2/9, ASA 90/5, AHT 1045/6.
a3's day: ready 0–120 and 310–1100 = 910, ringing 5, talking 175, wrap-up 10, not ready 400.
"""

from __future__ import annotations

import random

import pytest

from ccd.reports.aggregator import Aggregator, IntervalLine
from ccd.reports.batch import day_report, in_order
from ccd.reports.metrics import Figures
from ccd.reports.rows import AgentStateChange, QueueEvent
from tests.reports import day

approx = pytest.approx


def _aggregator() -> Aggregator:
    return Aggregator(
        day.CALENDAR, short_abandon_s=day.SHORT_ABANDON_S, targets=dict(day.TARGETS)
    )


def _line(lines: tuple[IntervalLine, ...], index: int, queue: str) -> Figures:
    (line,) = [x for x in lines if x.index == index and x.queue == queue]
    return line.figures


@pytest.fixture(scope="module")
def events() -> list:
    return day.events()


@pytest.fixture(scope="module")
def report(events):
    return day_report(
        day.DAY, events, calendar=day.CALENDAR, short_abandon_s=day.SHORT_ABANDON_S,
        targets=day.TARGETS,
    )


def test_general_first_interval(report) -> None:
    f = _line(report.lines, day.I0, "general")
    assert (f.offered, f.answered, f.answered_within) == (5, 3, 2)
    assert (f.abandoned, f.short_abandoned) == (1, 1)
    assert f.service_level == approx(2 / 4)
    assert f.abandon_rate == approx(1 / 4)
    assert f.asa_s == approx(50 / 3)
    assert f.handled == 3
    assert f.aht_s == approx(440 / 3)
    assert f.avg_hold_s == approx(30 / 3)
    assert f.transferred == 1


def test_call_crossing_the_boundary_counts_where_it_was_offered(report) -> None:
    f = _line(report.lines, day.I1, "general")
    assert (f.offered, f.answered, f.answered_within) == (1, 1, 0)
    assert f.service_level == 0.0
    assert f.abandon_rate == 0.0
    assert f.asa_s == approx(35)
    assert f.handled == 2
    assert f.aht_s == approx((150 + 270) / 2)
    assert f.avg_hold_s == approx(60 / 2)
    assert f.transferred == 1


def test_billing_intervals(report) -> None:
    f0 = _line(report.lines, day.I0, "billing")
    assert (f0.offered, f0.answered, f0.answered_within, f0.handled) == (1, 1, 1, 1)
    assert f0.service_level == 1.0
    assert f0.aht_s == approx(185)
    f1 = _line(report.lines, day.I1, "billing")
    assert (f1.offered, f1.answered, f1.abandoned, f1.callbacks, f1.left) == (3, 0, 1, 1, 1)
    assert f1.service_level == 0.0
    assert f1.abandon_rate == approx(1 / 3)
    assert f1.asa_s is None and f1.aht_s is None


def test_day_totals(report) -> None:
    general, billing, overall = (report.totals[q] for q in ("general", "billing", ""))
    assert general.service_level == approx(2 / 5)
    assert general.abandon_rate == approx(1 / 5)
    assert general.asa_s == approx(85 / 4)
    assert general.aht_s == approx(860 / 5)
    assert billing.service_level == approx(1 / 2)
    assert billing.abandon_rate == approx(1 / 4)
    assert (overall.offered, overall.answered, overall.abandoned) == (10, 5, 2)
    assert overall.short_abandoned == 1
    assert overall.service_level == approx(3 / 7)
    assert overall.abandon_rate == approx(2 / 9)
    assert overall.asa_s == approx(90 / 5)
    assert overall.aht_s == approx(1045 / 6)


def test_interval_overall_line_adds_the_queues(report) -> None:
    f = _line(report.lines, day.I0, "")
    assert (f.offered, f.answered, f.answered_within, f.abandoned) == (6, 4, 3, 1)
    assert f.service_level == approx(3 / 5)


def test_agent_time_in_state_and_calls(report) -> None:
    assert report.agent_seconds["a3"] == {
        "ready": approx(910), "ringing": approx(5), "talking": approx(175),
        "wrap_up": approx(10), "not_ready": approx(400),
    }
    # a1: c1 and c6 (taken over by the consulted transfer); a2: c2, c5, c6; a3: c2.
    assert report.agent_calls == {"a1": 2, "a2": 3, "a3": 1}


def test_live_statistics_mid_morning(events) -> None:
    """The live view at 08:18:20 (T0 + 1100): c6 with a2 on hold, a3 just went to a meal."""
    agg = _aggregator()
    now = day.T0 + 1100
    agg.feed(e for e in events if e.at <= now)
    s = agg.statistics(now)
    assert (s.day, s.interval, s.interval_label) == (day.DAY, day.I1, "08:15")
    assert s.waiting == 0
    assert s.today.offered == 7 and s.current.offered == 1
    a = s.agent_counts
    assert (a.logged_in, a.ringing, a.on_hold, a.not_ready) == (3, 1, 1, 1)
    rows = {r.agent: r for r in s.agents}
    assert rows["a2"].state == "on_hold" and rows["a2"].call_id == "c6"
    assert rows["a2"].caller == "13800000000" and rows["a2"].queue == "general"
    assert rows["a3"].reason == "meal" and rows["a3"].since == now
    assert rows["a1"].state == "ringing"  # being consulted
    assert [p.label for p in s.trend] == ["08:00", "08:15"]
    assert s.trend[0].figures.offered == 6
    # Over 08:00–08:15 three agents were logged in the whole time.
    assert sum(s.trend[0].agents.values()) == approx(3.0)


def test_waiting_callers_and_longest_wait(events) -> None:
    agg = _aggregator()
    now = day.T0 + 1250  # c7 has waited 50 s in billing
    agg.feed(e for e in events if e.at <= now)
    s = agg.statistics(now)
    assert s.waiting == 1
    assert s.longest_wait_s == approx(50)
    billing = {q.queue: q for q in s.queues}["billing"]
    assert (billing.waiting, billing.longest_wait_s) == (1, approx(50))


def test_incremental_feeding_equals_batch(events, report) -> None:
    """The daemon feeds rows in whatever batches they come; the numbers do not depend on it."""
    rng = random.Random(7)
    for _ in range(20):
        agg = _aggregator()
        i = 0
        while i < len(events):
            step = rng.randint(1, 9)
            agg.feed(events[i:i + step])
            agg.statistics(events[min(i + step, len(events)) - 1].at)  # reading changes nothing
            i += step
        assert agg.day_report(day.DAY) == report


def test_short_abandon_threshold_is_a_setting(events) -> None:
    strict = day_report(day.DAY, events, calendar=day.CALENDAR, short_abandon_s=0,
                        targets=day.TARGETS)
    f = _line(strict.lines, day.I0, "general")
    assert (f.abandoned, f.short_abandoned) == (2, 0)
    assert f.service_level == approx(2 / 5)
    assert f.abandon_rate == approx(2 / 5)


def test_streams_merge_agent_state_first_at_the_same_instant() -> None:
    q = QueueEvent(at=10.0, kind="offered", id=5)
    a = AgentStateChange(at=10.0, agent="a1", state="ringing", id=9)
    early = QueueEvent(at=9.0, kind="enter_queue", id=4)
    assert in_order([q, early], [a]) == [early, a, q]
