"""IVR flows as TOML data: parsing into typed nodes, expansion of composite nodes, validation.

A flow file has a `[flow]` table (name, start node, languages, defaults for menus), an optional
`[calendar]` (opening hours and holidays for branch tests) and one `[nodes.NAME]` table per node,
whose `kind` is one of `nodes.KINDS`. `validate_flow(path, catalogue)` returns a `Flow` or raises a
`FlowError` listing every fault found, each naming the file, the node and the fault:

    flows/utility.toml: node 'main': unknown target 'balanse' in options.1; did you mean 'balance'?

Composite nodes (work_order_status, callback, survey) are expanded into plain nodes named
`<node>.<step>`; faults in those are reported against the node written in the file.
"""

from __future__ import annotations

import difflib
import functools
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import tomllib

from ccd.errors import CcdError
from ccd.ivr import nodes as n
from ccd.ivr.catalogue import Catalogue

NODE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Fault:
    """One thing wrong with a flow. node: the node as written in the file (None: the [flow] or
    [calendar] table, or the file as a whole); code: a machine-readable id."""

    file: str
    node: str | None
    message: str
    code: str

    def __str__(self) -> str:
        where = f"node '{self.node}'" if self.node is not None else ""
        return f"{self.file}: {where + ': ' if where else ''}{self.message}"


class FlowError(CcdError):
    """A flow that cannot be used; `faults` lists every problem found (message: one per line)."""

    error_id = "bad-flow"

    def __init__(self, faults: list[Fault]) -> None:
        super().__init__("\n".join(map(str, faults)), file=faults[0].file if faults else "",
                         faults=[{"node": f.node, "code": f.code, "message": f.message}
                                 for f in faults])
        self.faults = faults


@dataclass
class Flow:
    """A validated flow. nodes: every node, composite ones expanded; origin: for each expanded
    node, the node written in the file it came from."""

    file: str
    header: n.Header
    calendar: n.Calendar
    nodes: dict[str, n.Node]
    origin: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def start(self) -> str:
        return self.header.start

    @property
    def languages(self) -> list[str]:
        return self.header.languages

    def source_node(self, name: str) -> str:
        return self.origin.get(name, name)

    def on_fail(self, node: n.Node) -> str:
        """Where a menu, collect or record node goes after too many failures ('' = hang up)."""
        own = getattr(node, "on_fail", "")
        return own or self.header.on_fail

    def edges(self, name: str) -> list[n.Edge]:
        """Every way out of node `name`, including the [flow] default on_fail."""
        node = self.nodes[name]
        out = node.edges()
        if isinstance(node, n.Menu | n.Collect | n.Record) and not node.on_fail \
                and self.header.on_fail:
            out.append(("on_fail", self.header.on_fail, frozenset()))
        return out


def suggest(word: str, choices: Any) -> str:
    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{near[0]}'?" if near else ""


def _explain(error: msgspec.ValidationError, cls: type[msgspec.Struct]) -> tuple[str, str]:
    """msgspec's message as (fault, code), naming fields the way the flow file does."""
    text, _, where = str(error).partition(" - at `$")
    where = where.rstrip("`").lstrip(".")
    if m := re.match(r"Object missing required field `(\w+)`", text):
        missing = f"{where}.{m.group(1)}" if where else m.group(1)
        return f"missing required field '{missing}'", "missing-field"
    if m := re.match(r"Object contains unknown field `(\w+)`", text):
        fields = cls.__struct_fields__ if not where else ()
        return f"unknown field '{m.group(1)}'{suggest(m.group(1), fields)}", "unknown-field"
    text = text.replace("`", "")
    return (f"'{where}': {text[0].lower()}{text[1:]}" if where else text), "bad-value"


@functools.cache
def _prompt_fields(cls: type) -> frozenset[str]:
    hints = typing.get_type_hints(cls)
    return frozenset(k for k, v in hints.items() if v in (n.PromptList, n.PromptList | None))


