"""The ACD's state and the moves routing makes: the base of `ccd.acd.core.Acd`.

Read `ccd.acd.core` first: its opening comment holds for this module too. Here live the records
of agents, calls and queues, the deadlines, the indexes, and the primitive moves every event
handler is made of (change an agent's state by the table, offer a caller, withdraw an offer,
return a caller to their place, overflow); wrap-up's are in `ccd.acd.wrapup`. Nothing here does
I/O or reads a clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from ccd.acd import model as m
from ccd.acd.errors import (
    BadAgentTransition,
    BadQueueConfig,
    NoSuchAgent,
    NoSuchCall,
    NoSuchQueue,
)
from ccd.acd.indexes import (
    AgentKey,
    CallKey,
    SortedKeys,
    agent_key,
    first_from,
    meets,
    skill_score,
)
from ccd.acd.model import AgentState, RecordKind, Strategy
from ccd.acd.states import (
    AGENT_TRANSITIONS,
    CALL_TRANSITIONS,
    AgentInput,
    CallInput,
    CallPhase,
)

S = AgentState
R = RecordKind

# Overflow rules that move callers between queues with after_s = 0 could cycle; stop after this.
_MAX_RULE_STEPS = 64


@dataclass(eq=False)
class _Agent:
    config: m.AgentConfig
    order: int
    state: AgentState = S.LOGGED_OUT
    reason: str | None = None
    since: float = 0.0
    station: str | None = None
    call_id: str | None = None  # the call being offered, handled or consulted about
    calls: int = 0
    ready_since: float = 0.0
    after_call: str | None = None  # 'not ready after this call' reason
    epoch: int = 0
    levels: dict[str, int] = field(default_factory=dict)  # queue -> first level it meets
    ready_keys: list[tuple[str, int, AgentKey]] = field(default_factory=list)
    consult_target: str | None = None  # on the consulting agent
    consult_from: str | None = None  # on the consulted agent
    wrap_started: float = 0.0  # wrap-up: see ccd.acd.wrapup
    wrap_until: float = 0.0  # when the wrap-up time runs out
    wrap_queue: str | None = None
    wrap_required: bool = False  # the queue requires a code before the next call
    wrap_coded: bool = False  # the agent coded the call being wrapped up
    coded_call: str | None = None  # a call the agent coded while still on it
    wrap_overdue: bool = False  # required, uncoded, and its time ran out: waits for the code
    talk_s: float = 0.0


@dataclass(eq=False)
class _Call:
    caller: m.Caller
    home: str  # the queue whose statistics count this call
    queue: str  # the queue it is in now
    entered: float  # original enter time: the caller keeps their place by it
    queue_entered: float  # when it entered the current queue (overflow rules count from here)
    seq: int
    key: CallKey
    phase: CallPhase = CallPhase.WAITING
    pooled: bool = False  # in its queue's pool (waiting, not ringing anyone)
    stage: int = 0
    next_rule: int = 0
    epoch: int = 0
    ringing: set[str] = field(default_factory=set)
    agent: str | None = None
    answered: bool = False
    answered_at: float = 0.0
    on_hold_since: float | None = None
    hold_s: float = 0.0


@dataclass(eq=False)
class _Queue:
    config: m.QueueConfig
    levels: list[dict[str, int]]  # requirement sets: the queue's skills, then each add_skills rule
    stage_after_rule: list[int]  # overflow stage reached once rule i has applied
    pools: list[SortedKeys[CallKey]]  # waiting callers per stage
    ready: list[SortedKeys[AgentKey]]  # ready agents per level
    members: set[str] = field(default_factory=set)  # logged-in agents eligible at level 0
    calls: set[str] = field(default_factory=set)  # waiting or ringing callers in this queue
    rr_cursor: int = -1
    offered: int = 0
    answered: int = 0
    within: int = 0
    abandoned: int = 0
    timed_out: int = 0
    callbacks: int = 0
    left: int = 0
    overflowed: int = 0
    wait_sum: float = 0.0
    handled: int = 0
    handle_sum: float = 0.0


def _build_queue(config: m.QueueConfig) -> _Queue:
    levels = [dict(config.skills)]
    stage_after: list[int] = []
    for rule in config.overflow:
        if rule.add_skills is not None:
            levels.append(dict(rule.add_skills))
        stage_after.append(len(levels) - 1)
    return _Queue(
        config=config,
        levels=levels,
        stage_after_rule=stage_after,
        pools=[SortedKeys() for _ in levels],
        ready=[SortedKeys() for _ in levels],
    )


class AcdMachine:
    """State and primitive moves; `ccd.acd.core.Acd` adds the event handlers."""

    def __init__(
        self,
        queues: Iterable[m.QueueConfig] = (),
        agents: Iterable[m.AgentConfig] = (),
        weights: m.PriorityWeights | None = None,
    ) -> None:
        """queues, agents: the configuration; weights: priority boosts for waiting callers."""
        self.weights = weights or m.PriorityWeights()
        self._queues: dict[str, _Queue] = {}
        self._agents: dict[str, _Agent] = {}
        self._calls: dict[str, _Call] = {}
        self._stations: dict[str, str] = {}
        self._deadlines: list[tuple[float, int, str, str, int, int]] = []
        self._seq = itertools.count()
        self._actions: list[m.Action] = []
        self._records: list[m.AcdRecord] = []
        self._route_agents: list[str] = []
        self._route_calls: list[str] = []
        queue_list = list(queues)
        names = {q.name for q in queue_list}
        for q in queue_list:
            self._check_targets(q, names)
            self._queues[q.name] = _build_queue(q)
        for a in agents:
            self.add_agent(a)

    # ------------------------------------------------------------ configuration

    def _check_targets(self, q: m.QueueConfig, names: set[str]) -> None:
        for rule in q.overflow:
            if rule.to_queue is not None and (
                rule.to_queue not in names or rule.to_queue == q.name
            ):
                raise BadQueueConfig(
                    f"queue {q.name}: overflow to unknown queue {rule.to_queue}",
                    queue=q.name,
                    to_queue=rule.to_queue,
                )

    def add_queue(self, config: m.QueueConfig) -> None:
        """Add a queue; its overflow targets must already exist."""
        if config.name in self._queues:
            raise BadQueueConfig(f"queue {config.name} exists", queue=config.name)
        self._check_targets(config, set(self._queues) | {config.name})
        self._queues[config.name] = _build_queue(config)
        for agent in self._agents.values():
            self._reindex(agent)

    def add_agent(self, config: m.AgentConfig) -> None:
        """Add an agent (logged out)."""
        if config.agent in self._agents:
            raise NoSuchAgent(
                f"agent {config.agent} exists", error_id="agent-exists", agent=config.agent
            )
        self._agents[config.agent] = _Agent(config=config, order=len(self._agents))

    def update_agent(self, config: m.AgentConfig) -> None:
        """Change an agent's skills (takes effect at once, also while logged in)."""
        agent = self._agent(config.agent)
        agent.config = config
        self._reindex(agent)

    def next_deadline(self) -> float | None:
        """When the next `Tick` has work to do (None: nothing is timed)."""
        heap = self._deadlines
        while heap and not self._deadline_valid(heap[0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    # ------------------------------------------------------------ lookups

    def position(self, call_id: str) -> int:
        """The caller's place in their queue (1 = next); ringing callers are at 1."""
        call = self._call(call_id)
        if call.phase is not CallPhase.WAITING:
            return 1
        q = self._queues[call.queue]
        return 1 + sum(pool.rank(call.key) for pool in q.pools)

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise NoSuchQueue(f"no queue {name}", queue=name) from None

    def _agent(self, agent: str) -> _Agent:
        try:
            return self._agents[agent]
        except KeyError:
            raise NoSuchAgent(f"no agent {agent}", agent=agent) from None

    def _call(self, call_id: str) -> _Call:
        try:
            return self._calls[call_id]
        except KeyError:
            raise NoSuchCall(f"no call {call_id} in the ACD", call_id=call_id) from None

    # ------------------------------------------------------------ output helpers

    def _record(
        self,
        kind: RecordKind,
        now: float,
        call: str | None = None,
        queue: str | None = None,
        agent: str | None = None,
        by: str | None = None,
        **details: object,
    ) -> None:
        self._records.append(m.AcdRecord(now, kind, call, queue, agent, by or "acd", details))

    def _deadline(self, at: float, kind: str, subject: str, epoch: int, extra: int = 0) -> None:
        heapq.heappush(self._deadlines, (at, next(self._seq), kind, subject, epoch, extra))

    def _deadline_valid(self, entry: tuple[float, int, str, str, int, int]) -> bool:
        _, _, kind, subject, epoch, extra = entry
        if kind in ("ring", "wrap"):
            agent = self._agents.get(subject)
            want = S.RINGING if kind == "ring" else S.WRAP_UP
            return agent is not None and agent.epoch == epoch and agent.state is want
        call = self._calls.get(subject)
        if call is None or call.epoch != epoch:
            return False
        if kind == "overflow":
            return call.phase is CallPhase.WAITING and call.next_rule == extra
        return call.phase in (CallPhase.WAITING, CallPhase.OFFERED)  # max_wait

    # ------------------------------------------------------------ agent state changes

    def _set_agent(
        self,
        agent: _Agent,
        what: AgentInput,
        now: float,
        reason: str | None = None,
        by: str | None = None,
        call_id: str | None = None,
    ) -> None:
        """Change the agent's state by the table; `call_id` is the call the new state is about."""
        old = agent.state
        before = agent.call_id
        try:
            new = AGENT_TRANSITIONS[(old, what)]
        except KeyError:
            raise BadAgentTransition(
                f"agent {agent.config.agent} is {old.value}: cannot {what.value}",
                agent=agent.config.agent,
                state=old.value,
                request=what.value,
            ) from None
        if old is S.READY:
            self._unindex_ready(agent)
        agent.state = new
        agent.reason = reason if new is S.NOT_READY else None
        agent.since = now
        agent.epoch += 1
        if new is S.READY:
            agent.ready_since = now
            self._index_ready(agent)
            self._route_agents.append(agent.config.agent)
        if call_id is not None:
            agent.call_id = call_id
        elif new in (S.READY, S.NOT_READY, S.LOGGED_OUT):
            agent.call_id = None
        self._record(
            R.AGENT_STATE,
            now,
            call_id or before,
            None,
            agent.config.agent,
            by,
            **{"from": old.value, "to": new.value, "reason": agent.reason, "input": what.value},
        )

    def _reindex(self, agent: _Agent) -> None:
        was_ready = agent.state is S.READY
        if was_ready:
            self._unindex_ready(agent)
        for qname in agent.levels:
            self._queues[qname].members.discard(agent.config.agent)
        agent.levels = {}
        if agent.station is not None:  # logged in
            for name, q in self._queues.items():
                for i, requirement in enumerate(q.levels):
                    if meets(agent.config, requirement):
                        agent.levels[name] = i
                        if i == 0:
                            q.members.add(agent.config.agent)
                        break
        if was_ready:
            self._index_ready(agent)
            self._route_agents.append(agent.config.agent)

    def _index_ready(self, agent: _Agent) -> None:
        keys = agent.ready_keys
        for qname, level in agent.levels.items():
            q = self._queues[qname]
            key = agent_key(
                q.config.strategy,
                agent.order,
                agent.config.agent,
                agent.ready_since,
                agent.calls,
                skill_score(agent.config, q.levels[level]),
            )
            q.ready[level].add(key)
            keys.append((qname, level, key))

    def _unindex_ready(self, agent: _Agent) -> None:
        for qname, level, key in agent.ready_keys:
            self._queues[qname].ready[level].remove(key)
        agent.ready_keys = []

    # ------------------------------------------------------------ call bookkeeping

    def _call_to(self, call: _Call, what: CallInput) -> None:
        call.phase = CALL_TRANSITIONS[(call.phase, what)]

    def _key(self, c: m.Caller, queue: str, entered: float, seq: int) -> CallKey:
        """Within a queue, order by VIP, then by score = weight × wait + boosts, which is the
        same as ordering by an effective enter time `entered - boosts / weight`."""
        boost = (
            self.weights.repeat_caller_s * c.repeat_caller
            + self.weights.outage_area_s * c.outage_area
        )
        weight = self._queues[queue].config.weight
        return (0 if c.vip else 1, entered - boost / weight, seq, c.call_id)

    def _rekey(self, call: _Call) -> None:
        call.key = self._key(call.caller, call.queue, call.entered, call.seq)

    def _pool_add(self, call: _Call) -> None:
        self._queues[call.queue].pools[call.stage].add(call.key)
        call.pooled = True
        self._route_calls.append(call.caller.call_id)

    def _pool_remove(self, call: _Call) -> None:
        self._queues[call.queue].pools[call.stage].remove(call.key)
        call.pooled = False

    def _schedule_call(self, call: _Call) -> None:
        """Deadlines of the call's current queue: its next overflow rule and its maximum wait."""
        q = self._queues[call.queue].config
        cid = call.caller.call_id
        if call.next_rule < len(q.overflow):
            rule = q.overflow[call.next_rule]
            self._deadline(
                call.queue_entered + rule.after_s, "overflow", cid, call.epoch, call.next_rule
            )
        if q.max_wait_s is not None and not call.answered:
            self._deadline(call.entered + q.max_wait_s, "max_wait", cid, call.epoch)

    def _end_call(self, call: _Call, outcome: str, now: float, number: str | None = None) -> None:
        """The call leaves the ACD: withdraw rings, leave the pool, say so to the service."""
        cid = call.caller.call_id
        if call.pooled:
            self._pool_remove(call)
        for name in sorted(call.ringing):
            self._withdraw(self._agents[name], call, now, outcome)
        self._queues[call.queue].calls.discard(cid)
        self._call_to(call, CallInput.END)
        del self._calls[cid]
        self._actions.append(m.Finish(cid, outcome, call.agent, number))

    # ------------------------------------------------------------ routing

    def _settle(self, now: float) -> None:
        """Match callers and agents until no ready agent is eligible for a waiting caller."""
        while self._route_calls or self._route_agents:
            if self._route_calls:
                call = self._calls.get(self._route_calls.pop(0))
                if call is not None and call.phase is CallPhase.WAITING:
                    self._route_call(call, now)
            else:
                agent = self._agents[self._route_agents.pop(0)]
                if agent.state is S.READY:
                    self._route_agent(agent, now)

    def _route_call(self, call: _Call, now: float) -> None:
        q = self._queues[call.queue]
        lists = q.ready[: call.stage + 1]
        strategy = q.config.strategy
        if strategy is Strategy.RING_ALL:
            chosen = [key[3] for keys in lists for key in keys.items]
            if chosen:
                self._offer(call, chosen, now)
            return
        best: AgentKey | None = None
        if strategy is Strategy.ROUND_ROBIN:
            for keys in lists:
                key = first_from(keys, q.rr_cursor + 1)
                if key is not None and (best is None or key < best):
                    best = key
        if best is None:
            for keys in lists:
                key = keys.first()
                if key is not None and (best is None or key < best):
                    best = key
        if best is not None:
            self._offer(call, [best[3]], now)

    def _route_agent(self, agent: _Agent, now: float) -> None:
        best: tuple[tuple[int, float, float, int], str] | None = None
        for qname, level in agent.levels.items():
            q = self._queues[qname]
            weight = q.config.weight
            for stage in range(level, len(q.pools)):
                head = q.pools[stage].first()
                if head is None:
                    continue
                vip, effective, seq, cid = head
                rank = (vip, -weight * (now - effective), self._calls[cid].entered, seq)
                if best is None or rank < best[0]:
                    best = (rank, cid)
        if best is not None:
            self._offer(self._calls[best[1]], [agent.config.agent], now)

    def _offer(
        self, call: _Call, agents: list[str], now: float, consult_from: str | None = None
    ) -> None:
        q = self._queues[call.queue]
        cid = call.caller.call_id
        if consult_from is None:
            self._pool_remove(call)
            self._call_to(call, CallInput.OFFER)
        for name in agents:
            agent = self._agents[name]
            self._set_agent(agent, AgentInput.OFFER, now, call_id=cid)
            q.rr_cursor = agent.order
            if consult_from is None:
                call.ringing.add(name)
            station = agent.station or ""
            timeout = q.config.ring_timeout_s
            self._actions.append(m.Ring(name, station, cid, call.queue, timeout, consult_from))
            self._deadline(now + timeout, "ring", name, agent.epoch)
            if consult_from is None:
                self._record(
                    R.OFFERED,
                    now,
                    cid,
                    call.queue,
                    name,
                    station=station,
                    wait_s=now - call.entered,
                    strategy=q.config.strategy.value,
                )

    def _withdraw(self, agent: _Agent, call: _Call, now: float, why: str) -> None:
        """Stop ringing this agent for the call; they are ready again."""
        call.ringing.discard(agent.config.agent)
        self._actions.append(m.CancelRing(agent.config.agent, call.caller.call_id))
        self._record(
            R.OFFER_WITHDRAWN, now, call.caller.call_id, call.queue, agent.config.agent, reason=why
        )
        self._set_agent(agent, AgentInput.WITHDRAW, now)

    def _ring_failed(
        self, agent: _Agent, now: float, kind: RecordKind, cause: str | None = None
    ) -> None:
        """No answer or unreachable: the agent goes not ready ('missed'); the caller keeps their
        place (back at the head of their queue with their original enter time)."""
        cid = agent.call_id
        assert cid is not None
        call = self._calls[cid]
        name = agent.config.agent
        if agent.consult_from is not None:
            consulting = self._agents[agent.consult_from]
            consulting.consult_target = None
            agent.consult_from = None
            self._actions.append(m.ConsultFailed(consulting.config.agent, name, cid))
            self._record(kind, now, cid, call.queue, name, consult=True, cause=cause)
            self._set_agent(agent, AgentInput.NO_ANSWER, now, m.REASON_MISSED)
            return
        self._actions.append(m.CancelRing(name, cid))
        self._record(kind, now, cid, call.queue, name, cause=cause)
        call.ringing.discard(name)
        self._set_agent(agent, AgentInput.NO_ANSWER, now, m.REASON_MISSED)
        if not call.ringing:
            self._return_to_queue(call, now)

    def _return_to_queue(self, call: _Call, now: float) -> None:
        self._call_to(call, CallInput.RETURN)
        self._apply_due_rules(call, now)
        if call.phase is not CallPhase.WAITING:
            return  # its maximum wait passed while it rang: it has left
        self._pool_add(call)
        self._schedule_call(call)
        cid = call.caller.call_id
        self._record(R.RETURNED_TO_QUEUE, now, cid, call.queue, position=self.position(cid))

    def _apply_due_rules(self, call: _Call, now: float) -> None:
        """Apply the maximum wait and overflow rules already due for a caller not in a pool."""
        for _ in range(_MAX_RULE_STEPS):
            q = self._queues[call.queue].config
            if (
                not call.answered
                and q.max_wait_s is not None
                and now - call.entered >= q.max_wait_s
            ):
                self._max_wait(call, now)
                return
            rules = q.overflow
            if (
                call.next_rule < len(rules)
                and rules[call.next_rule].after_s <= now - call.queue_entered
            ):
                self._overflow(call, now)
                continue
            return

    def _overflow(self, call: _Call, now: float) -> None:
        """Apply the call's next overflow rule: more skills accepted, or a move to another queue."""
        pooled = call.pooled
        if pooled:
            self._pool_remove(call)
        q = self._queues[call.queue]
        index = call.next_rule
        rule = q.config.overflow[index]
        call.next_rule += 1
        cid = call.caller.call_id
        if rule.add_skills is not None:
            call.stage = q.stage_after_rule[index]
            self._record(
                R.OVERFLOW, now, cid, call.queue, add_skills=dict(rule.add_skills), stage=call.stage
            )
        else:
            assert rule.to_queue is not None
            q.calls.discard(cid)
            q.overflowed += 1
            self._record(R.OVERFLOW, now, cid, call.queue, to_queue=rule.to_queue)
            call.queue = rule.to_queue
            call.queue_entered = now
            call.stage = call.next_rule = 0
            call.epoch += 1
            self._rekey(call)
            self._queues[call.queue].calls.add(cid)
            self._actions.append(m.WaitAgain(cid, call.queue))
        if pooled:
            self._apply_due_rules(call, now)
            if call.phase is CallPhase.WAITING:
                self._pool_add(call)
                self._schedule_call(call)

    def _max_wait(self, call: _Call, now: float) -> None:
        self._queues[call.home].timed_out += 1
        self._record(R.MAX_WAIT, now, call.caller.call_id, call.queue, wait_s=now - call.entered)
        self._end_call(call, "max_wait", now)
