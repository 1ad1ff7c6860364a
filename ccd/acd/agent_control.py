"""Agents in the running ACD: log in and out, ready, call control, wrap-up, a team lead's override.

Part of `ccd.acd.runtime.AcdRuntime` (read that module's docstring first). The socket API calls
these methods with the acting user's name as `by`. They take effect at once and raise the core's
client errors (`bad-agent-transition`, `wrap-up-required`, `no-such-queue`...); `await
runtime.store.flush()` commits their records. Beyond the core, this part keeps what only telephony
knows about agents: their answered legs, console answering, and three-way conferences.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

import sqlite_utils
import trio

from ccd.acd import model as m
from ccd.acd import tables, views
from ccd.acd.adapters import ChannelAgentLeg
from ccd.acd.core import Acd
from ccd.acd.dialout import Dialler
from ccd.acd.errors import BadAgentTransition, NoSuchAgent
from ccd.acd.model import AgentState
from ccd.acd.queueing import QueuedCaller
from ccd.acd.service import AcdService
from ccd.acd.supervision import Supervision
from ccd.calls import CallLog
from ccd.errors import CcdError, ClientError
from hw.base import Channel

if TYPE_CHECKING:
    from ccd.acd.runtime import AcdRuntime

log = logging.getLogger("ccd.acd")

S = AgentState
ON_A_CALL = (S.TALKING, S.ON_HOLD)
ANSWER_MODES = ("phone", "console")


class AgentControl:
    """The runtime's agent-facing methods (mixed into `AcdRuntime`, which sets these fields)."""

    db: sqlite_utils.Database
    acd: Acd
    service: AcdService
    call_log: CallLog
    directory: tables.StationDirectory
    supervision: Supervision
    dialler: Dialler
    _callers: dict[str, QueuedCaller]
    _agent_legs: dict[str, ChannelAgentLeg]
    _agent_calls: dict[str, str]  # agent -> call offered, handled or wrapped up
    _last_call: dict[str, str]  # agent -> the last call they answered
    _answer_mode: dict[str, str]
    _gates: dict[tuple[str, str], trio.Event]
    _conferences: dict[str, tuple[str, str]]  # call -> (agent, consulted agent)

    # ------------------------------------------------------------ agent legs

    def _agent_answered(self, leg: ChannelAgentLeg) -> None:
        old = self._agent_legs.get(leg.agent)
        if old is not None and old.channel.is_up and old is not leg:
            log.warning("agent %s has a second leg; keeping the new one", leg.agent)
        self._agent_legs[leg.agent] = leg

    def _agent_leg_gone(self, leg: ChannelAgentLeg) -> None:
        """A station hung up. In a conference, the agent who started it leaves the caller with
        the consulted agent (a consulted transfer) instead of ending the call for everyone."""
        if self._agent_legs.get(leg.agent) is leg:
            del self._agent_legs[leg.agent]
        conference = self._conferences.get(leg.call_id)
        if conference is None:
            return
        agent, consulted = conference
        del self._conferences[leg.call_id]
        if leg.agent == agent:
            try:
                self.service.feed(m.ConsultTransfer(agent))
            except CcdError as exc:
                log.info("conference of %s: no hand-over (%s)", leg.call_id, exc.message)

    async def _wait_console_answer(self, agent: str, call_id: str) -> None:
        if self._answer_mode.get(agent, "phone") != "console":
            await trio.lowlevel.checkpoint()
            return
        gate = self._gates.setdefault((agent, call_id), trio.Event())
        try:
            await gate.wait()
        finally:
            self._gates.pop((agent, call_id), None)

    # ------------------------------------------------------------ agents

    def _feed(self, event: m.Event) -> m.Step:
        return self.service.feed(event)

    def _refresh_agent(self, config: m.AgentConfig) -> None:
        try:
            self.acd.update_agent(config)
        except NoSuchAgent:
            self.acd.add_agent(config)

    def _ensure_agent(self, agent: str) -> None:
        config = tables.agent_config(self.db, agent)
        if config is None:
            raise NoSuchAgent(
                f"{agent} is not an enabled user with the agent role",
                error_id="not-an-agent",
                agent=agent,
            )
        self._refresh_agent(config)

    def login(
        self,
        agent: str,
        station: str,
        *,
        ready: bool = False,
        answer: str = "phone",
        by: str | None = None,
    ) -> None:
        """Log `agent` in at `station` (a station name); answer: 'phone' (pick up the desk
        phone) or 'console' (`answer` from the console; the phone must auto-answer)."""
        if answer not in ANSWER_MODES:
            raise ClientError(f"answer must be one of {ANSWER_MODES}", error_id="bad-params")
        self._ensure_agent(agent)
        self.directory.get(station)
        self._feed(m.AgentLogin(agent, station, ready=ready, by=by))
        self._answer_mode[agent] = answer

    def logout(self, agent: str, by: str | None = None) -> None:
        self._feed(m.AgentLogout(agent, by=by))
        self._answer_mode.pop(agent, None)

    def ready(self, agent: str, by: str | None = None) -> None:
        """Go ready; in a wrap-up its queue requires coding, only once coded."""
        self._feed(m.AgentReady(agent, by=by))

    def not_ready(self, agent: str, reason: str, by: str | None = None) -> None:
        """Go not ready (on a call: after it); in a required wrap-up, only once coded."""
        self._feed(m.AgentNotReady(agent, reason or "break", by=by))

    def answer(self, agent: str) -> None:
        """Answer the ringing offer from the console (agents logged in with answer='console')."""
        state, _ = self.acd.agent_state(agent)
        call_id = self._agent_calls.get(agent)
        if state is not S.RINGING or call_id is None:
            raise BadAgentTransition(
                f"agent {agent} has no call ringing", agent=agent, state=state.value,
                request="answer",
            )
        if self._answer_mode.get(agent, "phone") != "console":
            raise ClientError(
                "answer this call on the phone (log in with answer='console' to answer here)",
                error_id="answer-on-phone",
                agent=agent,
                station=self.acd.agent_station(agent),
            )
        self._gates.setdefault((agent, call_id), trio.Event()).set()

    def hold(self, agent: str) -> None:
        self._feed(m.Hold(agent))

    def unhold(self, agent: str) -> None:
        self._feed(m.Unhold(agent))

    def hangup(self, agent: str) -> None:
        """End the agent's call (or outbound call); in a conference, leave the caller with the
        consulted agent."""
        if self.dialler.hang_up(agent):
            return
        call_id = self._agent_calls.get(agent)
        conference = self._conferences.get(call_id or "")
        if conference is not None and conference[0] == agent:
            self._conferences.pop(call_id or "", None)
            self._feed(m.ConsultTransfer(agent))
            return
        self._feed(m.AgentHangup(agent))

    def transfer(self, agent: str, target: str, mode: str = "blind") -> str:
        """Transfer the agent's caller.

        blind: to a queue (the caller waits there, as a new arrival) or to a ready agent.
        consult: the first call rings `target` (an agent) while the caller holds; once they
        answered, the second call hands the caller over. Returns what happened: 'queued',
        'ringing', 'consulting' or 'transferred'.
        """
        if mode == "blind":
            if target in self.acd.queue_names():
                self._feed(m.TransferToQueue(agent, target))
                return "queued"
            self._feed(m.TransferToAgent(agent, target))
            return "ringing"
        if mode != "consult":
            raise ClientError("mode must be 'blind' or 'consult'", error_id="bad-params")
        try:
            self._feed(m.ConsultTransfer(agent))
            return "transferred"
        except BadAgentTransition as exc:
            if exc.details.get("request") != "consult_transfer":
                raise
        self._feed(m.ConsultStart(agent, target))
        return "consulting"

    def consult_end(self, agent: str) -> None:
        """Hang up the consultation; the caller stays on hold with the agent."""
        self._feed(m.ConsultEnd(agent))

    async def conference(self, agent: str) -> str:
        """Join the caller, the agent and the consulted agent (who must have answered)."""
        call_id = self._agent_calls.get(agent)
        state, _ = self.acd.agent_state(agent)
        consulted = self._consulted_agent(agent, call_id)
        if call_id is None or state not in ON_A_CALL or consulted is None:
            raise BadAgentTransition(
                f"agent {agent} has no answered consultation to join",
                agent=agent,
                state=state.value,
                request="conference",
            )
        caller = self._callers[call_id]
        target_leg = self._agent_legs[consulted]
        if state is S.ON_HOLD:
            self._feed(m.Unhold(agent))
        self._conferences[call_id] = (agent, consulted)
        await caller.leg.unhold()
        await caller.channel.bridge(target_leg.channel)
        self.call_log.event(call_id, "conference", agent=agent, consulted=consulted)
        return consulted

    def _consulted_agent(self, agent: str, call_id: str | None) -> str | None:
        if call_id is None:
            return None
        for other, other_call in self._agent_calls.items():
            if (
                other != agent
                and other_call == call_id
                and self.acd.agent_state(other)[0] is S.TALKING
                and other in self._agent_legs
                and self.acd.call_agent(call_id) == agent
            ):
                return other
        return None

    def wrap_up(
        self, agent: str, code: str, note: str = "", finish: bool = False, by: str | None = None
    ) -> str | None:
        """Record the disposition of the agent's current or last call.

        code, note: the disposition code and the agent's note; finish: end wrap-up now (ready).
        Coding the call being wrapped up, or the call still in progress, satisfies a queue that
        requires it; if that wrap-up's time has already run out, it ends now. Returns the call's id (None: the agent has had
        no call).
        """
        call_id = self._agent_calls.get(agent) or self._last_call.get(agent)
        state, _ = self.acd.agent_state(agent)  # no-such-agent
        if call_id is not None:
            self.call_log.update(call_id, wrap_code=code, note=note)
            self.call_log.event(call_id, "wrap_up", agent=agent, code=code, note=note)
        if state in (S.WRAP_UP, S.TALKING, S.ON_HOLD):
            self._feed(m.WrapUpCoded(agent, call_id, finish=finish, by=by))
        return call_id

    def note(self, agent: str, note: str) -> str | None:
        """Keep the agent's note on their current or last call, without a code (a wrap-up that
        timed out must not lose it). Returns the call's id (None: the agent has had no call)."""
        self.acd.agent_state(agent)  # no-such-agent
        call_id = self._agent_calls.get(agent) or self._last_call.get(agent)
        if call_id is not None:
            self.call_log.update(call_id, note=note)
            self.call_log.event(call_id, "note", agent=agent, note=note)
        return call_id

    def force_state(self, agent: str, state: str, reason: str, by: str) -> None:
        """A team lead sets an agent's state: ready, not_ready (with reason) or logged_out.
        It overrides a required wrap-up the agent has not coded."""
        if state == "ready":
            self._feed(m.AgentReady(agent, by=by, forced=True))
        elif state == "not_ready":
            self._feed(m.AgentNotReady(agent, reason or "supervisor", by=by, forced=True))
        elif state == "logged_out":
            self.logout(agent, by=by)
        else:
            raise ClientError(
                "state must be ready, not_ready or logged_out", error_id="bad-params", state=state
            )

    def agent_state(self, agent: str) -> dict[str, Any]:
        """The agent's live state, for their console (see `views.agent_view`)."""
        try:
            self.acd.agent_state(agent)
        except NoSuchAgent:
            self._ensure_agent(agent)  # an agent added since start
        return views.agent_view(cast("AcdRuntime", self), agent)

    # ------------------------------------------------------------ outbound calls, team leads

    def dial(self, agent: str, number: str, by: str | None = None) -> str:
        """Ring the agent's station, then `number` (see `Dialler.dial`); returns the call's id."""
        return self.dialler.dial(agent, number, by)

    async def spy(self, lead: str, agent: str, mode: str, uri: str) -> dict[str, Any]:
        """Join team lead `lead`'s phone at `uri` to `agent`'s call (see `Supervision.spy`)."""
        return await self.supervision.spy(lead, agent, mode, uri)

    async def stop_spy(self, lead: str) -> bool:
        """End the lead's listening (hang up their phone); False if they were not listening."""
        return await self.supervision.stop(lead)

    # ------------------------------------------------------------ what telephony knows

    def call_of(self, agent: str) -> str | None:
        """The call the agent is offered, handling or wrapping up (None: none)."""
        return self._agent_calls.get(agent)

    def agent_channel(self, agent: str) -> Channel | None:
        leg = self._agent_legs.get(agent)
        return leg.channel if leg else None

    def conference_of(self, call_id: str) -> tuple[str, str] | None:
        """(agent, consulted agent) of a three-way call (None: not one)."""
        return self._conferences.get(call_id)

    def last_call(self, agent: str) -> str | None:
        return self._last_call.get(agent)

    def answer_mode(self, agent: str) -> str:
        return self._answer_mode.get(agent, "phone")
