"""Calls in progress (transfers, consultations) and the live numbers, fed event by event."""

from __future__ import annotations

import pytest

from ccd.acd import model as m
from ccd.acd.errors import AgentNotAvailable, BadAgentTransition
from ccd.acd.model import AgentState as S
from ccd.acd.model import RecordKind as R
from ccd.acd.states import CallPhase
from tests.acd.harness import Harness, agent, finished, rung, water


def _answered(h: Harness, who: str, call: str, at: float) -> None:
    h.feed(m.AgentAnswered(who, call), at=at)
    assert h.state(who) is S.TALKING


def test_blind_transfer_to_a_queue_requeues_the_caller_and_wraps_up_the_agent() -> None:
    billing = m.QueueConfig("billing", {"billing": 1})
    h = Harness([water(wrap_up_s=10), billing], [agent("w", water=1), agent("b", billing=1)])
    h.login("w", at=0)
    h.enter("c1", "water", at=1)
    _answered(h, "w", "c1", 2)
    step = h.feed(m.TransferToQueue("w", "billing"), at=30)
    assert m.ReleaseAgent("c1", "w") in step.actions
    assert m.WaitAgain("c1", "billing") in step.actions
    assert h.state("w") is S.WRAP_UP
    assert h.acd.call_phase("c1") is CallPhase.WAITING and h.acd.call_queue("c1") == "billing"
    assert h.last(R.TRANSFERRED).details == {"mode": "blind", "to_queue": "billing"}
    assert rung(h.feed(m.AgentLogin("b", "sb", ready=True), at=31)) == [("b", "c1")]
    stats = {q.queue: q for q in h.acd.statistics(31).queues}
    assert (stats["water"].offered, stats["water"].answered) == (1, 1)
    assert stats["billing"].offered == 1


def test_blind_transfer_to_an_agent_who_does_not_answer_keeps_the_callers_place() -> None:
    h = Harness([water(ring_timeout_s=10)], [agent("a", water=1), agent("b", water=1)])
    h.login("a", at=0)
    h.enter("c1", "water", at=1)
    _answered(h, "a", "c1", 2)
    h.feed(m.AgentLogin("b", "sb", ready=True), at=3)
    h.enter("c2", "water", at=4)  # b takes c2 ... so make b free first
    _answered(h, "b", "c2", 5)
    with pytest.raises(AgentNotAvailable):
        h.feed(m.TransferToAgent("a", "b"), at=6)
    h.feed(m.AgentHangup("b"), at=7)  # b is ready again
    step = h.feed(m.TransferToAgent("a", "b"), at=8)
    assert rung(step) == [("b", "c1")]
    h.enter("c3", "water", at=9)
    h.run_until(18)  # b does not answer
    assert h.acd.agent_state("b") == (S.NOT_READY, "missed")
    assert h.acd.position("c1") == 1  # ahead of c3, by its original enter time


def test_consulted_transfer() -> None:
    h = Harness([water()], [agent("a", water=1), agent("expert", water=1)])
    h.login("a", at=0)
    h.enter("c1", "water", at=1)
    _answered(h, "a", "c1", 2)
    h.login("expert", at=3)
    step = h.feed(m.ConsultStart("a", "expert"), at=10)
    assert m.HoldCaller("c1") in step.actions
    assert [a for a in step.actions if isinstance(a, m.Ring)] == [
        m.Ring("expert", "sip:expert@desk", "c1", "water", 15.0, consult_from="a")
    ]
    assert h.state("a") is S.ON_HOLD and h.state("expert") is S.RINGING
    step = h.feed(m.AgentAnswered("expert", "c1"), at=12)
    assert step.actions == (m.ConnectConsult("a", "expert", "c1"),)
    step = h.feed(m.ConsultTransfer("a"), at=40)
    assert m.Reconnect("c1", "a", "expert") in step.actions
    assert h.state("a") is S.READY  # no wrap-up in this queue
    assert h.acd.call_agent("c1") == "expert"
    assert h.last(R.TRANSFERRED).details == {"mode": "consulted", "to_agent": "expert"}
    step = h.feed(m.CallerHangup("c1"), at=100)
    assert finished(step) == [("c1", "completed")]
    done = h.last(R.COMPLETED)
    assert done.agent == "expert" and done.details["talk_s"] == 60 and done.details["hold_s"] == 30