def _wrap_prompts(data: dict[str, Any], cls: type) -> dict[str, Any]:
    """A single prompt may be written without the list: prompts = "menu/main"."""
    out = dict(data)
    for key, value in data.items():
        if key in _prompt_fields(cls) and isinstance(value, str | dict):
            out[key] = [value]
        elif key == "questions" and isinstance(value, list):
            out[key] = [_wrap_prompts(q, n.Question) if isinstance(q, dict) else q for q in value]
    return out


def _parse_node(file: str, name: str, data: Any, faults: list[Fault]) -> n.Node | None:
    def fault(message: str, code: str) -> None:
        faults.append(Fault(file, name, message, code))

    if not NODE_NAME.match(name):
        fault("a node name may use only letters, digits, '_' and '-'", "bad-name")
        return None
    if not isinstance(data, dict):
        fault(f"must be a table ([nodes.{name}]), not {type(data).__name__}", "bad-value")
        return None
    kind = data.get("kind")
    if kind is None:
        fault("missing required field 'kind'", "missing-field")
        return None
    cls = n.KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        fault(f"unknown node kind {kind!r}{suggest(str(kind), n.KINDS)} "
              f"(kinds: {', '.join(n.KINDS)})", "unknown-kind")
        return None
    body = _wrap_prompts({k: v for k, v in data.items() if k != "kind"}, cls)
    try:
        return msgspec.convert(body, cls)
    except msgspec.ValidationError as e:
        message, code = _explain(e, cls)
        fault(f"({kind}) {message}", code)
        return None


def _table(file: str, data: dict[str, Any], key: str, cls: type[Any], faults: list[Fault],
           required: bool) -> Any:
    raw = data.get(key)
    if raw is None:
        if required:
            faults.append(Fault(file, None, f"missing the [{key}] table", "missing-field"))
            return None
        raw = {}
    if not isinstance(raw, dict):
        faults.append(Fault(file, None, f"[{key}] must be a table", "bad-value"))
        return None
    try:
        return msgspec.convert(_wrap_prompts(raw, cls), cls)
    except msgspec.ValidationError as e:
        message, code = _explain(e, cls)
        faults.append(Fault(file, None, f"[{key}]: {message}", code))
        return None


def var_name(node: str) -> str:
    """A variable name made from a node name (node names may hold '-' and capitals)."""
    return re.sub(r"[^a-z0-9_]", "_", node.lower())


def _retry_settings(node: n.Retrying) -> dict[str, Any]:
    return {f: getattr(node, f) for f in ("timeout", "retries", "invalid", "no_input",
                                          "too_many_failures", "on_fail")}


