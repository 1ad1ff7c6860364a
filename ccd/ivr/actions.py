"""What the walker asks for (actions) and what it is told back (events): plain data.

Each action has exactly one answering event (`EXPECTS`); `HungUp` may answer any action on the
caller's line (`CHANNEL_ACTIONS`). The engine turns actions into Channel and Services calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------- actions (walker -> engine)


@dataclass(frozen=True)
class Speech:
    """Free text to be synthesized (an outage's area), in the language of the Play."""

    text: str


PromptItem = str | Speech


@dataclass(frozen=True)
class Play:
    prompts: tuple[PromptItem, ...]
    lang: str
    barge_in: bool = True


@dataclass(frozen=True)
class Collect:
    max_digits: int
    timeout: float
    inter_digit_timeout: float
    terminator: str


@dataclass(frozen=True)
class Record:
    node: str
    max_seconds: float
    silence_seconds: float
    stop_digits: str


@dataclass(frozen=True)
class Lookup:
    source: str
    args: dict[str, Any]


@dataclass(frozen=True)
class OpenWorkOrder:
    kind: str
    account: str
    recording: str


@dataclass(frozen=True)
class RequestCallback:
    number: str
    account: str
    queue: str


@dataclass(frozen=True)
class SaveSurvey:
    survey: str
    answers: dict[str, str]


@dataclass(frozen=True)
class Enqueue:
    queue: str
    priority: int


@dataclass(frozen=True)
class Transfer:
    uri: str
    caller_id: str
    timeout: float


@dataclass(frozen=True)
class Finish:
    """The walk is over. hangup: the engine hangs the caller up (False when the caller already
    left, or the call was handed to an agent or the ACD)."""

    disposition: str
    hangup: bool = True
    cause: int = 200


Action = (Play | Collect | Record | Lookup | OpenWorkOrder | RequestCallback | SaveSurvey
          | Enqueue | Transfer | Finish)

# ---------------------------------------------------------------- events (engine -> walker)


@dataclass(frozen=True)
class Played:
    digit: str | None = None  # the key that interrupted playback (left for the next Collect)


@dataclass(frozen=True)
class Collected:
    digits: str  # as the channel returned them; '' when the caller keyed nothing in time


@dataclass(frozen=True)
class Recorded:
    path: str
    seconds: float
    ended_by: str  # 'silence', 'max', 'digit' or 'hangup'
    digit: str = ""
    voiced_s: float | None = None  # seconds that hold a voice (None: not measured, all of it)


@dataclass(frozen=True)
class LookedUp:
    data: dict[str, Any] | None
    error: str = ""


@dataclass(frozen=True)
class WorkOrderOpened:
    number: str = ""
    error: str = ""


@dataclass(frozen=True)
class Done:
    error: str = ""


@dataclass(frozen=True)
class Queued:
    outcome: str  # 'connected' (the ACD has the call), 'unavailable' (no ACD), 'failed'


@dataclass(frozen=True)
class Transferred:
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class HungUp:
    cause: int = 200


Event = (Played | Collected | Recorded | LookedUp | WorkOrderOpened | Done | Queued | Transferred
         | HungUp)

EXPECTS: dict[type, type] = {
    Play: Played, Collect: Collected, Record: Recorded, Lookup: LookedUp,
    OpenWorkOrder: WorkOrderOpened, RequestCallback: Done, SaveSurvey: Done, Enqueue: Queued,
    Transfer: Transferred,
}
CHANNEL_ACTIONS = (Play, Collect, Record, Enqueue, Transfer)
