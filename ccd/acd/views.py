"""What the API shows of the live ACD: an agent's state, a queue's load, the whole snapshot.

Plain functions of a running `AcdRuntime`; times are Unix seconds (the core's own clock is
trio's, converted with the service's `wall_time`); infinities become null.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import trio

from ccd.acd.model import AgentState
from ccd.acd.states import CallPhase

if TYPE_CHECKING:
    from ccd.acd.runtime import AcdRuntime

S = AgentState
ON_A_CALL = (S.TALKING, S.ON_HOLD)


def _num(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else round(value, 3)


def agent_view(rt: AcdRuntime, agent: str) -> dict[str, Any]:
    """The agent's state, reason, since when, station, call, caller, answer mode, conference,
    outbound call and calls taken since login, and the wrap-up (see `wrap_view`)."""
    state, reason = rt.acd.agent_state(agent)
    now = trio.current_time()
    stats = next(a for a in rt.acd.statistics(now).agents if a.agent == agent)
    call_id = rt.call_of(agent)
    in_conference = bool(call_id and rt.conference_of(call_id))
    return {
        "agent": agent,
        "state": state.value,
        "reason": reason,
        "since": round(rt.service.wall_time(stats.since), 3),
        "in_state_s": round(now - stats.since, 3),
        "station": stats.station,
        "call_id": call_id,
        "last_call_id": rt.last_call(agent),
        "calls": stats.calls,
        "answer": rt.answer_mode(agent),
        "conference": in_conference,
        "consulting": None if in_conference else rt.acd.agent_consulting(agent),
        "outbound": rt.dialler.current(agent),
        "caller": rt.caller_number(call_id) if call_id else None,
        **wrap_view(rt, agent, stats.call_id, now),
    }


def wrap_view(rt: AcdRuntime, agent: str, call_id: str | None, now: float) -> dict[str, Any]:
    """wrap_required: the call's queue requires a wrap-up code (known from the call on: a
    console can say so while the agent talks); wrap_coded: the call in wrap-up is coded;
    wrap_left_s: seconds left of the wrap-up time, negative once overdue (None outside
    wrap-up). call_id: the core's call of the agent; now: the core's clock."""
    wrap = rt.acd.wrap_up_status(agent)
    if wrap is not None:
        return {"wrap_required": wrap.required, "wrap_coded": wrap.coded,
                "wrap_left_s": round(wrap.until - now, 3)}
    required = False
    if call_id is not None and rt.acd.call_phase(call_id) is CallPhase.CONNECTED:
        if rt.acd.call_agent(call_id) == agent:
            required = rt.acd.queue_config(rt.acd.call_queue(call_id)).wrap_up_required
    return {"wrap_required": required, "wrap_coded": False, "wrap_left_s": None}


def status(rt: AcdRuntime) -> dict[str, Any]:
    """The few numbers `ccd status` shows under 'acd'."""
    stats = rt.acd.statistics(trio.current_time())
    return {
        "queues": len(stats.queues),
        "waiting": sum(q.waiting for q in stats.queues),
        "agents_logged_in": sum(1 for a in stats.agents if a.state is not S.LOGGED_OUT),
        "agents_ready": sum(1 for a in stats.agents if a.state is S.READY),
        "calls_connected": sum(1 for a in stats.agents if a.state in ON_A_CALL),
        "records_written": rt.store.rows_written,
        "store_failures": rt.store.failures,
    }


UNSTAFFED_WAIT_S = 3600.0
"""queue_status's expected_wait_s when no agent is staffed: unknown, reported as an hour so that
a flow comparing it takes its long-wait branch (expected_wait_known says it is a stand-in)."""


def queue_status(rt: AcdRuntime, queue: str) -> dict[str, Any] | None:
    """One queue's load for the IVR's `queue_load` branch and `lookup queue_status` (None: no
    such queue). expected_wait_s is always a number: 0 when an agent is free and nobody waits,
    UNSTAFFED_WAIT_S when no agent is staffed."""
    if queue not in rt.acd.queue_names():
        return None
    q = next(q for q in rt.acd.statistics(trio.current_time()).queues if q.queue == queue)
    expected = q.expected_wait_s
    known = expected is not None or q.agents_staffed > 0
    if expected is None:
        expected = 0.0 if q.agents_staffed else UNSTAFFED_WAIT_S
    return {
        "waiting": q.waiting,
        "agents_ready": q.agents_ready,
        "agents_staffed": q.agents_staffed,
        "expected_wait_s": round(expected, 3),
        "expected_wait_known": known,
        "longest_wait_s": _num(q.longest_wait_s),
    }


def snapshot(rt: AcdRuntime) -> dict[str, Any]:
    """Every queue's and agent's live numbers, and the team leads listening in."""
    now = trio.current_time()
    stats = rt.acd.statistics(now)
    wall = rt.service.wall_time
    queues = [
        {
            "queue": q.queue,
            "waiting": q.waiting,
            "longest_wait_s": _num(q.longest_wait_s),
            "offered": q.offered,
            "answered": q.answered,
            "abandoned": q.abandoned,
            "answered_within_target": q.answered_within_target,
            "timed_out": q.timed_out,
            "callbacks": q.callbacks,
            "left": q.left,
            "overflowed": q.overflowed,
            "service_level": _num(q.service_level),
            "asa_s": _num(q.asa_s),
            "aht_s": _num(q.aht_s),
            "agents_staffed": q.agents_staffed,
            "agents_ready": q.agents_ready,
            "expected_wait_s": _num(q.expected_wait_s),
        }
        for q in stats.queues
    ]
    agents = [
        {
            "agent": a.agent,
            "state": a.state.value,
            "reason": a.reason,
            "since": round(wall(a.since), 3),
            "in_state_s": round(now - a.since, 3),
            "calls": a.calls,
            "station": a.station,
            "call_id": rt.call_of(a.agent),
        }
        for a in stats.agents
    ]
    return {"at": round(wall(now), 3), "at_unix": round(time.time(), 3), "queues": queues,
            "agents": agents, "spies": rt.supervision.list()}
