"""Team leads on agents' calls: listen, whisper and barge, with the lead's own phone.

ccd rings the lead's phone beside the caller's leg (the same media worker) and asks the caller's
channel to join it to the call in the chosen mode; asking again on the same call switches mode
on the same leg. The lead's leg is hung up when they stop, when the call leaves the ACD, or (by
them) from their phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ccd.acd.adapters import quietly, wait_gone
from ccd.acd.model import AgentState
from ccd.errors import CcdError, ClientError
from hw.base import Channel, ChannelGone, SpyMode

if TYPE_CHECKING:
    from ccd.acd.runtime import AcdRuntime

ON_A_CALL = (AgentState.TALKING, AgentState.ON_HOLD)


@dataclass
class _Spy:
    lead: str
    agent: str
    call_id: str
    mode: SpyMode
    leg: Channel


class Supervision:
    """The runtime's team leads on calls, by lead."""

    def __init__(self, runtime: AcdRuntime) -> None:
        self.rt = runtime
        self._spies: dict[str, _Spy] = {}

    async def spy(self, lead: str, agent: str, mode: str, uri: str) -> dict[str, Any]:
        """Connect team lead `lead` (their phone at `uri`) to `agent`'s call: 'listen' (hears
        both), 'whisper' (only the agent hears the lead) or 'barge' (all three hear each other).
        Raises `agent-not-on-call`, `supervisor-unreachable`."""
        rt = self.rt
        spy_mode = SpyMode(mode)
        call_id = rt.call_of(agent)
        state, _ = rt.acd.agent_state(agent)
        caller = rt.caller_channel(call_id) if call_id else None
        agent_leg = rt.agent_channel(agent)
        if state not in ON_A_CALL or caller is None or agent_leg is None or call_id is None:
            raise ClientError(
                f"agent {agent} is not on a call", error_id="agent-not-on-call", agent=agent,
                state=state.value,
            )
        current = self._spies.get(lead)
        if current is not None and (current.call_id != call_id or not current.leg.is_up):
            await self.stop(lead)
            current = None
        if current is None:
            if rt.driver is None:
                raise CcdError("no telephony driver", error_id="no-driver")
            try:
                leg = await rt.driver.originate(
                    uri, caller_id=rt.settings.caller_id,
                    timeout=rt.settings.spy_ring_timeout_s, near=caller)
            except ChannelGone as gone:
                raise CcdError(
                    f"the team lead's phone {uri} did not answer ({gone.cause})",
                    error_id="supervisor-unreachable", uri=uri, cause=str(gone.cause),
                ) from None
            current = _Spy(lead, agent, call_id, spy_mode, leg)
            self._spies[lead] = current
            rt.nursery.start_soon(self._watch, current)
        await caller.spy(current.leg, agent_leg, spy_mode)
        current.mode = spy_mode
        rt.call_log.event(call_id, "spy", lead=lead, agent=agent, mode=mode)
        return {"agent": agent, "call_id": call_id, "mode": mode, "leg": current.leg.info.leg_id}

    async def _watch(self, spy: _Spy) -> None:
        await wait_gone(spy.leg)
        if self._spies.get(spy.lead) is spy:
            del self._spies[spy.lead]

    async def stop(self, lead: str) -> bool:
        """End the lead's listening (hang up their phone); False if they were not listening."""
        spy = self._spies.pop(lead, None)
        if spy is None:
            return False
        caller = self.rt.caller_channel(spy.call_id)
        unspy = getattr(caller, "unspy", None) if caller is not None else None
        if unspy is not None and spy.leg.is_up:
            with quietly("unspy", spy.leg):
                await unspy(spy.leg)
        with quietly("hang up the team lead", spy.leg):
            await spy.leg.hangup()
        return True

    async def end_call(self, call_id: str) -> None:
        """The call left the ACD: hang up every lead on it."""
        for lead in [s.lead for s in self._spies.values() if s.call_id == call_id]:
            await self.stop(lead)

    def list(self) -> list[dict[str, Any]]:
        return [
            {"lead": s.lead, "agent": s.agent, "call_id": s.call_id, "mode": s.mode.value}
            for s in self._spies.values()
        ]
