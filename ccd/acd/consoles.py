"""Which agents have a console open, and what happens to an agent whose last console goes.

    watch = ConsoleWatch(state_of=runtime.acd_state, log_out=runtime.console_lost)
    watch.attach("agent1001", connection)       # agent.login / agent.state on that connection
    ...                                         # the connection closes: `detach` runs
    watch.state_changed("agent1001", "ready")   # from the ACD's records

An agent without a console cannot see a screen pop or press answer, so the daemon must stop
offering them calls: when the last connection that acted as their console closes (the console
was killed, its terminal closed, the PC crashed), the agent is logged out at once if they are
ready, not ready, ringing or in wrap-up (a ringing caller keeps their place in the queue). A call
in progress is not cut: the agent is logged out as soon as it ends. A console that comes back
first (a reconnect) keeps the agent as they were; a console that reconnects after the logout
logs the agent in again itself (tui/agent/app.py `_restore`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LOG_OUT_NOW = frozenset({"ready", "not_ready", "ringing", "wrap_up"})
ON_A_CALL = frozenset({"talking", "on_hold"})


class ConsoleWatch:
    """See the module docstring. state_of(agent): the ACD's state name ('logged_out' for an
    unknown agent); log_out(agent): logs the agent out (called from a trio task, never from
    inside the ACD's feed)."""

    def __init__(self, state_of: Callable[[str], str], log_out: Callable[[str], None]) -> None:
        self.state_of = state_of
        self.log_out = log_out
        self._consoles: dict[str, set[int]] = {}
        self._after_call: set[str] = set()  # console gone during a call: log out after it

    def attach(self, agent: str, connection: Any) -> None:
        """`connection` (with an `on_close` list of callbacks) is a console of `agent`."""
        key = id(connection)
        held = self._consoles.setdefault(agent, set())
        self._after_call.discard(agent)
        if key in held:
            return
        held.add(key)
        connection.on_close.append(lambda: self.detach(agent, key))

    def has_console(self, agent: str) -> bool:
        return bool(self._consoles.get(agent))

    def detach(self, agent: str, key: int) -> None:
        """A console connection of `agent` closed."""
        held = self._consoles.get(agent, set())
        held.discard(key)
        if held:
            return
        self._consoles.pop(agent, None)
        state = self.state_of(agent)
        if state in LOG_OUT_NOW:
            self.log_out(agent)
        elif state in ON_A_CALL:
            self._after_call.add(agent)

    def state_changed(self, agent: str, to: str) -> bool:
        """The ACD moved `agent` to state `to`; True when the agent is now to be logged out
        (their console went during the call that just ended)."""
        if agent not in self._after_call or to in ON_A_CALL:
            return False
        self._after_call.discard(agent)
        return to != "logged_out" and not self.has_console(agent)
