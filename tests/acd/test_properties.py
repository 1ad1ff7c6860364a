"""Properties of the core under any sequence of events (hypothesis).

No caller is ever lost: every caller who entered is waiting, ringing, connected, or has left with
exactly one Finish. No ready agent is left idle while a caller they could take waits. Agents and
calls agree about who rings and who talks. Requests the state does not allow are refused without
changing anything those properties see. A wrap-up the queue requires a code for ends only
once coded (or forced, or at logout); past its time it waits, offered nothing.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccd.acd import model as m
from ccd.acd.core import Acd
from ccd.acd.errors import AgentNotAvailable, BadAgentTransition, NoSuchCall, WrapUpRequired
from ccd.acd.indexes import meets
from ccd.acd.model import AgentState as S
from ccd.acd.states import CallPhase

AGENTS = ["a0", "a1", "a2", "a3"]
CLOSING = {
    m.RecordKind.COMPLETED,
    m.RecordKind.ABANDONED,
    m.RecordKind.CALLBACK_REQUESTED,
    m.RecordKind.LEFT_QUEUE,
    m.RecordKind.MAX_WAIT,
}
SKILLS = [{"water": 3}, {"gas": 5}, {"water": 8, "gas": 2}, {"general": 1}]


def _queues(strategy: m.Strategy) -> list[m.QueueConfig]:
    return [
        m.QueueConfig(
            "water",
            {"water": 1},
            strategy=strategy,
            wrap_up_s=7,
            ring_timeout_s=9,
            overflow=(
                m.OverflowRule(20, add_skills={"general": 1}),
                m.OverflowRule(50, to_queue="gas"),
            ),
        ),
        m.QueueConfig("gas", {"gas": 1}, strategy=strategy, max_wait_s=60, weight=1.5,
                      wrap_up_s=5, wrap_up_required=True),
    ]


OPS = st.tuples(
    st.sampled_from(
        [
            "enter",
            "enter",
            "hangup",
            "login",
            "ready",
            "not_ready",
            "logout",
            "answer",
            "answer",
            "fail",
            "agent_hangup",
            "hold",
            "unhold",
            "to_queue",
            "to_agent",
            "consult",
            "consult_end",
            "consult_transfer",
            "callback",
            "leave",
            "code",
            "force",
            "wait",
            "wait",
        ]
    ),
    st.integers(0, 7),
    st.integers(0, 3),
    st.floats(0.5, 90),
)


class World:
    def __init__(self, strategy: m.Strategy) -> None:
        self.acd = Acd(
            _queues(strategy), [m.AgentConfig(a, s) for a, s in zip(AGENTS, SKILLS, strict=True)]
        )
        self.now = 0.0
        self.entered: list[str] = []
        self.finished: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()  # closing records per call
        self.ringing: dict[str, str] = {}  # agent -> call, from Ring/CancelRing actions

    def feed(self, event: m.Event) -> None:
        try:
            step = self.acd.handle(event, self.now)
        except (BadAgentTransition, AgentNotAvailable, NoSuchCall, WrapUpRequired):
            return
        for a in step.actions:
            if isinstance(a, m.Finish):
                self.finished[a.call_id] += 1
        assert all(r.at <= self.now for r in step.records)
        for r in step.records:
            if r.kind in CLOSING:
                self.closed[r.call_id or ""] += 1

    def tick_to(self, t: float) -> None:
        while (d := self.acd.next_deadline()) is not None and d <= t:
            assert d >= self.now
            self.now = d
            self.feed(m.Tick())
        self.now = t

    def apply(self, op: str, i: int, j: int, dt: float) -> None:
        agent = AGENTS[j]
        calls = self.entered
        call = calls[i % len(calls)] if calls else "none"
        if op == "enter":
            cid = f"c{len(calls)}"
            calls.append(cid)
            queue = "water" if i % 2 else "gas"
            caller = m.Caller(cid, vip=i == 7, repeat_caller=i == 5, outage_area=i == 3)
            self.feed(m.CallerEnters(caller, queue))
        elif op == "hangup":
            self.feed(m.CallerHangup(call))
        elif op == "login":
            if self.acd.agent_state(agent)[0] is S.LOGGED_OUT:
                self.feed(m.AgentLogin(agent, f"s{j}", ready=i % 2 == 0))
        elif op == "ready":
            self.feed(m.AgentReady(agent))
        elif op == "not_ready":
            self.feed(m.AgentNotReady(agent, "meal"))
        elif op == "logout":
            self.feed(m.AgentLogout(agent))
        elif op in ("answer", "fail"):
            st_, _ = self.acd.agent_state(agent)
            offered = self.acd.statistics(self.now).agents[j].call_id
            if st_ is S.RINGING and offered is not None:
                event: m.Event = (
                    m.AgentAnswered(agent, offered)
                    if op == "answer"
                    else m.StationFailed(agent, offered)
                )
                self.feed(event)
            else:
                self.feed(m.AgentAnswered(agent, call))  # a stray answer: must be refused
        elif op == "agent_hangup":
            self.feed(m.AgentHangup(agent))
        elif op == "hold":
            self.feed(m.Hold(agent))
        elif op == "unhold":
            self.feed(m.Unhold(agent))
        elif op == "to_queue":
            self.feed(m.TransferToQueue(agent, "water" if i % 2 else "gas"))
        elif op == "to_agent":
            self.feed(m.TransferToAgent(agent, AGENTS[i % 4]))
        elif op == "consult":
            self.feed(m.ConsultStart(agent, AGENTS[i % 4]))
        elif op == "consult_end":
            self.feed(m.ConsultEnd(agent))
        elif op == "consult_transfer":
            self.feed(m.ConsultTransfer(agent))
        elif op == "code":
            self.feed(m.WrapUpCoded(agent, None if i % 3 else "other", finish=i % 2 == 0))
        elif op == "force":
            self.feed(m.AgentReady(agent, by="lead", forced=True))
        elif op in ("callback", "leave"):
            phase = self.acd.call_phase(call)
            if phase in (CallPhase.WAITING, CallPhase.OFFERED):
                ev = m.CallbackRequest(call, "139") if op == "callback" else m.CallerLeaves(call)
                self.feed(ev)
        else:
            self.tick_to(self.now + dt)

    def check(self) -> None:
        acd = self.acd
        # No caller lost, none finished twice.
        for cid in self.entered:
            phase = acd.call_phase(cid)
            assert self.finished[cid] == (1 if phase is CallPhase.ENDED else 0), cid
            assert self.closed[cid] == self.finished[cid], cid  # one closing record each
        # Agents and calls agree.
        calls = acd._calls  # noqa: SLF001 - the property is about the inside
        for name, a in acd._agents.items():  # noqa: SLF001
            if a.state is S.RINGING:
                call = calls[a.call_id or ""]
                assert name in call.ringing or a.consult_from is not None
                assert call.phase is CallPhase.OFFERED or a.consult_from is not None
            if a.state in (S.TALKING, S.ON_HOLD) and a.consult_from is None:
                assert calls[a.call_id or ""].agent == name
                assert calls[a.call_id or ""].phase is CallPhase.CONNECTED
            if a.state is S.LOGGED_OUT:
                assert a.station is None and not a.levels
            if a.wrap_overdue:  # only a required, uncoded wrap-up outlives its time
                assert a.state is S.WRAP_UP and a.wrap_required and not a.wrap_coded
                assert a.wrap_until <= self.now
            elif a.state is S.WRAP_UP and a.wrap_until > self.now:
                assert acd.next_deadline() is not None  # its timer is still on
        for cid, call in calls.items():
            assert call.pooled == (call.phase is CallPhase.WAITING), cid
            for name in call.ringing:
                assert acd._agents[name].state is S.RINGING  # noqa: SLF001
        # No ready agent idles while a caller they could take waits.
        for call in calls.values():
            if call.phase is not CallPhase.WAITING:
                continue
            q = acd._queues[call.queue]  # noqa: SLF001
            for a in acd._agents.values():  # noqa: SLF001
                if a.state is S.READY:
                    eligible = any(meets(a.config, req) for req in q.levels[: call.stage + 1])
                    assert not eligible, (call.caller.call_id, a.config.agent)
        # Statistics add up for what is in the queues now.
        waiting = sum(q.waiting for q in acd.statistics(self.now).queues)
        assert waiting == sum(
            1 for c in calls.values() if c.phase in (CallPhase.WAITING, CallPhase.OFFERED)
        )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategy=st.sampled_from(list(m.Strategy)), ops=st.lists(OPS, max_size=80))
def test_no_caller_is_lost_and_no_agent_idles_while_a_caller_waits(
    strategy: m.Strategy, ops: list[tuple[str, int, int, float]]
) -> None:
    world = World(strategy)
    for op in ops:
        world.apply(*op)
        world.check()
    # Everyone hangs up, every agent finishes: the ACD empties and nothing is left timed.
    for cid in list(world.entered):
        world.feed(m.CallerHangup(cid))
    world.tick_to(world.now + 1000)
    for name in AGENTS:  # overdue wrap-ups wait for their code
        world.feed(m.WrapUpCoded(name))
    world.check()
    assert all(s is not S.WRAP_UP for s, _ in map(world.acd.agent_state, AGENTS))
    assert all(n == 1 for n in world.finished.values())
    assert len(world.finished) == len(world.entered)
    assert world.acd.next_deadline() is None
