"""A flow that branches on the expected wait gets a number even when no agent is staffed (never
a flow_error that hangs up the caller), and `ccd flows validate` warns about that case."""

from __future__ import annotations

from types import SimpleNamespace

from ccd.acd.views import UNSTAFFED_WAIT_S, queue_status
from ccd.ivr.actions import LookedUp, Lookup, Played
from ccd.ivr.catalogue import load_catalogue
from ccd.ivr.check import check_flow, warnings
from ccd.ivr.flow import parse_flow
from ccd.ivr.walker import Walker

FLOW = """
[flow]
name = "wait"
start = "load"
languages = ["zh"]

[nodes.load]
kind = "lookup"
source = "queue_status"
args = { queue = "general" }
into = "qs"
found = "decide"
not_found = "short"

[nodes.decide]
kind = "branch"
cases = [{ when = "var", var = "$qs.expected_wait_s", op = ">", value = 120, goto = "long" }{extra}]
otherwise = "short"

[nodes.long]
kind = "hangup"
prompts = ["common/busy_now"]

[nodes.short]
kind = "hangup"
prompts = ["common/please_hold"]

[nodes.nobody]
kind = "hangup"
prompts = ["common/goodbye"]
"""
STAFFED_CASE = ', { when = "var", var = "$qs.agents_staffed", op = "==", value = 0, goto = "nobody" }'


def flow(extra: str = ""):
    text = FLOW.replace("{extra}", extra)
    if not extra:
        text = text.replace('[nodes.nobody]\nkind = "hangup"\nprompts = ["common/goodbye"]\n', "")
    parsed, faults = parse_flow(text, "wait.toml")
    assert parsed is not None and not faults, faults
    assert check_flow(parsed, load_catalogue()) == []
    return parsed


def fake_runtime(staffed: int, waiting: int, expected: float | None):
    stats = SimpleNamespace(queues=[SimpleNamespace(
        queue="general", waiting=waiting, agents_ready=0, agents_staffed=staffed,
        expected_wait_s=expected, longest_wait_s=None)])
    acd = SimpleNamespace(queue_names=lambda: ["general"], statistics=lambda now: stats)
    return SimpleNamespace(acd=acd)


async def test_no_agent_staffed_gives_a_number_and_says_it_is_a_stand_in() -> None:
    status = queue_status(fake_runtime(staffed=0, waiting=4, expected=None), "general")
    assert status is not None
    assert status["expected_wait_s"] == UNSTAFFED_WAIT_S and not status["expected_wait_known"]
    idle = queue_status(fake_runtime(staffed=2, waiting=0, expected=None), "general")
    assert idle is not None and idle["expected_wait_s"] == 0 and idle["expected_wait_known"]
    known = queue_status(fake_runtime(staffed=2, waiting=3, expected=95.5), "general")
    assert known is not None and known["expected_wait_s"] == 95.5

    walker = Walker(flow(), caller="13800000000")
    actions = [walker.start(0.0)]
    actions.append(walker.feed(LookedUp(status), 0.0))
    assert actions[0] == Lookup("queue_status", {"queue": "general"})
    assert actions[1].prompts == ("common/busy_now",)  # type: ignore[attr-defined]
    walker.feed(Played(), 0.0)
    assert walker.path == ["load", "decide", "long"]


def test_the_validator_warns_until_the_unstaffed_case_is_tested() -> None:
    assert len(warnings(flow())) == 1
    assert "$qs.agents_staffed" in warnings(flow())[0]
    assert warnings(flow(STAFFED_CASE)) == []
