"""The ACD's vocabulary: configuration, the events it takes, the actions and records it gives back.

Everything here is an immutable value. `ccd.acd.core.Acd` consumes `Event`s (with `now`) and
returns a `Step`: the `Action`s the service must carry out and the `AcdRecord`s it must store.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ccd.acd.errors import BadQueueConfig


class AgentState(enum.Enum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RINGING = "ringing"
    TALKING = "talking"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    NOT_READY = "not_ready"


class Strategy(enum.Enum):
    """How a queue picks among ready agents for a caller."""

    LONGEST_IDLE = "longest_idle"  # the agent ready the longest
    FEWEST_CALLS = "fewest_calls"  # the agent who answered fewest calls since login
    BEST_SKILL = "best_skill"  # the highest level in the queue's skills (the lowest of several)
    ROUND_ROBIN = "round_robin"  # the next agent after the last one offered, in configured order
    RING_ALL = "ring_all"  # ring every eligible ready agent; the first to answer wins


# The standard not-ready reasons. Others (site-specific break codes) are allowed.
REASON_LOGIN = "login"
REASON_MISSED = "missed"


def check_skills(skills: Mapping[str, int], where: str) -> None:
    for skill, level in skills.items():
        if not isinstance(level, int) or not 1 <= level <= 10:
            raise BadQueueConfig(
                f"{where}: skill levels are 1 to 10", where=where, skill=skill, level=level
            )


@dataclass(frozen=True)
class OverflowRule:
    """After `after_s` seconds in the queue: also accept agents with `add_skills`, or move on.

    add_skills: skill -> minimum level; agents meeting these may take the caller from then on.
    to_queue: the queue the caller moves to (keeping their original enter time).
    Exactly one of them is given.
    """

    after_s: float
    add_skills: Mapping[str, int] | None = None
    to_queue: str | None = None

    def __post_init__(self) -> None:
        if (self.add_skills is None) == (self.to_queue is None):
            raise BadQueueConfig(
                "an overflow rule either adds skills or moves to a queue",
                after_s=self.after_s,
            )
        if not (self.after_s >= 0 and math.isfinite(self.after_s)):
            raise BadQueueConfig("overflow after_s must be >= 0", after_s=self.after_s)
        if self.add_skills is not None:
            check_skills(self.add_skills, "overflow rule")


@dataclass(frozen=True)
class QueueConfig:
    """One queue.

    name: its id; skills: skill -> minimum level an agent needs to take its callers;
    strategy: how an agent is chosen; wrap_up_s: after-call work time; service_level_s: answered
    within this many seconds counts towards the service level; overflow: rules in any order;
    max_wait_s: callers leave the queue (back to the IVR) after this total wait; ring_timeout_s:
    how long a station rings before it counts as no answer; weight: multiplies this queue's wait
    when callers of several queues compete for one agent; default_aht_s: handle time assumed for
    expected-wait estimates until calls have been handled; music, announce_every_s,
    callback_key, ivr_key: what the service plays and listens for while callers wait;
    wrap_up_required: the agent must code the call (`WrapUpCoded`) before going ready or not
    ready, and stays in wrap-up past the wrap-up time until they do.
    """

    name: str
    skills: Mapping[str, int] = field(default_factory=dict)
    strategy: Strategy = Strategy.LONGEST_IDLE
    wrap_up_s: float = 0.0
    service_level_s: float = 20.0
    overflow: tuple[OverflowRule, ...] = ()
    max_wait_s: float | None = None
    ring_timeout_s: float = 15.0
    weight: float = 1.0
    default_aht_s: float = 180.0
    music: str | None = None
    announce_every_s: float | None = 60.0
    callback_key: str | None = "1"
    ivr_key: str | None = "*"
    wrap_up_required: bool = False

    def __post_init__(self) -> None:
        check_skills(self.skills, f"queue {self.name}")
        if self.weight <= 0 or self.wrap_up_s < 0 or self.ring_timeout_s <= 0:
            raise BadQueueConfig(
                f"queue {self.name}: weight and ring timeout must be > 0, wrap-up >= 0",
                queue=self.name,
            )
        ordered = tuple(sorted(self.overflow, key=lambda r: r.after_s))
        object.__setattr__(self, "overflow", ordered)


@dataclass(frozen=True)
class PriorityWeights:
    """Seconds of extra wait credited to a caller when callers are ordered.

    A caller's score is `queue.weight × wait + boosts`; VIP callers always come first.
    """

    repeat_caller_s: float = 60.0
    outage_area_s: float = 30.0


@dataclass(frozen=True)
class AgentConfig:
    """An agent: id, display name and skills (skill -> level 1..10)."""

    agent: str
    skills: Mapping[str, int] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        check_skills(self.skills, f"agent {self.agent}")


@dataclass(frozen=True)
class Caller:
    """A caller entering a queue: their call id and number, and what raises their priority."""

    call_id: str
    number: str = ""
    vip: bool = False
    repeat_caller: bool = False
    outage_area: bool = False


# ---------------------------------------------------------------- events (what happened)


@dataclass(frozen=True)
class AgentLogin:
    agent: str
    station: str
    ready: bool = False
    by: str | None = None


@dataclass(frozen=True)
class AgentLogout:
    agent: str
    by: str | None = None


@dataclass(frozen=True)
class AgentReady:
    """Go ready (also ends wrap-up early, and cancels a 'not ready after this call' request).

    forced: a team lead sets the state; this overrides a required wrap-up not yet coded.
    """

    agent: str
    by: str | None = None
    forced: bool = False


@dataclass(frozen=True)
class AgentNotReady:
    """Go not ready with a reason. While on a call it means 'not ready after this call'.

    forced: as for `AgentReady`.
    """

    agent: str
    reason: str
    by: str | None = None
    forced: bool = False


@dataclass(frozen=True)
class WrapUpCoded:
    """The agent recorded the disposition code of a call.

    call_id: the call coded (None: the one they are wrapping up); coding another call leaves
    this wrap-up uncoded. finish: end the wrap-up now, as `AgentReady` does. A wrap-up already
    past its time ends as soon as it is coded.
    """

    agent: str
    call_id: str | None = None
    finish: bool = False
    by: str | None = None


@dataclass(frozen=True)
class CallerEnters:
    caller: Caller
    queue: str


@dataclass(frozen=True)
class CallerHangup:
    call_id: str


@dataclass(frozen=True)
class CallerLeaves:
    """The caller chose to go back to self-service."""

    call_id: str


@dataclass(frozen=True)
class CallbackRequest:
    call_id: str
    number: str


@dataclass(frozen=True)
class AgentAnswered:
    """The station rung for `call_id` answered (also for a consultation)."""

    agent: str
    call_id: str


@dataclass(frozen=True)
class StationFailed:
    """The station could not be rung (unreachable, busy, declined)."""

    agent: str
    call_id: str
    cause: str = "unreachable"


@dataclass(frozen=True)
class AgentHangup:
    agent: str


@dataclass(frozen=True)
class Hold:
    agent: str


@dataclass(frozen=True)
class Unhold:
    agent: str


@dataclass(frozen=True)
class TransferToQueue:
    agent: str
    queue: str


@dataclass(frozen=True)
class TransferToAgent:
    """Blind transfer: the target (who must be ready) is rung; the caller keeps their place."""

    agent: str
    target: str


@dataclass(frozen=True)
class ConsultStart:
    agent: str
    target: str


@dataclass(frozen=True)
class ConsultEnd:
    agent: str


@dataclass(frozen=True)
class ConsultTransfer:
    agent: str


@dataclass(frozen=True)
class Tick:
    """Time passed: process every ring timeout, wrap-up end, overflow and max wait due by now."""


@dataclass(frozen=True)
class QueueChanged:
    """A queue's settings changed (`ccd queues set`, a reload): they apply at once, also to the
    callers already waiting, who keep their place; overflow rules count from when each caller
    entered the queue, and rules already due under the new settings apply now."""

    config: QueueConfig


Event = (
    AgentLogin
    | AgentLogout
    | AgentReady
    | AgentNotReady
    | WrapUpCoded
    | CallerEnters
    | CallerHangup
    | CallerLeaves
    | CallbackRequest
    | AgentAnswered
    | StationFailed
    | AgentHangup
    | Hold
    | Unhold
    | TransferToQueue
    | TransferToAgent
    | ConsultStart
    | ConsultEnd
    | ConsultTransfer
    | Tick
    | QueueChanged
)

# ---------------------------------------------------------------- actions (what to do)


@dataclass(frozen=True)
class Ring:
    """Ring the agent's station for this call; report `AgentAnswered` or `StationFailed`.

    `consult_from` is set when an agent consults `agent` about the call.
    """

    agent: str
    station: str
    call_id: str
    queue: str
    timeout_s: float
    consult_from: str | None = None


@dataclass(frozen=True)
class CancelRing:
    agent: str
    call_id: str


@dataclass(frozen=True)
class DropAgentLeg:
    """An answer came too late (the offer was withdrawn): hang up that agent's leg."""

    agent: str
    call_id: str


