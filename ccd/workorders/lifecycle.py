"""The work-order state machine. No I/O: a state and an event and `now` in, the next state out.

Everything that decides a work order's status and timers lives in this module (as h11 keeps its
connection state in one place). The service layer loads a row into `OrderState`, calls `apply`,
and writes back what it returns; nothing else changes `status`, `remind_at` or `deadline_at`.

The loop (闭环): the hotline registers a work order (`new`), dispatches it to a department
(`dispatched`), which accepts it (`accepted`), reports progress (`feedback`), may pause the clock
while waiting for the customer (`paused`), and asks to close (`close_requested`); the hotline then
closes it (`closed`) or sends it back for more work. A department that is the wrong one sends a
dispatched work order back to the hotline to dispatch again (退单). Enquiries answered on the call
are closed at once (直接办结); duplicates are cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ccd.workorders.calendar import BusinessCalendar, Clock
from ccd.workorders.deadlines import resume_timers
from ccd.workorders.errors import DepartmentRequired, IllegalTransition, NoteRequired

NEW = "new"
DISPATCHED = "dispatched"
ACCEPTED = "accepted"
PAUSED = "paused"
CLOSE_REQUESTED = "close_requested"
CLOSED = "closed"
CANCELLED = "cancelled"

STATUSES: tuple[str, ...] = (NEW, DISPATCHED, ACCEPTED, PAUSED, CLOSE_REQUESTED, CLOSED, CANCELLED)
FINAL: frozenset[str] = frozenset({CLOSED, CANCELLED})
OPEN: tuple[str, ...] = tuple(s for s in STATUSES if s not in FINAL)
# Statuses whose deadline clock runs (paused stops it; final ones are done).
TIMED: frozenset[str] = frozenset({NEW, DISPATCHED, ACCEPTED, CLOSE_REQUESTED})

# Events people cause, and the timer events the scheduler causes.
USER_EVENTS: tuple[str, ...] = (
    "dispatch",
    "accept",
    "feedback",
    "pause",
    "resume",
    "request_close",
    "close",
    "send_back",
    "cancel",
)
TIMER_EVENTS: tuple[str, ...] = ("remind", "escalate")
EVENTS: tuple[str, ...] = USER_EVENTS + TIMER_EVENTS

# (status, event) -> next status. A pair not in the table is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (NEW, "dispatch"): DISPATCHED,
    (NEW, "close"): CLOSED,  # 直接办结: answered on the call
    (NEW, "cancel"): CANCELLED,
    (DISPATCHED, "dispatch"): DISPATCHED,  # 改派: another department, before acceptance
    (DISPATCHED, "accept"): ACCEPTED,
    (DISPATCHED, "send_back"): NEW,  # 退单: not this department's work
    (DISPATCHED, "cancel"): CANCELLED,
    (ACCEPTED, "feedback"): ACCEPTED,
    (ACCEPTED, "pause"): PAUSED,
    (ACCEPTED, "request_close"): CLOSE_REQUESTED,
    (PAUSED, "feedback"): PAUSED,
    (PAUSED, "resume"): ACCEPTED,
    (CLOSE_REQUESTED, "close"): CLOSED,
    (CLOSE_REQUESTED, "send_back"): ACCEPTED,  # 驳回: the hotline is not satisfied
}
for _status in TIMED:
    TRANSITIONS[(_status, "remind")] = _status
    TRANSITIONS[(_status, "escalate")] = _status

# Events that must say why (a department that sends back without a reason starts a 无头公案).
NOTE_REQUIRED: frozenset[str] = frozenset(
    {"feedback", "pause", "request_close", "close", "send_back", "cancel"}
)
# Events done by the department the work order is with; the rest are the hotline's.
DEPARTMENT_EVENTS: frozenset[str] = frozenset(
    {"accept", "feedback", "pause", "resume", "request_close"}
)


def allowed(status: str) -> list[str]:
    """The events `status` allows, in the order of EVENTS."""
    return [e for e in EVENTS if (status, e) in TRANSITIONS]


def actions(status: str) -> list[str]:
    """The events people may cause in `status` (what a screen offers, what errors list)."""
    return [e for e in USER_EVENTS if (status, e) in TRANSITIONS]


def acting_side(status: str, event: str) -> str:
    """'department' or 'hotline': who does `event` in `status` (退单 from dispatched is the
    department's, 驳回 from close_requested the hotline's)."""
    if event in DEPARTMENT_EVENTS or (event == "send_back" and status == DISPATCHED):
        return "department"
    return "hotline"


@dataclass(frozen=True)
class OrderState:
    """What the state machine needs of a work order. Moments are epoch seconds.

    remaining_s / remind_remaining_s: while paused, the clock time still owed until the deadline
    and until the reminder (None once the reminder was sent).
    """

    status: str = NEW
    department: str | None = None
    clock: str = "business"
    remind_at: float | None = None
    deadline_at: float | None = None
    remaining_s: float | None = None
    remind_remaining_s: float | None = None
    reminded: bool = False
    escalated: bool = False

    @property
    def open(self) -> bool:
        return self.status not in FINAL

    def overdue(self, now: float) -> bool:
        """Past its deadline with the clock running (a paused work order is not overdue)."""
        return self.status in TIMED and self.deadline_at is not None and now >= self.deadline_at

    @property
    def timer_at(self) -> float | None:
        """The next moment the scheduler must look at this work order, or None."""
        if self.status not in TIMED:
            return None
        pending = []
        if not self.reminded and self.remind_at is not None:
            pending.append(self.remind_at)
        if not self.escalated and self.deadline_at is not None:
            pending.append(self.deadline_at)
        return min(pending) if pending else None


@dataclass(frozen=True)
class Event:
    """Something that happened to a work order.

    kind: one of EVENTS. actor: username, or 'system' for timers. note: why (some events need
    one). department: the department dispatched to (dispatch only).
    """

    kind: str
    actor: str = "system"
    note: str = ""
    department: str | None = None


def apply(
    state: OrderState, event: Event, now: float, calendar: BusinessCalendar, number: str = ""
) -> OrderState:
    """The state after `event` at `now`; raises IllegalTransition, NoteRequired or
    DepartmentRequired (each with details) when the event is refused.

    number: the work order's number, only to name it in errors.
    """
    target = TRANSITIONS.get((state.status, event.kind))
    if target is None:
        raise IllegalTransition(
            f"work order {number or '(new)'} is {state.status}; '{event.kind}' is not allowed "
            f"(allowed: {', '.join(actions(state.status)) or 'none'})",
            number=number,
            status=state.status,
            event=event.kind,
            allowed=actions(state.status),
        )
    if event.kind in NOTE_REQUIRED and not event.note.strip():
        raise NoteRequired(
            f"'{event.kind}' on work order {number} needs a note saying why",
            number=number,
            event=event.kind,
        )
    if event.kind == "dispatch" and not event.department:
        raise DepartmentRequired(
            f"dispatching work order {number} needs a department", number=number
        )
    if event.kind == "dispatch" and event.department == state.department and state.status == (
        DISPATCHED
    ):
        raise IllegalTransition(
            f"work order {number} is already dispatched to {event.department}",
            number=number,
            status=state.status,
            event=event.kind,
            allowed=actions(state.status),
        )

    nxt = replace(state, status=target)
    if event.kind == "dispatch":
        nxt = replace(nxt, department=event.department)
    elif event.kind == "send_back" and target == NEW:
        nxt = replace(nxt, department=None)
    elif event.kind == "pause":
        nxt = _pause(nxt, now, calendar)
    elif event.kind == "resume":
        nxt = _resume(nxt, now, calendar)
    elif event.kind == "remind":
        nxt = replace(nxt, reminded=True)
    elif event.kind == "escalate":
        nxt = replace(nxt, reminded=True, escalated=True)
    return nxt


def _pause(state: OrderState, now: float, calendar: BusinessCalendar) -> OrderState:
    clock = Clock(calendar, state.clock)
    remaining = None if state.deadline_at is None else clock.between(now, state.deadline_at)
    remind_left = None
    if not state.reminded and state.remind_at is not None:
        remind_left = max(0.0, clock.between(now, state.remind_at))
    return replace(
        state,
        remaining_s=remaining,
        remind_remaining_s=remind_left,
        remind_at=None,
        deadline_at=None,
    )


def _resume(state: OrderState, now: float, calendar: BusinessCalendar) -> OrderState:
    if state.remaining_s is None:
        return replace(state, remind_remaining_s=None)
    t = resume_timers(calendar, state.clock, now, state.remaining_s, state.remind_remaining_s)
    return replace(
        state,
        remind_at=t.remind_at,
        deadline_at=t.deadline_at,
        remaining_s=None,
        remind_remaining_s=None,
    )


def due(state: OrderState, now: float) -> str | None:
    """The timer event due at `now`: 'escalate' past the deadline, else 'remind', else None.

    Past the deadline it escalates without reminding first: a reminder after the fact helps
    nobody (the daemon may have been down when the reminder fell due).
    """
    if state.status not in TIMED:
        return None
    if not state.escalated and state.deadline_at is not None and now >= state.deadline_at:
        return "escalate"
    if not state.reminded and state.remind_at is not None and now >= state.remind_at:
        return "remind"
    return None
