"""`ccd queues`, `ccd stations` and `ccd agent-cli`: the ACD's configuration and a line client.

Wire them with `app.add_typer(cli_acd.queues_app, name="queues")`,
`app.add_typer(cli_acd.stations_app, name="stations")` and
`app.add_typer(cli_acd.agent_cli_app, name="agent-cli")`.

Queue and station commands go through the daemon's socket when it runs (it checks who may, and
a new queue or station works at once); with the daemon stopped they run the same API handlers on
the database directly, as a local admin. `agent-cli` always needs the daemon.
"""

from __future__ import annotations

import getpass
import json
import os
import queue
import shlex
import sys
import threading
from types import SimpleNamespace
from typing import Annotated, Any

import trio
import typer

import db as database
from ccd.acd.catalogue import CLI
from ccd.acd.store import agent_topic
from ccd.cli.context import connect, fail, state
from ccd.cli.tables import show_table
from ccd.errors import CcdError
from ccd.lock import is_locked
from ccd.words import text

queues_app = typer.Typer(
    help=(
        "Queues (队列): skills, strategy, wrap-up, service level, overflow.\n\n"
        "Examples:\n\n"
        "  ccd queues list\n\n"
        "  ccd queues add water --skill water=1 --strategy best_skill --wrap-up 30\n\n"
        "  ccd queues set water --overflow 60:skills:billing=3 --overflow 180:queue:general\n\n"
        "  ccd queues remove water"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
stations_app = typer.Typer(
    help=(
        "Stations (座席电话): the desk phones agents log in at.\n\n"
        "Examples:\n\n"
        "  ccd stations list\n\n"
        "  ccd stations add seat13 sip:agent1013@10.0.0.33 --description '二楼 13 号'\n\n"
        "  ccd stations remove seat13"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
agent_cli_app = typer.Typer(
    help=(
        "A line-oriented agent client: log in at a station, go ready, take calls.\n\n"
        "Examples:\n\n"
        "  CCD_PASSWORD=agent1001 ccd agent-cli --user agent1001 --station seat01 --ready\n\n"
        "  printf 'state\\nnotready lunch\\nlogout\\n' | ccd agent-cli --user agent1001\n\n"
        "Commands: login STATION, logout, ready, notready REASON, state, answer, hangup, hold,\n"
        "unhold, transfer TARGET, consult AGENT, consult-end, conference, dial NUMBER,\n"
        "wrapup CODE [NOTE], events [SECONDS], help, quit."
    ),
    rich_markup_mode=None,
    invoke_without_command=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _lang(ctx: typer.Context) -> str:
    return state(ctx).config.site.language


def call(ctx: typer.Context, method: str, /, **params: Any) -> Any:
    """Call an API method: through the daemon when it runs, else its handler on the database
    as a local admin."""
    config = state(ctx).config
    try:
        if is_locked(config.database_path):
            with connect(ctx) as client:
                return client.call(method, **params)
        return _call_locally(ctx, method, params)
    except CcdError as e:
        raise fail(e.message) from None


def _call_locally(ctx: typer.Context, name: str, params: dict[str, Any]) -> Any:
    import msgspec

    import ccd.api.methods  # noqa: F401  (registers the methods)
    from ccd.api.registry import REGISTRY, Session

    config = state(ctx).config
    path = config.database_path
    if not path.exists():
        raise fail(f"{path}: no database; run `ccd init` first or check --config")
    spec = REGISTRY.get(name)
    assert spec is not None, name
    user = os.environ.get("CCD_USER") or f"cli:{getpass.getuser()}"
    db = database.open_database(path)
    try:
        context = SimpleNamespace(
            session=Session(username=user, roles=frozenset({"admin"}), via="local"),
            services=SimpleNamespace(db=db, config=config, acd=None),
            method=name,
        )
        result = trio.run(spec.handler, context, spec.parse_params(params))
        return msgspec.to_builtins(result)
    finally:
        db.conn.close()


def _pairs(values: list[str] | None, what: str) -> dict[str, int] | None:
    if values is None:
        return None
    out = {}
    for item in values:
        skill, sep, level = item.partition("=")
        if not sep or not level.isdigit():
            raise fail(f"{what} {item!r}: expected SKILL=LEVEL, e.g. water=3")
        out[skill] = int(level)
    return out


def _overflow(values: list[str] | None) -> list[dict[str, Any]] | None:
    """'60:skills:billing=3,power=2' or '180:queue:general' as overflow rules."""
    if values is None:
        return None
    rules = []
    for item in values:
        if item in ("", "none"):
            continue
        after, _, rest = item.partition(":")
        kind, _, target = rest.partition(":")
        try:
            seconds = float(after)
        except ValueError:
            raise fail(f"--overflow {item!r}: expected SECONDS:skills:SKILL=LEVEL[,...] or "
                       "SECONDS:queue:NAME") from None
        if kind == "queue" and target:
            rules.append({"after_s": seconds, "to_queue": target})
        elif kind == "skills" and target:
            rules.append({"after_s": seconds,
                          "add_skills": _pairs(target.split(","), "--overflow")})
        else:
            raise fail(f"--overflow {item!r}: expected SECONDS:skills:SKILL=LEVEL[,...] or "
                       "SECONDS:queue:NAME")
    return rules


Skill = Annotated[list[str] | None, typer.Option(
    "--skill", "-s", help="Skill the queue needs, SKILL=MIN_LEVEL (repeatable; replaces all).")]
Strategy = Annotated[str | None, typer.Option(
    help="longest_idle, fewest_calls, best_skill, round_robin or ring_all.")]
WrapUp = Annotated[float | None, typer.Option("--wrap-up", help="Wrap-up seconds after a call.")]
ServiceLevel = Annotated[float | None, typer.Option(
    "--service-level", help="Answered within this many seconds counts as in service level.")]
RingTimeout = Annotated[float | None, typer.Option(
    "--ring-timeout", help="Seconds a station rings before it counts as missed.")]
MaxWait = Annotated[float | None, typer.Option(
    "--max-wait", help="Callers leave the queue after this many seconds (0: no limit).")]
Overflow = Annotated[list[str] | None, typer.Option(
    help="SECONDS:skills:SKILL=LEVEL[,...] or SECONDS:queue:NAME (repeatable; 'none' clears).")]
Weight = Annotated[float | None, typer.Option(
    help="How much this queue's waiting time counts against other queues' (default 1).")]
Music = Annotated[str | None, typer.Option(help="Music on hold: a WAV file.")]
Announce = Annotated[float | None, typer.Option(
    "--announce-every", help="Seconds between position announcements (0: none).")]
CallbackKey = Annotated[str | None, typer.Option(
    "--callback-key", help="Key for 'call me back' while waiting ('' to turn off).")]
IvrKey = Annotated[str | None, typer.Option(
    "--ivr-key", help="Key for 'back to self-service' while waiting ('' to turn off).")]
DisplayName = Annotated[str | None, typer.Option("--name", help="Display name, e.g. 供水业务.")]
WrapRequired = Annotated[bool | None, typer.Option(
    "--wrap-required/--no-wrap-required",
    help="Agents must enter a wrap-up code before their next call (default: [acd]'s).")]


def _queue_params(**options: Any) -> dict[str, Any]:
    names = {"wrap_up": "wrap_up_s", "service_level": "service_level_s",
             "ring_timeout": "ring_timeout_s", "max_wait": "max_wait_s",
             "announce_every": "announce_every_s", "name": "display_name",
             "wrap_required": "wrap_up_required"}
    params = {names.get(k, k): v for k, v in options.items() if v is not None}
    if "skill" in params:
        params["skills"] = _pairs(params.pop("skill"), "--skill")
    if "overflow" in params:
        params["overflow"] = _overflow(params["overflow"])
    return params


@queues_app.command("list")
def queues_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List queues with their effective settings (database and ccd.toml).

    Examples:

      ccd queues list

      ccd queues list --json
    """
    found = call(ctx, "queues.list")
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    lang = _lang(ctx)
    rows = []
    for q in found:
        skills = ",".join(f"{k}={v}" for k, v in q["skills"].items()) or "-"
        overflow = " ".join(
            f"{r['after_s']:g}s→" + (r.get("to_queue") or ",".join(
                f"{k}={v}" for k, v in (r.get("add_skills") or {}).items()))
            for r in q["overflow"]) or "-"
        wrap = f"{q['wrap_up_s']:g}s" + (text(CLI, "wrap_code_needed", lang)
                                         if q.get("wrap_up_required") else "")
        rows.append((q["name"], q["display_name"] or "-",
                     text(CLI, "strategy_" + q["strategy"], lang), skills, wrap,
                     f"{q['service_level_s']:g}s", f"{q['ring_timeout_s']:g}s", overflow,
                     text(CLI, "source_" + q["source"], lang)))
    show_table([(text(CLI, key, lang), "left") for key in (
        "col_queue", "col_display", "col_strategy", "col_skills", "col_wrap", "col_sl",
        "col_ring", "col_overflow", "col_source")], rows, text(CLI, "no_queues", lang))


@queues_app.command("add")
def queues_add(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="Queue name: lower-case letters, digits, _ -.")],
    skill: Skill = None,
    strategy: Strategy = None,
    wrap_up: WrapUp = None,
    service_level: ServiceLevel = None,
    ring_timeout: RingTimeout = None,
    max_wait: MaxWait = None,
    overflow: Overflow = None,
    weight: Weight = None,
    music: Music = None,
    announce_every: Announce = None,
    callback_key: CallbackKey = None,
    ivr_key: IvrKey = None,
    name: DisplayName = None,
    wrap_required: WrapRequired = None,
) -> None:
    """Add a queue (in the database).

    Examples:

      ccd queues add water --skill water=1 --name 供水业务

      ccd queues add vip --skill water=7 --strategy best_skill --overflow 30:queue:water

      ccd queues add complaints --skill complaints=3 --wrap-up 60 --wrap-required
    """
    params = _queue_params(skill=skill, strategy=strategy, wrap_up=wrap_up,
                           service_level=service_level, ring_timeout=ring_timeout,
                           max_wait=max_wait, overflow=overflow, weight=weight, music=music,
                           announce_every=announce_every, callback_key=callback_key,
                           ivr_key=ivr_key, name=name, wrap_required=wrap_required)
    call(ctx, "queues.add", name=queue, **params)
    typer.echo(text(CLI, "queue_added", _lang(ctx), name=queue))


@queues_app.command("set")
def queues_set(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="The queue to change.")],
    skill: Skill = None,
    strategy: Strategy = None,
    wrap_up: WrapUp = None,
    service_level: ServiceLevel = None,
    ring_timeout: RingTimeout = None,
    max_wait: MaxWait = None,
    overflow: Overflow = None,
    weight: Weight = None,
    music: Music = None,
    announce_every: Announce = None,
    callback_key: CallbackKey = None,
    ivr_key: IvrKey = None,
    name: DisplayName = None,
    wrap_required: WrapRequired = None,
) -> None:
    """Change a queue's settings (only the options given).

    Examples:

      ccd queues set water --wrap-up 45

      ccd queues set water --overflow 60:skills:billing=3 --overflow 180:queue:general

      ccd queues set water --overflow none

      ccd queues set water --wrap-required
    """
    params = _queue_params(skill=skill, strategy=strategy, wrap_up=wrap_up,
                           service_level=service_level, ring_timeout=ring_timeout,
                           max_wait=max_wait, overflow=overflow, weight=weight, music=music,
                           announce_every=announce_every, callback_key=callback_key,
                           ivr_key=ivr_key, name=name, wrap_required=wrap_required)
    result = call(ctx, "queues.set", name=queue, **params)
    lang = _lang(ctx)
    note = " " + text(CLI, "restart_needed", lang) if result.get("applies") == "restart" else ""
    typer.echo(text(CLI, "queue_changed", lang, name=queue) + note)


@queues_app.command("remove")
def queues_remove(
    ctx: typer.Context, queue: Annotated[str, typer.Argument(help="The queue to delete.")]
) -> None:
    """Delete a queue from the database.

    Examples:

      ccd queues remove gas
    """
    result = call(ctx, "queues.remove", name=queue)
    lang = _lang(ctx)
    note = " " + text(CLI, "restart_needed", lang) if result.get("applies") == "restart" else ""
    typer.echo(text(CLI, "queue_removed", lang, name=queue) + note)


@stations_app.command("list")
def stations_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List stations and who is logged in at each.

    Examples:

      ccd stations list
    """
    found = call(ctx, "stations.list")
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    for s in found:
        who = s.get("agent") or "-"
        typer.echo(f"{s['name']:<10} {s['uri']:<40} {who:<12} [{s['source']}] "
                   f"{s.get('description', '')}".rstrip())


@stations_app.command("add")
def stations_add(
    ctx: typer.Context,
    station: Annotated[str, typer.Argument(help="Station name, e.g. seat13.")],
    uri: Annotated[str, typer.Argument(help="SIP URI of the desk phone.")],
    description: Annotated[str, typer.Option(help="Where it is, e.g. 二楼 13 号.")] = "",
) -> None:
    """Add a station (a desk phone agents log in at).

    Examples:

      ccd stations add seat13 sip:agent1013@10.0.0.33
    """
    call(ctx, "stations.add", name=station, uri=uri, description=description)
    typer.echo(text(CLI, "station_added", _lang(ctx), name=station))


@stations_app.command("remove")
def stations_remove(
    ctx: typer.Context, station: Annotated[str, typer.Argument(help="The station to delete.")]
) -> None:
    """Delete a station.

    Examples:

      ccd stations remove seat13
    """
    call(ctx, "stations.remove", name=station)
    typer.echo(text(CLI, "station_removed", _lang(ctx), name=station))


# ---------------------------------------------------------------- agent-cli

COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # command: (method, parameter names taken from the words after it; the last takes the rest)
    "login": ("agent.login", ("station",)),
    "logout": ("agent.logout", ()),
    "ready": ("agent.ready", ()),
    "notready": ("agent.not_ready", ("reason",)),
    "state": ("agent.state", ()),
    "answer": ("agent.answer", ()),
    "hangup": ("agent.hangup", ()),
    "hold": ("agent.hold", ()),
    "unhold": ("agent.unhold", ()),
    "transfer": ("agent.transfer", ("target",)),
    "consult": ("agent.transfer", ("target",)),
    "consult-end": ("agent.consult_end", ()),
    "conference": ("agent.conference", ()),
    "dial": ("agent.dial", ("number",)),
    "wrapup": ("agent.wrap_up", ("code", "note")),
}


# What a command cannot do without (shown, instead of the daemon's parameter error, when missing).
REQUIRED = {"login": "login STATION [ready]", "transfer": "transfer TARGET",
            "consult": "consult AGENT", "dial": "dial NUMBER", "wrapup": "wrapup CODE [NOTE]"}


def _show_state(s: dict[str, Any]) -> str:
    parts = [s["state"] + (f":{s['reason']}" if s.get("reason") else "")]
    if s.get("station"):
        parts.append(f"@{s['station']}")
    if s.get("call_id"):
        parts.append(f"call={s['call_id']}")
    if s.get("caller"):
        parts.append(f"caller={s['caller']}")
    for key in ("transfer", "conference_with", "outbound", "wrapped_call"):
        if s.get(key):
            parts.append(f"{key}={s[key]}")
    return " ".join(parts)


def _show_event(event: Any) -> str:
    data = event.data if isinstance(event.data, dict) else {}
    what = data.get("kind", "")
    details = data.get("details") or {}
    if what == "agent_state":
        what = f"state {details.get('to')}" + (f":{details['reason']}" if details.get("reason")
                                               else "")
    elif what == "outbound":
        what = f"outbound {data.get('event')} {data.get('number', '')}"
    call = f" call={data['call_id']}" if data.get("call_id") else ""
    return f"* {what}{call}"


def run_line(client: Any, line: str, lang: str) -> str | None:
    """Carry out one agent-cli line; returns what to print (None: quit)."""
    words = shlex.split(line)
    if not words:
        return ""
    command, args = words[0].lower(), words[1:]
    if command in ("quit", "exit"):
        return None
    if command == "help":
        return text(CLI, "agent_help", lang)
    if command == "events":
        seconds = float(args[0]) if args else 5.0
        event = client.next_event(timeout=seconds)
        return _show_event(event) if event is not None else ""
    if command not in COMMANDS:
        return text(CLI, "unknown_command", lang, command=command)
    method, names = COMMANDS[command]
    needed = REQUIRED.get(command)
    if needed is not None and not args:
        return "! " + text(CLI, "needs_argument", lang, command=command, usage=needed)
    params: dict[str, Any] = {}
    for i, name in enumerate(names):
        if i < len(args):
            params[name] = " ".join(args[i:]) if i == len(names) - 1 else args[i]
    if command == "consult":
        params["mode"] = "consult"
    if command == "login" and len(args) > 1 and args[-1] == "ready":
        params = {"station": args[0], "ready": True}
    try:
        return _show_state(client.call(method, **params))
    except CcdError as e:
        return f"! {e.error_id}: {e.message}"


def _drain(client: Any) -> list[str]:
    out = []
    while (event := client.next_event(timeout=0.0)) is not None:
        out.append(_show_event(event))
    return out


@agent_cli_app.callback(invoke_without_command=True)
def agent_cli(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option(
        "--user", "-u", help="Agent user name (default: $CCD_USER).")] = None,
    station: Annotated[str | None, typer.Option(help="Log in at this station first.")] = None,
    ready: Annotated[bool, typer.Option(help="Go ready after logging in.")] = False,
) -> None:
    """Log in as an agent and read commands from stdin, one per line (see --help)."""
    if ctx.invoked_subcommand is not None:
        return
    user = user or os.environ.get("CCD_USER")
    if not user:
        raise fail("give --user NAME (or set CCD_USER)")
    password = os.environ.get("CCD_PASSWORD")
    if password is None:
        password = getpass.getpass(f"{user} password: ") if sys.stdin.isatty() else ""
    from ccd.api.client import SyncClient

    config = state(ctx).config
    lang = config.site.language
    try:
        client = SyncClient.connect(config.socket_path)
        session = client.login(user, password)
        lang = session.get("language") or lang
        client.subscribe(agent_topic(user))
    except CcdError as e:
        raise fail(e.message) from None
    interactive = sys.stdin.isatty()
    # Lines are read in a thread, so that events are shown as they come, not only after the
    # next command (the client is used by this thread alone).
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(sys.stdin, lines), daemon=True).start()
    with client:
        if station:
            typer.echo(run_line(client, f"login {shlex.quote(station)}"
                                + (" ready" if ready else ""), lang))
        prompt = True
        while True:
            if interactive and prompt:
                typer.echo(text(CLI, "agent_prompt", lang), nl=False)
                prompt = False
            try:
                line = lines.get_nowait()
            except queue.Empty:
                event = client.next_event(timeout=EVENT_POLL_S)
                if event is not None:
                    typer.echo(("\n" if interactive else "") + _show_event(event))
                    prompt = True
                continue
            if line is None:
                break
            for shown in _drain(client):
                typer.echo(shown)
            out = run_line(client, line, lang)
            if out is None:
                break
            if out:
                typer.echo(out)
            prompt = True
        for shown in _drain(client):
            typer.echo(shown)


EVENT_POLL_S = 0.2  # how often the loop looks for a typed line while waiting for events


def _read_lines(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)
