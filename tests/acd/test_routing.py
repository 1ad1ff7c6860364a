"""Routing, fed event by event: strategies, priority, fairness, overflow, no answer."""

from __future__ import annotations

from ccd.acd import model as m
from ccd.acd.model import AgentState as S
from ccd.acd.model import RecordKind as R
from ccd.acd.model import Strategy
from ccd.acd.states import CallPhase
from tests.acd.harness import Harness, agent, finished, rung, water

# ------------------------------------------------------------------ strategies


def test_longest_idle_rings_the_agent_ready_the_longest() -> None:
    h = Harness([water()], [agent("a1", water=1), agent("a2", water=1), agent("a3", water=1)])
    h.login("a2", at=0)
    h.login("a3", at=5)
    h.login("a1", at=9)
    assert rung(h.enter("c1", "water", at=10)) == [("a2", "c1")]
    assert rung(h.enter("c2", "water", at=11)) == [("a3", "c2")]
    assert rung(h.enter("c3", "water", at=12)) == [("a1", "c3")]


def test_fewest_calls_alternates_between_equal_agents() -> None:
    q = water(strategy=Strategy.FEWEST_CALLS)
    h = Harness([q], [agent("a1", water=1), agent("a2", water=1)])
    h.login("a1", "a2", at=0)
    got = []
    for i in range(4):
        [(who, _)] = rung(h.enter(f"c{i}", "water", at=2 * i + 1))
        got.append(who)
        h.feed(m.AgentAnswered(who, f"c{i}"))
        h.feed(m.AgentHangup(who), at=2 * i + 2)
    assert got == ["a1", "a2", "a1", "a2"]
    assert [a.calls for a in h.acd.statistics(9).agents] == [2, 2]


def test_fewest_calls_beats_longest_idle() -> None:
    q = water(strategy=Strategy.FEWEST_CALLS)
    h = Harness([q], [agent("busy", water=1), agent("fresh", water=1)])
    h.login("busy", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("busy", "c1"))
    h.feed(m.AgentHangup("busy"), at=2)  # busy is ready again at 2, with one call
    h.login("fresh", at=50)  # ready much later, no calls
    assert rung(h.enter("c2", "water", at=60)) == [("fresh", "c2")]


def test_best_skill_rings_the_highest_level_then_the_longest_idle() -> None:
    q = water(strategy=Strategy.BEST_SKILL)
    agents = [agent("low", water=3), agent("high", water=9), agent("high2", water=9)]
    h = Harness([q], agents)
    h.login("low", at=0)
    h.login("high2", at=1)
    h.login("high", at=2)
    assert rung(h.enter("c1", "water", at=5)) == [("high2", "c1")]
    assert rung(h.enter("c2", "water", at=6)) == [("high", "c2")]
    assert rung(h.enter("c3", "water", at=7)) == [("low", "c3")]


def test_best_skill_uses_the_lowest_of_several_required_skills() -> None:
    q = m.QueueConfig("bill", {"billing": 1, "mandarin": 1}, strategy=Strategy.BEST_SKILL)
    h = Harness(
        [q],
        [agent("a", billing=10, mandarin=2), agent("b", billing=5, mandarin=5)],
    )
    h.login("a", "b", at=0)
    assert rung(h.enter("c1", "bill", at=1)) == [("b", "c1")]  # min 5 beats min 2


def test_round_robin_goes_round_in_agent_order() -> None:
    q = water(strategy=Strategy.ROUND_ROBIN)
    h = Harness([q], [agent(f"a{i}", water=1) for i in range(3)])
    h.login("a2", "a0", "a1", at=0)
    order = []
    for i in range(6):
        step = h.enter(f"c{i}", "water", at=i + 1)
        [(who, _)] = rung(step)
        order.append(who)
        h.feed(m.AgentAnswered(who, f"c{i}"))
        h.feed(m.AgentHangup(who))  # no wrap-up: ready again at once
    assert order == ["a0", "a1", "a2", "a0", "a1", "a2"]


