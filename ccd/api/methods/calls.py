"""`calls.list`, `calls.show`: call records for team leads, QA and admins; `telephony.stats` and
`flows.reload` for admins."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec

from ccd.acd import catalogue as acd_catalogue
from ccd.api import catalogue
from ccd.api.registry import Context, NoParams, method
from ccd.calls import CallLog
from ccd.errors import CcdError, NotFound

catalogue.register({
    "no-such-call": acd_catalogue.ERRORS["no-such-call"],
    "telephony-off": {"zh": "电话服务未运行", "en": "telephony is not running"},
    "reload-unsupported": {"zh": "守护进程不能重新加载", "en": "this daemon cannot reload"},
    "bad-flow": {"zh": "流程文件有错误，未加载：{reason}", "en": "the flow has faults and was not loaded: {reason}"},
})

READERS = frozenset({"teamlead", "qa", "admin"})
ADMIN = frozenset({"admin"})


class ListParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    since: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50


class ShowParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


def _decoded(call: dict[str, Any]) -> dict[str, Any]:
    call = dict(call)
    call["ivr_path"] = json.loads(call.get("ivr_path") or "[]")
    return call


@method("calls.list", roles=READERS, params=ListParams)
async def calls_list(ctx: Context, params: ListParams) -> list[dict[str, Any]]:
    """Recent call records, newest first; `digits` holds the caller's DTMF digits in order."""
    return [_decoded(c) for c in CallLog(ctx.services.db).recent(params.since, params.limit)]


@method("calls.show", roles=READERS, params=ShowParams)
async def calls_show(ctx: Context, params: ShowParams) -> dict[str, Any]:
    """One call record with its events and recordings."""
    call = CallLog(ctx.services.db).get(params.id)
    if call is None:
        raise NotFound(f"no call {params.id}", error_id="no-such-call", call_id=params.id)
    return _decoded(call)


@method("telephony.stats", roles=ADMIN)
async def telephony_stats(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Each media worker's live pjsua2 object counts (calls, players, recorders)."""
    driver = getattr(ctx.services, "sip", None)
    if driver is None:
        raise CcdError("telephony is not running", error_id="telephony-off")
    workers = []
    for index in range(len(driver.statistics()["workers"])):
        reply = await driver.worker_stats(index, objects=True)
        workers.append(msgspec.to_builtins(reply))
    return {"workers": workers}


@method("flows.reload", roles=ADMIN)
async def flows_reload(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Re-read the config and the IVR flow (as SIGHUP does); a flow with faults is refused."""
    reload = getattr(ctx.services, "reload", None)
    if reload is None:
        raise CcdError("this daemon cannot reload", error_id="reload-unsupported")
    from ccd import config as configuration
    from ccd.ivr.flow import FlowError
    from ccd.telephony.service import load_flow

    config = configuration.load(ctx.services.config.source, getattr(ctx.services, "overrides", ()))
    try:
        load_flow(config)
    except FlowError as e:  # say why to the admin who asked, not only in the daemon's log
        raise CcdError(str(e), error_id="bad-flow", reason=str(e)) from None
    await reload()
    telephony = getattr(ctx.services, "telephony", None)
    return {"flow": telephony.statistics()["flow"] if telephony else None}
