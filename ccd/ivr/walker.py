"""The IVR flow walker: everything that decides what a call hears and where it goes lives here.

No I/O (h11's rule): the walker is fed events and `now`, and answers with the one action to carry
out next; the engine (`engine.py`) carries it out on a Channel and feeds back what happened.

    walker = Walker(flow, caller="13800138000")
    action = walker.start(now)                  # Play(('greeting/welcome',), 'zh')
    action = walker.feed(Played(), now)         # Collect(1, 6.0, ...)
    action = walker.feed(Collected("1"), now)   # Lookup('customer_by_phone', {...})
    ...                                         # until a Finish action

Every action has one answering event (`EXPECTS`); `HungUp` may answer any action that uses the
channel. The walker keeps what the call record needs: the path of nodes taken, the digits entered,
the variables, and a log of call events (`take_events`). Each node kind is a generator that yields
actions and receives their events, so a node reads as a script of its steps.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ccd.ivr import calendar, say
from ccd.ivr import nodes as n
from ccd.ivr.actions import (
    CHANNEL_ACTIONS,
    EXPECTS,
    Action,
    Collect,
    Collected,
    Done,
    Enqueue,
    Event,
    Finish,
    HungUp,
    LookedUp,
    Lookup,
    OpenWorkOrder,
    Play,
    Played,
    PromptItem,
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
from ccd.ivr.flow import Flow


class WalkerMisuse(Exception):
    """Our own code fed the walker an event that does not answer its last action."""


class FlowRuntimeError(Exception):
    """The flow met data it cannot use (a variable not set, a value that cannot be spoken)."""


class _CallerGone(Exception):
    pass


Steps = Generator[Action, Event, Any]
E = TypeVar("E", Played, Collected, Recorded, LookedUp, WorkOrderOpened, Done, Queued,
            Transferred)


@dataclass
class Summary:
    """What the call record needs from the IVR part of a call."""

    disposition: str
    path: list[str]
    digits: str
    inputs: list[tuple[str, str]]
    lang: str
    vip: bool
    priority: int
    customer_id: Any
    account_no: str
    work_orders: list[str]
    recordings: list[str]
    hung_up: bool  # the caller hung up while in the IVR
    ended_by: str = ""  # who ended the call: 'caller', 'ivr', 'agent' ('' when handed to the ACD)


@dataclass
class _Retry:
    failures: int = 0
    lead: list[str | n.Part] = field(default_factory=list)


class Walker:
    """Walks one call through `flow`.

    caller/called: the numbers of the call; call_id: for the record; variables: extra builtins
    (`agent_uri`, or `lang` to start in another language); yao: read 1 as 幺 in digit strings.
    """

    def __init__(self, flow: Flow, *, caller: str, called: str = "", call_id: str = "",
                 variables: dict[str, Any] | None = None, yao: bool = True) -> None:
        self.flow = flow
        self.vars: dict[str, Any] = {
            "caller": caller, "called": called, "call_id": call_id, "agent_uri": "",
            "lang": flow.languages[0], "vip": False, "priority": 0, "surge": False,
            **(variables or {}),
        }
        self.yao = yao
        self.path: list[str] = []
        self.digits = ""
        self.inputs: list[tuple[str, str]] = []
        self.work_orders: list[str] = []
        self.recordings: list[str] = []
        self.disposition = ""
        self.hung_up = False
        self.finished = False
        self.now = 0.0
        self._steps = 0
        self._node = ""
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._gen: Steps | None = None
        self._pending: Action | None = None

    # ------------------------------------------------------------ driving
    def start(self, now: float) -> Action:
        """Begin the walk at the flow's start node; returns the first action."""
        if self._gen is not None:
            raise WalkerMisuse("the walk has already started")
        self.now = now
        self._gen = self._main()
        return self._advance(lambda: next(self._gen))  # type: ignore[arg-type]

    def feed(self, event: Event, now: float) -> Action:
        """The outcome of the last action; returns the next action."""
        if self._gen is None or self.finished:
            raise WalkerMisuse(f"{type(event).__name__} fed to a walk that is "
                               f"{'over' if self.finished else 'not started'}")
        gen = self._gen
        self.now = now
        if isinstance(event, HungUp):
            if not isinstance(self._pending, CHANNEL_ACTIONS):
                raise WalkerMisuse(f"HungUp answers a channel action, not {self._pending}")
            self.hung_up = True
            self._log("hangup", {"by": "caller", "cause": event.cause, "node": self._node})
            return self._advance(lambda: gen.throw(_CallerGone()))
        expected = EXPECTS[type(self._pending)]
        if not isinstance(event, expected):
            raise WalkerMisuse(f"{type(event).__name__} does not answer {self._pending}; "
                               f"expected {expected.__name__}")
        return self._advance(lambda: gen.send(event))

    def _advance(self, step: Any) -> Action:
        try:
            action: Action = step()
        except StopIteration as stop:
            action = stop.value
        if isinstance(action, Finish):
            self.finished = True
            self.disposition = action.disposition
            self._log("finish", {"disposition": action.disposition, "hangup": action.hangup,
                                 "cause": action.cause})
        self._pending = action
        return action

    def take_events(self) -> list[tuple[str, dict[str, Any]]]:
        """Call events logged since the last call, as (kind, data), oldest first."""
        out, self._events = self._events, []
        return out

    def summary(self) -> Summary:
        customer = self.vars.get("customer")
        customer = customer if isinstance(customer, dict) else {}
        return Summary(
            disposition=self.disposition, path=list(self.path), digits=self.digits,
            inputs=list(self.inputs), lang=str(self.vars["lang"]), vip=bool(self.vars["vip"]),
            priority=int(self.vars.get("priority") or 0), customer_id=customer.get("customer_id"),
            account_no=str(customer.get("account_no") or ""), work_orders=list(self.work_orders),
            recordings=list(self.recordings), hung_up=self.hung_up,
            ended_by="caller" if self.hung_up else "",
        )

    @property
    def lang(self) -> str:
        return str(self.vars["lang"])

    def _log(self, kind: str, data: dict[str, Any]) -> None:
        self._events.append((kind, data))

    # ------------------------------------------------------------ the walk
    def _main(self) -> Steps:
        name = self.flow.start
        try:
            while True:
                self._steps += 1
                if self._steps > self.flow.header.max_steps:
                    raise FlowRuntimeError(f"more than {self.flow.header.max_steps} node visits; "
                                           "the flow is looping")
                node = self.flow.nodes[name]
                self._node = name
                self.path.append(name)
                self._log("node", {"node": name, "kind": node.kind})
                result = yield from HANDLERS[type(node)](self, name, node)
                if isinstance(result, Finish):
                    return result
                name = result
        except _CallerGone:
            return Finish("abandoned", hangup=False)
        except FlowRuntimeError as e:
            self._log("flow_error", {"node": self._node, "error": str(e)})
            if self.hung_up:
                return Finish("error", hangup=False)
            try:
                yield from self._play(self.flow.header.system_error, barge_in=False)
            except (_CallerGone, FlowRuntimeError):
                return Finish("error", hangup=False)
            return Finish("error")

    def _ask(self, action: Action, answer: type[E]) -> Generator[Action, Event, E]:
        event = yield action
        if not isinstance(event, answer):  # feed() checks first; this is for the type checker
            raise WalkerMisuse(f"{event!r} does not answer {action!r}")
        return event

    def _channel(self, action: Action, answer: type[E]) -> Generator[Action, Event, E]:
        """An action on the caller's line, which cannot be done once they have gone."""
        if self.hung_up:
            raise _CallerGone()
        return (yield from self._ask(action, answer))

    def _play(self, prompts: Sequence[str | n.Part], barge_in: bool = True) -> Steps:
        items = self._render(prompts)
        if not items:
            return None
        self._log("play", {"node": self._node, "lang": self.lang, "prompts": [
            i if isinstance(i, str) else f"speech:{i.text}" for i in items]})
        event = yield from self._channel(Play(tuple(items), self.lang, barge_in), Played)
        return event.digit

    def _entered(self, node: str, digits: str) -> None:
        self.digits += digits
        self.inputs.append((node, digits))
        self._log("dtmf", {"node": node, "digits": digits})

    def _failed(self, name: str, node: n.Menu | n.Collect | n.Record, retry: _Retry,
                reason: str, lead: Sequence[str | n.Part] | None) -> Steps:
        """Count a failed attempt; returns where to go after too many, else None (try again)."""
        header = self.flow.header
        retry.failures += 1
        self._log("input_failed", {"node": name, "reason": reason, "count": retry.failures})
        if retry.failures >= (node.retries or header.retries):
            bye = node.too_many_failures
            yield from self._play(header.too_many_failures if bye is None else bye,
                                  barge_in=False)
            return self.flow.on_fail(node) or Finish("ivr_failed")
        retry.lead = list(lead) if lead is not None else []
        return None

    def _do_play(self, name: str, node: n.Play) -> Steps:
        yield from self._play(node.prompts, node.barge_in)
        return node.next

    def _do_menu(self, name: str, node: n.Menu) -> Steps:
        header = self.flow.header
        retry = _Retry()
        while True:
            yield from self._play([*retry.lead, *node.prompts])
            event = yield from self._channel(
                Collect(1, node.timeout or header.timeout, header.inter_digit_timeout, ""),
                Collected)
            key = event.digits[:1]
            if key:
                self._entered(name, key)
            if key in node.options:
                return node.options[key]
            if not key and node.on_timeout:
                return node.on_timeout
            lead = (node.invalid if node.invalid is not None else header.invalid) if key else \
                (node.no_input if node.no_input is not None else header.no_input)
            after = yield from self._failed(name, node, retry, "invalid" if key else "no_input",
                                            lead)
            if after is not None:
                return after

    def _do_collect(self, name: str, node: n.Collect) -> Steps:
        header = self.flow.header
        retry = _Retry()
        while True:
            yield from self._play([*retry.lead, *node.prompts])
            event = yield from self._channel(Collect(
                node.max_digits, node.timeout or header.timeout,
                node.inter_digit_timeout or header.inter_digit_timeout, node.terminator),
                Collected)
            raw = event.digits
            got = raw[:-1] if node.terminator and raw.endswith(node.terminator) else raw
            if raw:
                self._entered(name, raw)
            if got.isdigit() and node.min_digits <= len(got) <= node.max_digits and (
                    not node.pattern or re.fullmatch(node.pattern, got)):
                self.vars[node.into] = got
                return node.next
            lead = (node.invalid if node.invalid is not None else header.invalid) if raw else \
                (node.no_input if node.no_input is not None else header.no_input)
            after = yield from self._failed(name, node, retry, "invalid" if raw else "no_input",
                                            lead)
            if after is not None:
                return after

    def _lookup(self, source: str, args: dict[str, Any], cache: bool = False) -> Steps:
        key = (source, repr(sorted(args.items())))
        if cache and key in self._cache:
            return self._cache[key], ""
        event = yield from self._ask(Lookup(source, args), LookedUp)
        self._log("lookup", {"node": self._node, "source": source, "args": args,
                             "found": event.data is not None, "error": event.error})
        data = dict(event.data) if event.data is not None else None
        if cache:
            self._cache[key] = data  # a failed source counts as nothing found for this call
        return data, event.error

    def _do_lookup(self, name: str, node: n.Lookup) -> Steps:
        args = {k: self._value(v) for k, v in node.args.items()}
        data, error = yield from self._lookup(node.source, args)
        if error:
            return node.on_error or node.not_found
        if data is None:
            return node.not_found
        self.vars[node.into] = data
        return node.found

    def _do_branch(self, name: str, node: n.Branch) -> Steps:
        for i, case in enumerate(node.cases):
            if (yield from self._test(case)):
                self._log("branch", {"node": name, "case": i, "when": case.when})
                return case.goto
        self._log("branch", {"node": name, "case": None, "when": "otherwise"})
        return node.otherwise

    def _test(self, case: n.Case) -> Steps:
        caller = str(self.vars["caller"])
        if case.when == "business_hours":
            return calendar.is_open(self.flow.calendar, self.now)
        if case.when == "holiday":
            return calendar.is_holiday(self.flow.calendar, self.now)
        if case.when in ("vip", "blocked", "restricted"):
            flags, _ = yield from self._lookup("caller_flags", {"phone": caller}, cache=True)
            return bool(flags and flags.get(case.when))
        if case.when == "outage":
            outage, _ = yield from self._lookup("outage_for_caller",
                                                {"phone": caller, "lang": self.lang}, cache=True)
            if not outage or outage.get("count", 1) == 0:
                return False
            self.vars[case.into or "outage"] = outage
            return True
        if case.when == "surge":  # decided once, when the call came in (see Engine)
            return bool(self.vars.get("surge"))
        if case.when == "queue_load":
            status, _ = yield from self._lookup("queue_status", {"queue": case.queue})
            return bool(status) and int(status.get("waiting") or 0) >= case.waiting
        return _compare(self._value(case.var, optional=case.op in ("set", "unset")), case.op,
                        self._value(case.value) if case.value is not None else None)

    def _do_set(self, name: str, node: n.Set) -> Steps:
        for key, raw in node.vars.items():
            value = self._value(raw)
            if key == "lang" and value not in self.flow.languages:
                raise FlowRuntimeError(f"language {value!r} is not one of the flow's")
            self.vars[key] = value
        self._log("set", {"node": name, "vars": {k: self.vars[k] for k in node.vars}})
        return node.next
        yield  # a generator like the other nodes

    def _do_record(self, name: str, node: n.Record) -> Steps:
        retry = _Retry()
        while True:
            intro = [*retry.lead, *node.prompts, *([node.beep] if node.beep else [])]
            yield from self._play(intro, barge_in=False)
            event = yield from self._channel(
                Record(name, node.max_seconds, node.silence_seconds, node.stop_digits), Recorded)
            if event.digit:
                self._entered(name, event.digit)
            spoken = event.seconds if event.voiced_s is None else event.voiced_s
            self._log("record", {"node": name, "path": event.path, "seconds": event.seconds,
                                 "voiced_s": round(spoken, 2), "ended_by": event.ended_by})
            if event.ended_by == "hangup":
                self.hung_up = True
                self._log("hangup", {"by": "caller", "cause": 200, "node": name})
            # What counts is voice, not length: 5 s of silence ended by silence is no report.
            if spoken >= node.min_seconds:
                break
            if self.hung_up:
                raise _CallerGone()
            after = yield from self._failed(name, node, retry, "too_short", node.too_short)
            if after is not None:
                return after
        self.recordings.append(event.path)
        report = {"recording": event.path, "seconds": event.seconds, "number": ""}
        self.vars[node.into] = report
        if node.work_order:
            account = str(self._value(node.account, optional=True) or "") if node.account else ""
            opened = yield from self._ask(OpenWorkOrder(node.work_order, account, event.path),
                                          WorkOrderOpened)
            self._log("work_order", {"node": name, "kind": node.work_order, "number":
                                     opened.number, "error": opened.error})
            if opened.error or not opened.number:
                if self.hung_up or not node.on_error:
                    raise FlowRuntimeError(f"could not open a work order: {opened.error}")
                return node.on_error
            report["number"] = opened.number
            self.work_orders.append(opened.number)
        if self.hung_up:
            raise _CallerGone()
        return node.next

    def _transfer(self, uri: str, caller_id: str, timeout: float) -> Steps:
        event = yield from self._channel(Transfer(uri, caller_id, timeout), Transferred)
        self._log("transfer", {"node": self._node, "uri": uri, "ok": event.ok,
                               "reason": event.reason})
        return event.ok

    def _do_queue(self, name: str, node: n.Queue) -> Steps:
        yield from self._play(node.prompts, barge_in=False)
        priority = int(self._value(node.priority) or 0)
        event = yield from self._channel(Enqueue(node.queue, priority), Queued)
        self._log("queue", {"node": name, "queue": node.queue, "priority": priority,
                            "outcome": event.outcome})
        if event.outcome == "connected":
            return Finish("queued", hangup=False)
        if event.outcome == "left":  # back to self-service from the queue
            return node.on_leave or node.on_fail
        uri = str(self._value(node.fallback) or "") if node.fallback else ""
        if event.outcome == "unavailable" and uri:
            if (yield from self._transfer(uri, str(self.vars["caller"]), node.timeout)):
                return Finish("transferred", hangup=False)
        yield from self._play(node.failed, barge_in=False)
        return node.on_fail

    def _do_transfer(self, name: str, node: n.Transfer) -> Steps:
        uri = str(self._value(node.uri) or "")
        yield from self._play(node.prompts, barge_in=False)
        if uri and (yield from self._transfer(uri, str(self._value(node.caller_id) or ""),
                                              node.timeout)):
            return Finish("transferred", hangup=False)
        if not uri:
            self._log("transfer", {"node": name, "uri": "", "ok": False,
                                   "reason": "no URI to transfer to"})
        yield from self._play(node.failed, barge_in=False)
        return node.on_fail

    def _do_hangup(self, name: str, node: n.Hangup) -> Steps:
        yield from self._play(node.prompts, barge_in=False)
        return Finish(node.disposition, hangup=True, cause=n.HANGUP_CAUSES[node.cause])

    def _do_request_callback(self, name: str, node: n.RequestCallback) -> Steps:
        number = str(self._value(node.number) or "")
        account = str(self._value(node.account, optional=True) or "") if node.account else ""
        done = yield from self._ask(RequestCallback(number, account, node.queue), Done)
        self._log("callback", {"node": name, "number": number, "error": done.error})
        if done.error:
            if not node.on_error:
                raise FlowRuntimeError(f"could not register a callback: {done.error}")
            return node.on_error
        return node.next

    def _do_save_survey(self, name: str, node: n.SaveSurvey) -> Steps:
        answers = {var: str(self.vars[var]) for var in node.answers if var in self.vars}
        done = yield from self._ask(SaveSurvey(node.survey, answers), Done)
        self._log("survey", {"node": name, "survey": node.survey, "answers": answers,
                             "error": done.error})
        return node.next

    # ------------------------------------------------------------ values
    def _value(self, raw: object, optional: bool = False) -> Any:
        ref = n.parse_ref(raw)
        if ref is None:
            return raw
        optional = optional or ref.optional
        if ref.name == "next_open" and "next_open" not in self.vars:
            self.vars["next_open"] = calendar.next_open(self.flow.calendar, self.now)
        value = self.vars.get(ref.name)
        if ref.field and isinstance(value, dict):
            value = value.get(ref.field)
        elif ref.field:
            value = None
        if value is None and not optional:
            raise FlowRuntimeError(f"node {self._node!r}: variable {ref} has no value")
        return value

    def _render(self, prompts: Sequence[str | n.Part]) -> list[PromptItem]:
        out: list[PromptItem] = []
        for part in prompts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = self._value(part.value)
            if value is None:  # an optional value ('$x?') that has none: said as nothing
                continue
            try:
                out += self._say(part, value)
            except (say.SayError, ValueError, TypeError, ArithmeticError) as e:
                raise FlowRuntimeError(f"node {self._node!r}: cannot say {value!r} as "
                                       f"{part.say}: {e}") from None
        return out

    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.flow.calendar.timezone)

    def _moment(self, value: Any) -> dt.datetime | dt.date:
        if isinstance(value, dt.datetime | dt.date):
            moment = value
        else:
            text = str(value).strip().replace("Z", "+00:00")
            moment = dt.datetime.fromisoformat(text) if ("T" in text or " " in text) \
                else dt.date.fromisoformat(text)
        if isinstance(moment, dt.datetime):
            tz = self._tz()
            moment = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
        return moment

    def _say(self, part: n.Part, value: Any) -> list[PromptItem]:
        lang, kind = self.lang, part.say
        today = calendar.local(self.flow.calendar, self.now).date() if part.relative else None
        if kind == "text":
            return [Speech(str(value))] if str(value).strip() else []
        if kind == "prompt":
            text = str(value)
            if part.choices and text not in part.choices:
                if not part.fallback:
                    raise ValueError(f"not one of {part.choices}")
                return [part.fallback]
            return [part.prefix + text]
        if kind == "number":
            return list(say.number(value, lang))
        if kind == "count":
            return list(say.count(_whole(value), lang))
        if kind == "amount":
            return list(say.amount(_whole(value), lang))
        if kind == "digits":
            return list(say.digits(str(value), lang, group=part.group,
                                   yao=self.yao if part.yao is None else part.yao))
        if kind == "month":
            year, _, month = str(value).partition("-")
            return list(say.month(int(year), int(month[:2]), lang))
        if kind == "time" and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", str(value)):
            return list(say.time(dt.time.fromisoformat(str(value).zfill(5)), lang))
        moment = self._moment(value)
        if kind == "date":
            day = moment.date() if isinstance(moment, dt.datetime) else moment
            return list(say.date(day, lang, today=today))
        if not isinstance(moment, dt.datetime):
            raise ValueError("a date without a time")
        if kind == "time":
            return list(say.time(moment.time(), lang))
        return list(say.datetime(moment, lang, today=today))


