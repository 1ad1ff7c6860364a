"""The walker fed event by event (no I/O), through the demo flow and small flows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ccd.ivr import say
from ccd.ivr.actions import (
    Collect,
    Collected,
    Done,
    Enqueue,
    Finish,
    HungUp,
    LookedUp,
    Lookup,
    OpenWorkOrder,
    Play,
    Played,
    Queued,
    Record,
    Recorded,
    RequestCallback,
    SaveSurvey,
    Speech,
    Transfer,
    Transferred,
    WorkOrderOpened,
)
from ccd.ivr.catalogue import load_catalogue
from ccd.ivr.flow import Flow, validate_flow
from ccd.ivr.walker import Walker, WalkerMisuse
from tests.ivr.fakes import CUSTOMER, OUTAGE

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue()
UTILITY = validate_flow(ROOT / "ccd" / "ivr" / "flows" / "utility.toml", CATALOGUE)
CALLER = "13800138000"
# 2026-06-01 09:00 in Shanghai.
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
NOBODY = LookedUp({"vip": False, "blocked": False, "customer_id": None})
MENU = Play(("menu/main", "menu/language"), "zh")
KEY = Collect(1, 6.0, 3.0, "")


def flow_from(tmp_path: Path, text: str) -> Flow:
    path = tmp_path / "flow.toml"
    path.write_text(text, encoding="utf-8")
    return validate_flow(path, CATALOGUE)


def drive(walker: Walker, *events: object) -> list[object]:
    """Start the walk (if not started) and feed `events`; returns every action in order."""
    actions = [] if walker.path else [walker.start(NOW)]
    for event in events:
        actions.append(walker.feed(event, NOW))  # type: ignore[arg-type]
    return actions


def to_menu(walker: Walker) -> list[object]:
    """From the start to the main menu's key wait, for a caller with no flags and no outage."""
    return drive(walker, NOBODY, Played(), LookedUp(None), Played())


def test_screening_greeting_outage_check_and_menu() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    assert to_menu(walker) == [
        Lookup("caller_flags", {"phone": CALLER}),  # one lookup serves blocked and vip
        Play(("greeting/welcome",), "zh"),
        Lookup("outage_for_caller", {"phone": CALLER, "lang": "zh"}),
        MENU,
        KEY,
    ]
    assert walker.path == ["screen", "greeting", "outage_check", "menu_choice", "main"]


def test_balance_path_reads_balance_bill_and_reading() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    bill = {"period": "2026-05", "amount_fen": 8650, "paid_fen": 0, "due_at": "", "usage": 23}
    reading = {"read_at": "2026-05-20T02:00:00Z", "reading": 1234.5, "usage": 23}
    actions = drive(walker, Collected("1"), LookedUp(dict(CUSTOMER)), Played(),
                    LookedUp(bill), Played(), LookedUp(reading), Played(), Played(),
                    Collected(""), Played())
    assert actions == [
        Lookup("customer_by_phone", {"phone": CALLER}),
        Play(("balance/balance_is", *say.amount(12345)), "zh"),
        Lookup("last_bill", {"account_no": "10012345"}),
        Play(("balance/bill_intro", *say.month(2026, 5), "balance/bill_amount",
              *say.amount(8650)), "zh"),
        Lookup("last_reading", {"account_no": "10012345"}),
        Play(("balance/reading_intro", *say.date(dt.date(2026, 5, 20)), "balance/reading_value",
              *say.number("1234.5"), "unit/cubic_metre"), "zh"),
        Play(("menu/after",), "zh"),
        KEY,
        Play(("common/goodbye",), "zh", barge_in=False),
        Finish("completed"),
    ]
    summary = walker.summary()
    assert summary.disposition == "completed"
    assert summary.digits == "1"
    assert summary.account_no == "10012345" and summary.customer_id == 1
    assert summary.path[-3:] == ["say_reading", "balance_after", "goodbye"]


def test_arrears_are_said_when_there_are_any() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    owing = dict(CUSTOMER, arrears_fen=200)
    actions = drive(walker, Collected("1"), LookedUp(owing), Played())
    assert actions[-1] == Play(("balance/arrears_is", *say.amount(200), "balance/pay_soon"), "zh")
    assert say.amount(200) == ["num/liang", "money/yuan", "money/zheng"]