def test_round_robin_skips_agents_who_are_not_ready() -> None:
    q = water(strategy=Strategy.ROUND_ROBIN)
    h = Harness([q], [agent(f"a{i}", water=1) for i in range(3)])
    h.login("a0", "a1", "a2", at=0)
    h.feed(m.AgentNotReady("a1", "meal"))
    got = []
    for i in range(3):
        [(who, _)] = rung(h.enter(f"c{i}", "water", at=i + 1))
        got.append(who)
        h.feed(m.AgentAnswered(who, f"c{i}"))
        h.feed(m.AgentHangup(who))
    assert got == ["a0", "a2", "a0"]


def test_ring_all_rings_everyone_and_the_first_to_answer_wins() -> None:
    q = water(strategy=Strategy.RING_ALL)
    h = Harness([q], [agent(f"a{i}", water=1) for i in range(3)] + [agent("x", gas=1)])
    h.login("a0", "a1", "a2", "x", at=0)
    step = h.enter("c1", "water", at=1)
    assert sorted(rung(step)) == [("a0", "c1"), ("a1", "c1"), ("a2", "c1")]
    step = h.feed(m.AgentAnswered("a1", "c1"), at=3)
    cancelled = sorted(a.agent for a in step.actions if isinstance(a, m.CancelRing))
    assert cancelled == ["a0", "a2"]
    assert m.Connect("c1", "a1") in step.actions
    assert [h.state(a) for a in ("a0", "a1", "a2")] == [S.READY, S.TALKING, S.READY]
    # a late answer from a0 is refused and its leg dropped, the call is not disturbed
    step = h.feed(m.AgentAnswered("a0", "c1"), at=4)
    assert step.actions == (m.DropAgentLeg("a0", "c1"),)
    assert h.state("a0") is S.READY and h.acd.call_agent("c1") == "a1"


