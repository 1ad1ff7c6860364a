"""Feeding the ACD core by hand: a clock you set, and every action and record kept."""

from __future__ import annotations

from ccd.acd import model as m
from ccd.acd.core import Acd


class Harness:
    def __init__(
        self,
        queues: list[m.QueueConfig],
        agents: list[m.AgentConfig],
        weights: m.PriorityWeights | None = None,
    ) -> None:
        self.acd = Acd(queues, agents, weights)
        self.now = 0.0
        self.records: list[m.AcdRecord] = []
        self.actions: list[m.Action] = []

    def feed(self, event: m.Event, at: float | None = None) -> m.Step:
        if at is not None:
            assert at >= self.now, "time runs forward"
            self.now = at
        step = self.acd.handle(event, self.now)
        self.records.extend(step.records)
        self.actions.extend(step.actions)
        return step

    def run_until(self, t: float) -> list[m.Step]:
        """Send a Tick at each deadline up to t, at the deadline's exact time."""
        steps = []
        while (d := self.acd.next_deadline()) is not None and d <= t:
            steps.append(self.feed(m.Tick(), d))
        self.now = t
        return steps

    def login(self, *agents: str, at: float | None = None, ready: bool = True) -> None:
        for a in agents:
            self.feed(m.AgentLogin(a, f"sip:{a}@desk", ready=ready), at)

    def enter(self, call_id: str, queue: str, at: float | None = None, **flags: bool) -> m.Step:
        return self.feed(m.CallerEnters(m.Caller(call_id, "13800000000", **flags), queue), at)

    def state(self, agent: str) -> m.AgentState:
        return self.acd.agent_state(agent)[0]

    def kinds(self, call_id: str) -> list[str]:
        return [r.kind.value for r in self.records if r.call_id == call_id]

    def last(self, kind: m.RecordKind) -> m.AcdRecord:
        return [r for r in self.records if r.kind is kind][-1]


def rung(step: m.Step) -> list[tuple[str, str]]:
    """(agent, call) of every Ring in a step."""
    return [(a.agent, a.call_id) for a in step.actions if isinstance(a, m.Ring)]


def finished(step: m.Step) -> list[tuple[str, str]]:
    return [(a.call_id, a.outcome) for a in step.actions if isinstance(a, m.Finish)]


def water(**kw: object) -> m.QueueConfig:
    return m.QueueConfig("water", {"water": 1}, **kw)  # type: ignore[arg-type]


def agent(name: str, **skills: int) -> m.AgentConfig:
    return m.AgentConfig(name, skills)