def test_unknown_caller_keys_in_the_account_number() -> None:
    walker = Walker(UTILITY, caller="02100000000")
    to_menu(walker)
    actions = drive(walker, Collected("1"), LookedUp(None), Played(), Collected("123#"),
                    Played(), Collected("10012345#"), LookedUp(dict(CUSTOMER)))
    assert actions[1] == Play(("balance/enter_account",), "zh")
    assert actions[2] == Collect(12, 6.0, 3.0, "#")
    # Three digits are too few: the invalid prompt, then the question again.
    assert actions[3] == Play(("common/invalid", "balance/enter_account"), "zh")
    assert actions[5] == Lookup("customer_by_account", {"account_no": "10012345"})
    assert actions[6] == Play(("balance/balance_is", *say.amount(12345)), "zh")
    assert walker.digits == "1123#10012345#"
    assert walker.vars["account_no"] == "10012345"


def test_wrong_keys_three_times_end_politely() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected("5"), Played(), Collected("7"), Played(), Collected("8"),
                    Played())
    assert actions == [
        Play(("common/invalid", "menu/main", "menu/language"), "zh"), KEY,
        Play(("common/invalid", "menu/main", "menu/language"), "zh"), KEY,
        Play(("common/too_many_failures",), "zh", barge_in=False),
        Finish("ivr_failed"),
    ]
    assert walker.digits == "578"
    failed = [d for kind, d in walker.take_events() if kind == "input_failed"]
    assert [(d["reason"], d["count"]) for d in failed] == [("invalid", 1), ("invalid", 2),
                                                           ("invalid", 3)]


def test_silence_is_met_with_no_input_prompts_and_a_wrong_key_with_invalid() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected(""), Played(), Collected("6"), Played(), Collected("1"))
    assert actions[0] == Play(("common/no_input", "menu/main", "menu/language"), "zh")
    assert actions[2] == Play(("common/invalid", "menu/main", "menu/language"), "zh")
    assert actions[4] == Lookup("customer_by_phone", {"phone": CALLER})  # third try worked


def test_blocked_caller_is_refused_politely() -> None:
    walker = Walker(UTILITY, caller="13666666666")
    actions = drive(walker, LookedUp({"vip": False, "blocked": True}), Played())
    assert actions == [Lookup("caller_flags", {"phone": "13666666666"}),
                       Play(("common/blocked",), "zh", barge_in=False),
                       Finish("blocked")]
    assert walker.path == ["screen", "refuse"]


def test_vip_is_marked_for_priority() -> None:
    walker = Walker(UTILITY, caller="13888888888")
    actions = drive(walker, LookedUp({"vip": True, "blocked": False}))
    assert actions[-1] == Play(("greeting/vip",), "zh")
    assert walker.vars["vip"] is True and walker.vars["priority"] == 10
    assert walker.summary().vip is True and walker.summary().priority == 10
    assert ("set", {"node": "mark_vip", "vars": {"vip": True, "priority": 10}}) \
        in walker.take_events()


def test_outage_in_the_callers_district_comes_first() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    actions = drive(walker, NOBODY, Played(), LookedUp(dict(OUTAGE)))
    # Restoration at 10:00 UTC is 18:00 in Shanghai, on the same day as NOW.
    assert actions[-1] == Play(("outage/notice", Speech("和平路一带"), "outage/because",
                                Speech("管道抢修"), "outage/restore_at", "date/today",
                                *say.time(dt.time(18, 0)), "outage/apology"), "zh")
    assert walker.vars["outage"]["area"] == "和平路一带"


def test_nine_switches_to_english_and_back() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected("9"), LookedUp(None), Played(), Collected("9"))
    assert actions[0] == Lookup("outage_for_caller", {"phone": CALLER, "lang": "en"})
    assert actions[1] == Play(("menu/main", "menu/language"), "en")
    assert actions[3] == Play(("menu/main", "menu/language"), "zh")
    assert walker.summary().lang == "zh"


def test_hang_up_mid_prompt_ends_the_walk_with_the_path() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected("1"), LookedUp(dict(CUSTOMER)), HungUp())
    assert actions[-1] == Finish("abandoned", hangup=False)
    summary = walker.summary()
    assert summary.hung_up and summary.disposition == "abandoned"
    assert summary.path[-1] == "say_balance"
    events = walker.take_events()
    assert ("hangup", {"by": "caller", "cause": 200, "node": "say_balance"}) in events
    with pytest.raises(WalkerMisuse):
        walker.feed(Played(), NOW)


def test_an_event_that_does_not_answer_the_action_is_misuse() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    walker.start(NOW)
    with pytest.raises(WalkerMisuse, match="Played does not answer Lookup"):
        walker.feed(Played(), NOW)
    with pytest.raises(WalkerMisuse, match="HungUp answers a channel action"):
        walker.feed(HungUp(), NOW)


