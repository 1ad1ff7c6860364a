"""Queues and stations: list (team leads, and agents for stations), add, change, remove (admin).

Writes are committed with their audit entry before the reply. A new queue or station works at
once in the running ACD; a changed or removed queue applies when the daemon restarts (the
running ACD keeps serving its callers with the settings it started with) and the reply says so
with `"applies": "restart"`.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import msgspec

from ccd.acd import settings as acd_settings
from ccd.acd import tables
from ccd.acd.settings import AcdSettings, OverflowSettings, QueueSettings, StrategyName
from ccd.api.registry import Context, NoParams, Params, method
from db import users

ADMIN = {"admin"}
LEAD = {"teamlead", "admin"}
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=86400)]
Key = Annotated[str, msgspec.Meta(pattern=r"^[0-9*#]?$")]


def _acd(ctx: Context) -> Any:
    return getattr(ctx.services, "acd", None)


def _settings(ctx: Context) -> AcdSettings:
    acd = _acd(ctx)
    if acd is not None:
        return acd.settings  # type: ignore[no-any-return]
    return acd_settings.from_config(ctx.services.config)


class QueueFields(Params, kw_only=True):
    """QueueSettings fields; unset ones keep their value (set) or default (add)."""

    display_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    skills: dict[str, Annotated[int, msgspec.Meta(ge=1, le=10)]] | None = None
    strategy: StrategyName | None = None
    wrap_up_s: Seconds | None = None
    service_level_s: Seconds | None = None
    ring_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] | None = None
    max_wait_s: Seconds | None = None
    overflow: list[OverflowSettings] | None = None
    weight: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    default_aht_s: Annotated[float, msgspec.Meta(gt=0, le=86400)] | None = None
    music: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    announce_every_s: Seconds | None = None
    callback_key: Key | None = None
    ivr_key: Key | None = None
    wrap_up_required: bool | None = None  # a wrap-up code before the agent's next call


class QueueAddParams(QueueFields, kw_only=True):
    name: Name


def _given(params: QueueFields) -> dict[str, Any]:
    data = msgspec.to_builtins(params)
    data.pop("name", None)
    return {k: v for k, v in data.items() if v is not None}


@method("queues.list", roles=LEAD)
async def list_queues(ctx: Context, params: NoParams) -> list[dict[str, Any]]:
    """Every queue (database and ccd.toml) with its effective settings."""
    return tables.queue_rows(ctx.services.db, _settings(ctx))


@method("queues.add", roles=ADMIN, params=QueueAddParams)
async def add_queue(ctx: Context, params: QueueAddParams) -> dict[str, Any]:
    """Create a queue in the database; the running ACD takes callers in it at once."""
    db = ctx.services.db
    fields = _given(params)
    queue = msgspec.convert(fields, QueueSettings)
    tables.add_queue(db, params.name, queue, _settings(ctx))
    users.audit(db, ctx.session.actor, ctx.method, target=params.name, details=fields)
    acd = _acd(ctx)
    if acd is not None:
        acd.add_new_queues()
    return {"queue": params.name, "applies": "now" if acd is not None else "start"}


@method("queues.set", roles=ADMIN, params=QueueAddParams)
async def set_queue(ctx: Context, params: QueueAddParams) -> dict[str, Any]:
    """Change a database queue's settings (given fields only; skills replace the old set); the
    running ACD applies them at once, to the callers already waiting too."""
    db = ctx.services.db
    fields = _given(params)
    tables.set_queue(db, params.name, fields, _settings(ctx))
    users.audit(db, ctx.session.actor, ctx.method, target=params.name, details=fields)
    acd = _acd(ctx)
    if acd is not None:
        acd.apply_queue_changes()
        await acd.store.flush()
    return {"queue": params.name, "applies": "now" if acd is not None else "start"}


class NameParams(Params):
    name: Name


@method("queues.remove", roles=ADMIN, params=NameParams)
async def remove_queue(ctx: Context, params: NameParams) -> dict[str, Any]:
    """Delete a database queue (refused while another queue overflows to it)."""
    db = ctx.services.db
    tables.remove_queue(db, params.name, _settings(ctx))
    users.audit(db, ctx.session.actor, ctx.method, target=params.name)
    return {"queue": params.name, "applies": "restart"}


@method("stations.list", roles={"agent", "teamlead", "admin"})
async def list_stations(ctx: Context, params: NoParams) -> list[dict[str, Any]]:
    """Every station (database and ccd.toml): name, SIP URI, and who is logged in there."""
    acd = _acd(ctx)
    in_use: dict[str, str] = {}
    if acd is not None:
        for agent in acd.snapshot()["agents"]:
            if agent["station"]:
                in_use[agent["station"]] = agent["agent"]
    directory = tables.StationDirectory(ctx.services.db, _settings(ctx))
    return [
        {**dataclasses.asdict(s), "agent": in_use.get(s.name)} for s in directory.all().values()
    ]


class StationAddParams(Params):
    name: Name
    uri: Annotated[str, msgspec.Meta(pattern=r"^sips?:\S{1,250}$")]
    description: Annotated[str, msgspec.Meta(max_length=100)] = ""


@method("stations.add", roles=ADMIN, params=StationAddParams)
async def add_station(ctx: Context, params: StationAddParams) -> dict[str, Any]:
    """Add a station (a desk phone's SIP URI); agents can log in at it at once."""
    db = ctx.services.db
    station = tables.add_station(db, params.name, params.uri, params.description)
    users.audit(db, ctx.session.actor, ctx.method, target=params.name,
                details={"uri": params.uri})
    return dataclasses.asdict(station)


@method("stations.remove", roles=ADMIN, params=NameParams)
async def remove_station(ctx: Context, params: NameParams) -> dict[str, Any]:
    """Delete a station from the database (an agent logged in there stays until logout)."""
    db = ctx.services.db
    tables.remove_station(db, params.name)
    users.audit(db, ctx.session.actor, ctx.method, target=params.name)
    return {"station": params.name}
