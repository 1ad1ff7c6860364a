"""The ACD service: drives `ccd.acd.core.Acd` with trio's clock and real (or simulated) legs.

Start it with `await nursery.start(service.run)`. Callers enter through `await
service.queue_call(leg, queue, caller)` from their IVR task, which returns when the call leaves the
ACD (completed, abandoned, callback, max wait, back to self-service). Agents and team leads act
through `service.feed(event)` (login, ready, hold, transfer, ...), which returns at once and raises
the core's client errors for requests the state does not allow.

All ACD state lives in the core; this module only turns actions into I/O: a task per ringing
station, the caller's own task for music, announcements and bridging, and one task that sends
`Tick` at each deadline the core asks for (ring time-outs, wrap-up ends, overflow, maximum wait).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from ccd.acd import model as m
from ccd.acd.core import Acd
from ccd.acd.errors import DuplicateCall
from ccd.acd.ports import AgentLeg, AgentStations, CallerLeg, RecordSink, StationUnavailable
from ccd.acd.states import CallPhase


@dataclass(frozen=True)
class QueueOutcome:
    """How a call left the ACD: outcome is completed, abandoned, callback, max_wait or left."""

    call_id: str
    outcome: str
    agent: str | None = None
    callback_number: str | None = None


class AcdService:
    """Runs the core against the clock and the legs. See the module docstring."""

    def __init__(self, acd: Acd, stations: AgentStations, sink: RecordSink | None = None) -> None:
        """acd: the core (configured); stations: rings agents; sink: receives every record."""
        self.acd = acd
        self.stations = stations
        self.sink = sink
        self._nursery: trio.Nursery | None = None
        self._wake = trio.Event()
        self._sleeping_until = math.inf
        self._rings: dict[tuple[str, str], trio.CancelScope] = {}
        self._legs: dict[str, AgentLeg] = {}
        self._boxes: dict[str, trio.MemorySendChannel[m.Action]] = {}
        self._wall_offset = 0.0

    # ------------------------------------------------------------ running

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; reports started once events can be fed."""
        self._wall_offset = time.time() - trio.current_time()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._run_deadlines)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None  # stopped: callers still leaving need no more I/O from us

    def wall_time(self, at: float) -> float:
        """The Unix time of a record's `at` (records carry the service's trio clock)."""
        return at + self._wall_offset

    def feed(self, event: m.Event) -> m.Step:
        """Give the core one event now, store its records and carry out its actions."""
        step = self.acd.handle(event, trio.current_time())
        if step.records and self.sink is not None:
            self.sink.store(step.records)
        for action in step.actions:
            self._carry_out(action)
        deadline = self.acd.next_deadline()
        if deadline is not None and deadline < self._sleeping_until:
            self._wake.set()  # the deadline task sleeps too long: wake it to sleep less
        return step

    async def _run_deadlines(self) -> None:
        while True:
            self._wake = trio.Event()
            deadline = self.acd.next_deadline()
            self._sleeping_until = math.inf if deadline is None else deadline
            with trio.move_on_at(self._sleeping_until):
                await self._wake.wait()
            self._sleeping_until = -math.inf  # awake: feeds need not wake it
            if deadline is not None and trio.current_time() >= deadline:
                self.feed(m.Tick())

    def _spawn(self, fn: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run I/O for an action in the service's nursery (dropped once the service stopped:
        the drivers tear their legs down themselves)."""
        if self._nursery is None:
            return
        try:
            self._nursery.start_soon(fn, *args)
        except RuntimeError:  # "closed to new arrivals": the service is stopping right now
            self._nursery = None

    # ------------------------------------------------------------ actions

    def _carry_out(self, action: m.Action) -> None:
        if isinstance(action, m.Ring):
            self._spawn(self._ring, action)
        elif isinstance(action, m.CancelRing):
            scope = self._rings.get((action.agent, action.call_id))
            if scope is not None:
                scope.cancel()
        elif isinstance(action, m.DropAgentLeg | m.ReleaseAgent):
            self._hang_up_agent(action.agent)
        elif isinstance(action, m.EndConsult):
            self._hang_up_agent(action.target)
        elif isinstance(action, m.ConnectConsult):
            agent_leg, target_leg = self._legs.get(action.agent), self._legs.get(action.target)
            if agent_leg is not None and target_leg is not None:
                self._spawn(agent_leg.bridge, target_leg)
        elif isinstance(action, m.Reconnect):
            self._tell_caller(action.call_id, action)
            self._hang_up_agent(action.from_agent)
        elif isinstance(action, m.Finish):
            if action.agent is not None:
                self._hang_up_agent(action.agent)
            self._tell_caller(action.call_id, action)
        elif isinstance(action, m.ConsultFailed):
            pass  # the agent console learns it from the records
        else:  # Connect, HoldCaller, UnholdCaller, WaitAgain: the caller's own task does these
            self._tell_caller(action.call_id, action)

    def _tell_caller(self, call_id: str, action: m.Action) -> None:
        box = self._boxes.get(call_id)
        if box is not None:
            box.send_nowait(action)

    def _hang_up_agent(self, agent: str) -> None:
        leg = self._legs.pop(agent, None)
        if leg is not None:
            self._spawn(leg.hangup)

    async def _ring(self, ring: m.Ring) -> None:
        """Ring one station; report the answer or the failure; then watch the agent's leg."""
        key = (ring.agent, ring.call_id)
        leg: AgentLeg | None = None
        with trio.CancelScope() as scope:
            self._rings[key] = scope
            try:
                leg = await self.stations.ring(
                    ring.agent, ring.station, ring.call_id, ring.timeout_s
                )
            except StationUnavailable as exc:
                self.feed(m.StationFailed(ring.agent, ring.call_id, exc.cause))
            finally:
                if self._rings.get(key) is scope:
                    del self._rings[key]
        if leg is None:
            return  # failed, or the offer was withdrawn (ring time-out, caller left)
        self._legs[ring.agent] = leg
        self.feed(m.AgentAnswered(ring.agent, ring.call_id))
        await leg.wait_hangup()
        if self._legs.get(ring.agent) is leg:  # the agent hung up (we did not)
            del self._legs[ring.agent]
            self.feed(m.AgentHangup(ring.agent))

    # ------------------------------------------------------------ callers

    async def queue_call(self, leg: CallerLeg, queue: str, caller: m.Caller) -> QueueOutcome:
        """Put a caller in a queue and serve them until they leave the ACD.

        leg: the caller's leg (answered); queue: the queue's name; caller: call id, number and
        priority flags. Raises the core's errors (unknown queue, duplicate call) before queueing.
        If this task is cancelled, the caller counts as abandoned: nobody is lost.
        """
        call_id = caller.call_id
        if call_id in self._boxes:
            raise DuplicateCall(f"call {call_id} is already queued", call_id=call_id)
        send, receive = trio.open_memory_channel[m.Action](math.inf)
        self._boxes[call_id] = send
        try:
            self.feed(m.CallerEnters(caller, queue))
            return await self._serve_caller(leg, call_id, receive)
        finally:
            del self._boxes[call_id]
            if self.acd.call_phase(call_id) is not CallPhase.ENDED:
                self.feed(m.CallerHangup(call_id))

    async def _serve_caller(
        self, leg: CallerLeg, call_id: str, box: trio.MemoryReceiveChannel[m.Action]
    ) -> QueueOutcome:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_caller, leg, call_id)
            waiting = self._start_waiting(nursery, leg, call_id)
            async for action in box:
                if isinstance(action, m.Finish):
                    nursery.cancel_scope.cancel()
                    return QueueOutcome(call_id, action.outcome, action.agent, action.number)
                if isinstance(action, m.Connect | m.Reconnect):
                    waiting.cancel()
                    agent = action.agent if isinstance(action, m.Connect) else action.to_agent
                    agent_leg = self._legs.get(agent)
                    if agent_leg is not None:
                        await leg.bridge(agent_leg)
                elif isinstance(action, m.WaitAgain):
                    waiting.cancel()
                    waiting = self._start_waiting(nursery, leg, call_id)
                elif isinstance(action, m.HoldCaller):
                    await leg.hold(self.acd.queue_config(self.acd.call_queue(call_id)).music)
                elif isinstance(action, m.UnholdCaller):
                    await leg.unhold()
        raise AssertionError("the caller's mailbox closed before the call finished")

    async def _watch_caller(self, leg: CallerLeg, call_id: str) -> None:
        await leg.wait_hangup()
        if self.acd.call_phase(call_id) is not CallPhase.ENDED:
            self.feed(m.CallerHangup(call_id))

    def _start_waiting(
        self, nursery: trio.Nursery, leg: CallerLeg, call_id: str
    ) -> trio.CancelScope:
        """Start the waiting activities; cancel the returned scope to stop them."""
        scope = trio.CancelScope()
        nursery.start_soon(self._wait_in_queue, leg, call_id, scope)
        return scope

    async def _wait_in_queue(self, leg: CallerLeg, call_id: str, scope: trio.CancelScope) -> None:
        """Music, position announcements and keys while the caller waits; cancelled on connect."""
        with scope:
            config = self.acd.queue_config(self.acd.call_queue(call_id))
            await leg.start_music(config.music)
            if config.callback_key is None and config.ivr_key is None:
                if config.announce_every_s is None:
                    return
            async with trio.open_nursery() as nursery:
                if config.callback_key is not None or config.ivr_key is not None:
                    nursery.start_soon(self._listen_for_keys, leg, call_id, config)
                every = config.announce_every_s
                while every is not None:
                    # The interval runs from the end of one announcement to the start of the
                    # next: an interval shorter than the announcement never stacks them.
                    await self._announce(leg, call_id)
                    await trio.sleep(every)

    async def _announce(self, leg: CallerLeg, call_id: str) -> None:
        if self.acd.call_phase(call_id) is CallPhase.WAITING:
            position = self.acd.position(call_id)
            expected = self.acd.expected_wait(call_id, trio.current_time())
            await leg.announce(position, expected)

    async def _listen_for_keys(self, leg: CallerLeg, call_id: str, config: m.QueueConfig) -> None:
        while True:
            digit = await leg.wait_digit()
            if self.acd.call_phase(call_id) not in (CallPhase.WAITING, CallPhase.OFFERED):
                continue
            if digit == config.ivr_key:
                self.feed(m.CallerLeaves(call_id))
                return
            if digit == config.callback_key:
                number = await leg.ask_callback_number()
                if number and self.acd.call_phase(call_id) is not CallPhase.ENDED:
                    self.feed(m.CallbackRequest(call_id, number))
                    return
