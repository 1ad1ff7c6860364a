"""A scripted morning at the hotline, played through the real ACD core.

Times are seconds after T0 = 2026-11-23 08:00:00 Asia/Shanghai; with 15-minute intervals,
08:00–08:15 is interval 32 ("I0") and 08:15–08:30 interval 33 ("I1"). Queues: general (answer
within 20 s, wrap-up 30 s) and billing (30 s, wrap-up 10 s). Agents a1 and a2 take general,
a3 takes billing.

  c1 general  enters 10, a1 answers 15 (wait 5), holds 100–130, hangs up 200, wrap-up to 230.
  c2 general  enters 20, a2 answers 45 (wait 25), blind transfer to billing at 120 (a2 wraps
              up to 150); in billing: offered at 120, a3 answers 125 (wait 5), hangs up 300,
              wrap-up to 310.
  c3 general  enters 30, hangs up 33: a short abandon (3 s < 5 s).
  c4 general  enters 40, hangs up 100: abandoned after 60 s.
  c5 general  enters 890 (08:14:50, I0), a2 answers 910 (08:15:10, I1: wait 20, within);
              counted in I0. a2 hangs up 1000, wrap-up to 1030.
  c6 general  enters 1005 (I1), rings a1, no answer by 1035 (a1 not ready, missed); rings a2
              (ready since 1030), who answers 1040 (wait 35). a1 ready 1050; a2 consults a1 at 1100 (a2 holds the caller),
              a1 answers 1105, a2 transfers at 1160 (a2 wraps up to 1190); a1 hangs up 1400,
              wrap-up to 1430.
  a3 goes not ready ('meal') at 1100.
  c7 billing  enters 1200, asks for a callback at 1260.
  c8 billing  enters 1300, goes back to self-service at 1310.
  c9 billing  enters 1320, hangs up 1330: abandoned after 10 s.
  Everyone logs out at 1500.
"""

from __future__ import annotations

from ccd.acd import model as m
from ccd.reports.intervals import Calendar
from ccd.reports.rows import Event, from_record
from tests.acd.harness import Harness, rung

DAY = "2026-11-23"
CALENDAR = Calendar("Asia/Shanghai", 15)
T0 = CALENDAR.interval_start((DAY, 32))  # 08:00 local
I0, I1 = 32, 33
TARGETS = {"general": 20.0, "billing": 30.0}
SHORT_ABANDON_S = 5.0
END = T0 + 1500

QUEUES = [
    m.QueueConfig("general", skills={"water": 1}, wrap_up_s=30, service_level_s=20,
                  ring_timeout_s=30),
    m.QueueConfig("billing", skills={"billing": 1}, wrap_up_s=10, service_level_s=30,
                  ring_timeout_s=30),
]
AGENTS = [
    m.AgentConfig("a1", {"water": 5}),
    m.AgentConfig("a2", {"water": 5}),
    m.AgentConfig("a3", {"billing": 5}),
]


def play() -> Harness:
    """Run the script; returns the harness holding every record (record.at is Unix time)."""
    h = Harness(QUEUES, AGENTS)

    def at(t: float, event: m.Event) -> m.Step:
        h.run_until(T0 + t)
        return h.feed(event, T0 + t)

    def enter(t: float, call_id: str, queue: str) -> m.Step:
        h.run_until(T0 + t)
        return h.enter(call_id, queue, T0 + t)

    for agent in ("a1", "a2", "a3"):
        at(0, m.AgentLogin(agent, f"seat-{agent}", ready=True))
    assert rung(enter(10, "c1", "general")) == [("a1", "c1")]
    at(15, m.AgentAnswered("a1", "c1"))
    assert rung(enter(20, "c2", "general")) == [("a2", "c2")]
    enter(30, "c3", "general")
    at(33, m.CallerHangup("c3"))
    enter(40, "c4", "general")
    at(45, m.AgentAnswered("a2", "c2"))
    at(100, m.CallerHangup("c4"))
    at(100, m.Hold("a1"))
    assert rung(at(120, m.TransferToQueue("a2", "billing"))) == [("a3", "c2")]
    at(125, m.AgentAnswered("a3", "c2"))
    at(130, m.Unhold("a1"))
    at(200, m.AgentHangup("a1"))
    at(300, m.AgentHangup("a3"))
    assert rung(enter(890, "c5", "general")) == [("a2", "c5")]  # ready since 150, a1 since 230
    at(910, m.AgentAnswered("a2", "c5"))
    at(1000, m.AgentHangup("a2"))
    assert rung(enter(1005, "c6", "general")) == [("a1", "c6")]
    h.run_until(T0 + 1036)  # a2's wrap-up ends at 1030; a1's ring times out at 1035
    assert h.state("a1") is m.AgentState.NOT_READY
    assert h.state("a2") is m.AgentState.RINGING
    at(1040, m.AgentAnswered("a2", "c6"))
    at(1050, m.AgentReady("a1"))
    at(1100, m.AgentNotReady("a3", "meal"))
    at(1100, m.ConsultStart("a2", "a1"))
    at(1105, m.AgentAnswered("a1", "c6"))
    at(1160, m.ConsultTransfer("a2"))
    enter(1200, "c7", "billing")
    at(1260, m.CallbackRequest("c7", "13900000007"))
    enter(1300, "c8", "billing")
    at(1310, m.CallerLeaves("c8"))
    enter(1320, "c9", "billing")
    at(1330, m.CallerHangup("c9"))
    at(1400, m.AgentHangup("a1"))
    h.run_until(T0 + 1500)
    for agent in ("a1", "a2", "a3"):
        at(1500, m.AgentLogout(agent))
    return h


def events() -> list[Event]:
    """The morning's records as report events, in the order the core produced them."""
    return [from_record(r, r.at) for r in play().records]
