"""Calls in progress: hang-up, hold, transfers and consultations (part of `ccd.acd.core.Acd`).

Read `ccd.acd.core` first: its opening comment holds for this module too.
"""

from __future__ import annotations

from ccd.acd import model as m
from ccd.acd.errors import AgentNotAvailable, BadAgentTransition
from ccd.acd.machine import R, S, _Agent, _Call
from ccd.acd.states import AgentInput, CallInput
from ccd.acd.wrapup import WrapUpMachine


class CallControl(WrapUpMachine):
    """Event handlers for calls an agent has answered."""

    def _connected(self, agent_id: str) -> tuple[_Agent, _Call]:
        agent = self._agent(agent_id)
        call = self._calls.get(agent.call_id or "")
        if call is None or agent.state not in (S.TALKING, S.ON_HOLD) or call.agent != agent_id:
            raise BadAgentTransition(
                f"agent {agent_id} has no call",
                agent=agent_id,
                state=agent.state.value,
                request="call-control",
            )
        return agent, call

    def _complete(self, call: _Call, now: float, by: str) -> None:
        assert call.agent is not None
        agent = self._agents[call.agent]
        self._end_consult(agent, now, by)
        if call.on_hold_since is not None:
            call.hold_s += now - call.on_hold_since
            call.on_hold_since = None
        cid = call.caller.call_id
        self._record(
            R.COMPLETED,
            now,
            cid,
            call.queue,
            call.agent,
            by=by,
            talk_s=now - call.answered_at,
            hold_s=call.hold_s,
            ended_by=by,
        )
        self._end_call(call, "completed", now)
        self._start_wrap(agent, call, now, AgentInput.CALL_END)

    def _on_agent_hangup(self, ev: m.AgentHangup, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.consult_from is not None and agent.state is S.TALKING:
            consulting = self._agents[agent.consult_from]
            self._end_consult(consulting, now, ev.agent)
            return
        _, call = self._connected(ev.agent)
        self._complete(call, now, "agent")

    def _on_hold(self, ev: m.Hold, now: float) -> None:
        agent, call = self._connected(ev.agent)
        self._set_agent(agent, AgentInput.HOLD, now, call_id=call.caller.call_id)
        call.on_hold_since = now
        self._actions.append(m.HoldCaller(call.caller.call_id))
        self._record(R.HOLD, now, call.caller.call_id, call.queue, ev.agent, by="agent")

    def _on_unhold(self, ev: m.Unhold, now: float) -> None:
        agent, call = self._connected(ev.agent)
        self._set_agent(agent, AgentInput.UNHOLD, now, call_id=call.caller.call_id)
        if call.on_hold_since is not None:
            call.hold_s += now - call.on_hold_since
            call.on_hold_since = None
        self._actions.append(m.UnholdCaller(call.caller.call_id))
        self._record(R.UNHOLD, now, call.caller.call_id, call.queue, ev.agent, by="agent")

    def _blind_hand_off(self, agent: _Agent, call: _Call, name: str, now: float,
                        **to: str) -> str:
        """The transferring agent lets go of the call (recorded, released, into wrap-up);
        `to` names where it goes (`to_queue=` or `to_agent=`). Returns the call id."""
        self._end_consult(agent, now, name)
        cid = call.caller.call_id
        self._record(R.TRANSFERRED, now, cid, call.queue, name, by="agent", mode="blind", **to)
        self._actions.append(m.ReleaseAgent(cid, name))
        self._start_wrap(agent, call, now, AgentInput.TRANSFER)
        call.on_hold_since = None
        call.agent = None
        return cid

    def _on_transfer_to_queue(self, ev: m.TransferToQueue, now: float) -> None:
        agent, call = self._connected(ev.agent)
        target = self._queue(ev.queue)
        cid = self._blind_hand_off(agent, call, ev.agent, now, to_queue=ev.queue)
        self._call_to(call, CallInput.REQUEUE)
        call.answered = False
        call.home = call.queue = ev.queue
        call.entered = call.queue_entered = now
        call.stage = call.next_rule = 0
        call.epoch += 1
        self._rekey(call)
        target.offered += 1
        target.calls.add(cid)
        self._actions.append(m.WaitAgain(cid, ev.queue))
        self._pool_add(call)
        self._schedule_call(call)
        self._record(
            R.ENTER_QUEUE,
            now,
            cid,
            ev.queue,
            by=ev.agent,
            transferred_from=ev.agent,
            position=self.position(cid),
        )

    def _on_transfer_to_agent(self, ev: m.TransferToAgent, now: float) -> None:
        agent, call = self._connected(ev.agent)
        target = self._ready_target(ev.agent, ev.target)
        cid = self._blind_hand_off(agent, call, ev.agent, now, to_agent=ev.target)
        self._call_to(call, CallInput.TRANSFER_TO_AGENT)
        call.epoch += 1  # its old deadlines (max wait) no longer apply
        self._queues[call.queue].calls.add(cid)
        self._actions.append(m.WaitAgain(cid, call.queue))
        self._offer_direct(call, target, now)

    def _offer_direct(self, call: _Call, target: _Agent, now: float) -> None:
        name = target.config.agent
        q = self._queues[call.queue]
        cid = call.caller.call_id
        self._set_agent(target, AgentInput.OFFER, now, call_id=cid)
        call.ringing.add(name)
        timeout = q.config.ring_timeout_s
        self._actions.append(m.Ring(name, target.station or "", cid, call.queue, timeout))
        self._deadline(now + timeout, "ring", name, target.epoch)
        self._record(
            R.OFFERED,
            now,
            cid,
            call.queue,
            name,
            station=target.station,
            wait_s=now - call.entered,
            strategy="transfer",
        )

    def _ready_target(self, agent: str, target: str) -> _Agent:
        t = self._agent(target)
        if target == agent or t.state is not S.READY:
            raise AgentNotAvailable(
                f"agent {target} is not ready", agent=target, state=t.state.value
            )
        return t

    def _on_consult_start(self, ev: m.ConsultStart, now: float) -> None:
        agent, call = self._connected(ev.agent)
        if agent.consult_target is not None:
            raise BadAgentTransition(
                f"agent {ev.agent} is already consulting",
                agent=ev.agent,
                state=agent.state.value,
                request="consult",
            )
        target = self._ready_target(ev.agent, ev.target)
        cid = call.caller.call_id
        if agent.state is S.TALKING:
            self._on_hold(m.Hold(ev.agent), now)
        agent.consult_target = ev.target
        self._record(R.CONSULT_START, now, cid, call.queue, ev.agent, by="agent", target=ev.target)
        self._offer(call, [ev.target], now, consult_from=ev.agent)
        target.consult_from = ev.agent

    def _end_consult(self, agent: _Agent, now: float, by: str) -> None:
        """End the agent's consultation, if any: the consulted agent is free again."""
        if agent.consult_target is None:
            return
        target = self._agents[agent.consult_target]
        cid = target.call_id or ""
        agent.consult_target = None
        target.consult_from = None
        self._record(
            R.CONSULT_END, now, cid, None, agent.config.agent, by=by, target=target.config.agent
        )
        if target.state is S.RINGING:
            self._actions.append(m.CancelRing(target.config.agent, cid))
            self._set_agent(target, AgentInput.WITHDRAW, now)
        else:
            self._actions.append(m.EndConsult(target.config.agent, cid))
            self._set_agent(target, AgentInput.CONSULT_END, now)

    def _on_consult_end(self, ev: m.ConsultEnd, now: float) -> None:
        agent = self._agent(ev.agent)
        if agent.consult_target is None:
            raise BadAgentTransition(
                f"agent {ev.agent} is not consulting",
                agent=ev.agent,
                state=agent.state.value,
                request="consult_end",
            )
        self._end_consult(agent, now, ev.agent)

    def _on_consult_transfer(self, ev: m.ConsultTransfer, now: float) -> None:
        agent, call = self._connected(ev.agent)
        target = self._agents.get(agent.consult_target or "")
        if target is None or target.state is not S.TALKING:
            raise BadAgentTransition(
                f"agent {ev.agent} has no answered consultation",
                agent=ev.agent,
                state=agent.state.value,
                request="consult_transfer",
            )
        cid = call.caller.call_id
        name = target.config.agent
        agent.consult_target = None
        target.consult_from = None
        self._record(
            R.TRANSFERRED,
            now,
            cid,
            call.queue,
            ev.agent,
            by="agent",
            mode="consulted",
            to_agent=name,
        )
        if call.on_hold_since is not None:
            call.hold_s += now - call.on_hold_since
            call.on_hold_since = None
        self._start_wrap(agent, call, now, AgentInput.TRANSFER)
        call.agent = name
        call.answered_at = now
        target.calls += 1
        self._actions.append(m.Reconnect(cid, ev.agent, name))
