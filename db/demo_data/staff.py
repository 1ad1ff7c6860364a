"""Demo staff, skills, queues and stations: a small hotline centre ready to take calls.

Every demo user's password is their username ('admin' / 'admin', 'agent1001' / 'agent1001'):
convenient for a demo, and flagged in the `settings` row 'demo' so nobody mistakes it for a site.
"""

from __future__ import annotations

SKILLS: list[tuple[str, str]] = [
    ("water", "供水业务 / water supply"),
    ("billing", "账务查询 / billing"),
    ("power", "供电业务 / power supply"),
    ("gas", "燃气业务 / gas supply"),
    ("english", "英语服务 / English service"),
]

# name, display name, strategy, {skill: minimum level}
QUEUES: list[tuple[str, str, str, dict[str, int]]] = [
    ("general", "综合服务 / general", "longest_idle", {"water": 1}),
    ("billing", "账务查询 / billing", "longest_idle", {"billing": 1}),
    ("repair", "故障报修 / repairs", "best_skill", {"water": 5}),
    ("english", "English service", "longest_idle", {"english": 5}),
    ("vip", "VIP专席 / VIP", "best_skill", {"water": 7}),
]

# username, display name, agent number, roles, {skill: level}, language
USERS: list[tuple[str, str, str | None, tuple[str, ...], dict[str, int], str]] = [
    ("admin", "系统管理员", None, ("admin",), {}, "zh"),
    ("lead1", "孙强", "9001", ("teamlead", "agent"), {"water": 10, "billing": 9, "english": 5}, "zh"),
    ("lead2", "徐丽娟", "9002", ("teamlead", "agent"),
     {"water": 9, "billing": 9, "power": 7, "gas": 7}, "zh"),
    ("qa1", "郑雅琴", None, ("qa",), {}, "zh"),
    ("agent1001", "王芳", "1001", ("agent",), {"water": 8, "billing": 6}, "zh"),
    ("agent1002", "李明", "1002", ("agent",), {"water": 7, "billing": 5, "english": 6}, "zh"),
    ("agent1003", "张伟", "1003", ("agent",), {"water": 6, "power": 5}, "zh"),
    ("agent1004", "刘洋", "1004", ("agent",), {"billing": 8, "water": 4}, "zh"),
    ("agent1005", "陈静", "1005", ("agent",), {"water": 5, "gas": 6}, "zh"),
    ("agent1006", "杨帆", "1006", ("agent",), {"english": 8, "water": 5, "billing": 4}, "en"),
    ("agent1007", "赵磊", "1007", ("agent",), {"water": 9, "gas": 4}, "zh"),
    ("agent1008", "黄丽", "1008", ("agent",), {"billing": 7, "power": 6}, "zh"),
    ("agent1009", "周杰", "1009", ("agent",), {"power": 8, "water": 3}, "zh"),
    ("agent1010", "吴敏", "1010", ("agent",), {"gas": 8, "water": 5}, "zh"),
    # back office: they work dispatched work orders through `ccd wo` or the API
    ("crew1", "钱师傅", None, ("backoffice",), {}, "zh"),
    ("bill1", "孙会计", None, ("backoffice",), {}, "zh"),
    ("district1", "何所长", None, ("backoffice",), {}, "zh"),
]

# department code → (head, members): who accepts, works and reports back on dispatched orders.
DEPARTMENT_STAFF: dict[str, tuple[str, tuple[str, ...]]] = {
    "repair": ("crew1", ("crew1",)),
    "billing": ("bill1", ("bill1",)),
    "district": ("district1", ("district1",)),
    "service": ("lead1", ("lead1", "lead2")),
}

# Stations: seat01..seat12, softphones on loopback, one SIP port each from 5070 up.
STATION_COUNT = 12
STATION_HOST = "127.0.0.1"
STATION_FIRST_PORT = 5070


def station_rows() -> list[tuple[str, str, str, str]]:
    """(name, uri, kind, description) for every demo station."""
    rows = []
    for n in range(1, STATION_COUNT + 1):
        uri = f"sip:agent{1000 + n}@{STATION_HOST}:{STATION_FIRST_PORT + n - 1}"
        rows.append((f"seat{n:02d}", uri, "sip", f"座席 {n:02d} / seat {n}"))
    return rows
