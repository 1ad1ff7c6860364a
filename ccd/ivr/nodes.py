"""The node kinds of a flow, as typed structs (one TOML table `[nodes.NAME]` each).

Every node names the nodes it may go to (`next`, `found`, `options`, ...). Prompt lists (`prompts`,
`invalid`, ...) hold prompt names from the catalogue and spoken values:
`{ say = "amount", value = "$customer.balance_fen" }`. A string starting with `$` is a variable:
`$caller`, `$customer.account_no`; ending it with `?` (`$customer.account_no?`) makes it optional
(empty when not set) where a value may be missing.

`edges()` lists where a node may go and which variables it has set on the way: validation and the
walker both use it, so the two cannot disagree about a node's targets.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import ClassVar, Literal

import msgspec

Scalar = str | int | float | bool

SAY_KINDS = ("number", "count", "amount", "digits", "date", "time", "datetime", "month", "text",
             "prompt")
CASE_TESTS = ("business_hours", "holiday", "vip", "blocked", "restricted", "outage", "queue_load",
              "surge", "var")
CASE_OPS = ("set", "unset", "==", "!=", "<", "<=", ">", ">=")
HANGUP_CAUSES = {"normal": 200, "busy": 486, "forbidden": 403, "unavailable": 503,
                 "declined": 603}
WORK_ORDER_STATUSES = ["new", "dispatched", "accepted", "replied", "closed", "returned",
                       "escalated"]


class Part(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A spoken value inside a prompt list.

    say: how to speak it (see SAY_KINDS; `amount` takes fen, `text` is synthesized speech,
    `prompt` plays the catalogue prompt `prefix + value`); value: a `$variable` or a literal;
    group: digits only, pause after every `group` digits; yao: digits only, override 幺 for 1;
    relative: dates, say today/tomorrow by name; choices/fallback: `prompt` only, the values
    expected (their prompts must exist) and the prompt to play for any other value.
    """

    say: str
    value: Scalar
    group: int = 0
    yao: bool | None = None
    relative: bool = True
    prefix: str = ""
    choices: list[str] = []
    fallback: str = ""


PromptList = list[str | Part]
Edge = tuple[str, str, frozenset[str]]  # field, target node, variables set on the way


