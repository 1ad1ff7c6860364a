"""Cross-node checks of a parsed flow: targets, reachability, prompts, variables, field values.

Variables are checked three ways: the reference is well formed; some node (or the call itself:
`nodes.BUILTINS`) sets the variable and, for `$var.field`, gives that field (lookup results have
the fields of their data source, see `sources`); and the variable is set on *every* path from the
start to the node using it (a forward "definitely set" analysis over the node graph), unless the
reference ends in `?`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ccd.ivr import nodes as n
from ccd.ivr import say
from ccd.ivr.calendar import parse_hours
from ccd.ivr.catalogue import Catalogue
from ccd.ivr.flow import Fault, Flow, suggest
from ccd.ivr.sources import OUTAGE, RECORDING, SOURCES

DTMF = frozenset("0123456789*#")


class _Checker:
    def __init__(self, flow: Flow, catalogue: Catalogue) -> None:
        self.flow = flow
        self.catalogue = catalogue
        self.faults: list[Fault] = []

    def fault(self, node: str | None, message: str, code: str) -> None:
        shown = self.flow.source_node(node) if node is not None else None
        f = Fault(self.flow.file, shown, message, code)
        if f not in self.faults:
            self.faults.append(f)

    # ------------------------------------------------------------ header and calendar
    def header(self) -> None:
        h = self.flow.header
        for lang in h.languages:
            if lang not in self.catalogue.languages:
                self.fault(None, f"[flow]: language {lang!r} has no prompt catalogue "
                           f"(have: {', '.join(self.catalogue)})", "unknown-language")
        if not h.languages:
            self.fault(None, "[flow]: 'languages' must name at least one language", "bad-value")
        if h.start not in self.flow.nodes:
            self.fault(None, f"[flow]: unknown start node {h.start!r}"
                       f"{suggest(h.start, self.flow.nodes)}", "unknown-target")
        if h.on_fail and h.on_fail not in self.flow.nodes:
            self.fault(None, f"[flow]: unknown target {h.on_fail!r} in on_fail"
                       f"{suggest(h.on_fail, self.flow.nodes)}", "unknown-target")
        if h.retries < 1 or h.timeout <= 0 or h.max_steps < 1:
            self.fault(None, "[flow]: retries and max_steps must be at least 1, timeout above 0",
                       "bad-value")
        for field, prompts in h.prompt_lists():
            self.prompts(None, field, prompts)
        cal = self.flow.calendar
        try:
            ZoneInfo(cal.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.fault(None, f"[calendar]: unknown timezone {cal.timezone!r}", "bad-value")
        for day, text in cal.hours.items():
            try:
                parse_hours(day, text)
            except ValueError as e:
                self.fault(None, f"[calendar]: hours.{day}: {e}", "bad-value")

    # ------------------------------------------------------------ prompts
    def prompts(self, node: str | None, field: str, items: Iterable[str | n.Part]) -> None:
        for i, item in enumerate(items):
            if isinstance(item, str):
                self.prompt(node, f"{field}[{i}]", item)
                continue
            if item.say not in n.SAY_KINDS:
                self.fault(node, f"{field}[{i}]: unknown say kind {item.say!r}"
                           f"{suggest(item.say, n.SAY_KINDS)} (kinds: {', '.join(n.SAY_KINDS)})",
                           "bad-value")
            elif item.say == "prompt":
                if not item.choices and not item.fallback:
                    self.fault(node, f"{field}[{i}]: a 'prompt' value needs 'choices' or a "
                               "'fallback', so that its prompts can be checked", "bad-value")
                for choice in item.choices:
                    self.prompt(node, f"{field}[{i}].choices", item.prefix + choice)
                if item.fallback:
                    self.prompt(node, f"{field}[{i}].fallback", item.fallback)
            elif item.say != "text":
                for lang in self.flow.languages:
                    if lang not in self.catalogue.languages:
                        continue  # reported once for the flow
                    if lang not in say.LANGUAGES:
                        self.fault(node, f"{field}[{i}]: values cannot be spoken in {lang!r} "
                                   f"(only in {', '.join(say.LANGUAGES)})", "bad-value")
                        continue
                    missing = sorted(p for p in say.required_prompts(lang)
                                     if not self.catalogue.has(p, lang))
                    if missing:
                        self.fault(node, f"{field}[{i}]: saying a {item.say} in {lang} needs "
                                   f"prompts missing from the catalogue: {', '.join(missing)}",
                                   "missing-prompt")

    def prompt(self, node: str | None, where: str, name: str) -> None:
        langs = [lang for lang in self.flow.languages if lang in self.catalogue.languages]
        missing = [lang for lang in langs if not self.catalogue.has(name, lang)]
        if missing:
            self.fault(node, f"missing prompt {name!r} in {where}: not in the "
                       f"{'/'.join(missing)} catalogue{self.catalogue.suggest(name, missing[0])}",
                       "missing-prompt")

    # ------------------------------------------------------------ per node
    def node(self, name: str, node: n.Node) -> None:
        for field, target, _ in self.flow.edges(name):
            if target not in self.flow.nodes:
                self.fault(name, f"unknown target {target!r} in {field}"
                           f"{suggest(target, self.flow.nodes)}", "unknown-target")
        for field, prompts in node.prompt_lists():
            self.prompts(name, field, prompts)
        bad = lambda message: self.fault(name, message, "bad-value")  # noqa: E731
        if isinstance(node, n.Menu):
            if not node.options:
                bad("a menu needs at least one option")
            for key in node.options:
                if key not in DTMF:
                    bad(f"option key {key!r} is not a phone key (0-9, * or #)")
        if isinstance(node, n.Collect):
            if not 1 <= node.min_digits <= node.max_digits <= 64:
                bad("digits must satisfy 1 <= min_digits <= max_digits <= 64")
            if node.terminator not in ("", "#", "*"):
                bad(f"terminator must be '#', '*' or '', not {node.terminator!r}")
            if node.pattern:
                try:
                    re.compile(node.pattern)
                except re.error as e:
                    bad(f"pattern {node.pattern!r} is not a regular expression: {e}")
        if isinstance(node, n.Menu | n.Collect):
            if node.retries is not None and node.retries < 1:
                bad("retries must be at least 1")
            if node.timeout is not None and node.timeout <= 0:
                bad("timeout must be above 0")
        if isinstance(node, n.Lookup):
            source = SOURCES.get(node.source)
            if source is None:
                bad(f"unknown data source {node.source!r}{suggest(node.source, SOURCES)} "
                    f"(sources: {', '.join(SOURCES)})")
            else:
                for arg in source.args:
                    if arg not in node.args:
                        self.fault(name, f"missing required field 'args.{arg}' "
                                   f"(source {node.source} takes {', '.join(source.args)})",
                                   "missing-field")
                for arg in node.args:
                    if arg not in source.args + source.optional_args:
                        bad(f"source {node.source} takes no argument {arg!r}"
                            f"{suggest(arg, source.args + source.optional_args)}")
        if isinstance(node, n.Branch):
            for i, case in enumerate(node.cases):
                if case.when not in n.CASE_TESTS:
                    bad(f"cases[{i}]: unknown test {case.when!r}{suggest(case.when, n.CASE_TESTS)}"
                        f" (tests: {', '.join(n.CASE_TESTS)})")
                if case.when == "var":
                    if not case.var:
                        self.fault(name, f"missing required field 'cases[{i}].var'",
                                   "missing-field")
                    if case.op not in n.CASE_OPS:
                        bad(f"cases[{i}]: unknown op {case.op!r} (ops: {', '.join(n.CASE_OPS)})")
                    elif case.op not in ("set", "unset") and case.value is None:
                        self.fault(name, f"missing required field 'cases[{i}].value'",
                                   "missing-field")
                if case.when == "queue_load" and not case.queue:
                    self.fault(name, f"missing required field 'cases[{i}].queue'",
                               "missing-field")
        if isinstance(node, n.Set):
            for key, value in node.vars.items():
                if key in n.BUILTINS and key not in n.SETTABLE_BUILTINS:
                    bad(f"cannot set the call's own variable {key!r}")
                if key == "lang" and isinstance(value, str) and not value.startswith("$") \
                        and value not in self.flow.languages:
                    bad(f"vars.lang = {value!r} is not one of the flow's languages "
                        f"({', '.join(self.flow.languages)})")
        if isinstance(node, n.Record) and not 0 < node.min_seconds < node.max_seconds:
            bad("record needs 0 < min_seconds < max_seconds")
        if isinstance(node, n.Transfer | n.Queue):
            uri = node.uri if isinstance(node, n.Transfer) else node.fallback
            if uri and not uri.startswith("$") and not re.match(r"^(sips?|tel|modem):\S+$", uri):
                bad(f"{'uri' if isinstance(node, n.Transfer) else 'fallback'} {uri!r} is not a "
                    "SIP URI (sip:user@host), an analog line's modem:NUMBER or a $variable")
        for var in self._sets(node):
            if not n.VAR_NAME.match(var):
                bad(f"variable name {var!r} must be lower case letters, digits and '_'")
            elif var in n.BUILTINS and not isinstance(node, n.Set):
                bad(f"{var!r} is the call's own variable; choose another name")

    @staticmethod
    def _sets(node: n.Node) -> set[str]:
        return {v for _, _, gen in node.edges() for v in gen}

    # ------------------------------------------------------------ graph
    def reachable(self) -> None:
        start = self.flow.start
        if start not in self.flow.nodes:
            return
        seen = {start}
        todo = deque([start])
        while todo:
            for _, target, _ in self.flow.edges(todo.popleft()):
                if target in self.flow.nodes and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in self.flow.nodes:
            if name not in seen and self.flow.source_node(name) not in seen:
                self.fault(name, f"unreachable: no path leads here from the start node "
                           f"{start!r}", "unreachable-node")

    def variables(self) -> None:
        flow = self.flow
        fields: dict[str, set[str]] = {}
        shapeless: set[str] = set()
        setters: dict[str, list[str]] = {}
        for name, node in flow.nodes.items():
            for _, _, gen in node.edges():
                for var in gen:
                    setters.setdefault(var, []).append(flow.source_node(name))
                    fields.setdefault(var, set())
            if isinstance(node, n.Lookup):
                if node.source in SOURCES:
                    fields.setdefault(node.into, set()).update(SOURCES[node.source].fields)
                else:
                    shapeless.add(node.into)  # the unknown source is reported on its own
            if isinstance(node, n.Record):
                fields.setdefault(node.into, set()).update(RECORDING)
            if isinstance(node, n.Branch):
                for case in node.cases:
                    if case.when == "outage":
                        fields.setdefault(case.into or "outage", set()).update(OUTAGE)
        known = set(setters) | n.BUILTINS
        definitely = self._definitely_set()
        for name, node in flow.nodes.items():
            for field, value in n.value_fields(node):
                try:
                    ref = n.parse_ref(value)
                except ValueError as e:
                    self.fault(name, f"{field}: {e}", "bad-variable")
                    continue
                if ref is None:
                    continue
                shown = f"bad variable reference '{ref}' in {field}"
                if ref.name not in known:
                    self.fault(name, f"{shown}: no node sets '{ref.name}'"
                               f"{suggest(ref.name, known)}", "bad-variable")
                elif ref.field and ref.name not in shapeless \
                        and ref.field not in fields.get(ref.name, set()):
                    have = sorted(fields.get(ref.name, set()))
                    what = (f"'{ref.name}' has the fields {', '.join(have)}"
                            f"{suggest(ref.field, have)}" if have else
                            f"'{ref.name}' is a plain value with no fields")
                    self.fault(name, f"{shown}: {what}", "bad-variable")
                elif not ref.optional and name in definitely \
                        and ref.name not in definitely[name]:
                    by = ", ".join(sorted(set(setters.get(ref.name, []))))
                    self.fault(name, f"{shown}: '{ref.name}' is not set on every path to this "
                               f"node (set by: {by}); end the reference with '?' if it may be "
                               "missing", "bad-variable")

    def _definitely_set(self) -> dict[str, frozenset[str]]:
        """For each reachable node, the variables set on every path from the start to it."""
        flow = self.flow
        if flow.start not in flow.nodes:
            return {}
        entry: dict[str, frozenset[str]] = {flow.start: n.BUILTINS}
        todo = deque([flow.start])
        while todo:
            name = todo.popleft()
            for _, target, gen in flow.edges(name):
                if target not in flow.nodes:
                    continue
                out = entry[name] | gen
                new = out if target not in entry else entry[target] & out
                if entry.get(target) != new:
                    entry[target] = new
                    todo.append(target)
        return entry


def check_flow(flow: Flow, catalogue: Catalogue) -> list[Fault]:
    """Every fault of a parsed flow (empty when it is good to run)."""
    checker = _Checker(flow, catalogue)
    checker.header()
    for name, node in flow.nodes.items():
        checker.node(name, node)
    checker.reachable()
    checker.variables()
    return checker.faults


def needed_prompts(flow: Flow, catalogue: Catalogue) -> dict[str, set[str]]:
    """Every catalogue prompt a call on `flow` can play, by language: the flow's own prompts and
    the spoken values it uses, plus what the ACD says to a caller waiting in a queue (`acd/...`
    and numbers). Names the catalogue lacks are left out: `check_flow` reports those."""
    items = [item for _, prompts in flow.header.prompt_lists() for item in prompts]
    items += [item for node in flow.nodes.values()
              for _, prompts in node.prompt_lists() for item in prompts]
    needed: dict[str, set[str]] = {}
    for lang in flow.languages:
        if lang not in catalogue.languages:
            continue
        names = {name for name in catalogue.names(lang) if name.startswith("acd/")}
        if lang in say.LANGUAGES:
            names |= say.required_prompts(lang)
        for item in items:
            if isinstance(item, str):
                names.add(item)
            elif item.say == "prompt":
                names |= {item.prefix + choice for choice in item.choices}
                names |= {item.fallback} if item.fallback else set()
            elif item.say != "text" and lang in say.LANGUAGES:
                names |= say.required_prompts(lang)
        needed[lang] = {name for name in names if catalogue.has(name, lang)}
    return needed


def warnings(flow: Flow) -> list[str]:
    """Things that run but may not do what the author meant (printed by `ccd flows validate`).

    A queue's expected wait is unknown while no agent is staffed: `lookup queue_status` then
    gives expected_wait_s = 3600 (an hour, so "is the wait long?" says yes) and
    expected_wait_known = false. A flow that branches on $X.expected_wait_s without ever testing
    $X.agents_staffed or $X.expected_wait_known is warned about that case."""
    out: list[str] = []
    tested: set[str] = set()
    for node in flow.nodes.values():
        for case in getattr(node, "cases", ()):
            if case.when == "var":
                tested.add(str(case.var).lstrip("$").rstrip("?"))
    for name, node in flow.nodes.items():
        if isinstance(node, n.Lookup) and node.source == "queue_status":
            into = node.into
            if f"{into}.expected_wait_s" in tested and not (
                    {f"{into}.agents_staffed", f"{into}.expected_wait_known"} & tested):
                out.append(
                    f"{flow.file}: node {name!r}: ${into}.expected_wait_s is 3600 (a stand-in) "
                    f"when no agent is staffed; test ${into}.agents_staffed or "
                    f"${into}.expected_wait_known first to tell that case apart")
    return out
