"""Surge mode in the daemon: read the ACD's load every `[ivr.surge] sample_s`, feed the detector
(ccd/ivr/surge.py), and when it switches tell the IVR (the `surge` branch test reads
`status()`), the wallboard (a surge alert on every board) and the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import trio

from ccd.acd.model import AgentState
from ccd.ivr.surge import Load, SurgeDetector, SurgeSettings, SurgeState
from ccd.reports.board import Alert

log = logging.getLogger("ccd.surge")


def acd_load(runtime: Any) -> Load:
    """The load of every queue of a running ACD (ccd.acd.runtime.AcdRuntime)."""
    stats = runtime.acd.statistics(trio.current_time())
    waits = [q.expected_wait_s for q in stats.queues if q.expected_wait_s is not None]
    return Load(
        waiting=sum(q.waiting for q in stats.queues),
        staffed=sum(a.state is not AgentState.LOGGED_OUT for a in stats.agents),
        expected_wait_s=max(waits) if waits else None,
    )


class SurgeService:
    """`load`: the current Load (None: no ACD, never a surge); `on_change`: called with the new
    state when surge mode switches."""

    def __init__(self, settings: SurgeSettings, load: Callable[[], Load | None],
                 on_change: Callable[[SurgeState], None] | None = None) -> None:
        self.settings = settings
        self.load = load
        self.on_change = on_change
        self.detector = SurgeDetector(settings, 0.0)
        self.switches = 0
        self.wall_since = time.time()

    @property
    def on(self) -> bool:
        return self.detector.state.on

    def status(self) -> dict[str, Any]:
        """For the IVR's `surge` test and `ccd status`."""
        state = self.detector.state
        per_agent = state.load.waiting_per_agent
        return {
            "on": state.on,
            "since": round(self.wall_since, 3),
            "reason": state.reason,
            "waiting": state.load.waiting,
            "staffed": state.load.staffed,
            "waiting_per_agent": None if per_agent == float("inf") else round(per_agent, 2),
            "expected_wait_s": state.load.expected_wait_s,
            "switches": self.switches,
        }

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.detector = SurgeDetector(self.settings, trio.current_time())
        task_status.started()
        while True:
            load = self.load()
            if load is not None:
                changed = self.detector.update(trio.current_time(), load)
                if changed is not None:
                    self.switches += 1
                    self.wall_since = time.time()
                    self._announce(changed)
            await trio.sleep(self.settings.sample_s)

    def _announce(self, state: SurgeState) -> None:
        per_agent = state.load.waiting_per_agent
        if state.on:
            log.warning("surge mode ON (%s): %d waiting, %d agents staffed, expected wait %s",
                        state.reason, state.load.waiting, state.load.staffed,
                        state.load.expected_wait_s)
        else:
            log.warning("surge mode off: %d waiting, %d agents staffed (%.1f per agent)",
                        state.load.waiting, state.load.staffed, per_agent)
        if self.on_change is not None:
            self.on_change(state)


def wallboard_alert(state: SurgeState, wall_since: float) -> Alert | None:
    """The wallboard's surge alert for `state` (None when surge mode is off)."""
    if not state.on:
        return None
    per_agent = state.load.waiting_per_agent
    return Alert("surge", "warn", "", None if per_agent == float("inf") else round(per_agent, 1),
                 state.load.waiting, wall_since)


def attach(daemon: Any, runtime: Any, settings: SurgeSettings) -> SurgeService:
    """A SurgeService reading `runtime` (the ACD, or None) that updates `daemon`'s wallboard."""

    def changed(state: SurgeState) -> None:
        publisher = getattr(daemon, "wallboard", None)
        if publisher is not None:
            publisher.board.surge = wallboard_alert(state, service.wall_since)
            publisher.poke()

    service = SurgeService(settings, (lambda: acd_load(runtime)) if runtime else (lambda: None),
                           changed)
    daemon.surge = service
    daemon.status_sources["surge"] = service.status
    return service
