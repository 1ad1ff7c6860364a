"""The agent and call state machines, fed event by event (like h11's test_state.py)."""

from __future__ import annotations

import pytest

from ccd.acd import model as m
from ccd.acd.errors import BadAgentTransition, DuplicateCall, NoSuchQueue, StationInUse
from ccd.acd.model import AgentState as S
from ccd.acd.model import RecordKind as R
from ccd.acd.states import AGENT_TRANSITIONS, AgentInput, CallPhase
from tests.acd.harness import Harness, agent, finished, rung, water


def test_login_is_not_ready_until_the_agent_says_ready() -> None:
    h = Harness([water()], [agent("a1", water=5)])
    h.feed(m.AgentLogin("a1", "sip:1"), at=0)
    assert h.acd.agent_state("a1") == (S.NOT_READY, "login")
    h.enter("c1", "water", at=1)
    assert h.acd.call_phase("c1") is CallPhase.WAITING  # nobody is ready: the caller waits
    step = h.feed(m.AgentReady("a1"), at=5)
    assert rung(step) == [("a1", "c1")]
    assert h.state("a1") is S.RINGING


def test_a_whole_call_walks_the_table_and_every_step_is_recorded() -> None:
    h = Harness([water(wrap_up_s=30)], [agent("a1", water=5)])
    h.login("a1", at=0)
    h.enter("c1", "water", at=10)
    step = h.feed(m.AgentAnswered("a1", "c1"), at=14)
    assert m.Connect("c1", "a1") in step.actions
    assert h.state("a1") is S.TALKING
    h.feed(m.Hold("a1"), at=20)
    assert h.state("a1") is S.ON_HOLD
    h.feed(m.Unhold("a1"), at=50)
    step = h.feed(m.AgentHangup("a1"), at=100)
    assert finished(step) == [("c1", "completed")]
    assert h.state("a1") is S.WRAP_UP
    assert h.acd.next_deadline() == 130
    h.run_until(200)
    assert h.state("a1") is S.READY
    assert h.acd.agent_state("a1") == (S.READY, None)
    assert h.kinds("c1") == [
        "enter_queue",
        "agent_state",  # ready -> ringing
        "offered",
        "agent_state",  # ringing -> talking
        "answered",
        "agent_state",  # talking -> on_hold
        "hold",
        "agent_state",
        "unhold",
        "completed",
        "agent_state",  # talking -> wrap_up
        "wrap_up_start",
        "wrap_up_end",
        "agent_state",  # wrap_up -> ready
    ]
    answered = h.last(R.ANSWERED)
    assert (answered.at, answered.agent, answered.queue) == (14, "a1", "water")
    assert answered.details["wait_s"] == 4 and answered.details["within_target"] is True
    completed = h.last(R.COMPLETED)
    assert completed.details == {"talk_s": 86, "hold_s": 30, "ended_by": "agent"}
    assert completed.by == "agent"
    assert h.last(R.WRAP_UP_END).details == {"wrap_up_s": 30, "ended": "timer"}
    row = completed.as_row()
    assert row["kind"] == "completed" and row["call_id"] == "c1" and row["at"] == 100


def test_every_agent_state_change_says_from_to_and_reason() -> None:
    h = Harness([water()], [agent("a1", water=1)])
    h.feed(m.AgentLogin("a1", "sip:1"), at=0)
    h.feed(m.AgentReady("a1"), at=1)
    h.feed(m.AgentNotReady("a1", "meal", by="lead7"), at=2)
    h.feed(m.AgentLogout("a1"), at=3)
    changes = [
        (r.at, r.details["from"], r.details["to"], r.details["reason"], r.by)
        for r in h.records
        if r.kind is R.AGENT_STATE
    ]
    assert changes == [
        (0, "logged_out", "not_ready", "login", "acd"),
        (1, "not_ready", "ready", None, "acd"),
        (2, "ready", "not_ready", "meal", "lead7"),
        (3, "not_ready", "logged_out", None, "acd"),
    ]


@pytest.mark.parametrize(
    ("setup", "event"),
    [
        ([], m.Hold("a1")),  # logged out
        ([m.AgentLogin("a1", "s")], m.AgentHangup("a1")),  # not ready, no call
        ([m.AgentLogin("a1", "s", ready=True)], m.Hold("a1")),  # ready, no call
        ([m.AgentLogin("a1", "s", ready=True)], m.AgentLogin("a1", "s")),  # twice
        ([], m.AgentReady("a1")),
        ([], m.AgentLogout("a1")),
    ],
)
def test_requests_the_state_does_not_allow_are_refused(
    setup: list[m.Event], event: m.Event
) -> None:
    h = Harness([water()], [agent("a1", water=1)])
    for e in setup:
        h.feed(e)
    before = h.state("a1")
    with pytest.raises(BadAgentTransition) as info:
        h.feed(event)
    assert info.value.error_id == "bad-agent-transition"
    assert info.value.details["agent"] == "a1"
    assert h.state("a1") is before


