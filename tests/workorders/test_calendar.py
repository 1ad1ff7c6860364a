"""Business time and deadlines across lunch, nights, a weekend, a holiday and a swapped working
Saturday, with `now` passed in (no clock)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccd.errors import ConfigError
from ccd.workorders.calendar import BusinessCalendar
from ccd.workorders.deadlines import rule_for, timers
from ccd.workorders.settings import DeadlineRule, WorkOrderSettings, parse_hours, validate
from tests.workorders.conftest import HOLIDAY, WORKING_SATURDAY, local

HOURS = parse_hours(["08:30-12:00", "13:00-17:30"])  # 8 working hours a day
PLAIN = BusinessCalendar.build("Asia/Shanghai", HOURS)
CAL = BusinessCalendar.build("Asia/Shanghai", HOURS, (6, 7), [HOLIDAY], [WORKING_SATURDAY])
H = 3600.0


def test_working_days() -> None:
    assert CAL.is_working_day(dt.date(2026, 11, 20))  # Friday
    assert not CAL.is_working_day(dt.date(2026, 11, 21))  # Saturday
    assert not CAL.is_working_day(HOLIDAY)  # a Monday, made a holiday
    assert CAL.is_working_day(WORKING_SATURDAY)
    assert CAL.is_open(local(2026, 11, 20, 9)) and not CAL.is_open(local(2026, 11, 20, 12, 30))


def test_lunch_hour_does_not_count() -> None:
    assert PLAIN.add(local(2026, 11, 19, 11), 2 * H) == local(2026, 11, 19, 14)
    assert PLAIN.between(local(2026, 11, 19, 11), local(2026, 11, 19, 14)) == 2 * H


def test_across_a_weekend() -> None:
    # Friday 16:00 + 8 h: 1.5 h on Friday, 6.5 h on Monday (3.5 before lunch) → Monday 16:00.
    assert PLAIN.add(local(2026, 11, 20, 16), 8 * H) == local(2026, 11, 23, 16)


def test_across_a_weekend_and_a_holiday() -> None:
    # Same, but Monday is a holiday → Tuesday 16:00.
    assert CAL.add(local(2026, 11, 20, 16), 8 * H) == local(2026, 11, 24, 16)
    assert CAL.between(local(2026, 11, 20, 16), local(2026, 11, 24, 16)) == 8 * H


def test_a_swapped_working_saturday_counts() -> None:
    # Friday 27th 17:00 + 2 h: half an hour on Friday, then the working Saturday from 08:30.
    assert CAL.add(local(2026, 11, 27, 17), 2 * H) == local(2026, 11, 28, 10)


def test_a_start_outside_hours_waits_for_the_next_opening() -> None:
    assert CAL.add(local(2026, 11, 21, 10), 1 * H) == local(2026, 11, 24, 9, 30)
    assert CAL.add(local(2026, 11, 20, 6), 1 * H) == local(2026, 11, 20, 9, 30)
    assert CAL.add(local(2026, 11, 20, 6), 0) == local(2026, 11, 20, 6)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 60 * 24 * 60),  # minutes after the start of November 2026
    st.integers(0, 200 * 60),  # business minutes to add
)
def test_between_is_the_inverse_of_add(start_min: int, minutes: int) -> None:
    start = local(2026, 11, 1) + start_min * 60.0
    end = CAL.add(start, minutes * 60.0)
    assert end >= start
    assert CAL.between(start, end) == pytest.approx(minutes * 60.0, abs=1e-6)
    if minutes:
        assert CAL.is_open(end - 1e-3)


def test_rule_lookup_picks_the_most_specific() -> None:
    rules = WorkOrderSettings().deadlines
    assert rule_for(rules, "repair", "urgent") == DeadlineRule(
        type="repair", priority="urgent", hours=4.0, clock="calendar")
    assert rule_for(rules, "repair", "normal").hours == 16.0
    assert rule_for(rules, "praise", "urgent").hours == 8.0  # priority rule
    assert rule_for(rules, "praise", "low").hours == 40.0  # catch-all
    assert rule_for([], "x", "low") == DeadlineRule()


def test_deadline_of_a_complaint_opened_on_friday_afternoon() -> None:
    # 40 business hours from Friday 16:00, Monday a holiday, Saturday 28th worked:
    # Fri 1.5 + Tue..Fri 32 = 33.5; Sat 28th 6.5 more → 08:30+3.5 = 12:00, 13:00+3 = 16:00.
    rule = rule_for(WorkOrderSettings().deadlines, "complaint", "normal")
    t = timers(CAL, rule, local(2026, 11, 20, 16), lead_hours=2.0)
    assert t.deadline_at == local(2026, 11, 28, 16)
    assert t.remind_at == local(2026, 11, 28, 14)
    assert t.clock == "business"


def test_urgent_repairs_run_on_the_calendar_clock_through_the_night() -> None:
    rule = rule_for(WorkOrderSettings().deadlines, "repair", "urgent")
    t = timers(CAL, rule, local(2026, 11, 22, 22), lead_hours=2.0)  # Sunday 22:00
    assert t.deadline_at == local(2026, 11, 23, 2)  # the holiday does not matter
    assert t.remind_at == local(2026, 11, 23, 0)


def test_the_reminder_never_comes_before_half_the_time() -> None:
    rule = rule_for(WorkOrderSettings().deadlines, "outage_report", "normal")  # 2 h calendar
    t = timers(CAL, rule, local(2026, 11, 22, 22), lead_hours=2.0)
    assert t.remind_at == local(2026, 11, 22, 23)


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("working_hours", ["9-5"], "workorders.working_hours"),
        ("working_hours", ["13:00-12:00"], "workorders.working_hours"),
        ("working_hours", ["08:00-12:00", "11:00-13:00"], "workorders.working_hours"),
        ("weekend", [1, 2, 3, 4, 5, 6, 7], "workorders.weekend"),
        ("satisfaction_share", 1.5, "workorders.satisfaction_share"),
    ],
)
def test_bad_settings_name_the_key(field: str, value: object, key: str) -> None:
    settings_ = WorkOrderSettings(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        validate(settings_)
    assert info.value.details["key"] == key
