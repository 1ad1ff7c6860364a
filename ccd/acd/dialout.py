"""Agents' outbound calls: ring the agent's own station, then the number, and connect them.

Outside the ACD core (it routes inbound callers); the agent is 'not ready: outbound' while the
call lasts, so the ACD offers them nothing, and afterwards back in the state they were in. Each
call has a `calls` row (direction 'out') and, if calls are recorded, a recording. Progress is
pushed on the agent's topic as `{"kind": "outbound", "event": ...}`: station_answered,
answered, failed, ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ccd.acd import model as m
from ccd.acd.adapters import CallRecording, quietly, wait_gone
from ccd.acd.errors import BadAgentTransition
from ccd.acd.model import AgentState
from ccd.acd.store import agent_topic
from ccd.calls import new_call_id
from ccd.errors import CcdError, ClientError
from hw.base import Channel, ChannelGone, DriverFault

if TYPE_CHECKING:
    from ccd.acd.runtime import AcdRuntime

S = AgentState


@dataclass
class _Outbound:
    agent: str
    call_id: str
    number: str
    cancel: trio.CancelScope
    before: tuple[AgentState, str | None]
    legs: list[Channel] = field(default_factory=list)
    ended_by: str | None = None  # 'agent' (hang-up key or desk phone), 'callee' or None


class Dialler:
    """Outbound calls of the runtime's agents (one at a time each)."""

    def __init__(self, runtime: AcdRuntime) -> None:
        self.rt = runtime
        self._calls: dict[str, _Outbound] = {}

    def current(self, agent: str) -> str | None:
        """The id of the agent's outbound call in progress (None: none)."""
        out = self._calls.get(agent)
        return out.call_id if out else None

    def hang_up(self, agent: str) -> bool:
        """End the agent's outbound call; False if they have none."""
        out = self._calls.get(agent)
        if out is None:
            return False
        out.ended_by = out.ended_by or "agent"
        out.cancel.cancel()
        return True

    def dial(self, agent: str, number: str, by: str | None = None) -> str:
        """Start the agent's call to `number` and return its id at once.

        The agent must be logged in, ready or not ready, with no other outbound call; the number
        goes into `acd.outbound_uri`. Raises `no-outbound-route`, `bad-number`,
        `bad-agent-transition`.
        """
        rt = self.rt
        template = rt.settings.outbound_uri
        if not template or rt.driver is None:
            raise CcdError("dialling out is not configured (acd.outbound_uri)",
                           error_id="no-outbound-route")
        if not number.replace("+", "", 1).isdigit():
            raise ClientError(f"not a phone number: {number!r}", error_id="bad-number",
                              number=number)
        state, reason = rt.acd.agent_state(agent)
        station = rt.acd.agent_station(agent)
        if state not in (S.READY, S.NOT_READY) or station is None or agent in self._calls:
            raise BadAgentTransition(
                f"agent {agent} cannot dial now", agent=agent, state=state.value, request="dial"
            )
        nursery = rt.nursery
        station_uri = rt.directory.get(station).uri
        call_id = new_call_id()
        rt.call_log.start(
            call_id, src=station, dst=number, direction="out", agent=agent, station=station
        )
        out = _Outbound(agent, call_id, number, trio.CancelScope(), (state, reason))
        rt.service.feed(m.AgentNotReady(agent, "outbound", by=by))
        self._calls[agent] = out
        nursery.start_soon(self._run, out, station_uri, template.replace("{number}", number))
        return call_id

    def _tell(self, out: _Outbound, what: str, **data: Any) -> None:
        broker = self.rt.store.broker
        if broker is not None:
            broker.publish(agent_topic(out.agent), {
                "kind": "outbound", "event": what, "call_id": out.call_id,
                "number": out.number, **data})

    async def _run(self, out: _Outbound, station_uri: str, number_uri: str) -> None:
        rt = self.rt
        assert rt.driver is not None
        disposition = "NO ANSWER"
        started: float | None = None  # when the number answered
        recording = CallRecording(rt.recordings_dir / f"{out.call_id}-out.wav")
        try:
            with out.cancel:
                station = await rt.driver.originate(
                    station_uri, caller_id=out.number, timeout=rt.settings.ring_timeout_s)
                out.legs.append(station)
                self._tell(out, "station_answered")
                far = await rt.driver.originate(
                    number_uri, caller_id=rt.settings.caller_id, timeout=60.0, near=station)
                out.legs.append(far)
                await station.bridge(far)
                rt.call_log.answered(out.call_id)
                disposition, started = "ANSWERED", trio.current_time()
                self._tell(out, "answered")
                if rt.settings.record_calls:
                    await recording.start(station)
                async with trio.open_nursery() as nursery:
                    for leg, side in ((station, "agent"), (far, "callee")):
                        nursery.start_soon(_cancel_when_gone, leg, nursery.cancel_scope, out,
                                           side)
        except ChannelGone as gone:
            disposition = "BUSY" if getattr(gone, "code", 0) == 486 else "NO ANSWER"
            self._tell(out, "failed", cause=str(gone.cause))
        except DriverFault as fault:
            disposition = "FAILED"
            self._tell(out, "failed", cause=str(fault))
        finally:
            # Also when the agent hangs up (`hang_up` cancels this call midway): the talk time
            # and the recording are kept before the legs go.
            with trio.CancelScope(shield=True):
                talk = None if started is None else trio.current_time() - started
                if recording.started:
                    await rt.keep_recording(out.call_id, out.legs[0], recording)
                for leg in out.legs:
                    with quietly("hang up an outbound leg", leg):
                        await leg.hangup()
                rt.call_log.end(out.call_id, disposition=disposition,
                                hangup_by=out.ended_by or "system",
                                talk_s=None if talk is None else round(talk, 3))
                del self._calls[out.agent]
                self._tell(out, "ended", disposition=disposition)
                self._restore(out)

    def _restore(self, out: _Outbound) -> None:
        """Back to the state before the call, unless the agent changed it meanwhile."""
        if self.rt.acd.agent_state(out.agent) != (S.NOT_READY, "outbound"):
            return
        state, reason = out.before
        if state is S.READY:
            self.rt.service.feed(m.AgentReady(out.agent))
        else:
            self.rt.service.feed(m.AgentNotReady(out.agent, reason or "break"))


async def _cancel_when_gone(leg: Channel, scope: trio.CancelScope, out: _Outbound,
                            side: str) -> None:
    """End the call when `leg` hangs up; the first side to go is the one that hung up."""
    await wait_gone(leg)
    out.ended_by = out.ended_by or side
    scope.cancel()
