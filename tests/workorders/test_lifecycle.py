"""The work-order state machine, fed events like h11's test_state: no database, `now` passed in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccd.workorders import lifecycle
from ccd.workorders.calendar import BusinessCalendar
from ccd.workorders.errors import DepartmentRequired, IllegalTransition, NoteRequired
from ccd.workorders.lifecycle import (
    EVENTS,
    STATUSES,
    TRANSITIONS,
    Event,
    OrderState,
    apply,
)
from tests.workorders.conftest import HOLIDAY, WORKING_SATURDAY, local

CAL = BusinessCalendar.build(
    "Asia/Shanghai", [(510, 720), (780, 1050)], (6, 7), [HOLIDAY], [WORKING_SATURDAY]
)
NOW = local(2026, 11, 20, 9, 0)  # a Friday morning
HOUR = 3600.0


def in_status(status: str) -> OrderState:
    """A plausible work order in `status`: timers running, a department once dispatched."""
    dept = None if status == "new" else "repair"
    if status == "paused":
        return OrderState(status, dept, remaining_s=5 * HOUR, remind_remaining_s=3 * HOUR)
    return OrderState(
        status, dept, remind_at=NOW + 6 * HOUR, deadline_at=NOW + 8 * HOUR
    )


def event_for(kind: str, state: OrderState) -> Event:
    """A well-formed event of `kind` (a note, a department that differs from the current)."""
    department = "billing" if state.department == "repair" else "repair"
    return Event(kind, "agent1", note="说明 / reason", department=department)


@pytest.mark.parametrize(("status", "kind"), sorted(TRANSITIONS))
def test_every_allowed_transition_lands_where_the_table_says(status: str, kind: str) -> None:
    before = in_status(status)
    after = apply(before, event_for(kind, before), NOW, CAL, number="WO-20261120-0001")
    assert after.status == TRANSITIONS[(status, kind)]


ILLEGAL = [(s, e) for s in STATUSES for e in EVENTS if (s, e) not in TRANSITIONS]


@pytest.mark.parametrize(("status", "kind"), ILLEGAL)
def test_every_illegal_transition_is_refused_with_a_clear_error(status: str, kind: str) -> None:
    before = in_status(status)
    with pytest.raises(IllegalTransition) as info:
        apply(before, event_for(kind, before), NOW, CAL, number="WO-20261120-0007")
    err = info.value
    assert err.error_id == "wo-illegal-transition"
    assert err.details["number"] == "WO-20261120-0007"
    assert err.details["status"] == status
    assert err.details["event"] == kind
    assert err.details["allowed"] == lifecycle.actions(status)
    assert "WO-20261120-0007" in err.message and status in err.message and kind in err.message


def test_the_table_covers_what_the_issue_asks_for() -> None:
    # The loop of the issue: dispatch → accept → feedback → request close → close, or send back.
    path = ["dispatch", "accept", "feedback", "pause", "resume", "request_close", "send_back",
            "request_close", "close"]
    state = in_status("new")
    seen = [state.status]
    for kind in path:
        state = apply(state, event_for(kind, state), NOW, CAL)
        seen.append(state.status)
    assert seen == ["new", "dispatched", "accepted", "accepted", "paused", "accepted",
                    "close_requested", "accepted", "close_requested", "closed"]
    assert lifecycle.allowed("closed") == [] and lifecycle.allowed("cancelled") == []
    assert lifecycle.actions("new") == ["dispatch", "close", "cancel"]


@pytest.mark.parametrize("kind", sorted(lifecycle.NOTE_REQUIRED))
def test_events_that_must_say_why_refuse_an_empty_note(kind: str) -> None:
    status = next(s for s in STATUSES if (s, kind) in TRANSITIONS)
    with pytest.raises(NoteRequired) as info:
        apply(in_status(status), Event(kind, "agent1", note="  "), NOW, CAL, number="WO-1")
    assert info.value.error_id == "wo-note-required"
    assert info.value.details == {"number": "WO-1", "event": kind}


def test_dispatch_needs_a_department_and_a_different_one_to_redispatch() -> None:
    with pytest.raises(DepartmentRequired):
        apply(in_status("new"), Event("dispatch", "a"), NOW, CAL)
    dispatched = apply(in_status("new"), Event("dispatch", "a", department="repair"), NOW, CAL)
    assert dispatched.department == "repair"
    with pytest.raises(IllegalTransition):
        apply(dispatched, Event("dispatch", "a", department="repair"), NOW, CAL)
    moved = apply(dispatched, Event("dispatch", "a", department="billing"), NOW, CAL)
    assert (moved.status, moved.department) == ("dispatched", "billing")


def test_send_back_by_the_department_returns_it_to_the_hotline_without_a_department() -> None:
    back = apply(in_status("dispatched"), Event("send_back", "crew", note="不归我们管"), NOW, CAL)
    assert (back.status, back.department) == ("new", None)
    assert lifecycle.acting_side("dispatched", "send_back") == "department"
    assert lifecycle.acting_side("close_requested", "send_back") == "hotline"


def test_pause_stops_the_clock_and_resume_restarts_it_with_the_time_still_owed() -> None:
    # Accepted on Friday 09:00 with the deadline at 15:00 the same day (5 business hours: the
    # lunch hour 12:00-13:00 does not count) and the reminder at 14:00.
    state = OrderState("accepted", "repair", remind_at=local(2026, 11, 20, 14),
                       deadline_at=local(2026, 11, 20, 15))
    paused = apply(state, Event("pause", "crew", note="客户不在家"), NOW, CAL)
    assert paused.deadline_at is None and paused.remind_at is None
    assert paused.remaining_s == 5 * HOUR and paused.remind_remaining_s == 4 * HOUR
    assert paused.timer_at is None and not paused.overdue(local(2026, 12, 1))
    # Resumed on Friday 17:00: half an hour today, the rest on the next working day. Monday is
    # a holiday, so Tuesday: 08:30 + 4.5 h → 14:00 (lunch skipped); the reminder, 3.5 h on,
    # falls at the end of the morning span, 12:00.
    resumed = apply(paused, Event("resume", "crew"), local(2026, 11, 20, 17), CAL)
    assert resumed.status == "accepted"
    assert resumed.deadline_at == local(2026, 11, 24, 14, 0)
    assert resumed.remind_at == local(2026, 11, 24, 12, 0)
    assert resumed.remaining_s is None


def test_timers_remind_then_escalate_and_never_twice() -> None:
    state = in_status("accepted")
    assert lifecycle.due(state, NOW) is None
    assert lifecycle.due(state, NOW + 6 * HOUR) == "remind"
    reminded = apply(state, Event("remind"), NOW + 6 * HOUR, CAL)
    assert reminded.reminded and lifecycle.due(reminded, NOW + 7 * HOUR) is None
    assert reminded.timer_at == NOW + 8 * HOUR
    escalated = apply(reminded, Event("escalate"), NOW + 8 * HOUR, CAL)
    assert escalated.escalated and escalated.timer_at is None
    assert lifecycle.due(escalated, NOW + 100 * HOUR) is None
    assert escalated.overdue(NOW + 8 * HOUR)


def test_past_the_deadline_it_escalates_without_a_late_reminder() -> None:
    assert lifecycle.due(in_status("dispatched"), NOW + 9 * HOUR) == "escalate"
    escalated = apply(in_status("dispatched"), Event("escalate"), NOW + 9 * HOUR, CAL)
    assert escalated.reminded and escalated.escalated


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(EVENTS), max_size=25), st.integers(0, 40 * 24))
def test_any_sequence_of_events_keeps_the_invariants(kinds: list[str], hours: int) -> None:
    state = in_status("new")
    now = NOW
    for kind in kinds:
        now += hours * 60.0
        try:
            nxt = apply(state, event_for(kind, state), now, CAL)
        except IllegalTransition:
            assert (state.status, kind) not in TRANSITIONS
            continue
        assert nxt.status == TRANSITIONS[(state.status, kind)]
        state = nxt
        assert state.status in STATUSES
        if state.status not in lifecycle.TIMED:
            assert state.timer_at is None
        if state.status == "paused":
            assert state.deadline_at is None and state.remaining_s is not None
        if state.status in ("dispatched", "accepted", "paused", "close_requested"):
            assert state.department is not None
