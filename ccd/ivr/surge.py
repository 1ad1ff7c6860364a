"""Surge mode: when does the hotline switch its IVR to the surge branch, and back.

Pure logic, `now` passed in (h11's style): feed `SurgeDetector.update` the ACD's numbers, it says
whether surge mode is on. It switches on when *either* the waiting callers per staffed agent or
the longest expected wait reaches its `on` threshold, and off only when *both* have fallen to
their `off` thresholds (lower: hysteresis) and surge mode has lasted at least `min_on_s`, so a
queue hovering at a threshold does not make the IVR flap between its two faces.

No agent staffed while callers wait counts as an infinite number of callers per agent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec


class SurgeSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[ivr.surge]` in ccd.toml. enabled: whether the IVR ever switches; on_/off_: the
    thresholds (waiting callers per staffed agent; expected wait in seconds); min_on_s: the
    shortest surge; sample_s: how often the ACD's numbers are read."""

    enabled: bool = True
    on_waiting_per_agent: float = 3.0
    off_waiting_per_agent: float = 1.5
    on_expected_wait_s: float = 300.0
    off_expected_wait_s: float = 120.0
    min_on_s: float = 120.0
    sample_s: float = 5.0


def check(settings: SurgeSettings) -> tuple[str, str] | None:
    """(key, why) of the first bad setting, or None."""
    if settings.off_waiting_per_agent > settings.on_waiting_per_agent:
        return "off_waiting_per_agent", "must not be above on_waiting_per_agent"
    if settings.off_expected_wait_s > settings.on_expected_wait_s:
        return "off_expected_wait_s", "must not be above on_expected_wait_s"
    for key in ("on_waiting_per_agent", "off_waiting_per_agent", "on_expected_wait_s",
                "off_expected_wait_s", "min_on_s"):
        if getattr(settings, key) < 0:
            return key, "must not be negative"
    if settings.sample_s <= 0:
        return "sample_s", "must be positive"
    return None


@dataclass(frozen=True)
class Load:
    """The hotline's load at one moment: callers waiting in queues, agents staffed (logged in,
    in any state), and the longest expected wait of any queue (None: nobody waits)."""

    waiting: int
    staffed: int
    expected_wait_s: float | None

    @property
    def waiting_per_agent(self) -> float:
        if self.waiting == 0:
            return 0.0
        return self.waiting / self.staffed if self.staffed else math.inf


@dataclass(frozen=True)
class SurgeState:
    on: bool
    since: float  # when it last changed (or started)
    reason: str  # what crossed: 'waiting_per_agent' | 'expected_wait' | 'calm' | ''
    load: Load


class SurgeDetector:
    def __init__(self, settings: SurgeSettings, now: float) -> None:
        self.settings = settings
        self.state = SurgeState(False, now, "", Load(0, 0, None))

    def update(self, now: float, load: Load) -> SurgeState | None:
        """Take the current load; returns the new state when surge mode switched, else None."""
        s = self.settings
        on = self.state.on
        per_agent = load.waiting_per_agent
        wait = load.expected_wait_s or 0.0
        if not s.enabled:
            new_on, reason = False, "calm"
        elif not on:
            if per_agent >= s.on_waiting_per_agent and load.waiting:
                new_on, reason = True, "waiting_per_agent"
            elif wait >= s.on_expected_wait_s and load.waiting:
                new_on, reason = True, "expected_wait"
            else:
                new_on, reason = False, ""
        else:
            calm = per_agent <= s.off_waiting_per_agent and wait <= s.off_expected_wait_s
            new_on = not (calm and now - self.state.since >= s.min_on_s)
            reason = "calm"
        if new_on == on:
            self.state = SurgeState(on, self.state.since, self.state.reason, load)
            return None
        self.state = SurgeState(new_on, now, reason, load)
        return self.state
