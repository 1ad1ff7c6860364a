"""Team-lead methods: live queues and agents, listen / whisper / barge, and forcing a state.

Spying and forcing a state are audited (who, on whom, how), committed before the reply. The team
lead's phone is named by a station (`station`) or given as a SIP URI (`uri`); ccd rings it and,
once answered, joins it to the agent's call in the chosen mode. Calling another mode while
listening switches mode on the same phone leg.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ccd.api.methods.agent import runtime
from ccd.api.registry import Context, NoParams, Params, method
from ccd.errors import ClientError
from db import users

LEAD = {"teamlead", "admin"}
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Uri = Annotated[str, msgspec.Meta(pattern=r"^sips?:\S{1,250}$")]


@method("acd.snapshot", roles=LEAD)
async def snapshot(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Every queue's and agent's live numbers (what the wallboard shows)."""
    return runtime(ctx).snapshot()  # type: ignore[no-any-return]


class SpyParams(Params):
    agent: Name
    station: Name | None = None
    uri: Uri | None = None


def _lead_uri(ctx: Context, params: SpyParams) -> str:
    if (params.station is None) == (params.uri is None):
        raise ClientError(
            "give the team lead's phone as either station or uri",
            error_id="bad-params",
            method=ctx.method,
            reason="station or uri",
        )
    if params.uri is not None:
        return params.uri
    return str(runtime(ctx).directory.get(params.station).uri)


async def _spy(ctx: Context, params: SpyParams, mode: str) -> dict[str, Any]:
    acd = runtime(ctx)
    uri = _lead_uri(ctx, params)
    lead = ctx.session.username
    try:
        result = await acd.spy(lead, params.agent, mode, uri)
    except Exception as exc:
        users.audit(
            ctx.services.db, ctx.session.actor, ctx.method, target=params.agent,
            outcome="failed", details={"mode": mode, "uri": uri, "error": str(exc)},
        )
        raise
    users.audit(
        ctx.services.db, ctx.session.actor, ctx.method, target=params.agent,
        details={"mode": mode, "uri": uri, "call_id": result["call_id"]},
    )
    return result  # type: ignore[no-any-return]


@method("supervisor.listen", roles=LEAD, params=SpyParams)
async def listen(ctx: Context, params: SpyParams) -> dict[str, Any]:
    """Hear the agent and the caller; nobody hears you."""
    return await _spy(ctx, params, "listen")


@method("supervisor.whisper", roles=LEAD, params=SpyParams)
async def whisper(ctx: Context, params: SpyParams) -> dict[str, Any]:
    """Hear both; only the agent hears you."""
    return await _spy(ctx, params, "whisper")


@method("supervisor.barge", roles=LEAD, params=SpyParams)
async def barge(ctx: Context, params: SpyParams) -> dict[str, Any]:
    """Join the call: all three hear each other."""
    return await _spy(ctx, params, "barge")


class StopParams(Params):
    agent: Name | None = None
    station: Name | None = None
    uri: Uri | None = None


@method("supervisor.stop", roles=LEAD, params=StopParams)
async def stop(ctx: Context, params: StopParams) -> dict[str, Any]:
    """Stop listening (your phone is hung up)."""
    stopped = await runtime(ctx).stop_spy(ctx.session.username)
    users.audit(
        ctx.services.db, ctx.session.actor, ctx.method, target=params.agent or "",
        details={"stopped": stopped},
    )
    return {"stopped": stopped}


class ForceStateParams(Params):
    agent: Name
    state: Literal["ready", "not_ready", "logged_out"]
    reason: Annotated[str, msgspec.Meta(max_length=32)] = ""


@method("supervisor.force_state", roles=LEAD, params=ForceStateParams)
async def force_state(ctx: Context, params: ForceStateParams) -> dict[str, Any]:
    """Set an agent's state (ready, not ready with a reason, or logged out); audited."""
    acd = runtime(ctx)
    lead = ctx.session.username
    before = acd.agent_state(params.agent)
    acd.force_state(params.agent, params.state, params.reason, by=lead)
    await acd.store.flush()
    users.audit(
        ctx.services.db, ctx.session.actor, ctx.method, target=params.agent,
        details={"from": before["state"], "to": params.state, "reason": params.reason},
    )
    return acd.agent_state(params.agent)  # type: ignore[no-any-return]