def test_logout_during_a_call_is_refused() -> None:
    h = Harness([water()], [agent("a1", water=1)])
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    with pytest.raises(BadAgentTransition):
        h.feed(m.AgentLogout("a1"), at=3)
    assert h.state("a1") is S.TALKING


def test_not_ready_after_this_call_takes_effect_when_wrap_up_ends() -> None:
    h = Harness([water(wrap_up_s=20)], [agent("a1", water=1)])
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    h.feed(m.AgentNotReady("a1", "training"), at=10)
    assert h.state("a1") is S.TALKING  # still on the call
    assert h.last(R.NOT_READY_AFTER_CALL).details == {"reason": "training"}
    h.enter("c2", "water", at=15)
    h.feed(m.CallerHangup("c1"), at=30)
    assert h.state("a1") is S.WRAP_UP
    h.run_until(60)
    assert h.acd.agent_state("a1") == (S.NOT_READY, "training")
    assert h.acd.call_phase("c2") is CallPhase.WAITING  # not offered to an agent who asked


def test_asking_ready_again_cancels_not_ready_after_call() -> None:
    h = Harness([water(wrap_up_s=20)], [agent("a1", water=1)])
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    h.feed(m.AgentNotReady("a1", "meal"), at=3)
    h.feed(m.AgentReady("a1"), at=4)
    h.feed(m.AgentHangup("a1"), at=5)
    h.run_until(100)
    assert h.state("a1") is S.READY


def test_ready_during_wrap_up_ends_it_early_and_says_so() -> None:
    h = Harness([water(wrap_up_s=60)], [agent("a1", water=1)])
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    h.feed(m.AgentHangup("a1"), at=12)
    h.enter("c2", "water", at=13)
    step = h.feed(m.AgentReady("a1"), at=22)
    assert h.last(R.WRAP_UP_END).details == {"wrap_up_s": 10, "ended": "ready"}
    assert rung(step) == [("a1", "c2")]
    later = [r.kind for step in h.run_until(200) for r in step.records]
    assert R.RING_NO_ANSWER in later  # c2 was not answered
    assert R.WRAP_UP_END not in later  # the wrap-up timer is void now


def test_refusing_a_ringing_call_sets_not_ready_and_the_caller_keeps_their_place() -> None:
    h = Harness([water()], [agent("a1", water=1), agent("a2", water=1)])
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentNotReady("a1", "meal"), at=2)
    assert h.acd.agent_state("a1") == (S.NOT_READY, "meal")
    assert h.acd.call_phase("c1") is CallPhase.WAITING
    step = h.feed(m.AgentLogin("a2", "sip:2", ready=True), at=3)
    assert rung(step) == [("a2", "c1")]
    assert h.last(R.OFFERED).details["wait_s"] == 2  # counted from the original enter time


def test_one_station_one_agent() -> None:
    h = Harness([water()], [agent("a1"), agent("a2")])
    h.feed(m.AgentLogin("a1", "sip:desk1"))
    with pytest.raises(StationInUse) as info:
        h.feed(m.AgentLogin("a2", "sip:desk1"))
    assert info.value.details == {"station": "sip:desk1", "agent": "a1"}
    h.feed(m.AgentLogout("a1"))
    h.feed(m.AgentLogin("a2", "sip:desk1"))


def test_unknown_queue_and_duplicate_call_are_client_errors() -> None:
    h = Harness([water()], [])
    with pytest.raises(NoSuchQueue) as info:
        h.enter("c1", "gas")
    assert info.value.error_id == "no-such-queue"
    h.enter("c1", "water")
    with pytest.raises(DuplicateCall):
        h.enter("c1", "water")


def test_the_table_has_no_way_out_of_logged_out_but_login() -> None:
    exits = {i for (s, i) in AGENT_TRANSITIONS if s is S.LOGGED_OUT}
    assert exits == {AgentInput.LOGIN, AgentInput.LOGIN_READY}
    # and every state can be left
    assert {s for (s, _) in AGENT_TRANSITIONS} == set(S)