def repair_to_recording(walker: Walker) -> list[object]:
    to_menu(walker)
    return drive(walker, Collected("2"), Played(), Collected("1"))


def test_repair_report_is_recorded_and_becomes_a_work_order() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    assert repair_to_recording(walker)[-1] == Play(("repair/instructions", "common/beep"), "zh",
                                                   barge_in=False)
    actions = drive(walker, Played(), Recorded("/rec/c1.wav", 12.5, "digit", "#"),
                    WorkOrderOpened("20260007"))
    assert actions[0] == Record("record_repair", 120.0, 5.0, "#")
    assert actions[1] == OpenWorkOrder("repair", "", "/rec/c1.wav")
    number = say.digits("20260007", group=4)
    assert actions[2] == Play(("repair/saved", *number, "repair/again", *number,
                               "repair/thanks"), "zh")
    assert walker.vars["report"] == {"recording": "/rec/c1.wav", "seconds": 12.5,
                                     "number": "20260007"}
    # Then the survey: one question, key 2, saved.
    actions = drive(walker, Played(), Played(), Played(), Collected("2"), Done())
    assert actions[0] == Play(("survey/intro",), "zh")
    assert actions[1] == Play(("survey/satisfaction",), "zh")
    assert actions[3] == SaveSurvey("survey", {"survey_satisfaction": "2"})
    assert actions[4] == Play(("survey/thanks",), "zh")
    summary = walker.summary()
    assert summary.work_orders == ["20260007"] and summary.recordings == ["/rec/c1.wav"]
    assert summary.digits == "21#2"  # menu key, repair key, the # ending the recording, survey


def test_a_known_customers_report_carries_the_account() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    drive(walker, Collected("1"), LookedUp(dict(CUSTOMER)), Played(), LookedUp(None), Played(),
          LookedUp(None), Played(), Played(), Collected("*"), Played(), Collected("2"), Played(),
          Collected("2"), Played())
    action = walker.feed(Recorded("/rec/x.wav", 3.0, "silence"), NOW)
    assert action == OpenWorkOrder("complaint", "10012345", "/rec/x.wav")


def test_too_short_a_recording_is_asked_again() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    repair_to_recording(walker)
    actions = drive(walker, Played(), Recorded("/rec/a.wav", 0.2, "silence"))
    assert actions[-1] == Play(("repair/too_short", "repair/instructions", "common/beep"), "zh",
                               barge_in=False)


def test_a_caller_who_hangs_up_while_recording_still_leaves_a_work_order() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    repair_to_recording(walker)
    actions = drive(walker, Played(), Recorded("/rec/b.wav", 4.0, "hangup"),
                    WorkOrderOpened("20260008"))
    assert actions[-2] == OpenWorkOrder("repair", "", "/rec/b.wav")
    assert actions[-1] == Finish("abandoned", hangup=False)
    assert walker.summary().work_orders == ["20260008"]


def test_work_order_service_failure_goes_to_on_error() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    repair_to_recording(walker)
    actions = drive(walker, Played(), Recorded("/rec/c.wav", 4.0, "digit", "#"),
                    WorkOrderOpened(error="RuntimeError: down"))
    assert actions[-1] == Play(("repair/failed",), "zh")
    assert walker.path[-1] == "report_failed"


def test_work_order_status_is_read_back() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    order = {"number": "20260001", "kind": "repair", "status": "dispatched",
             "created_at": "2026-05-30T01:00:00Z", "updated_at": "2026-05-31T06:30:00Z"}
    actions = drive(walker, Collected("4"), Played(), Collected("20260001#"), LookedUp(order))
    assert actions[0] == Play(("wo/enter_number",), "zh")
    assert actions[2] == Lookup("work_order_status", {"number": "20260001"})
    assert actions[3] == Play(("wo/number_is", *say.digits("20260001", group=4), "wo/status_is",
                               "wo/status/dispatched", "wo/updated_at", "date/yesterday",
                               *say.time(dt.time(14, 30))), "zh")
    unknown = drive(walker, Played(), Played(), Collected("1"), Played(), Collected("999999#"),
                    LookedUp(None))
    assert unknown[-1] == Play(("wo/not_found",), "zh")
    odd = drive(walker, Played(), Played(), Collected("20260001#"),
                LookedUp(dict(order, status="archived")))
    assert "wo/status/unknown" in odd[-1].prompts  # type: ignore[attr-defined]


