"""A frozen board for snapshot tests: the scripted morning (tests/reports/day.py) at 08:20:50,
served by a client stand-in that answers `wallboard.snapshot` and then stays quiet.

The Pilot tests against the real daemon check the connection; these check the drawing, which
must not depend on a clock or a daemon.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec

from ccd.reports import board as wire
from ccd.reports.aggregator import Aggregator
from ccd.reports.settings import WallboardSettings
from ccd.reports.source import QueueInfo, WorkOrderAlerts
from tests.reports import day

NOW = day.T0 + 1250  # 08:20:50: c7 waits in billing, a3 is at a meal, a2 is wrapping up
NAMES = {
    "a1": {"name": "王芳", "number": "1001"},
    "a2": {"name": "李明", "number": "1002"},
    "a3": {"name": "张伟", "number": "1003"},
}
QUEUES = {
    "general": QueueInfo("general", "综合服务", 20.0),
    "billing": QueueInfo("billing", "账务查询", 30.0),
}


def frozen_board(now: float = NOW) -> wire.Wallboard:
    agg = Aggregator(day.CALENDAR, short_abandon_s=day.SHORT_ABANDON_S, targets=day.TARGETS)
    agg.feed(e for e in day.events() if e.at <= now)
    stats = agg.statistics(now)
    settings = WallboardSettings()
    help_requests = [{"id": 7, "agent": "a1", "raised_at": now - 95, "message": "客户要求减免违约金"}]
    alerts = wire.alerts(stats, thresholds=settings.thresholds, help_requests=help_requests,
                         work_orders=WorkOrderAlerts(2, 1, ("WO-20261123-0007", "WO-20261123-0011"),
                                                     ("WO-20261122-0042",), True),
                         names=NAMES)
    return wire.build(stats, settings=settings, queues=QUEUES, names=NAMES, alert_list=alerts,
                      seq=42, high_water={"queue_events": 80, "agent_state_log": 60})


class QuietClient:
    """Stands in for AsyncioClient: logs in, serves one snapshot, then no pushes."""

    def __init__(self, board: wire.Wallboard, roles: tuple[str, ...] = ("teamlead",)) -> None:
        self.board = board
        self.roles = roles
        self.connected = False
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def open(self) -> None:
        self.connected = True

    async def login_peer(self) -> dict[str, Any]:
        return {"username": "lead1", "roles": list(self.roles)}

    async def subscribe(self, *topics: str) -> list[str]:
        return list(topics)

    async def call(self, method: str, /, **params: Any) -> Any:
        self.calls.append((method, params))
        if method == "wallboard.snapshot":
            return msgspec.to_builtins(self.board)
        return {}

    async def events(self) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield None  # pragma: no cover


async def login(client: QuietClient) -> dict[str, Any]:
    return await client.login_peer()


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text lines (trailing blanks removed)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips).rstrip() + "\n"


GOLDEN = Path(__file__).with_name("golden")
