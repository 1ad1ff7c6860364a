"""A queue that requires a wrap-up code (`wrap_up_required`): the core fed event by event.

Until the agent codes the call they are wrapping up, ready and not ready are refused; a wrap-up
whose time runs out stays in wrap-up (overdue, recorded) and ends the moment it is coded; a team
lead's forced change and logout still end it; queues without the setting are unchanged.
"""

from __future__ import annotations

import pytest

from ccd.acd import model as m
from ccd.acd.errors import WrapUpRequired
from ccd.acd.model import AgentState as S
from ccd.acd.model import RecordKind as R
from ccd.acd.states import CallPhase
from tests.acd.harness import Harness, agent, rung, water


def talked(h: Harness, call_id: str = "c1", *, start: float = 0, hangup_at: float = 100) -> None:
    """a1 logs in ready at `start`, takes `call_id` one second later, hangs up at `hangup_at`."""
    h.login("a1", at=start)
    h.enter(call_id, "water", at=start + 1)
    h.feed(m.AgentAnswered("a1", call_id), at=start + 2)
    h.feed(m.AgentHangup("a1"), at=hangup_at)


def required(**kw: object) -> Harness:
    return Harness([water(wrap_up_s=30, wrap_up_required=True, **kw)], [agent("a1", water=1)])


def test_wrap_up_start_says_whether_a_code_is_required() -> None:
    h = required()
    talked(h)
    assert h.last(R.WRAP_UP_START).details == {"wrap_up_s": 30, "required": True}
    plain = Harness([water(wrap_up_s=30)], [agent("a1", water=1)])
    talked(plain)
    assert plain.last(R.WRAP_UP_START).details == {"wrap_up_s": 30, "required": False}


@pytest.mark.parametrize(
    "event", [m.AgentReady("a1", by="a1"), m.AgentNotReady("a1", "meal", by="a1")]
)
def test_ready_and_not_ready_are_refused_until_the_call_is_coded(event: m.Event) -> None:
    h = required()
    talked(h)
    kept = len(h.records)
    with pytest.raises(WrapUpRequired) as refused:
        h.feed(event, at=105)
    assert refused.value.error_id == "wrap-up-required"
    assert refused.value.details == {
        "agent": "a1", "call_id": "c1", "queue": "water",
        "request": "ready" if isinstance(event, m.AgentReady) else "not_ready",
    }
    assert h.state("a1") is S.WRAP_UP and len(h.records) == kept  # nothing changed
    h.feed(m.WrapUpCoded("a1", "c1"), at=110)
    assert h.state("a1") is S.WRAP_UP  # coded, not finished: the wrap-up time runs on
    h.feed(event, at=112)
    going = "ready" if isinstance(event, m.AgentReady) else "not_ready"
    assert h.state("a1").value == going
    end = h.last(R.WRAP_UP_END)
    assert (end.at, end.details) == (112, {"wrap_up_s": 12, "ended": going, "coded": True})


def test_a_call_coded_while_talking_starts_its_wrap_up_coded() -> None:
    h = required()
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    h.feed(m.WrapUpCoded("a1", "c1", finish=True), at=50)  # finish means nothing on a call
    assert h.state("a1") is S.TALKING
    h.feed(m.AgentHangup("a1"), at=100)
    assert h.last(R.WRAP_UP_START).details == {"wrap_up_s": 30, "required": True, "coded": True}
    h.feed(m.AgentReady("a1", by="a1"), at=101)  # not refused
    assert h.state("a1") is S.READY


def test_a_code_for_another_call_made_while_talking_does_not_count() -> None:
    h = required()
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    h.feed(m.WrapUpCoded("a1", "c0"), at=50)
    h.feed(m.AgentHangup("a1"), at=100)
    with pytest.raises(WrapUpRequired):
        h.feed(m.AgentReady("a1", by="a1"), at=101)


def test_the_deadline_passes_uncoded_the_agent_stays_and_it_is_recorded_at_that_moment() -> None:
    h = required()
    talked(h, hangup_at=100)
    assert h.acd.next_deadline() == 130
    h.enter("c2", "water", at=120)
    steps = h.run_until(129.999)
    assert steps == [] and h.state("a1") is S.WRAP_UP
    (step,) = h.run_until(130)
    overdue = h.last(R.WRAP_UP_OVERDUE)
    assert (overdue.at, overdue.call_id, overdue.queue, overdue.agent) == (130, "c1", "water", "a1")
    assert overdue.details == {"wrap_up_s": 30}
    assert [r.kind for r in step.records] == [R.WRAP_UP_OVERDUE]  # no end, no state change
    assert h.state("a1") is S.WRAP_UP
    assert h.acd.next_deadline() is None  # nothing more to time: it waits for the code
    h.run_until(500)
    assert h.acd.call_phase("c2") is CallPhase.WAITING  # never offered to the overdue agent
    assert [r for r in h.records if r.kind is R.WRAP_UP_OVERDUE] == [overdue]  # recorded once
    status = h.acd.wrap_up_status("a1")
    assert status == m.WrapUpStatus("c1", "water", True, False, 130, True)


def test_coding_an_overdue_wrap_up_ends_it_and_the_waiting_caller_is_offered() -> None:
    h = required()
    talked(h, hangup_at=100)
    h.enter("c2", "water", at=110)
    h.run_until(200)
    step = h.feed(m.WrapUpCoded("a1", "c1", by="a1"), at=200)
    end = h.last(R.WRAP_UP_END)
    assert (end.at, end.by, end.details) == (
        200, "a1", {"wrap_up_s": 100, "ended": "coded", "coded": True})
    assert rung(step) == [("a1", "c2")]
    assert h.state("a1") is S.RINGING
    assert h.acd.wrap_up_status("a1") is None