def test_agent_falls_back_to_transfer_then_offers_a_callback() -> None:
    walker = Walker(UTILITY, caller=CALLER, variables={"agent_uri": "sip:agent@127.0.0.1"})
    to_menu(walker)
    actions = drive(walker, Collected("0"), Played(), Queued("unavailable"),
                    Transferred(False, "busy"), Played(), Played(), Collected("2"), Played(),
                    Collected("02155550000#"), Done(), Played())
    assert actions[:4] == [
        Play(("transfer/connecting",), "zh", barge_in=False),
        Enqueue("general", 0),
        Transfer("sip:agent@127.0.0.1", CALLER, 30.0),
        Play(("transfer/failed",), "zh", barge_in=False),
    ]
    assert actions[4] == Play(("callback/offer", *say.digits(CALLER, group=4),
                               "callback/choose"), "zh")
    assert actions[8] == RequestCallback("02155550000", "", "general")
    assert actions[9] == Play(("callback/confirmed",), "zh")
    assert actions[10] == Play(("common/goodbye",), "zh", barge_in=False)


def test_answered_transfer_ends_the_walk_without_hanging_up() -> None:
    walker = Walker(UTILITY, caller="13888888888", variables={"agent_uri": "sip:a@h"})
    drive(walker, LookedUp({"vip": True, "blocked": False}), Played(), Played(), LookedUp(None),
          Played())
    actions = drive(walker, Collected("0"), Played(), Queued("unavailable"), Transferred(True))
    assert actions[1] == Enqueue("general", 10)  # the VIP's priority goes to the queue
    assert actions[-1] == Finish("transferred", hangup=False)


def test_the_acd_taking_the_call_ends_the_walk() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected("0"), Played(), Queued("connected"))
    assert actions[-1] == Finish("queued", hangup=False)


def test_no_agent_uri_means_a_failed_transfer() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected("0"), Played(), Queued("unavailable"))
    assert actions[-1] == Play(("transfer/failed",), "zh", barge_in=False)


def test_lookup_failure_takes_the_not_found_way() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected("1"), LookedUp(None, error="OperationalError: locked"))
    assert actions[-1] == Play(("balance/enter_account",), "zh")
    assert ("lookup", {"node": "balance", "source": "customer_by_phone",
                       "args": {"phone": CALLER}, "found": False,
                       "error": "OperationalError: locked"}) in walker.take_events()


def test_data_the_flow_cannot_use_ends_the_call_politely() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected("1"), LookedUp(dict(CUSTOMER, balance_fen="lots")),
                    Played())
    assert actions[-2] == Play(("common/system_error",), "zh", barge_in=False)
    assert actions[-1] == Finish("error")
    errors = [d for kind, d in walker.take_events() if kind == "flow_error"]
    assert errors == [{"node": "say_balance", "error": "node 'say_balance': cannot say 'lots' "
                       "as amount: 'lots' is not a number"}]


SMALL = """
[flow]
name = "small"
start = "hours"
max_steps = 6

[calendar]
timezone = "Asia/Shanghai"
hours = { daily = "08:00-12:00,13:00-17:30", sun = "closed", workday = "09:00-12:00" }
holidays = [2026-10-01]
workdays = [2026-10-11]

[nodes.hours]
kind = "branch"
cases = [{ when = "holiday", goto = "closed" }, { when = "business_hours", goto = "open" }]
otherwise = "closed"

[nodes.open]
kind = "hangup"
prompts = ["common/please_hold"]
disposition = "open"

[nodes.closed]
kind = "hangup"
disposition = "closed"
"""