def expand(name: str, node: n.Node) -> dict[str, n.Node]:
    """A composite node as plain nodes: `name` itself first, then `name.step` ones."""
    about = f"part of {node.kind} node '{name}'"
    v = var_name(name)
    if isinstance(node, n.WorkOrderStatus):
        number = f"{v}_number"
        default: n.PromptList = [
            "wo/number_is", n.Part(say="digits", value=f"${number}", group=4), "wo/status_is",
            n.Part(say="prompt", value=f"${node.into}.status", prefix=node.status_prefix,
                   choices=list(node.statuses), fallback=f"{node.status_prefix}unknown"),
            "wo/updated_at", n.Part(say="datetime", value=f"${node.into}.updated_at"),
        ]
        readout = node.readout if node.readout is not None else default
        return {
            name: n.Collect(description=node.description or about, prompts=node.prompts,
                            into=number, next=f"{name}.lookup", min_digits=node.min_digits,
                            max_digits=node.max_digits, terminator=node.terminator,
                            **_retry_settings(node)),
            f"{name}.lookup": n.Lookup(description=about, source="work_order_status",
                                       args={"number": f"${number}"}, into=node.into,
                                       found=f"{name}.status", not_found=f"{name}.not_found"),
            f"{name}.status": n.Say(description=about, prompts=readout, next=node.next),
            f"{name}.not_found": n.Play(description=about, prompts=node.not_found, next=name),
        }
    if isinstance(node, n.Callback):
        number = f"{v}_number"
        save = {"account": node.account, "queue": node.queue, "next": f"{name}.done",
                "on_error": f"{name}.failed"}
        return {
            name: n.Menu(description=node.description or about, prompts=node.prompts,
                         options={"1": f"{name}.save_caller", "2": f"{name}.number"},
                         **_retry_settings(node)),
            f"{name}.number": n.Collect(description=about, prompts=node.enter_number,
                                        into=number, min_digits=5, max_digits=15,
                                        next=f"{name}.save_other", **_retry_settings(node)),
            f"{name}.save_caller": n.RequestCallback(description=about, number="$caller", **save),
            f"{name}.save_other": n.RequestCallback(description=about, number=f"${number}",
                                                    **save),
            f"{name}.done": n.Play(description=about, prompts=node.confirmed, next=node.next),
            f"{name}.failed": n.Play(description=about, prompts=node.failed, next=node.next),
        }
    if isinstance(node, n.Survey):
        steps = [f"{name}.{q.key}" for q in node.questions] + [f"{name}.save"]
        out: dict[str, n.Node] = {
            name: n.Play(description=node.description or about, prompts=node.intro,
                         next=steps[0]),
        }
        for i, q in enumerate(node.questions):
            # An unanswered question is skipped, not a reason to end the call.
            out[steps[i]] = n.Collect(description=about, prompts=q.prompts,
                                      into=f"{v}_{var_name(q.key)}", max_digits=1, terminator="",
                                      pattern=f"[1-{max(1, min(q.max, 9))}]", next=steps[i + 1],
                                      on_fail=steps[i + 1], timeout=node.timeout, retries=2,
                                      too_many_failures=[])
        out[f"{name}.save"] = n.SaveSurvey(description=about, survey=name,
                                           answers=[f"{v}_{var_name(q.key)}"
                                                    for q in node.questions],
                                           next=f"{name}.thanks")
        out[f"{name}.thanks"] = n.Play(description=about, prompts=node.thanks, next=node.next)
        return out
    return {name: node}


def parse_flow(text: str, file: str = "<flow>") -> tuple[Flow | None, list[Fault]]:
    """Parse flow TOML into a `Flow` with composite nodes expanded; no cross-node checks yet."""
    faults: list[Fault] = []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return None, [Fault(file, None, f"not valid TOML: {e}", "bad-toml")]
    for key in data:
        if key not in ("flow", "calendar", "nodes"):
            faults.append(Fault(file, None, f"unknown table [{key}]"
                                f"{suggest(key, ('flow', 'calendar', 'nodes'))}", "unknown-field"))
    header = _table(file, data, "flow", n.Header, faults, required=True)
    calendar = _table(file, data, "calendar", n.Calendar, faults, required=False)
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        faults.append(Fault(file, None, "no [nodes.NAME] tables: a flow needs at least one node",
                            "missing-field"))
        raw_nodes = {}
    nodes: dict[str, n.Node] = {}
    origin: dict[str, str] = {}
    for name, raw in raw_nodes.items():
        node = _parse_node(file, name, raw, faults)
        if node is None:
            continue
        for step, plain in expand(name, node).items():
            nodes[step] = plain
            if step != name:
                origin[step] = name
    if header is None or calendar is None:
        return None, faults
    return Flow(file, header, calendar, nodes, origin), faults


def load_flow(path: Path | str, catalogue: Catalogue) -> tuple[Flow | None, list[Fault]]:
    """Parse and check a flow file; returns the flow (None if unusable) and every fault."""
    from ccd.ivr.check import check_flow

    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return None, [Fault(file, None, f"cannot read the flow: {e}", "unreadable")]
    flow, faults = parse_flow(text, file)
    # Cross-node checks only once every node parsed: a node that failed to parse would otherwise
    # show up again as an unknown target and make its successors look unreachable.
    if flow is not None and not faults:
        faults = check_flow(flow, catalogue)
    return (flow if not faults else None), faults


def validate_flow(path: Path | str, catalogue: Catalogue) -> Flow:
    """Read, expand and check the flow at `path` against the prompt `catalogue`.

    Raises `FlowError` listing every fault (file, node, fault); returns the `Flow` otherwise.
    """
    flow, faults = load_flow(path, catalogue)
    if faults or flow is None:
        raise FlowError(faults)
    return flow
