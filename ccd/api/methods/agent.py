"""Agent methods: log in at a station, ready / not ready, and call control (agent role).

Each acts as the logged-in user (their user name is the agent's id), commits the ACD records it
caused before replying, and returns the agent's state (`agent.state`). Refusals carry the core's
error codes: `bad-agent-transition` (the state does not allow it), `station-in-use`,
`no-such-station`, `agent-not-available` (a transfer target who is not ready)... Not-ready
reasons and wrap-up codes must be among `[console]`'s (`unknown-reason`, `unknown-disposition`).

`agent.options` gives the console its pick lists in one reply: reasons, dispositions, the survey
script, work-order types, departments and priorities, and the stations with who is at each.

Events for the agent's console are pushed on the topic 'agent.<username>' (subscribe to it).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec

from ccd import console_settings
from ccd.acd import catalogue as acd_catalogue
from ccd.acd import settings as acd_settings
from ccd.acd import tables
from ccd.api import catalogue
from ccd.api.registry import Context, NoParams, Params, method
from ccd.console_settings import Choice, ConsoleSettings
from ccd.errors import CcdError, ClientError
from ccd.workorders import queries
from ccd.workorders.settings import PRIORITIES

AGENT = {"agent"}
HOTLINE = {"agent", "teamlead", "admin"}
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(max_length=500)]

for _code, _messages in acd_catalogue.ERRORS.items():
    catalogue.MESSAGES.setdefault(_code, _messages)


def runtime(ctx: Context) -> Any:
    """The daemon's AcdRuntime; `acd-not-running` when the daemon has none."""
    acd = getattr(ctx.services, "acd", None)
    if acd is None:
        raise CcdError("the ACD is not running", error_id="acd-not-running")
    return acd


def console(ctx: Context) -> ConsoleSettings:
    """`[console]` of the daemon's current config (a SIGHUP reload replaces it)."""
    return console_settings.from_config(ctx.services.config)


def _check_choice(
    choices: Sequence[Choice], code: str, error_id: str, field: str, what: str
) -> None:
    valid = console_settings.codes(choices)
    if code not in valid:
        raise ClientError(
            f"{code!r} is not a {what} (choose from: {', '.join(valid)})",
            error_id=error_id,
            valid=valid,
            did_you_mean=difflib.get_close_matches(code, valid, n=1, cutoff=0.6),
            **{field: code},
        )


async def _state(ctx: Context) -> dict[str, Any]:
    acd = runtime(ctx)
    await acd.store.flush()
    return acd.agent_state(ctx.session.username)  # type: ignore[no-any-return]


class LoginParams(Params):
    station: Name
    ready: bool = False
    answer: Literal["phone", "console"] = "phone"


@method("agent.login", roles=AGENT, params=LoginParams)
async def login(ctx: Context, params: LoginParams) -> dict[str, Any]:
    """Log in at a station (not ready, unless ready=true); answer='console' answers calls from
    the console (`agent.answer`) on a phone that auto-answers."""
    me = ctx.session.username
    acd = runtime(ctx)
    acd.login(me, params.station, ready=params.ready, answer=params.answer, by=me)
    acd.consoles.attach(me, ctx.connection)
    return await _state(ctx)


@method("agent.logout", roles=AGENT)
async def logout(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Log out (not while on a call)."""
    me = ctx.session.username
    runtime(ctx).logout(me, by=me)
    return await _state(ctx)


@method("agent.ready", roles=AGENT)
async def ready(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Go ready (also ends wrap-up now, or cancels 'not ready after this call')."""
    me = ctx.session.username
    runtime(ctx).ready(me, by=me)
    return await _state(ctx)


class NotReadyParams(Params):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] = "break"


@method("agent.not_ready", roles=AGENT, params=NotReadyParams)
async def not_ready(ctx: Context, params: NotReadyParams) -> dict[str, Any]:
    """Go not ready with a reason code; during a call: not ready once it ends."""
    _check_choice(console(ctx).not_ready_reasons, params.reason, "unknown-reason", "reason",
                  "not-ready reason")
    me = ctx.session.username
    runtime(ctx).not_ready(me, params.reason, by=me)
    return await _state(ctx)


@method("agent.state", roles=AGENT)
async def state(ctx: Context, params: NoParams) -> dict[str, Any]:
    """The agent's state, station, current call and how long they have been in the state. The
    connection that asks is taken as the agent's console: when the last one closes, the agent
    is logged out (ccd.acd.consoles)."""
    result = await _state(ctx)
    if result.get("state") != "logged_out":
        runtime(ctx).consoles.attach(ctx.session.username, ctx.connection)
    return result