@dataclass(frozen=True)
class Connect:
    """Bridge the caller with the agent's answered leg."""

    call_id: str
    agent: str


@dataclass(frozen=True)
class ReleaseAgent:
    """The agent's leg leaves the call (hang it up); the caller stays (transfer, requeue)."""

    call_id: str
    agent: str


@dataclass(frozen=True)
class Reconnect:
    """Consulted transfer done: bridge the caller with `to_agent`, release `from_agent`."""

    call_id: str
    from_agent: str
    to_agent: str


@dataclass(frozen=True)
class EndConsult:
    """Hang up the consultation leg of `target`."""

    target: str
    call_id: str


@dataclass(frozen=True)
class ConnectConsult:
    """The consulted agent answered: bridge the consulting agent's leg with theirs."""

    agent: str
    target: str
    call_id: str


@dataclass(frozen=True)
class ConsultFailed:
    agent: str
    target: str
    call_id: str


@dataclass(frozen=True)
class HoldCaller:
    call_id: str


@dataclass(frozen=True)
class UnholdCaller:
    call_id: str


@dataclass(frozen=True)
class WaitAgain:
    """The caller is back in a queue (no answer, transfer): resume music and announcements."""

    call_id: str
    queue: str


@dataclass(frozen=True)
class Finish:
    """The call left the ACD. `outcome`: completed, abandoned, callback, max_wait, left.

    The service hangs up any agent leg; the caller's leg goes back to whoever queued it.
    """

    call_id: str
    outcome: str
    agent: str | None = None
    number: str | None = None


