"""Work orders inside `ccd run`: the service, its scheduler and the web status endpoint.

    for start in _extra_services(): await nursery.start(start, daemon)

`serve(daemon)` builds the WorkOrders service on the daemon's database (kept as
`daemon.workorders`, which the API methods use), starts the reminder/escalation scheduler
(publishing each reminder and escalation on the broker topic `wo.timer`), starts the HTTP status
endpoint when `[workorders.web] enabled`, and reports its numbers under `workorders` in
`ccd status`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import trio

from ccd import webstatus
from ccd.workorders.scheduler import Fired, Scheduler
from ccd.workorders.service import WorkOrders
from ccd.workorders.settings import WorkOrderSettings, validate

log = logging.getLogger("ccd.workorders")
TOPIC = "wo.timer"


def settings_of(config: Any) -> WorkOrderSettings:
    """The `[workorders]` section of a Config, or the defaults while config.py lacks it."""
    found = getattr(config, "workorders", None)
    return found if isinstance(found, WorkOrderSettings) else WorkOrderSettings()


def build(daemon: Any) -> WorkOrders:
    """A WorkOrders service for the daemon's database and config."""
    settings = settings_of(daemon.config)
    validate(settings)
    return WorkOrders(
        daemon.db,
        settings,
        timezone=daemon.config.site.timezone,
        site_name=daemon.config.site.name,
        now=time.time,
    )


async def serve(daemon: Any, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Run the work-order services for `daemon` until cancelled."""
    service = build(daemon)
    broker = getattr(daemon, "broker", None)

    def publish(fired: Fired) -> None:
        if broker is not None:
            broker.publish(TOPIC, {
                "number": fired.number, "kind": fired.kind, "notify": list(fired.notify),
                "department": fired.department,
            })

    scheduler = Scheduler(service, on_fire=publish)
    service.on_change = scheduler.wake
    daemon.workorders = service
    web_server: list[webstatus.StatusServer] = []

    def status() -> dict[str, Any]:
        out: dict[str, Any] = {
            "open": daemon.db.execute(
                "SELECT count(*) FROM work_orders WHERE status NOT IN ('closed', 'cancelled')"
            ).fetchone()[0],
            "overdue": daemon.db.execute(
                "SELECT count(*) FROM work_orders WHERE escalated_at IS NOT NULL "
                "AND status NOT IN ('closed', 'cancelled', 'paused')"
            ).fetchone()[0],
            "timers_fired": scheduler.fired,
        }
        if web_server:
            out["web_requests"] = web_server[0].requests
            out["web_refused"] = web_server[0].refused
        return out

    if hasattr(daemon, "status_sources"):
        daemon.status_sources["workorders"] = status

    async def reload(config: Any) -> None:
        new = settings_of(config)
        validate(new)
        service.settings = new
        service.reload_calendar()
        scheduler.wake()

    if hasattr(daemon, "reload_hooks"):
        daemon.reload_hooks.append(reload)

    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.run)
        if service.settings.web.enabled:
            server, bound = await nursery.start(webstatus.serve, daemon.db, service.settings.web)
            web_server.append(server)
            log.info("work-order status endpoint on %s:%s", *bound)
        task_status.started(service)
