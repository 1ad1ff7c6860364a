"""The agent console's messages: what the subscription worker and the dialogs tell the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class Connected(Message):
    """The link is up (again) and the agent's state was fetched (and restored if needed)."""

    state: dict[str, Any]
    again: bool


@dataclass
class Disconnected(Message):
    """The link dropped; the worker is retrying (attempt n)."""

    reason: str
    attempt: int


@dataclass
class AgentEvent(Message):
    """One push on 'agent.<username>' (an ACD record, or a help answer)."""

    data: dict[str, Any]


@dataclass
class StateFetched(Message):
    """The agent's state as `agent.state` (or an action) returned it."""

    state: dict[str, Any]


@dataclass
class PopReady(Message):
    """The screen pop of a call (or of a customer looked up) arrived."""

    pop: dict[str, Any]
    call_id: str | None


@dataclass
class Notice(Message):
    """A one-line result or error for the notice bar (already in the console's language)."""

    text: str
    error: bool = False