def test_coding_overdue_honours_not_ready_after_this_call() -> None:
    h = required()
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    h.feed(m.AgentNotReady("a1", "training"), at=10)  # while talking: after this call
    h.feed(m.AgentHangup("a1"), at=20)
    h.run_until(60)
    assert h.state("a1") is S.WRAP_UP
    h.enter("c2", "water", at=61)
    h.feed(m.WrapUpCoded("a1"), at=70)
    assert h.acd.agent_state("a1") == (S.NOT_READY, "training")
    assert h.acd.call_phase("c2") is CallPhase.WAITING


def test_finish_codes_and_ends_at_once_before_the_deadline() -> None:
    h = required()
    talked(h, hangup_at=100)
    h.enter("c2", "water", at=101)
    step = h.feed(m.WrapUpCoded("a1", "c1", finish=True, by="a1"), at=105)
    assert h.last(R.WRAP_UP_END).details == {"wrap_up_s": 5, "ended": "ready", "coded": True}
    assert rung(step) == [("a1", "c2")]


def test_coding_another_call_does_not_count() -> None:
    h = required()
    talked(h, hangup_at=100)
    with pytest.raises(WrapUpRequired):
        h.feed(m.WrapUpCoded("a1", "an-earlier-call", finish=True), at=101)
    h.run_until(130)
    assert h.state("a1") is S.WRAP_UP
    h.feed(m.WrapUpCoded("a1", "an-earlier-call"), at=131)
    assert h.state("a1") is S.WRAP_UP  # still overdue
    h.feed(m.WrapUpCoded("a1", "c1"), at=132)
    assert h.state("a1") is S.READY


def test_a_team_leads_forced_change_overrides_and_logout_still_works() -> None:
    h = required()
    talked(h, hangup_at=100)
    h.run_until(140)
    h.feed(m.AgentNotReady("a1", "supervisor", by="lead7", forced=True), at=140)
    assert h.acd.agent_state("a1") == (S.NOT_READY, "supervisor")
    end = h.last(R.WRAP_UP_END)
    assert (end.by, end.details["ended"], end.details["coded"]) == ("lead7", "not_ready", False)

    h2 = required()
    talked(h2, hangup_at=100)
    h2.feed(m.AgentReady("a1", by="lead7", forced=True), at=105)
    assert h2.state("a1") is S.READY

    h3 = required()
    talked(h3, hangup_at=100)
    h3.run_until(131)
    h3.feed(m.AgentLogout("a1", by="a1"), at=131)
    assert h3.state("a1") is S.LOGGED_OUT
    assert h3.last(R.WRAP_UP_END).details["ended"] == "logout"


def test_zero_wrap_up_time_with_a_required_code_is_overdue_at_once() -> None:
    h = Harness([water(wrap_up_s=0, wrap_up_required=True)], [agent("a1", water=1)])
    talked(h, hangup_at=50)
    assert h.state("a1") is S.WRAP_UP
    assert h.last(R.WRAP_UP_OVERDUE).at == 50
    h.feed(m.WrapUpCoded("a1", "c1"), at=58)
    assert h.state("a1") is S.READY
    assert h.last(R.WRAP_UP_END).details == {"wrap_up_s": 8, "ended": "coded", "coded": True}


def test_the_requirement_is_the_queue_of_the_call_being_wrapped_up() -> None:
    """A call transferred from a plain queue: the transferring agent's wrap-up is not required;
    the agent who takes it in the required queue must code it."""
    h = Harness(
        [water(wrap_up_s=10), m.QueueConfig("gas", {"gas": 1}, wrap_up_s=10,
                                            wrap_up_required=True)],
        [agent("a1", water=1), agent("a2", gas=1)],
    )
    h.login("a1", "a2", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    h.feed(m.TransferToQueue("a1", "gas"), at=5)
    assert h.acd.wrap_up_status("a1") == m.WrapUpStatus("c1", "water", False, False, 15, False)
    h.feed(m.AgentReady("a1"), at=6)  # allowed: water does not require a code
    h.feed(m.AgentAnswered("a2", "c1"), at=7)
    h.feed(m.AgentHangup("a2"), at=9)
    with pytest.raises(WrapUpRequired):
        h.feed(m.AgentReady("a2"), at=10)


def test_queues_without_the_setting_behave_as_before() -> None:
    h = Harness([water(wrap_up_s=30)], [agent("a1", water=1)])
    talked(h, hangup_at=100)
    h.feed(m.AgentNotReady("a1", "meal"), at=101)  # not refused
    assert h.acd.agent_state("a1") == (S.NOT_READY, "meal")
    h2 = Harness([water(wrap_up_s=30)], [agent("a1", water=1)])
    talked(h2, hangup_at=100)
    h2.feed(m.WrapUpCoded("a1", "c1"), at=101)  # coding alone ends nothing
    assert h2.state("a1") is S.WRAP_UP
    h2.run_until(130)
    assert h2.state("a1") is S.READY
    assert h2.last(R.WRAP_UP_END).details == {"wrap_up_s": 30, "ended": "timer"}
    assert not [r for r in h2.records if r.kind is R.WRAP_UP_OVERDUE]


def test_coding_outside_wrap_up_changes_nothing() -> None:
    h = required()
    h.login("a1", at=0)
    step = h.feed(m.WrapUpCoded("a1", "c9", finish=True), at=1)
    assert step == m.Step() and h.state("a1") is S.READY