def shanghai(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()


@pytest.mark.parametrize(("moment", "disposition"), [
    ((2026, 6, 1, 9, 0), "open"),      # Monday morning
    ((2026, 6, 1, 12, 30), "closed"),  # lunch
    ((2026, 6, 1, 17, 29), "open"),
    ((2026, 6, 1, 17, 30), "closed"),
    ((2026, 6, 7, 10, 0), "closed"),   # Sunday
    ((2026, 6, 6, 10, 0), "open"),     # Saturday: daily hours
    ((2026, 10, 1, 10, 0), "closed"),  # a holiday on a Thursday
    ((2026, 10, 11, 10, 0), "open"),   # a make-up workday on a Sunday
    ((2026, 10, 11, 13, 30), "closed"),
])
def test_business_hours_and_holidays(tmp_path: Path, moment: tuple[int, ...],
                                     disposition: str) -> None:
    walker = Walker(flow_from(tmp_path, SMALL), caller=CALLER)
    action = walker.start(shanghai(*moment))
    if isinstance(action, Play):
        action = walker.feed(Played(), shanghai(*moment))
    assert action == Finish(disposition)


def test_a_looping_flow_is_stopped(tmp_path: Path) -> None:
    text = SMALL.replace('otherwise = "closed"', 'otherwise = "again"') + (
        '\n[nodes.again]\nkind = "play"\nprompts = ["common/please_hold"]\nnext = "hours"\n')
    walker = Walker(flow_from(tmp_path, text), caller=CALLER)
    night = shanghai(2026, 6, 1, 23, 0)
    actions = [walker.start(night)]
    while not isinstance(actions[-1], Finish):
        actions.append(walker.feed(Played(), night))
    assert actions[-2] == Play(("common/system_error",), "zh", barge_in=False)
    assert actions[-1] == Finish("error")
    assert walker.path == ["hours", "again", "hours", "again", "hours", "again"]


def test_leaving_the_queue_for_self_service_goes_back_to_the_menu() -> None:
    walker = Walker(UTILITY, caller=CALLER)
    to_menu(walker)
    actions = drive(walker, Collected("0"), Played(), Queued("left"))
    assert actions[-1] == Play(("menu/main", "menu/language"), "zh")
    assert walker.path[-1] == "main"


@pytest.mark.parametrize(("moment", "opens"), [
    ((2026, 6, 1, 12, 30), (2026, 6, 1, 13, 0)),    # lunch: back at 13:00 today
    ((2026, 6, 1, 18, 0), (2026, 6, 2, 8, 0)),      # evening: tomorrow 08:00
    ((2026, 6, 6, 18, 0), (2026, 6, 8, 8, 0)),      # Saturday evening: Sunday is closed
    ((2026, 9, 30, 18, 0), (2026, 10, 2, 8, 0)),    # the eve of a holiday
])
def test_the_closed_message_says_when_the_calendar_opens_again(
        tmp_path: Path, moment: tuple[int, ...], opens: tuple[int, ...]) -> None:
    """'人工服务将于 … 恢复' comes from [calendar], not a fixed '每天八点至二十点'."""
    text = SMALL.replace('''[nodes.closed]
kind = "hangup"
disposition = "closed"''', '''[nodes.closed]
kind = "hangup"
prompts = ["transfer/closed", { say = "datetime", value = "$next_open?" }, "transfer/closed_after"]
disposition = "closed"''')
    walker = Walker(flow_from(tmp_path, text), caller=CALLER)
    now = shanghai(*moment)
    action = walker.start(now)
    assert isinstance(action, Play)
    back = dt.datetime(*opens, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    local_now = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=8)))
    spoken = list(say.datetime(back, "zh", today=local_now.date()))
    assert action.prompts == ("transfer/closed", *spoken, "transfer/closed_after")


def test_no_opening_in_sight_says_no_time(tmp_path: Path) -> None:
    text = SMALL.replace('hours = { daily = "08:00-12:00,13:00-17:30", sun = "closed", '
                         'workday = "09:00-12:00" }', 'hours = { daily = "closed" }').replace(
        '''[nodes.closed]
kind = "hangup"
disposition = "closed"''', '''[nodes.closed]
kind = "hangup"
prompts = ["transfer/closed", { say = "datetime", value = "$next_open?" }, "transfer/closed_after"]
disposition = "closed"''')
    walker = Walker(flow_from(tmp_path, text), caller=CALLER)
    action = walker.start(shanghai(2026, 6, 1, 9, 0))
    assert isinstance(action, Play)
    assert action.prompts == ("transfer/closed", "transfer/closed_after")


def test_in_surge_mode_the_caller_hears_the_surge_menu_after_the_outage_notice() -> None:
    walker = Walker(UTILITY, caller=CALLER, variables={"surge": True})
    actions = drive(walker, NOBODY, Played(), LookedUp(OUTAGE), Played(), Played())
    assert actions[3].prompts[0] == "outage/notice"  # type: ignore[attr-defined]
    assert actions[4:] == [Play(("surge/notice", "menu/surge", "menu/language"), "zh"), KEY]
    assert walker.path == ["screen", "greeting", "outage_check", "outage_first", "menu_choice",
                           "surge_menu"]
    # 5 in the surge menu is the callback offer.
    assert "5" in UTILITY.nodes["surge_menu"].options  # type: ignore[attr-defined]
