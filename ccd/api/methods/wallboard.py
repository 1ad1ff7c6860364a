"""The wallboard's methods: `wallboard.snapshot` and `wallboard.call` (a call's details).

Team leads and admins watch and act; QA staff may watch (read-only: the supervisor actions are
not theirs). The snapshot comes from the daemon's live publisher (`daemon.wallboard`, see
ccd/reports/publisher.py); without one (a daemon started without it) it is computed from the
stored rows, with `live` false. Neither needs the ACD runtime: with no events it is all zeros.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec

from ccd.api.registry import Context, NoParams, Params, method
from ccd.errors import NotFound
from ccd.reports import live, source
from ccd.reports.board import Wallboard
from ccd.reports.settings import settings_of

WATCHERS = frozenset({"teamlead", "admin", "qa"})


@method("wallboard.snapshot", roles=WATCHERS)
async def snapshot(ctx: Context, params: NoParams) -> Wallboard:
    """The whole board now: headline, queues, agents, alerts, trend (then follow 'wallboard')."""
    publisher = getattr(ctx.services, "wallboard", None)
    if publisher is not None:
        return publisher.snapshot()  # type: ignore[no-any-return]
    config = ctx.services.config
    # On the daemon's own connection, so in its thread: a fallback, reading today's rows once.
    return live.one_off(ctx.services.db, settings_of(config), config.site.timezone, time.time())


class CallParams(Params):
    call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


@method("wallboard.call", roles=WATCHERS, params=CallParams)
async def call_details(ctx: Context, params: CallParams) -> dict[str, Any]:
    """A call's record, its events, its queue events and its recording references."""
    found = source.call_details(ctx.services.db, params.call_id)
    if found is None:
        raise NotFound(
            f"no call {params.call_id}",
            error_id="no-such-call",
            call_id=params.call_id,
            call=params.call_id,  # (the catalogue's texts name it either way)
        )
    return found
