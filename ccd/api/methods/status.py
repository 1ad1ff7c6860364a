"""`status`: how the daemon is doing (uptime, version, connections, database size, pid)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ccd.api.registry import ANY_ROLE, Context, NoParams, method


@method("status", roles=ANY_ROLE)
async def status(ctx: Context, params: NoParams) -> dict[str, Any]:
    """The daemon's own numbers (Services.status()) plus the API's connections and counters."""
    api = ctx.server.statistics()
    return {
        **ctx.services.status(),
        "connections": api.connections,
        "api": {**dataclasses.asdict(api), **ctx.server.gate.statistics()},
        "events": dataclasses.asdict(ctx.services.broker.statistics()),
    }