def test_consultation_cancelled_and_consultation_not_answered() -> None:
    h = Harness([water(ring_timeout_s=10)], [agent(n, water=1) for n in ("a", "x", "y")])
    h.login("a", at=0)
    h.enter("c1", "water", at=1)
    _answered(h, "a", "c1", 2)
    h.login("x", "y", at=3)
    h.feed(m.ConsultStart("a", "x"), at=4)
    assert h.acd.agent_consulting("a") == "x" and h.acd.agent_consulting("x") is None
    h.feed(m.AgentAnswered("x", "c1"), at=5)
    step = h.feed(m.ConsultEnd("a"), at=9)
    assert m.EndConsult("x", "c1") in step.actions
    assert h.acd.agent_consulting("a") is None
    assert h.state("x") is S.READY and h.state("a") is S.ON_HOLD
    h.feed(m.ConsultStart("a", "y"), at=10)
    [step] = h.run_until(25)
    assert m.ConsultFailed("a", "y", "c1") in step.actions
    assert h.acd.agent_state("y") == (S.NOT_READY, "missed")
    assert h.acd.call_phase("c1") is CallPhase.CONNECTED  # the caller stays with a
    with pytest.raises(BadAgentTransition):
        h.feed(m.ConsultTransfer("a"), at=26)
    h.feed(m.Unhold("a"), at=27)
    assert h.state("a") is S.TALKING


def test_caller_hanging_up_during_a_consultation_frees_both_agents() -> None:
    h = Harness([water(wrap_up_s=5)], [agent("a", water=1), agent("x", water=1)])
    h.login("a", at=0)
    h.enter("c1", "water", at=1)
    _answered(h, "a", "c1", 2)
    h.login("x", at=3)
    h.feed(m.ConsultStart("a", "x"), at=4)
    h.feed(m.AgentAnswered("x", "c1"), at=5)
    step = h.feed(m.CallerHangup("c1"), at=6)
    assert m.EndConsult("x", "c1") in step.actions
    assert h.state("x") is S.READY and h.state("a") is S.WRAP_UP


def test_statistics_service_level_asa_and_expected_wait() -> None:
    q = water(service_level_s=20, default_aht_s=120)
    h = Harness([q], [agent("a", water=1), agent("b", water=1)])
    h.feed(m.AgentLogin("a", "sa"), at=0)  # staffed, but not ready
    h.feed(m.AgentLogin("b", "sb"), at=0)
    for i in range(3):
        h.enter(f"c{i}", "water", at=i)
    s = h.acd.statistics(10).queues[0]
    assert (s.waiting, s.longest_wait_s, s.offered) == (3, 10, 3)
    assert s.agents_staffed == 0 and s.expected_wait_s is None  # nobody to answer
    h.feed(m.AgentReady("a"), at=10)  # rings for c0
    h.feed(m.AgentReady("b"), at=10)  # rings for c1
    # c2 waits at position 1; both agents are about to take a whole call (AHT 120 s): 120 s,
    # not the average 60 s (position × AHT / agents) that undersold the wait
    assert h.acd.position("c2") == 1
    assert h.acd.expected_wait("c2", 10) == 120
    h.feed(m.AgentAnswered("a", "c0"), at=15)
    assert h.acd.expected_wait("c2", 45) == 120 - 30  # a has talked 30 s of its 120
    h.feed(m.AgentAnswered("b", "c1"), at=31)  # waited 30: not within
    h.feed(m.CallerHangup("c2"), at=40)  # abandoned after 38
    h.feed(m.AgentHangup("a"), at=75)  # handled 60 s
    s = h.acd.statistics(80).queues[0]
    assert (s.answered, s.abandoned, s.answered_within_target) == (2, 1, 1)
    assert s.service_level == pytest.approx(1 / 3)
    assert s.asa_s == pytest.approx((15 + 30) / 2)
    assert s.aht_s == 60  # measured now, no longer the default
    agents = {a.agent: a for a in h.acd.statistics(80).agents}
    assert agents["a"].state is S.READY and agents["a"].since == 75 and agents["a"].calls == 1
    assert agents["b"].state is S.TALKING and agents["b"].call_id == "c1"
