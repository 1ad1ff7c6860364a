"""Every user-visible word of the work-order feature, Chinese first, English second.

Screens, SMS texts and the CLI take their words from here, never from string literals in code.
"""

from __future__ import annotations

from typing import Any

from ccd.words import text

STATUS: dict[str, dict[str, str]] = {
    "new": {"zh": "已受理", "en": "Registered"},
    "dispatched": {"zh": "已派单", "en": "Dispatched"},
    "accepted": {"zh": "处理中", "en": "In progress"},
    "paused": {"zh": "已挂起", "en": "Paused"},
    "close_requested": {"zh": "待结单", "en": "Awaiting closure"},
    "closed": {"zh": "已办结", "en": "Closed"},
    "cancelled": {"zh": "已撤销", "en": "Cancelled"},
}

EVENT: dict[str, dict[str, str]] = {
    "create": {"zh": "受理", "en": "Registered"},
    "dispatch": {"zh": "派单", "en": "Dispatched"},
    "accept": {"zh": "接单", "en": "Accepted"},
    "feedback": {"zh": "回复", "en": "Feedback"},
    "pause": {"zh": "挂起", "en": "Paused"},
    "resume": {"zh": "恢复", "en": "Resumed"},
    "request_close": {"zh": "申请结单", "en": "Closure requested"},
    "close": {"zh": "结单", "en": "Closed"},
    "send_back": {"zh": "退单", "en": "Sent back"},
    "cancel": {"zh": "撤销", "en": "Cancelled"},
    "remind": {"zh": "催办", "en": "Reminder"},
    "escalate": {"zh": "督办", "en": "Escalated"},
    "attach": {"zh": "附件", "en": "Attachment"},
    "notify": {"zh": "通知客户", "en": "Customer notified"},
}

PRIORITY: dict[str, dict[str, str]] = {
    "urgent": {"zh": "紧急", "en": "Urgent"},
    "high": {"zh": "较急", "en": "High"},
    "normal": {"zh": "一般", "en": "Normal"},
    "low": {"zh": "低", "en": "Low"},
}

SMS_CLOSED: dict[str, str] = {
    "zh": "【{site}】您的工单{number}已办结。处理结果：{resolution}。如有疑问请致电本热线。",
    "en": "[{site}] Your case {number} has been closed. Result: {resolution}. "
    "Call the hotline if you have any questions.",
}

NOT_NOTIFIED_NO_PHONE: dict[str, str] = {
    "zh": "无联系电话，未通知客户",
    "en": "no contact number; customer not notified",
}

ERRORS: dict[str, dict[str, str]] = {
    "wo-illegal-transition": {
        "zh": "工单{number}当前状态为“{status}”，不能{event}",
        "en": "work order {number} is {status}; it cannot be {event}",
    },
    "wo-note-required": {
        "zh": "{event}需要填写说明",
        "en": "{event} needs a note",
    },
    "wo-department-required": {
        "zh": "派单需要选择处理部门",
        "en": "dispatching needs a department",
    },
    "wo-unknown-department": {"zh": "没有部门“{department}”", "en": "no department {department!r}"},
    "wo-unknown-type": {"zh": "没有工单类型“{type}”", "en": "no work order type {type!r}"},
    "no-such-work-order": {"zh": "没有工单{number}", "en": "no work order {number}"},
    "wo-hotline-only": {
        "zh": "工单{number}的“{action}”须由热线办理，部门人员不能办理",
        "en": "'{action}' on work order {number} is done by the hotline, not by the department",
    },
    "wo-not-your-department": {
        "zh": "工单{number}不属于您的部门",
        "en": "work order {number} belongs to another department",
    },
    "wo-bad-value": {"zh": "{field}的值无效", "en": "bad value for {field}"},
}


def word(table: dict[str, dict[str, str]], key: str, lang: str = "zh") -> str:
    """The word for `key` in `lang` (Chinese when the language is missing; the key when unknown)."""
    return text(table, key, lang) if key in table else key


def error_text(error_id: str, lang: str = "zh", **details: Any) -> str:
    """A screen message for a work-order error id, filled from the error's details."""
    if error_id not in ERRORS:
        return error_id
    values = dict(details)
    if "status" in values:
        values["status"] = word(STATUS, str(values["status"]), lang)
    if "event" in values:
        values["event"] = word(EVENT, str(values["event"]), lang)
    return text(ERRORS, error_id, lang, **values)