def _whole(value: Any) -> int:
    """An integer from an int, an integral float or a numeric string (SQLite may give any)."""
    if isinstance(value, bool):
        raise TypeError("a yes/no value is not a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "set":
        return left not in (None, "", 0, False)
    if op == "unset":
        return left in (None, "", 0, False)
    if left in (None, "") and op not in ("==", "!="):
        return False  # no value (no arrears recorded, say) is not above or below anything
    a, b = _number(left), _number(right)
    if a is None or b is None:
        a, b = str(left), str(right)  # type: ignore[assignment]
        if op not in ("==", "!="):
            raise FlowRuntimeError(f"cannot compare {left!r} {op} {right!r}: not numbers")
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b,  # type: ignore[operator]
            ">": a > b, ">=": a >= b}[op]  # type: ignore[operator]


HANDLERS: dict[type, Any] = {
    n.Play: Walker._do_play, n.Say: Walker._do_play, n.Menu: Walker._do_menu,
    n.Collect: Walker._do_collect, n.Lookup: Walker._do_lookup, n.Branch: Walker._do_branch,
    n.Set: Walker._do_set, n.Record: Walker._do_record, n.Queue: Walker._do_queue,
    n.Transfer: Walker._do_transfer, n.Hangup: Walker._do_hangup,
    n.RequestCallback: Walker._do_request_callback, n.SaveSurvey: Walker._do_save_survey,
}
