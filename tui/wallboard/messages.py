"""The wallboard's messages: what the subscription worker and the actions tell the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class PushesWaiting(Message):
    """Pushes from the daemon are queued; the app applies them all and paints once."""


@dataclass
class Connected(Message):
    """Logged in and subscribed. roles: the session's roles; live: the daemon pushes."""

    username: str
    roles: frozenset[str]


@dataclass
class Disconnected(Message):
    """The connection is down (or could not be made); `attempt` counts retries so far."""

    reason: str
    attempt: int


@dataclass
class Refused(Message):
    """The daemon refused the board (the user's roles do not allow watching it)."""

    message: str


@dataclass
class ActionResult(Message):
    """A supervisor action finished: ok, or failed with the daemon's message."""

    action: str
    agent: str
    ok: bool
    message: str = ""