def test_ring_all_caller_returns_only_when_every_station_failed() -> None:
    q = water(strategy=Strategy.RING_ALL, ring_timeout_s=20)
    h = Harness([q], [agent("a0", water=1), agent("a1", water=1)])
    h.login("a0", "a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.StationFailed("a0", "c1", "busy"), at=2)
    assert h.acd.call_phase("c1") is CallPhase.OFFERED  # a1 still rings
    h.run_until(21)
    assert h.acd.call_phase("c1") is CallPhase.WAITING
    assert h.acd.agent_state("a0") == (S.NOT_READY, "missed")
    assert h.acd.agent_state("a1") == (S.NOT_READY, "missed")


# ------------------------------------------------------------------ priority


def test_vip_first_then_longest_wait() -> None:
    h = Harness([water()], [agent("a1", water=1)])
    h.enter("old", "water", at=0)
    h.enter("vip", "water", at=50, vip=True)
    h.enter("new", "water", at=60)
    assert h.acd.position("vip") == 1 and h.acd.position("old") == 2
    assert h.acd.position("new") == 3
    served = []
    h.login("a1", at=100)
    for t in (110, 120, 130):
        [ring] = [a for a in h.actions if isinstance(a, m.Ring)][-1:]
        served.append(ring.call_id)
        h.feed(m.AgentAnswered("a1", ring.call_id), at=t)
        h.feed(m.AgentHangup("a1"), at=t + 1)
    assert served == ["vip", "old", "new"]


def test_repeat_and_outage_callers_are_credited_extra_wait() -> None:
    weights = m.PriorityWeights(repeat_caller_s=60, outage_area_s=30)
    h = Harness([water()], [agent("a1", water=1)], weights)
    h.enter("plain", "water", at=0)
    h.enter("outage", "water", at=20, outage_area=True)  # counts as entered at -10
    h.enter("late", "water", at=40, outage_area=True)  # counts as entered at 10: after plain
    h.enter("repeat", "water", at=50, repeat_caller=True)  # counts as -10 too, but came later
    order = sorted(["plain", "outage", "repeat", "late"], key=h.acd.position)
    assert order == ["outage", "repeat", "plain", "late"]


def test_queue_weight_scales_wait_when_queues_compete_for_an_agent() -> None:
    gas = m.QueueConfig("gas", {"gas": 1}, weight=2.0)
    h = Harness([water(), gas], [agent("a1", water=1, gas=1)])
    h.enter("w", "water", at=0)  # waits 100 s at t=100: score 100
    h.enter("g", "gas", at=40)  # waits 60 s: score 2 × 60 = 120
    step = h.feed(m.AgentLogin("a1", "sip:1", ready=True), at=100)
    assert rung(step) == [("a1", "g")]


# ------------------------------------------------------------------ fairness across queues


def test_an_agent_in_several_queues_takes_the_longest_waiting_caller_of_all() -> None:
    gas = m.QueueConfig("gas", {"gas": 1})
    power = m.QueueConfig("power", {"power": 1})
    h = Harness([water(), gas, power], [agent("multi", water=1, gas=1, power=1)])
    h.enter("g1", "gas", at=5)
    h.enter("p1", "power", at=7)
    h.enter("g2", "gas", at=8)
    h.enter("w1", "water", at=10)
    h.login("multi", at=20)
    served = []
    for t in range(21, 25):
        [ring] = [a for a in h.actions if isinstance(a, m.Ring)][-1:]
        served.append(ring.call_id)
        h.feed(m.AgentAnswered("multi", ring.call_id), at=t)
        h.feed(m.AgentHangup("multi"), at=t + 0.5)
    assert served == ["g1", "p1", "g2", "w1"]


def test_vip_of_any_queue_comes_before_longer_waiters_of_others() -> None:
    gas = m.QueueConfig("gas", {"gas": 1})
    h = Harness([water(), gas], [agent("a", water=1, gas=1)])
    h.enter("w", "water", at=0)
    h.enter("gvip", "gas", at=30, vip=True)
    assert rung(h.feed(m.AgentLogin("a", "s", ready=True), at=40)) == [("a", "gvip")]


def test_agents_only_get_callers_of_queues_they_have_the_skills_for() -> None:
    q = m.QueueConfig("expert", {"water": 7})
    h = Harness([q], [agent("junior", water=6), agent("senior", water=7)])
    h.login("junior", at=0)
    h.enter("c1", "expert", at=1)
    assert h.acd.call_phase("c1") is CallPhase.WAITING
    assert rung(h.feed(m.AgentLogin("senior", "s2", ready=True), at=2)) == [("senior", "c1")]


# ------------------------------------------------------------------ overflow


def test_overflow_adds_skills_after_n_seconds_exactly() -> None:
    q = m.QueueConfig(
        "water", {"water": 1}, overflow=(m.OverflowRule(45, add_skills={"general": 1}),)
    )
    h = Harness([q], [agent("generalist", general=1)])
    h.login("generalist", at=0)
    h.enter("c1", "water", at=10)
    assert h.acd.call_phase("c1") is CallPhase.WAITING
    assert h.acd.next_deadline() == 55
    [step] = h.run_until(60)
    assert rung(step) == [("generalist", "c1")]
    overflow = h.last(R.OVERFLOW)
    assert (overflow.at, overflow.details) == (55, {"add_skills": {"general": 1}, "stage": 1})


def test_overflow_moves_to_another_queue_keeping_the_original_enter_time() -> None:
    backup = m.QueueConfig("backup", {"general": 1})
    q = m.QueueConfig("water", {"water": 1}, overflow=(m.OverflowRule(60, to_queue="backup"),))
    h = Harness([q, backup], [agent("g", general=1)])
    h.enter("c1", "water", at=0)
    h.enter("early", "backup", at=30)
    h.run_until(60)
    assert h.acd.call_queue("c1") == "backup"
    assert h.acd.position("c1") == 1  # it waited longer than 'early'
    assert any(isinstance(a, m.WaitAgain) and a.call_id == "c1" for a in h.actions)
    assert rung(h.feed(m.AgentLogin("g", "s", ready=True), at=70)) == [("g", "c1")]
    stats = {q.queue: q for q in h.acd.statistics(70).queues}
    assert stats["water"].offered == 1 and stats["water"].overflowed == 1
    assert stats["backup"].offered == 1  # only 'early' entered backup


def test_overflow_due_while_ringing_applies_when_the_caller_returns() -> None:
    q = m.QueueConfig(
        "water",
        {"water": 1},
        ring_timeout_s=30,
        overflow=(m.OverflowRule(20, add_skills={"general": 1}),),
    )
    h = Harness([q], [agent("w", water=1), agent("g", general=1)])
    h.login("w", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentLogin("g", "sg", ready=True), at=2)  # not eligible yet
    steps = h.run_until(31)  # ring no answer at 31: overflow already due (21) applies now
    assert rung(steps[-1]) == [("g", "c1")]


def test_max_wait_takes_the_caller_out_of_the_queue() -> None:
    h = Harness([water(max_wait_s=300)], [agent("a1", water=1)])
    h.enter("c1", "water", at=0)
    [step] = h.run_until(400)
    assert finished(step) == [("c1", "max_wait")]
    assert h.last(R.MAX_WAIT).at == 300
    assert h.acd.statistics(400).queues[0].timed_out == 1


# ------------------------------------------------------------------ no answer, unreachable


def test_ring_no_answer_sets_missed_and_the_caller_goes_back_to_the_head() -> None:
    h = Harness([water(ring_timeout_s=15)], [agent("a1", water=1), agent("a2", water=1)])
    h.enter("first", "water", at=0)
    h.login("a1", at=1)  # rings for 'first'
    h.enter("second", "water", at=2)
    [step] = h.run_until(16)
    assert h.acd.agent_state("a1") == (S.NOT_READY, "missed")
    assert m.CancelRing("a1", "first") in step.actions
    assert h.acd.position("first") == 1 and h.acd.position("second") == 2
    assert [r.kind for r in step.records if r.call_id == "first"] == [
        R.RING_NO_ANSWER,
        R.AGENT_STATE,
        R.RETURNED_TO_QUEUE,
    ]
    assert rung(h.feed(m.AgentLogin("a2", "s2", ready=True), at=20)) == [("a2", "first")]
    assert h.last(R.OFFERED).details["wait_s"] == 20


def test_unreachable_station_does_the_same_at_once() -> None:
    h = Harness([water()], [agent("a1", water=1), agent("a2", water=1)])
    h.login("a1", at=0)
    h.login("a2", at=1)
    h.enter("c1", "water", at=5)  # rings a1
    step = h.feed(m.StationFailed("a1", "c1", "unreachable"), at=5)
    assert h.acd.agent_state("a1") == (S.NOT_READY, "missed")
    assert rung(step) == [("a2", "c1")]
    assert h.last(R.STATION_UNREACHABLE).details == {"cause": "unreachable"}


def test_a_failure_after_the_offer_ended_changes_nothing() -> None:
    h = Harness([water()], [agent("a1", water=1)])
    h.login("a1", at=0)
    h.enter("c1", "water", at=1)
    h.feed(m.AgentAnswered("a1", "c1"), at=2)
    step = h.feed(m.StationFailed("a1", "c1"), at=3)
    assert step == m.Step()
    assert h.state("a1") is S.TALKING


# ------------------------------------------------------------------ callers leaving


def test_caller_hanging_up_while_ringing_is_abandoned_and_the_agent_ready_again() -> None:
    h = Harness([water()], [agent("a1", water=1)])
    h.login("a1", at=0)
    h.enter("c1", "water", at=3)
    h.enter("c2", "water", at=4)
    step = h.feed(m.CallerHangup("c1"), at=10)
    assert finished(step) == [("c1", "abandoned")]
    assert m.CancelRing("a1", "c1") in step.actions
    assert rung(step) == [("a1", "c2")]  # back to ready, and at once the next caller
    ab = h.last(R.ABANDONED)
    assert ab.details["wait_s"] == 7 and ab.details["phase"] == "offered" and ab.by == "caller"


def test_callback_request_leaves_the_queue_with_the_number() -> None:
    h = Harness([water()], [])
    h.enter("c1", "water", at=0)
    step = h.feed(m.CallbackRequest("c1", "13912345678"), at=40)
    assert step.actions == (m.Finish("c1", "callback", None, "13912345678"),)
    rec = h.last(R.CALLBACK_REQUESTED)
    assert rec.details == {"number": "13912345678", "wait_s": 40, "position": 1}
    stats = h.acd.statistics(50).queues[0]
    assert (stats.callbacks, stats.abandoned, stats.waiting) == (1, 0, 0)


def test_back_to_self_service() -> None:
    h = Harness([water()], [])
    h.enter("c1", "water", at=0)
    assert finished(h.feed(m.CallerLeaves("c1"), at=5)) == [("c1", "left")]


# ------------------------------------------------------------------ live queue changes


def test_a_changed_overflow_applies_to_callers_already_waiting() -> None:
    """Retuning overflow in a surge: `ccd queues set` shortens 120 s to 20 s while c1 has waited
    30 s and c2 10 s; c1 overflows at once, c2 when its 20 s are up; nobody is dropped."""
    backup = m.QueueConfig("backup", {"general": 1})
    q = m.QueueConfig("water", {"water": 1}, overflow=(m.OverflowRule(120, to_queue="backup"),))
    h = Harness([q, backup], [agent("g", general=1)])
    h.enter("c1", "water", at=0)
    h.enter("c2", "water", at=20)
    assert h.acd.next_deadline() == 120
    faster = m.QueueConfig("water", {"water": 1},
                           overflow=(m.OverflowRule(20, to_queue="backup"),))
    h.feed(m.QueueChanged(faster), at=30)
    assert h.acd.call_queue("c1") == "backup" and h.acd.call_queue("c2") == "water"
    assert h.acd.queue_config("water") == faster
    assert h.acd.next_deadline() == 40
    h.run_until(40)
    assert h.acd.call_queue("c2") == "backup"
    assert h.acd.position("c1") == 1 and h.acd.position("c2") == 2  # they keep their order
    assert rung(h.feed(m.AgentLogin("g", "s", ready=True), at=41)) == [("g", "c1")]
    stats = {s.queue: s for s in h.acd.statistics(41).queues}
    assert stats["water"].offered == 2 and stats["water"].overflowed == 2  # kept its numbers


def test_added_skills_apply_at_once_and_a_new_queue_is_added() -> None:
    h = Harness([water()], [agent("g", general=1)])
    h.login("g", at=0)
    h.enter("c1", "water", at=1)
    assert h.acd.call_phase("c1") is CallPhase.WAITING  # nobody has the water skill
    wider = m.QueueConfig("water", {"water": 1},
                          overflow=(m.OverflowRule(0, add_skills={"general": 1}),))
    assert rung(h.feed(m.QueueChanged(wider), at=5)) == [("g", "c1")]
    h.feed(m.QueueChanged(m.QueueConfig("gas", {"gas": 1})), at=6)
    assert "gas" in h.acd.queue_names()


def test_a_queue_changed_while_agents_are_ready_still_rings_them() -> None:
    h = Harness([water()], [agent("a1", water=1), agent("a2", water=1)])
    h.login("a1", "a2", at=0)
    h.feed(m.QueueChanged(water(wrap_up_s=5)), at=1)
    assert rung(h.enter("c1", "water", at=2)) == [("a1", "c1")]
    assert rung(h.enter("c2", "water", at=3)) == [("a2", "c2")]
