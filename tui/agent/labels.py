"""The hotline's words for the codes the daemon sends: queue names, work-order types and
statuses, call outcomes, the steps of the IVR. A code with no word is shown as it is (a queue or
a flow node added on site before anyone named it), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ccd.workorders import catalogue as wo_words
from tui.agent.catalog import Texts
from tui.agent.options import Options

# The demo flow's steps (ccd/ivr/flows/utility.toml) as an agent would say them; "" leaves out
# a step that is plumbing (a check the caller does not notice).
IVR_STEPS: dict[str, dict[str, str]] = {
    "zh": {
        "screen": "", "refuse": "拒接（黑名单）", "mark_vip": "", "vip_greeting": "VIP问候",
        "greeting": "欢迎语", "outage_check": "", "outage_first": "停水公告", "main": "主菜单",
        "language": "切换语言", "to_english": "英文", "to_chinese": "中文", "goodbye": "再见",
        "balance": "余额账单", "ask_account": "输入户号", "find_account": "",
        "ask_account_again": "重输户号", "find_account_again": "", "account_not_found": "户号无效",
        "say_balance": "播报余额", "arrears_check": "", "say_arrears": "播报欠费",
        "last_bill": "", "say_bill": "播报账单", "no_bill": "无账单", "last_reading": "",
        "say_reading": "播报抄表", "no_reading": "无抄表", "balance_after": "余额后菜单",
        "report": "报修投诉", "record_repair": "报修录音", "record_complaint": "投诉录音",
        "report_saved": "已生成工单", "report_failed": "工单未生成", "survey": "满意度",
        "outages": "停水查询", "own_area": "", "own_outages": "本区停水",
        "unknown_area": "区域未知", "ask_district": "输入区号", "district_outages": "",
        "say_outages": "播报停水", "no_outages": "无停水", "outages_after": "停水后菜单",
        "status": "工单进度", "status_after": "进度后菜单", "agent": "转人工",
        "restricted": "仅限自助", "agent_queue": "排队", "after_hours": "非工作时间",
        "offer_callback": "预约回电",
    },
    "en": {
        "screen": "", "refuse": "refused (blocked)", "mark_vip": "", "vip_greeting": "VIP greeting",
        "greeting": "greeting", "outage_check": "", "outage_first": "outage notice",
        "main": "main menu", "language": "language", "to_english": "English",
        "to_chinese": "Chinese", "goodbye": "goodbye", "balance": "balance and bill",
        "ask_account": "account number", "find_account": "", "ask_account_again": "account again",
        "find_account_again": "", "account_not_found": "no such account",
        "say_balance": "balance", "arrears_check": "", "say_arrears": "arrears", "last_bill": "",
        "say_bill": "bill", "no_bill": "no bill", "last_reading": "", "say_reading": "reading",
        "no_reading": "no reading", "balance_after": "after balance", "report": "report",
        "record_repair": "repair recording", "record_complaint": "complaint recording",
        "report_saved": "work order opened", "report_failed": "no work order",
        "survey": "survey", "outages": "outages", "own_area": "", "own_outages": "own area",
        "unknown_area": "area unknown", "ask_district": "district code", "district_outages": "",
        "say_outages": "outage notice", "no_outages": "no outage",
        "outages_after": "after outages", "status": "work-order progress",
        "status_after": "after progress", "agent": "agent", "restricted": "self-service only",
        "agent_queue": "queue", "after_hours": "after hours", "offer_callback": "callback offer",
    },
}

CALL_STATUS: dict[str, dict[str, str]] = {
    "ANSWERED": {"zh": "已接通", "en": "answered"},
    "NO ANSWER": {"zh": "未接通", "en": "not answered"},
    "BUSY": {"zh": "忙", "en": "busy"},
    "FAILED": {"zh": "失败", "en": "failed"},
    "REFUSED": {"zh": "已拒绝", "en": "refused"},
    "IN PROGRESS": {"zh": "进行中", "en": "in progress"},
}


DIRECTION: dict[str, dict[str, str]] = {
    "in": {"zh": "呼入", "en": "inbound"},
    "out": {"zh": "外呼", "en": "outbound"},
}


class Labels:
    """Words for codes, in the console's language (`t`), from the daemon's pick lists."""

    def __init__(self, t: Texts, options: Options | None = None) -> None:
        self.t = t
        self.options = options or Options()
        self.lang = t.language

    def queue(self, name: Any) -> str:
        if not name:
            return "-"
        return self.options.queue_label(str(name), self.lang)

    def wo_type(self, code: Any) -> str:
        return dict(self.options.types(self.t)).get(str(code or ""), str(code or ""))

    def wo_status(self, code: Any) -> str:
        return _word(wo_words.STATUS, code, self.lang)

    def call_status(self, code: Any) -> str:
        return _word(CALL_STATUS, code, self.lang)

    def contact_summary(self, kind: Any, summary: Any) -> str:
        """A call's line in the history names its wrap-up code, else its queue, else its
        direction (ccd/history.py): each in words."""
        text = str(summary or "")
        if kind != "call" or not text:
            return text
        coded = dict(self.options.dispositions(self.t))
        if text in coded:
            return coded[text]
        if text in DIRECTION:
            return _word(DIRECTION, text, self.lang)
        return self.queue(text)

    def contact_status(self, kind: Any, code: Any) -> str:
        return self.call_status(code) if kind == "call" else self.wo_status(code)

    def ivr_path(self, nodes: Iterable[Any]) -> str:
        words = IVR_STEPS.get(self.lang, IVR_STEPS["zh"])
        shown = [words.get(str(n), str(n)) for n in nodes]
        return " › ".join(s for s in shown if s)


def _word(table: dict[str, dict[str, str]], code: Any, lang: str) -> str:
    entry = table.get(str(code or ""))
    return (entry.get(lang) or entry["zh"]) if entry else str(code or "")
