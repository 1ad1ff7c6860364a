"""The `[console]` section of ccd.toml: what the agent console offers its agents to choose from.

- `not_ready_reasons`: the reasons an agent may give for going not ready (示忙原因);
- `dispositions`: the wrap-up codes a call may be closed with (话后处理结果);
- `survey`: the satisfaction-survey script (满意度回访) agents read on the phone: an
  introduction, the questions with the kind of answer each takes, and a closing.

Each choice is `{code, zh, en}`; the daemon refuses any code not listed (`agent.not_ready`,
`agent.wrap_up`). The reasons the ACD sets by itself ('login', 'missed', 'supervisor') may not be
listed: an agent cannot pick them. The script's texts may name `{site}` (site.name) and
`{number}` (the work order's number); `task.survey` fills them in.

The structs mirror `ccd.config.Base` (keyword-only, unknown keys refused) without importing it, so
`ccd.config` can import this module at its top without a cycle.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Literal

import msgspec

from ccd.errors import ConfigError

QuestionKind = Literal["score", "yes_no", "text"]
CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Set by the ACD, never chosen by an agent (ccd/acd/model.py, ccd/acd/runtime.py).
SYSTEM_REASONS = frozenset({"login", "missed", "supervisor"})
# What the script's texts may name; `task.survey` fills them in.
PLACEHOLDERS = frozenset({"site", "number"})


class _Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Choice(_Base):
    """One entry of a pick list: a code stored in the database and its words on screen."""

    code: str
    zh: str
    en: str = ""


class Question(_Base):
    """One survey question. kind: 'score' (1-5, fills `surveys.score`), 'yes_no' or 'text'."""

    id: str
    zh: str
    en: str = ""
    kind: QuestionKind = "text"


def _default_reasons() -> list[Choice]:
    return [
        Choice(code="break", zh="小休", en="break"),
        Choice(code="meal", zh="用餐", en="meal"),
        Choice(code="training", zh="培训", en="training"),
        Choice(code="meeting", zh="会议", en="meeting"),
        Choice(code="after_call", zh="话后工作", en="after-call work"),
    ]


def _default_dispositions() -> list[Choice]:
    return [
        Choice(code="enquiry", zh="咨询", en="enquiry"),
        Choice(code="billing", zh="缴费/账单", en="billing"),
        Choice(code="repair", zh="报修", en="repair"),
        Choice(code="complaint", zh="投诉", en="complaint"),
        Choice(code="outage", zh="停水停电咨询", en="outage enquiry"),
        Choice(code="other", zh="其他", en="other"),
    ]


def _default_questions() -> list[Question]:
    # The usual 满意度回访 of a utility hotline: overall satisfaction, whether the problem is
    # solved, whether the published time limit (时限) was kept, and room for anything else.
    return [
        Question(
            id="overall",
            kind="score",
            zh="请问您对这次工单的处理总体是否满意？请打 1 到 5 分，5 分为非常满意。",
            en="Overall, how satisfied are you with how your work order was handled? "
            "Please give a score from 1 to 5, 5 being very satisfied.",
        ),
        Question(
            id="solved",
            kind="yes_no",
            zh="您反映的问题现在是否已经解决？",
            en="Has the problem you reported been solved?",
        ),
        Question(
            id="on_time",
            kind="yes_no",
            zh="工作人员是否在承诺的时限内与您联系或上门处理？",
            en="Did our staff contact you or come out within the time we promised?",
        ),
        Question(
            id="comments",
            kind="text",
            zh="您还有其他意见或建议要告诉我们吗？",
            en="Is there anything else you would like to tell us?",
        ),
    ]


class SurveyScript(_Base):
    intro_zh: str = (
        "您好，这里是{site}。您之前反映的问题（工单号 {number}）已经处理完毕，"
        "想占用您一分钟做个满意度回访，可以吗？"
    )
    intro_en: str = (
        "Hello, this is {site}. The matter you reported (work order {number}) has been dealt "
        "with. May I take a minute of your time for a short satisfaction survey?"
    )
    closing_zh: str = "感谢您的支持与配合，祝您生活愉快，再见！"
    closing_en: str = "Thank you for your time. Goodbye!"
    questions: list[Question] = msgspec.field(default_factory=_default_questions)


class ConsoleSettings(_Base):
    # Reasons an agent may give for going not ready (示忙原因).
    not_ready_reasons: list[Choice] = msgspec.field(default_factory=_default_reasons)
    # Wrap-up codes (话后处理结果) a call may be closed with.
    dispositions: list[Choice] = msgspec.field(default_factory=_default_dispositions)
    # The satisfaction-survey script (满意度回访) agents read on the phone.
    survey: SurveyScript = msgspec.field(default_factory=SurveyScript)


def _fail(key: str, why: str) -> None:
    raise ConfigError(f"console.{key} {why}", key=f"console.{key}")


def _check_code(key: str, code: str) -> None:
    if not CODE.match(code):
        _fail(key, f"{code!r} must be a lower-case letter, then up to 31 lower-case letters, "
              "digits or _")


def _check_choices(name: str, choices: Sequence[Choice]) -> None:
    if not choices:
        _fail(name, "needs at least one entry")
    seen: set[str] = set()
    for i, choice in enumerate(choices):
        _check_code(f"{name}[{i}].code", choice.code)
        if choice.code in seen:
            _fail(f"{name}[{i}].code", f"{choice.code!r} is listed twice")
        seen.add(choice.code)
        if not choice.zh.strip():
            _fail(f"{name}[{i}].zh", "must not be empty (the words agents see)")


def _check_placeholders(key: str, text: str) -> None:
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as exc:
        _fail(key, f"is not a valid text with {{placeholders}}: {exc}")
        return
    unknown = names - PLACEHOLDERS
    if unknown:
        _fail(key, f"names unknown placeholders {sorted(unknown)}; known: "
              f"{', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}")


def validate(settings: ConsoleSettings) -> None:
    """Refuse settings the console and the daemon cannot work with; errors name the key."""
    _check_choices("not_ready_reasons", settings.not_ready_reasons)
    for i, choice in enumerate(settings.not_ready_reasons):
        if choice.code in SYSTEM_REASONS:
            _fail(f"not_ready_reasons[{i}].code",
                  f"{choice.code!r} is set by the system ({', '.join(sorted(SYSTEM_REASONS))}), "
                  "agents cannot choose it")
    _check_choices("dispositions", settings.dispositions)
    survey = settings.survey
    for field in ("intro_zh", "intro_en", "closing_zh", "closing_en"):
        _check_placeholders(f"survey.{field}", getattr(survey, field))
    if not survey.questions:
        _fail("survey.questions", "needs at least one question")
    seen: set[str] = set()
    scores = 0
    for i, question in enumerate(survey.questions):
        key = f"survey.questions[{i}]"
        _check_code(f"{key}.id", question.id)
        if question.id in seen:
            _fail(f"{key}.id", f"{question.id!r} is listed twice")
        seen.add(question.id)
        if not question.zh.strip():
            _fail(f"{key}.zh", "must not be empty (the words agents read out)")
        scores += question.kind == "score"
        if scores > 1:
            _fail(f"{key}.kind", "is a second 'score' question; at most one (it fills the "
                  "survey's score)")


def codes(choices: Sequence[Choice]) -> list[str]:
    """The codes of a pick list, in order."""
    return [c.code for c in choices]



def from_config(config: object) -> ConsoleSettings:
    """The `[console]` settings of a loaded `ccd.config.Config` (defaults when it has none)."""
    settings = getattr(config, "console", None)
    return settings if isinstance(settings, ConsoleSettings) else ConsoleSettings()
