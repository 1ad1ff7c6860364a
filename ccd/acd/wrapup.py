"""Wrap-up (话后处理): after-call work, its timer, and the disposition code a queue may require
(part of `ccd.acd.core.Acd`).

Read `ccd.acd.core` first: its opening comment holds for this module too. A wrap-up starts when
the agent's call ends or is handed on; it ends when its time runs out, when the agent goes ready
or not ready, or at logout. A queue with `wrap_up_required` adds a rule: the agent must code the
call (`WrapUpCoded`) first. Until they do, ready and not ready are refused (`wrap-up-required`,
except for a team lead's forced change), and a wrap-up whose time runs out does not end: it is
recorded as overdue and ends the moment the call is coded.
"""

from __future__ import annotations

from ccd.acd import model as m
from ccd.acd.errors import WrapUpRequired
from ccd.acd.machine import AcdMachine, R, S, _Agent, _Call
from ccd.acd.states import AgentInput


class WrapUpMachine(AcdMachine):
    """Wrap-up moves: start, time up, the required-code check, end."""

    def _start_wrap(self, agent: _Agent, call: _Call, now: float, what: AgentInput) -> None:
        q = self._queues[call.queue]
        agent.talk_s = now - call.answered_at if call.answered else 0.0
        agent.wrap_queue = call.queue
        agent.wrap_started = now
        agent.wrap_until = now + q.config.wrap_up_s
        agent.wrap_required = q.config.wrap_up_required
        cid = call.caller.call_id
        agent.wrap_coded, agent.wrap_overdue = agent.coded_call == cid, False
        agent.coded_call = None
        self._set_agent(agent, what, now, call_id=cid)
        extra: dict[str, object] = {}
        if agent.wrap_required and agent.wrap_coded:
            extra["coded"] = True
        self._record(
            R.WRAP_UP_START,
            now,
            cid,
            call.queue,
            agent.config.agent,
            None,
            wrap_up_s=q.config.wrap_up_s,
            required=agent.wrap_required,
            **extra,
        )
        if q.config.wrap_up_s == 0:
            self._wrap_time_up(agent, now)
        else:
            self._deadline(agent.wrap_until, "wrap", agent.config.agent, agent.epoch)

    def _wrap_time_up(self, agent: _Agent, now: float) -> None:
        """The wrap-up time ran out: it ends, unless the queue requires a code not yet given;
        then the agent stays in wrap-up (offered nothing) until they code the call."""
        if not (agent.wrap_required and not agent.wrap_coded):
            self._end_wrap(agent, now, "timer")
            return
        agent.wrap_overdue = True
        self._record(
            R.WRAP_UP_OVERDUE,
            now,
            agent.call_id,
            agent.wrap_queue,
            agent.config.agent,
            wrap_up_s=now - agent.wrap_started,
        )

    def _check_wrap_coded(self, agent: _Agent, request: str, forced: bool) -> None:
        """Refuse leaving a required wrap-up before it is coded (a team lead may: `forced`)."""
        if agent.state is S.WRAP_UP and agent.wrap_required and not agent.wrap_coded and not forced:
            raise WrapUpRequired(
                f"agent {agent.config.agent} must code call {agent.call_id} first",
                agent=agent.config.agent,
                call_id=agent.call_id,
                queue=agent.wrap_queue,
                request=request,
            )

    def wrap_up_status(self, agent: str) -> m.WrapUpStatus | None:
        """The agent's wrap-up now (None: not in wrap-up)."""
        a = self._agent(agent)
        if a.state is not S.WRAP_UP:
            return None
        return m.WrapUpStatus(
            a.call_id, a.wrap_queue, a.wrap_required, a.wrap_coded, a.wrap_until, a.wrap_overdue
        )

    def _end_wrap(self, agent: _Agent, now: float, how: str, by: str | None = None) -> None:
        """End wrap-up: by its timer ('timer'), coding an overdue one ('coded'), the agent
        ('ready'/'not_ready') or 'logout'. After 'timer' and 'coded' the agent is ready, or not
        ready if they asked to be after this call."""
        q = self._queues[agent.wrap_queue] if agent.wrap_queue in self._queues else None
        wrap = now - agent.wrap_started
        if q is not None:
            q.handled += 1
            q.handle_sum += agent.talk_s + wrap
        extra: dict[str, object] = {}
        if agent.wrap_required:
            extra["coded"] = agent.wrap_coded
        self._record(
            R.WRAP_UP_END,
            now,
            agent.call_id,
            agent.wrap_queue,
            agent.config.agent,
            by,
            wrap_up_s=wrap,
            ended=how,
            **extra,
        )
        agent.wrap_required = agent.wrap_coded = agent.wrap_overdue = False
        if how in ("timer", "coded"):
            if agent.after_call is not None:
                reason, agent.after_call = agent.after_call, None
                self._set_agent(agent, AgentInput.WRAP_END_NOT_READY, now, reason, by)
            else:
                self._set_agent(agent, AgentInput.WRAP_END, now, by=by)
