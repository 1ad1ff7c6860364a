"""Admission rules of a worker (pure logic): socket-pool cap, rate, peers, follow-up room."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw.sip import plan_ports
from hw.sipworker.admission import (
    Admission,
    PeerFilter,
    Refusal,
    derive_caps,
    host_of,
    socket_safe_calls,
)


def test_the_socket_pool_rule() -> None:
    # maxCalls <= (64 - new calls per second) / 2, measured on 2.10.post6
    assert socket_safe_calls(8) == 28
    assert socket_safe_calls(20) == 22
    assert socket_safe_calls(2.5) == 30
    caps = derive_caps(requested_calls=100, max_cps=8)
    assert (caps.pj_max_calls, caps.max_calls) == (28, 27)  # one pj slot kept for 503s
    assert derive_caps(10, 8).max_calls == 10
    assert derive_caps(100, 4, build_max_calls=4).max_calls == 3  # a 4-call build
    with pytest.raises(ValueError):
        derive_caps(10, 63)
    with pytest.raises(ValueError):
        derive_caps(0, 8)


def test_peer_filter() -> None:
    assert PeerFilter([]).allows("203.0.113.9:5060")
    peers = PeerFilter(["127.0.0.1", "10.0.0.0/8", "::1"])
    assert peers.allows("127.0.0.1:5062") and peers.allows("10.20.30.40")
    assert peers.allows("[::1]:5060")
    assert not peers.allows("127.0.0.2:5060") and not peers.allows("nonsense")
    assert host_of("[2001:db8::1]:5060") == "2001:db8::1" and host_of("1.2.3.4:5") == "1.2.3.4"
    with pytest.raises(ValueError):
        PeerFilter(["not-an-address"])


def test_inbound_keeps_room_for_follow_ups() -> None:
    adm = Admission(max_calls=7, max_cps=100, extra_legs=2)
    assert adm.inbound(0.0, 1, "1.1.1.1:5060") is None  # 0 + 0 + 1 + 2 <= 7
    assert adm.inbound(0.1, 2, "1.1.1.1:5060") is None  # 1 + 2 + 1 + 2 <= 7
    refusal = adm.inbound(0.2, 3, "1.1.1.1:5060")  # 2 + 4 + 1 + 2 > 7
    assert refusal is not None and (refusal.code, refusal.reason) == (503, "over-capacity")
    # The first call's follow-ups use its own reservation ...
    assert adm.outbound(0.3, 10, near=1) is None
    assert adm.outbound(0.4, 11, near=1) is None
    # ... a third follow-up still fits the cap (5 legs, 2 reserved for call 2) ...
    assert adm.outbound(0.5, 12, near=1) is None
    # ... but a leg near nothing may not eat call 2's reservation.
    assert adm.outbound(0.6, 13) == "over-capacity"
    assert (adm.legs, adm.reserved) == (5, 2)
    adm.release(1)  # call 1 ends: its follow-ups become ordinary legs
    assert adm.outbound(0.7, 14, near=10) is None  # 10 is no longer part of a call
    adm.release(14)
    assert adm.outbound(0.7, 15) is None


def test_arrival_rate_counts_refused_arrivals_too() -> None:
    adm = Admission(max_calls=20, max_cps=2, extra_legs=0, allowed_peers=["10.0.0.1"])
    assert adm.inbound(0.0, 1, "10.0.0.2:5060").code == 403  # type: ignore[union-attr]
    assert adm.inbound(0.1, 2, "10.0.0.1:5060") is None
    assert adm.inbound(0.2, 3, "10.0.0.1:5060").reason == "over-rate"  # type: ignore[union-attr]
    assert adm.outbound(0.3, 4) == "over-rate"
    assert adm.inbound(1.15, 5, "10.0.0.1:5060") is None  # the first two arrivals aged out
    assert (adm.accepted, adm.refused) == (2, 3)


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(["in", "out", "near", "end"]), st.integers(0, 30)),
        max_size=80,
    ),
    st.integers(1, 12),
    st.integers(0, 3),
)
def test_admission_never_overbooks(ops: list[tuple[str, int]], cap: int, extra: int) -> None:
    adm = Admission(max_calls=cap, max_cps=1000, extra_legs=extra)
    live: list[int] = []
    inbound: list[int] = []
    next_leg = 1
    for step, (op, pick) in enumerate(ops):
        now = step * 0.01
        if op == "in" and adm.inbound(now, next_leg, "1.2.3.4") is None:
            live.append(next_leg)
            inbound.append(next_leg)
        elif op == "out" and adm.outbound(now, next_leg) is None:
            live.append(next_leg)
        elif op == "near" and inbound:
            if adm.outbound(now, next_leg, near=inbound[pick % len(inbound)]) is None:
                live.append(next_leg)
        elif op == "end" and live:
            gone = live.pop(pick % len(live))
            adm.release(gone)
            if gone in inbound:
                inbound.remove(gone)
        next_leg += 1
        assert adm.legs == len(live) <= cap
        assert adm.legs + adm.reserved <= cap


def test_worker_ports_never_overlap() -> None:
    plan = plan_ports(4, sip_port=5060, rtp_port=20000, rtp_span=1000)
    assert [w.sip_port for w in plan] == [5060, 5061, 5062, 5063]
    assert [w.rtp_port for w in plan] == [20000, 21000, 22000, 23000]
    assert all(w.rtp_range == 1000 for w in plan)
    assert [w.sip_port for w in plan_ports(2, 0, 20000, 100)] == [0, 0]
    with pytest.raises(ValueError, match="RTP range"):
        plan_ports(2, sip_port=20500, rtp_port=20000, rtp_span=1000)
    with pytest.raises(ValueError):
        plan_ports(40, sip_port=5060, rtp_port=30000, rtp_span=1000)
    with pytest.raises(ValueError):
        plan_ports(1, 5060, 20000, 7)


def test_a_follow_up_pool_lets_a_worker_hold_most_of_its_legs_as_callers() -> None:
    # The default shape: 27 legs, 4 kept per worker for agents and team leads, none per caller.
    adm = Admission(max_calls=27, max_cps=1000, extra_legs=0, followup_pool=4)
    assert adm.caller_capacity == 23
    for leg in range(1, 24):
        assert adm.inbound(float(leg), leg, "127.0.0.1:5060") is None
    assert adm.inbound(100.0, 24, "127.0.0.1:5060") == Refusal(503, "over-capacity")
    # The full worker still places an agent leg for each of 4 callers (the pool)...
    for agent, caller in zip(range(101, 105), range(1, 5), strict=True):
        assert adm.outbound(200.0 + agent, agent, near=caller) is None
    assert adm.outbound(300.0, 105, near=5) == "over-capacity"  # ... but not a fifth
    # While 3 callers talk to agents, the worker holds 23 - 3 callers.
    adm = Admission(max_calls=27, max_cps=1000, extra_legs=0, followup_pool=4)
    for leg in range(1, 4):
        adm.inbound(float(leg), leg, "")
        adm.outbound(float(leg) + 0.5, 100 + leg, near=leg)
    admitted = 3
    while adm.inbound(10.0 + admitted, 1000 + admitted, "") is None:
        admitted += 1
    assert admitted == 23 - 3  # callers in all, 3 of them talking to agents
    # The old shape (2 legs per caller) holds a third as many.
    assert Admission(max_calls=27, max_cps=1000, extra_legs=2).caller_capacity == 9


def test_overflow_room_takes_callers_beyond_capacity_only_for_the_announcement() -> None:
    adm = Admission(max_calls=6, max_cps=1000, extra_legs=0, followup_pool=4, overflow_room=2)
    assert adm.inbound(1.0, 1, "") is None and adm.inbound(2.0, 2, "") is None
    assert not adm.overflowing(1) and not adm.overflowing(2)
    assert adm.inbound(3.0, 3, "") is None and adm.overflowing(3)  # full: the announcement
    assert adm.inbound(4.0, 4, "") is None and adm.overflowing(4)
    assert adm.inbound(5.0, 5, "") == Refusal(503, "over-capacity")  # overflow room used up
    assert adm.outbound(6.0, 6, near=1) is None  # 2 pool legs are still there for agents
    assert adm.outbound(7.0, 7, near=2) is None
    adm.release(3)
    assert adm.inbound(8.0, 8, "") == Refusal(503, "over-capacity")  # agents took the room
    adm.release(4)
    assert adm.inbound(8.5, 85, "") == Refusal(503, "over-capacity")  # 2 agents talk: no room
    adm.release(6)  # one agent conversation ends: 2 callers and 1 agent leave room for one
    assert adm.inbound(9.0, 9, "") is None and adm.overflowing(9)
    assert adm.inbound(10.0, 10, "") == Refusal(503, "over-capacity")  # 2 legs kept for agents