class Node(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: ClassVar[str] = ""
    description: str = ""

    def edges(self) -> list[Edge]:
        """(field, target node, variables set when going there) for every way out."""
        return []

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return []


def _no(*names: str) -> frozenset[str]:
    return frozenset(n for n in names if n)


class Play(Node, kw_only=True):
    kind: ClassVar[str] = "play"
    prompts: PromptList
    next: str
    barge_in: bool = True

    def edges(self) -> list[Edge]:
        return [("next", self.next, _no())]

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return [("prompts", self.prompts)]


class Say(Play, kw_only=True):
    """A sentence with spoken values; the same as `play`, named for what it does."""

    kind: ClassVar[str] = "say"


class Retrying(Node, kw_only=True):
    """What nodes that wait for keys share: how long, how many failures, what to say."""

    timeout: float | None = None  # seconds to wait for the first key (default: [flow] timeout)
    retries: int | None = None  # failed attempts before giving up (default: [flow] retries)
    invalid: PromptList | None = None
    no_input: PromptList | None = None
    too_many_failures: PromptList | None = None
    on_fail: str = ""  # where to go after `retries` failures (default: [flow] on_fail)

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return [(f, v) for f in ("invalid", "no_input", "too_many_failures")
                if (v := getattr(self, f)) is not None]


class Menu(Retrying, kw_only=True):
    kind: ClassVar[str] = "menu"
    prompts: PromptList
    options: dict[str, str]
    on_timeout: str = ""  # silence goes here at once instead of counting as a failure

    def edges(self) -> list[Edge]:
        out = [(f"options.{key}", target, _no()) for key, target in self.options.items()]
        out += [(f, t, _no()) for f, t in (("on_fail", self.on_fail),
                                           ("on_timeout", self.on_timeout)) if t]
        return out

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return [("prompts", self.prompts), *super().prompt_lists()]


class Collect(Retrying, kw_only=True):
    kind: ClassVar[str] = "collect"
    prompts: PromptList
    into: str
    next: str
    max_digits: int = 20
    min_digits: int = 1
    terminator: str = "#"
    inter_digit_timeout: float | None = None
    pattern: str = ""  # a regular expression the digits must match as a whole

    def edges(self) -> list[Edge]:
        out = [("next", self.next, _no(self.into))]
        return out + ([("on_fail", self.on_fail, _no())] if self.on_fail else [])

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return [("prompts", self.prompts), *super().prompt_lists()]


class Lookup(Node, kw_only=True):
    kind: ClassVar[str] = "lookup"
    source: str
    args: dict[str, Scalar] = {}
    into: str
    found: str
    not_found: str
    on_error: str = ""  # when the data source fails (default: not_found)

    def edges(self) -> list[Edge]:
        out = [("found", self.found, _no(self.into)), ("not_found", self.not_found, _no())]
        return out + ([("on_error", self.on_error, _no())] if self.on_error else [])


class Case(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """One test of a branch: `when` is one of CASE_TESTS; `goto` where to go if it holds.

    var/op/value: for `when = "var"` ($variable, comparison, literal or $variable);
    queue/waiting: for `queue_load` (true when at least `waiting` callers wait);
    `surge`: true while the hotline is in surge mode ([ivr.surge], ccd/ivr/surge.py);
    into: for `outage`, the variable that receives the outage found.
    """

    when: str
    goto: str
    var: str = ""
    op: str = "set"
    value: Scalar | None = None
    queue: str = ""
    waiting: int = 1
    into: str = ""


class Branch(Node, kw_only=True):
    kind: ClassVar[str] = "branch"
    cases: list[Case]
    otherwise: str

    def edges(self) -> list[Edge]:
        out = [(f"cases[{i}].goto", c.goto,
                _no(c.into or "outage") if c.when == "outage" else _no())
               for i, c in enumerate(self.cases)]
        return out + [("otherwise", self.otherwise, _no())]


class Set(Node, kw_only=True):
    kind: ClassVar[str] = "set"
    vars: dict[str, Scalar]
    next: str

    def edges(self) -> list[Edge]:
        return [("next", self.next, frozenset(self.vars))]


class Record(Node, kw_only=True):
    """Record a message; with `work_order` set, open a work order of that kind with it."""

    kind: ClassVar[str] = "record"
    prompts: PromptList
    next: str
    into: str = "report"
    work_order: str = ""
    account: str = ""
    max_seconds: float = 120.0
    silence_seconds: float = 5.0
    min_seconds: float = 1.0
    beep: str = "common/beep"  # prompt played just before recording ('' for none)
    stop_digits: str = "#"
    retries: int | None = None
    too_short: PromptList = []
    too_many_failures: PromptList | None = None
    on_fail: str = ""
    on_error: str = ""  # opening the work order failed (default: a polite system-error exit)

    def edges(self) -> list[Edge]:
        out = [("next", self.next, _no(self.into))]
        return out + [(f, t, _no()) for f, t in (("on_fail", self.on_fail),
                                                 ("on_error", self.on_error)) if t]

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        out = [("prompts", self.prompts), ("too_short", self.too_short)]
        if self.beep:
            out.append(("beep", [self.beep]))
        if self.too_many_failures is not None:
            out.append(("too_many_failures", self.too_many_failures))
        return out


class Queue(Node, kw_only=True):
    """Queue for an agent; until an ACD takes the call, transfer to `fallback` (a SIP URI)."""

    kind: ClassVar[str] = "queue"
    queue: str
    prompts: PromptList = []
    priority: Scalar = "$priority"
    fallback: str = ""
    timeout: float = 30.0
    failed: PromptList = []
    on_fail: str
    # Where a waiting caller who pressed the ACD's self-service key goes ('': on_fail).
    on_leave: str = ""

    def edges(self) -> list[Edge]:
        return [("on_fail", self.on_fail, _no())] + (
            [("on_leave", self.on_leave, _no())] if self.on_leave else [])

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return [("prompts", self.prompts), ("failed", self.failed)]


class Transfer(Node, kw_only=True):
    """Ring `uri` beside the caller's leg and bridge the two; `on_fail` when nobody answers."""

    kind: ClassVar[str] = "transfer"
    uri: str
    prompts: PromptList = []
    caller_id: str = "$caller"
    timeout: float = 30.0
    failed: PromptList = []
    on_fail: str

    def edges(self) -> list[Edge]:
        return [("on_fail", self.on_fail, _no())]

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return [("prompts", self.prompts), ("failed", self.failed)]


class Hangup(Node, kw_only=True):
    kind: ClassVar[str] = "hangup"
    prompts: PromptList = []
    cause: Literal["normal", "busy", "forbidden", "unavailable", "declined"] = "normal"
    disposition: str = "completed"

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return [("prompts", self.prompts)]


class RequestCallback(Node, kw_only=True):
    kind: ClassVar[str] = "request_callback"
    number: str
    account: str = ""
    queue: str = ""
    next: str
    on_error: str = ""

    def edges(self) -> list[Edge]:
        out = [("next", self.next, _no())]
        return out + ([("on_error", self.on_error, _no())] if self.on_error else [])


class SaveSurvey(Node, kw_only=True):
    kind: ClassVar[str] = "save_survey"
    survey: str
    answers: list[str]  # variable names; unanswered questions are left out
    next: str

    def edges(self) -> list[Edge]:
        return [("next", self.next, _no())]


# ---------------------------------------------------------------- composite kinds
# These expand at load into the kinds above (see `expand`), named `<node>.<step>`.

class WorkOrderStatus(Retrying, kw_only=True):
    """Ask for a work-order number, look it up and read its status."""

    kind: ClassVar[str] = "work_order_status"
    prompts: PromptList = msgspec.field(default_factory=lambda: ["wo/enter_number"])
    into: str = "work_order"
    min_digits: int = 4
    max_digits: int = 20
    terminator: str = "#"
    not_found: PromptList = msgspec.field(default_factory=lambda: ["wo/not_found"])
    status_prefix: str = "wo/status/"
    statuses: list[str] = msgspec.field(default_factory=lambda: list(WORK_ORDER_STATUSES))
    readout: PromptList | None = None
    next: str


class Callback(Retrying, kw_only=True):
    """Offer a callback to the calling number or another one the caller keys in."""

    kind: ClassVar[str] = "callback"
    prompts: PromptList = msgspec.field(default_factory=lambda: [
        "callback/offer", Part(say="digits", value="$caller", group=4), "callback/choose"])
    enter_number: PromptList = msgspec.field(default_factory=lambda: ["callback/enter_number"])
    confirmed: PromptList = msgspec.field(default_factory=lambda: ["callback/confirmed"])
    failed: PromptList = msgspec.field(default_factory=lambda: ["callback/failed"])
    account: str = ""
    queue: str = ""
    next: str


class Question(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    key: str
    prompts: PromptList
    max: int = 5


class Survey(Node, kw_only=True):
    """Ask one-key questions (1..max) and save the answers."""

    kind: ClassVar[str] = "survey"
    intro: PromptList = msgspec.field(default_factory=lambda: ["survey/intro"])
    questions: list[Question]
    thanks: PromptList = msgspec.field(default_factory=lambda: ["survey/thanks"])
    timeout: float | None = None
    next: str


KINDS: dict[str, type[Node]] = {
    cls.kind: cls
    for cls in (Play, Say, Menu, Collect, Lookup, Branch, Set, Record, Queue, Transfer, Hangup,
                RequestCallback, SaveSurvey, WorkOrderStatus, Callback, Survey)
}
COMPOSITE = (WorkOrderStatus, Callback, Survey)


class Calendar(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Opening hours for `business_hours` and `holiday` tests.

    hours: by day ('mon'..'sun', or 'daily' for the rest): '08:00-20:00', several ranges joined
    with ',', or 'closed'; holidays: dates closed all day; workdays: weekend dates worked in
    exchange for a holiday (调休), with Monday's hours.
    """

    timezone: str = "Asia/Shanghai"
    hours: dict[str, str] = msgspec.field(default_factory=lambda: {"daily": "08:00-20:00"})
    holidays: list[dt.date] = []
    workdays: list[dt.date] = []


class Header(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The `[flow]` table: where to start, languages (the first is the default), and defaults
    for every menu and collect node."""

    name: str
    start: str
    description: str = ""
    languages: list[str] = msgspec.field(default_factory=lambda: ["zh", "en"])
    retries: int = 3
    timeout: float = 6.0
    inter_digit_timeout: float = 3.0
    invalid: PromptList = msgspec.field(default_factory=lambda: ["common/invalid"])
    no_input: PromptList = msgspec.field(default_factory=lambda: ["common/no_input"])
    too_many_failures: PromptList = msgspec.field(
        default_factory=lambda: ["common/too_many_failures"])
    on_fail: str = ""  # empty: hang up politely after too_many_failures
    system_error: PromptList = msgspec.field(default_factory=lambda: ["common/system_error"])
    max_steps: int = 500  # node visits per call before the walk is ended as looping

    def prompt_lists(self) -> list[tuple[str, PromptList]]:
        return [(f, getattr(self, f)) for f in ("invalid", "no_input", "too_many_failures",
                                                 "system_error")]


# ---------------------------------------------------------------- variable references

# next_open: when the flow's calendar next opens (after now), for "our agents are back at …".
BUILTINS = frozenset({"caller", "called", "call_id", "lang", "agent_uri", "vip", "priority",
                      "next_open", "surge"})
SETTABLE_BUILTINS = frozenset({"lang", "vip", "priority"})
VAR_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_REF = re.compile(r"^\$([a-z_][a-z0-9_]*)(?:\.([a-z_][a-z0-9_]*))?(\?)?$")


class Ref(msgspec.Struct, frozen=True):
    """`$name`, `$name.field`, optionally ending in `?` (empty when not set)."""

    name: str
    field: str = ""
    optional: bool = False

    def __str__(self) -> str:
        return f"${self.name}{'.' + self.field if self.field else ''}{'?' if self.optional else ''}"


def parse_ref(value: object) -> Ref | None:
    """The variable `value` refers to, None for a literal; ValueError for a malformed `$...`."""
    if not isinstance(value, str) or not value.startswith("$"):
        return None
    m = _REF.match(value)
    if not m:
        raise ValueError(f"bad variable reference {value!r}: expected $name or $name.field "
                         "(lower case letters, digits and '_'), optionally ending in '?'")
    return Ref(m.group(1), m.group(2) or "", bool(m.group(3)))


def value_fields(node: Node) -> list[tuple[str, object]]:
    """(field, value) of every place in `node` that may hold a `$variable`."""
    out: list[tuple[str, object]] = []
    for field_name, prompts in node.prompt_lists():
        out += [(f"{field_name}[{i}].value", p.value) for i, p in enumerate(prompts)
                if isinstance(p, Part)]
    if isinstance(node, Lookup):
        out += [(f"args.{k}", v) for k, v in node.args.items()]
    elif isinstance(node, Branch):
        for i, case in enumerate(node.cases):
            out += [(f"cases[{i}].var", case.var), (f"cases[{i}].value", case.value)]
    elif isinstance(node, Set):
        out += [(f"vars.{k}", v) for k, v in node.vars.items()]
    elif isinstance(node, Record):
        out.append(("account", node.account))
    elif isinstance(node, Queue):
        out += [("priority", node.priority), ("fallback", node.fallback)]
    elif isinstance(node, Transfer):
        out += [("uri", node.uri), ("caller_id", node.caller_id)]
    elif isinstance(node, RequestCallback):
        out += [("number", node.number), ("account", node.account)]
    return out
