# Everything that affects ACD state lives in this module and the three it is built on (machine.py:
# the state and the moves routing makes; wrapup.py: after-call work and its required code;
# calls.py: calls in progress): which agents are ready, ringing or busy, which callers wait where
# and in what order, which station rings for whom, every deadline, and every counter behind the
# statistics. It does no I/O and reads no clock: events come in with `now`, and each returns a
# `Step` of actions (for the service to carry out) and records (for the store). State changes
# follow the tables in `ccd.acd.states`; anything they do not allow is refused.
"""The ACD core: queues, agents, waiting callers and routing, with no I/O.

Feed it with `Acd.handle(event, now)`; ask `Acd.next_deadline()` when to send the next `Tick`.
Invariant kept after every event: no ready agent is eligible for a waiting caller (if one were,
the caller would have been offered to them), and every caller that entered is waiting, ringing,
connected, or has left with exactly one `Finish` action and one closing record.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from ccd.acd import model as m
from ccd.acd.calls import CallControl
from ccd.acd.errors import BadAgentTransition, DuplicateCall, StationInUse
from ccd.acd.machine import R, S, _Agent, _build_queue, _Call, _Queue
from ccd.acd.model import AgentState
from ccd.acd.states import STAFFED, AgentInput, CallInput, CallPhase

_QUEUE_COUNTERS = ("rr_cursor", "offered", "answered", "within", "abandoned", "timed_out",
                   "callbacks", "left", "overflowed", "wait_sum", "handled", "handle_sum")


class Acd(CallControl):
    """The ACD state machine. See the module comment: events and `now` in, `Step`s out."""

    def __init__(
        self,
        queues: Iterable[m.QueueConfig] = (),
        agents: Iterable[m.AgentConfig] = (),
        weights: m.PriorityWeights | None = None,
    ) -> None:
        """queues, agents: the configuration; weights: priority boosts for waiting callers."""
        super().__init__(queues, agents, weights)
        self._handlers: dict[type, Callable[[Any, float], None]] = {
            m.AgentLogin: self._on_login,
            m.AgentLogout: self._on_logout,
            m.AgentReady: self._on_ready,
            m.AgentNotReady: self._on_not_ready,
            m.WrapUpCoded: self._on_wrap_coded,
            m.CallerEnters: self._on_enter,
            m.CallerHangup: self._on_caller_hangup,
            m.CallerLeaves: self._on_caller_leaves,
            m.CallbackRequest: self._on_callback,
            m.AgentAnswered: self._on_answered,
            m.StationFailed: self._on_station_failed,
            m.AgentHangup: self._on_agent_hangup,
            m.Hold: self._on_hold,
            m.Unhold: self._on_unhold,
            m.TransferToQueue: self._on_transfer_to_queue,
            m.TransferToAgent: self._on_transfer_to_agent,
            m.ConsultStart: self._on_consult_start,
            m.ConsultEnd: self._on_consult_end,
            m.ConsultTransfer: self._on_consult_transfer,
            m.Tick: self._on_tick,
            m.QueueChanged: self._on_queue_changed,
        }

    # ------------------------------------------------------------ the one entry point

    def handle(self, event: m.Event, now: float) -> m.Step:
        """Process one event that happened at `now` (seconds, any monotonic clock)."""
        handler = self._handlers[type(event)]
        self._actions, self._records = [], []
        try:
            handler(event, now)
            self._settle(now)
            return m.Step(tuple(self._actions), tuple(self._records))
        finally:
            self._actions, self._records = [], []
            self._route_agents.clear()
            self._route_calls.clear()

    # ------------------------------------------------------------ queries

    def queue_config(self, name: str) -> m.QueueConfig:
        return self._queue(name).config

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def agent_state(self, agent: str) -> tuple[AgentState, str | None]:
        a = self._agent(agent)
        return a.state, a.reason

    def agent_station(self, agent: str) -> str | None:
        return self._agent(agent).station

    def agent_consulting(self, agent: str) -> str | None:
        """The agent this agent is consulting (a consult transfer under way), if any."""
        return self._agent(agent).consult_target

    def call_phase(self, call_id: str) -> CallPhase:
        """The call's phase; ENDED for calls that left the ACD (or never entered)."""
        call = self._calls.get(call_id)
        return call.phase if call else CallPhase.ENDED

    def call_queue(self, call_id: str) -> str:
        return self._call(call_id).queue

    def call_agent(self, call_id: str) -> str | None:
        return self._call(call_id).agent

    def expected_wait(self, call_id: str, now: float) -> float | None:
        """Seconds this caller can expect to wait from now (None: nobody staffs the queue).

        Each staffed agent frees up after what is left of their call (the queue's handle time
        minus the time already talked, or the wrap-up left; 0 when ready, a whole handle time
        when ringing); the caller at position p gets the p-th agent to free up, one more
        handle time for each round of agents before them. (Position × handle time / agents,
        the average, told callers 'under a minute' when every agent had just answered.)"""
        call = self._call(call_id)
        if call.phase is not CallPhase.WAITING:
            return 0.0
        q = self._queues[call.queue]
        aht = self._aht(q)
        free_in = sorted(self._free_in(self._agents[a], aht, now) for a in q.members
                         if self._agents[a].state in STAFFED)
        if not free_in:
            return None
        rounds, index = divmod(self.position(call_id) - 1, len(free_in))
        return free_in[index] + rounds * aht

    def _free_in(self, agent: _Agent, aht: float, now: float) -> float:
        """Seconds until `agent` can take the next caller (an estimate from the handle time)."""
        if agent.state is S.READY:
            return 0.0
        if agent.state is S.WRAP_UP:
            return max(0.0, agent.wrap_until - now)
        call = self._calls.get(agent.call_id or "")
        if agent.state in (S.TALKING, S.ON_HOLD) and call is not None and call.answered:
            return max(0.0, aht - (now - call.answered_at))
        return aht  # ringing: about to take a whole call

    def statistics(self, now: float) -> m.AcdStatistics:
        """The live numbers of every queue and agent, as frozen records."""
        queues = tuple(self._queue_statistics(q, now) for q in self._queues.values())
        agents = tuple(
            m.AgentStatistics(
                agent=a.config.agent,
                state=a.state,
                reason=a.reason,
                since=a.since,
                calls=a.calls,
                station=a.station,
                call_id=a.call_id,
            )
            for a in self._agents.values()
        )
        return m.AcdStatistics(now, queues, agents)

    def _queue_statistics(self, q: _Queue, now: float) -> m.QueueStatistics:
        waits = [now - self._calls[c].entered for c in q.calls]
        ended = q.answered + q.abandoned + q.timed_out
        staffed = self._staffed(q)
        waiting = sum(len(p) for p in q.pools)
        if not q.ready[0] or waiting:
            expected = (waiting + 1) * self._aht(q) / staffed if staffed else None
        else:
            expected = 0.0
        return m.QueueStatistics(
            queue=q.config.name,
            waiting=len(q.calls),
            longest_wait_s=max(waits, default=0.0),
            offered=q.offered,
            answered=q.answered,
            abandoned=q.abandoned,
            answered_within_target=q.within,
            timed_out=q.timed_out,
            callbacks=q.callbacks,
            left=q.left,
            overflowed=q.overflowed,
            service_level=q.within / ended if ended else None,
            asa_s=q.wait_sum / q.answered if q.answered else None,
            aht_s=self._aht(q),
            agents_staffed=staffed,
            agents_ready=len(q.ready[0]),
            expected_wait_s=expected,
        )

    def _staffed(self, q: _Queue) -> int:
        return sum(1 for a in q.members if self._agents[a].state in STAFFED)

    def _aht(self, q: _Queue) -> float:
        return q.handle_sum / q.handled if q.handled else q.config.default_aht_s

    # ------------------------------------------------------------ event handlers: agents

    def _on_login(self, ev: m.AgentLogin, now: float) -> None:
        agent = self._agent(ev.agent)
        holder = self._stations.get(ev.station)
        if holder is not None and holder != ev.agent:
            raise StationInUse(
                f"station {ev.station} is in use by {holder}", station=ev.station, agent=holder
            )
        if agent.state is not S.LOGGED_OUT:
            raise BadAgentTransition(
                f"agent {ev.agent} is already logged in",
                agent=ev.agent,
                state=agent.state.value,
                request="login",
            )
        agent.station = ev.station
        agent.calls = 0
        agent.after_call = None
        self._stations[ev.station] = ev.agent
        self._reindex(agent)
        what = AgentInput.LOGIN_READY if ev.ready else AgentInput.LOGIN
        self._set_agent(agent, what, now, m.REASON_LOGIN, ev.by)

    def _on_logout(self, ev: m.AgentLogout, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.state is S.RINGING:
            self._drop_ring(agent, now, "logout")
        elif agent.state is S.WRAP_UP:
            self._end_wrap(agent, now, "logout", ev.by)
        self._set_agent(agent, AgentInput.LOGOUT, now, by=ev.by)
        if agent.station is not None:
            self._stations.pop(agent.station, None)
        agent.station = None
        self._reindex(agent)

    def _drop_ring(self, agent: _Agent, now: float, why: str) -> None:
        """The ringing agent refuses or logs out: the offer ends without a 'missed'."""
        cid = agent.call_id
        assert cid is not None
        call = self._calls[cid]
        self._actions.append(m.CancelRing(agent.config.agent, cid))
        self._record(R.OFFER_WITHDRAWN, now, cid, call.queue, agent.config.agent, reason=why)
        if agent.consult_from is not None:
            consulting = self._agents[agent.consult_from]
            consulting.consult_target = None
            agent.consult_from = None
            self._actions.append(m.ConsultFailed(consulting.config.agent, agent.config.agent, cid))
            return
        call.ringing.discard(agent.config.agent)
        if not call.ringing:
            self._return_to_queue(call, now)

    def _on_ready(self, ev: m.AgentReady, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.state is S.READY:
            return
        if agent.state in (S.TALKING, S.ON_HOLD):
            if agent.after_call is not None:
                agent.after_call = None
                self._record(
                    R.NOT_READY_AFTER_CALL,
                    now,
                    agent.call_id,
                    None,
                    ev.agent,
                    ev.by,
                    reason=None,
                    cancelled=True,
                )
            return
        if agent.state is S.WRAP_UP:
            self._check_wrap_coded(agent, "ready", ev.forced)
            self._end_wrap(agent, now, "ready", ev.by)
        agent.after_call = None
        self._set_agent(agent, AgentInput.READY, now, by=ev.by)

    def _on_not_ready(self, ev: m.AgentNotReady, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.state in (S.TALKING, S.ON_HOLD):
            agent.after_call = ev.reason
            self._record(
                R.NOT_READY_AFTER_CALL, now, agent.call_id, None, ev.agent, ev.by, reason=ev.reason
            )
            return
        if agent.state is S.RINGING:
            self._drop_ring(agent, now, "refused")
        elif agent.state is S.WRAP_UP:
            self._check_wrap_coded(agent, "not_ready", ev.forced)
            self._end_wrap(agent, now, "not_ready", ev.by)
        agent.after_call = None
        self._set_agent(agent, AgentInput.NOT_READY, now, ev.reason, ev.by)

    def _on_wrap_coded(self, ev: m.WrapUpCoded, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.state in (S.TALKING, S.ON_HOLD) and ev.call_id == agent.call_id:
            agent.coded_call = ev.call_id  # coded during the call: its wrap-up starts coded
            return
        if agent.state is not S.WRAP_UP:
            return  # an earlier call coded late: no wrap-up to end
        if ev.call_id is None or ev.call_id == agent.call_id:
            agent.wrap_coded = True
        if agent.wrap_overdue and agent.wrap_coded:
            self._end_wrap(agent, now, "coded", ev.by)
        elif ev.finish:
            self._on_ready(m.AgentReady(ev.agent, ev.by), now)

    # ------------------------------------------------------------ event handlers: callers

    def _on_enter(self, ev: m.CallerEnters, now: float) -> None:
        cid = ev.caller.call_id
        if cid in self._calls:
            raise DuplicateCall(f"call {cid} is already in the ACD", call_id=cid)
        q = self._queue(ev.queue)
        seq = next(self._seq)
        call = _Call(
            ev.caller, ev.queue, ev.queue, now, now, seq, self._key(ev.caller, ev.queue, now, seq)
        )
        self._calls[cid] = call
        q.calls.add(cid)
        q.offered += 1
        self._pool_add(call)
        self._schedule_call(call)
        c = ev.caller
        self._record(
            R.ENTER_QUEUE,
            now,
            cid,
            ev.queue,
            by="caller",
            number=c.number,
            vip=c.vip,
            repeat_caller=c.repeat_caller,
            outage_area=c.outage_area,
            position=self.position(cid),
        )

    def _on_caller_hangup(self, ev: m.CallerHangup, now: float) -> None:
        call = self._calls.get(ev.call_id)
        if call is None:
            return  # already left the ACD (completed, transferred out): nothing to do
        if call.phase is CallPhase.CONNECTED:
            self._complete(call, now, "caller")
            return
        if not call.answered:  # (an answered caller who hangs up while transferred is not counted)
            self._queues[call.home].abandoned += 1
        self._record(
            R.ABANDONED,
            now,
            ev.call_id,
            call.queue,
            by="caller",
            wait_s=now - call.entered,
            phase=call.phase.value,
            position=self.position(ev.call_id),
        )
        self._end_call(call, "abandoned", now)

    def _on_caller_leaves(self, ev: m.CallerLeaves, now: float) -> None:
        call = self._waiting_call(ev.call_id)
        self._queues[call.home].left += 1
        self._record(
            R.LEFT_QUEUE, now, ev.call_id, call.queue, by="caller", wait_s=now - call.entered
        )
        self._end_call(call, "left", now)

    def _on_callback(self, ev: m.CallbackRequest, now: float) -> None:
        call = self._waiting_call(ev.call_id)
        self._queues[call.home].callbacks += 1
        self._record(
            R.CALLBACK_REQUESTED,
            now,
            ev.call_id,
            call.queue,
            by="caller",
            number=ev.number,
            wait_s=now - call.entered,
            position=self.position(ev.call_id),
        )
        self._end_call(call, "callback", now, ev.number)

    def _waiting_call(self, call_id: str) -> _Call:
        call = self._call(call_id)
        if call.phase not in (CallPhase.WAITING, CallPhase.OFFERED):
            raise BadAgentTransition(
                f"call {call_id} is not waiting", error_id="call-not-waiting", call_id=call_id
            )
        return call

    # ------------------------------------------------------------ event handlers: stations

    def _on_answered(self, ev: m.AgentAnswered, now: float) -> None:
        agent = self._agents.get(ev.agent)
        call = self._calls.get(ev.call_id)
        if (
            agent is None
            or call is None
            or agent.state is not S.RINGING
            or agent.call_id != ev.call_id
        ):
            self._actions.append(m.DropAgentLeg(ev.agent, ev.call_id))
            self._record(R.LATE_ANSWER, now, ev.call_id, call.queue if call else None, ev.agent)
            return
        if agent.consult_from is not None:
            self._set_agent(agent, AgentInput.ANSWER, now, call_id=ev.call_id)
            self._record(
                R.CONSULT_ANSWERED, now, ev.call_id, call.queue, ev.agent, by=agent.consult_from
            )
            self._actions.append(m.ConnectConsult(agent.consult_from, ev.agent, ev.call_id))
            return
        self._call_to(call, CallInput.ANSWER)
        call.ringing.discard(ev.agent)
        for other in sorted(call.ringing):
            self._withdraw(self._agents[other], call, now, "answered_elsewhere")
        call.agent = ev.agent
        call.answered_at = now
        q = self._queues[call.queue]
        q.calls.discard(ev.call_id)
        wait = now - call.entered
        home = self._queues[call.home]
        within = wait <= home.config.service_level_s
        first = not call.answered
        if first:
            home.answered += 1
            home.wait_sum += wait
            home.within += within
        call.answered = True
        ring_s = now - agent.since
        self._set_agent(agent, AgentInput.ANSWER, now, call_id=ev.call_id)
        agent.calls += 1
        self._actions.append(m.Connect(ev.call_id, ev.agent))
        self._record(
            R.ANSWERED,
            now,
            ev.call_id,
            call.queue,
            ev.agent,
            wait_s=wait,
            ring_s=ring_s,
            within_target=within,
        )

    def _on_station_failed(self, ev: m.StationFailed, now: float) -> None:
        agent = self._agents.get(ev.agent)
        if agent is None or agent.state is not S.RINGING or agent.call_id != ev.call_id:
            return  # a failure after the offer ended changes nothing
        self._ring_failed(agent, now, R.STATION_UNREACHABLE, cause=ev.cause)

    # ------------------------------------------------------------ configuration

    def replace_queue(self, config: m.QueueConfig) -> list[_Call]:  # see m.QueueChanged
        """Give an existing queue new settings, keeping its statistics and callers; returns the
        callers that were waiting in a pool (now out of it, for the caller to re-pool)."""
        old = self._queues[config.name]
        self._check_targets(config, set(self._queues))
        waiting = [self._calls[cid] for cid in sorted(old.calls)
                   if cid in self._calls and self._calls[cid].pooled]
        for call in waiting:
            self._pool_remove(call)
        for agent in self._agents.values():  # out of the old queue's ready lists first
            if agent.state is S.READY:
                self._unindex_ready(agent)
        new = _build_queue(config)
        for name in _QUEUE_COUNTERS:
            setattr(new, name, getattr(old, name))
        new.calls = old.calls
        self._queues[config.name] = new
        for cid in new.calls:  # ringing callers: keep their rule count within the new rules
            ringing = self._calls.get(cid)
            if ringing is not None and not ringing.pooled:
                ringing.next_rule = min(ringing.next_rule, len(config.overflow))
                ringing.stage = min(ringing.stage, len(new.pools) - 1)
        for agent in self._agents.values():
            self._reindex(agent)
        return waiting

    def _on_queue_changed(self, ev: m.QueueChanged, now: float) -> None:
        if ev.config.name not in self._queues:
            self.add_queue(ev.config)
            return
        waiting = self.replace_queue(ev.config)
        for call in waiting:  # re-pooled under the new rules, in their old order
            call.next_rule = 0
            call.stage = 0
            call.epoch += 1  # the old overflow and max-wait deadlines no longer count
            self._rekey(call)
            self._apply_due_rules(call, now)
            if call.phase is CallPhase.WAITING:
                self._pool_add(call)
                self._schedule_call(call)

    # ------------------------------------------------------------ deadlines

    def _on_tick(self, ev: m.Tick, now: float) -> None:
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if not self._deadline_valid(entry):
                continue
            at, _, kind, subject, _, _ = entry
            if kind == "ring":
                self._ring_failed(self._agents[subject], at, R.RING_NO_ANSWER)
            elif kind == "wrap":
                self._wrap_time_up(self._agents[subject], at)
            elif kind == "overflow":
                self._overflow(self._calls[subject], at)
            else:
                self._max_wait(self._calls[subject], at)
            self._settle(at)