@method("agent.answer", roles=AGENT)
async def answer(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Answer the ringing call from the console (agents logged in with answer='console')."""
    runtime(ctx).answer(ctx.session.username)
    return await _state(ctx)


@method("agent.hangup", roles=AGENT)
async def hangup(ctx: Context, params: NoParams) -> dict[str, Any]:
    """End the call (in a conference: leave, the consulted agent keeps the caller)."""
    runtime(ctx).hangup(ctx.session.username)
    return await _state(ctx)


@method("agent.hold", roles=AGENT)
async def hold(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Put the caller on hold (they hear music)."""
    runtime(ctx).hold(ctx.session.username)
    return await _state(ctx)


@method("agent.unhold", roles=AGENT)
async def unhold(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Take the caller off hold."""
    runtime(ctx).unhold(ctx.session.username)
    return await _state(ctx)


class TransferParams(Params):
    target: Name
    mode: Literal["blind", "consult"] = "blind"


@method("agent.transfer", roles=AGENT, params=TransferParams)
async def transfer(ctx: Context, params: TransferParams) -> dict[str, Any]:
    """Transfer the caller. blind: to a queue or a ready agent. consult: the first call rings
    the target agent (the caller holds); the second, once they answered, hands the caller over."""
    done = runtime(ctx).transfer(ctx.session.username, params.target, params.mode)
    return {**await _state(ctx), "transfer": done}


@method("agent.consult_end", roles=AGENT)
async def consult_end(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Hang up the consultation; the caller stays on hold."""
    runtime(ctx).consult_end(ctx.session.username)
    return await _state(ctx)


@method("agent.conference", roles=AGENT)
async def conference(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Join the caller, yourself and the consulted agent (who has answered) in one call."""
    consulted = await runtime(ctx).conference(ctx.session.username)
    return {**await _state(ctx), "conference_with": consulted}


class DialParams(Params):
    number: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9]{2,20}$")]


@method("agent.dial", roles=AGENT, params=DialParams)
async def dial(ctx: Context, params: DialParams) -> dict[str, Any]:
    """Call a number: your phone rings first, then the number; progress comes as events."""
    me = ctx.session.username
    call_id = runtime(ctx).dial(me, params.number, by=me)
    return {**await _state(ctx), "outbound": call_id}


class WrapUpParams(Params):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    note: Text = ""
    finish: bool = False


@method("agent.wrap_up", roles=AGENT, params=WrapUpParams)
async def wrap_up(ctx: Context, params: WrapUpParams) -> dict[str, Any]:
    """Record the call's disposition code and note; finish=true ends wrap-up now."""
    _check_choice(console(ctx).dispositions, params.code, "unknown-disposition", "code",
                  "disposition code")
    me = ctx.session.username
    call_id = runtime(ctx).wrap_up(me, params.code, params.note, params.finish, by=me)
    return {**await _state(ctx), "wrapped_call": call_id}


class NoteParams(Params):
    note: Text


@method("agent.note", roles=AGENT, params=NoteParams)
async def note(ctx: Context, params: NoteParams) -> dict[str, Any]:
    """Keep a note on your current or last call (no code needed, in any state): what the
    console has noted survives a wrap-up that times out."""
    call_id = runtime(ctx).note(ctx.session.username, params.note)
    return {**await _state(ctx), "noted_call": call_id}


def _stations(ctx: Context) -> list[dict[str, Any]]:
    """Every station (database and `[acd.stations]`) with the agent logged in there or None."""
    acd = getattr(ctx.services, "acd", None)
    in_use: dict[str, str] = {}
    if acd is not None:
        settings = acd.settings
        for agent in acd.snapshot()["agents"]:
            if agent["station"]:
                in_use[agent["station"]] = agent["agent"]
    else:
        settings = acd_settings.from_config(ctx.services.config)
    directory = tables.StationDirectory(ctx.services.db, settings)
    return [
        {"station": s.name, "uri": s.uri, "agent": in_use.get(s.name)}
        for s in directory.all().values()
    ]


def _last_station(ctx: Context, agent: str) -> str | None:
    row = ctx.services.db.execute(
        "SELECT station FROM agent_state_log WHERE agent = ? AND station IS NOT NULL "
        "ORDER BY at DESC, id DESC LIMIT 1",  # in the (agent, at) index's order: no sort
        [agent],
    ).fetchone()
    return row[0] if row else None


@method("agent.options", roles=HOTLINE)
async def options(ctx: Context, params: NoParams) -> dict[str, Any]:
    """The console's pick lists: not-ready reasons, dispositions, the survey script, work-order
    types, departments and priorities, stations (and who is at each), your last station."""
    settings = console(ctx)
    db = ctx.services.db
    return {
        "not_ready_reasons": msgspec.to_builtins(settings.not_ready_reasons),
        "dispositions": msgspec.to_builtins(settings.dispositions),
        "survey": msgspec.to_builtins(settings.survey),
        "types": queries.types(db),
        "departments": queries.departments(db),
        "priorities": list(PRIORITIES),
        "stations": _stations(ctx),
        "last_station": _last_station(ctx, ctx.session.username),
        "queues": [{"name": q["name"], "display_name": q.get("display_name") or q["name"]}
                   for q in tables.queue_rows(db, acd_settings.from_config(ctx.services.config))],
    }