Action = (
    Ring
    | CancelRing
    | DropAgentLeg
    | Connect
    | ReleaseAgent
    | Reconnect
    | EndConsult
    | ConnectConsult
    | ConsultFailed
    | HoldCaller
    | UnholdCaller
    | WaitAgain
    | Finish
)

# ---------------------------------------------------------------- records (what to store)


class RecordKind(str, enum.Enum):
    ENTER_QUEUE = "enter_queue"
    OFFERED = "offered"
    RING_NO_ANSWER = "ring_no_answer"
    STATION_UNREACHABLE = "station_unreachable"
    OFFER_WITHDRAWN = "offer_withdrawn"
    RETURNED_TO_QUEUE = "returned_to_queue"
    ANSWERED = "answered"
    LATE_ANSWER = "late_answer"
    ABANDONED = "abandoned"
    LEFT_QUEUE = "left_queue"
    MAX_WAIT = "max_wait"
    OVERFLOW = "overflow"
    CALLBACK_REQUESTED = "callback_requested"
    HOLD = "hold"
    UNHOLD = "unhold"
    TRANSFERRED = "transferred"
    CONSULT_START = "consult_start"
    CONSULT_ANSWERED = "consult_answered"
    CONSULT_END = "consult_end"
    COMPLETED = "completed"
    WRAP_UP_START = "wrap_up_start"
    WRAP_UP_END = "wrap_up_end"
    WRAP_UP_OVERDUE = "wrap_up_overdue"  # a required wrap-up's time ran out before coding
    AGENT_STATE = "agent_state"
    NOT_READY_AFTER_CALL = "not_ready_after_call"


@dataclass(frozen=True)
class AcdRecord:
    """One stored ACD event: when, what, which call, queue and agent, who caused it, details.

    `at` is in the clock the core was fed (the service's clock); `by` is 'caller', 'agent', 'acd'
    or a team lead's id.
    """

    at: float
    kind: RecordKind
    call_id: str | None = None
    queue: str | None = None
    agent: str | None = None
    by: str = "acd"
    details: Mapping[str, object] = field(default_factory=dict)

    def as_row(self) -> dict[str, object]:
        """A flat dict for storing (details stay a dict; serialise them as JSON)."""
        return {
            "at": self.at,
            "kind": self.kind.value,
            "call_id": self.call_id,
            "queue": self.queue,
            "agent": self.agent,
            "by": self.by,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Step:
    """What one event produced: actions for the service, records for the store."""

    actions: tuple[Action, ...] = ()
    records: tuple[AcdRecord, ...] = ()


# ---------------------------------------------------------------- statistics (live numbers)


@dataclass(frozen=True)
class QueueStatistics:
    """A queue's live numbers. Counts are of callers who entered this queue (overflowed callers
    count where they entered); `waiting` and `longest_wait_s` are of callers in it now.
    `service_level` is answered within target / (answered + abandoned + max-wait), None before
    the first such call."""

    queue: str
    waiting: int
    longest_wait_s: float
    offered: int
    answered: int
    abandoned: int
    answered_within_target: int
    timed_out: int
    callbacks: int
    left: int
    overflowed: int
    service_level: float | None
    asa_s: float | None
    aht_s: float
    agents_staffed: int
    agents_ready: int
    expected_wait_s: float | None


@dataclass(frozen=True)
class AgentStatistics:
    agent: str
    state: AgentState
    reason: str | None
    since: float
    calls: int
    station: str | None
    call_id: str | None


@dataclass(frozen=True)
class WrapUpStatus:
    """An agent's wrap-up now: the call and queue, whether the queue requires a code and the
    agent gave one, and when its time runs out (`until`, in the core's clock)."""

    call_id: str | None
    queue: str | None
    required: bool
    coded: bool
    until: float
    overdue: bool


@dataclass(frozen=True)
class AcdStatistics:
    at: float
    queues: tuple[QueueStatistics, ...]
    agents: tuple[AgentStatistics, ...]
