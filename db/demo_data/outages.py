"""Demo outages: four under way at `now`, two announced for the coming days, forty past ones.

The current ones are fixed (tests and the README tour rely on them, see db/demo.py); the past ones
are drawn from `rng`.
"""

from __future__ import annotations

import datetime as dt
import random

from db.demo_data.calendar import DAY, LOCAL, Clock, local_ts
from db.demo_data.places import DISTRICTS, OUTAGE_CAUSES


def outage_rows(rng: random.Random, now: int) -> list[tuple]:
    """Four current outages, two upcoming and forty past ones, ids in that order."""
    clock = Clock()
    hour = 3600
    today = dt.datetime.fromtimestamp(now, LOCAL).date()

    def floor_to(ts: int, step: int) -> int:
        return ts - ts % step

    def ceil_to(ts: int, step: int) -> int:
        return ts - ts % step + step

    def local(days: int, hh: int) -> int:
        d = today + dt.timedelta(days=days)
        return local_ts(d.year, d.month, d.day, hh)

    fixed = [
        ("water", "330106", "文三路、学院路、教工路一带",
         "around Wensan Road, Xueyuan Road and Jiaogong Road", "unplanned", 0,
         floor_to(now - 90 * 60, 600), ceil_to(now + 3 * hour, hour)),
        ("water", "330105", "莫干山路（德胜路至文晖路）沿线",
         "along Moganshan Road from Desheng Road to Wenhui Road", "planned", 0,
         floor_to(now - 4 * hour, hour), ceil_to(now + 6 * hour, hour)),
        ("power", "330108", "江南大道、滨盛路一带", "around Jiangnan Avenue and Binsheng Road",
         "unplanned", 0, floor_to(now - 40 * 60, 600), ceil_to(now + 2 * hour, 600)),
        ("gas", "330109", "市心路、金城路一带", "around Shixin Road and Jincheng Road", "planned", 0,
         floor_to(now - 2 * hour, hour), ceil_to(now + 5 * hour, hour)),
        ("water", "330113", "迎宾路、世纪大道一带", "around Yingbin Road and Shiji Avenue",
         "planned", 2, local(1, 22), local(2, 6)),
        ("power", "330110", "文一西路、良睦路一带", "around Wenyi West Road and Liangmu Road",
         "planned", 0, local(3, 8), local(3, 17)),
    ]
    rows = []
    for i, (utility, code, area, area_en, kind, cause_i, start, end) in enumerate(fixed, 1):
        cause, cause_en = OUTAGE_CAUSES[(utility, kind)][cause_i]
        created = start - 5 * DAY if kind == "planned" else start + 15 * 60
        rows.append((i, utility, code, area, area_en, kind, cause, cause_en, clock.iso(start),
                     clock.iso(end), clock.iso(created)))
    for i in range(len(fixed) + 1, len(fixed) + 41):
        district = rng.choice(DISTRICTS)
        utility = "water" if (u := rng.random()) < 0.6 else "power" if u < 0.85 else "gas"
        kind = rng.choice(("planned", "unplanned"))
        (r1, e1), (r2, e2) = rng.sample(district.roads, 2)
        cause, cause_en = rng.choice(OUTAGE_CAUSES[(utility, kind)])
        if kind == "planned":
            start = floor_to(now - rng.randrange(2 * DAY, 365 * DAY), hour)
            end = start + rng.randrange(4, 13) * hour
            created = start - rng.randrange(3, 8) * DAY
        else:
            start = floor_to(now - rng.randrange(2 * DAY, 365 * DAY), 60)
            end = ceil_to(start + rng.randrange(hour, 8 * hour), 600)
            created = start + rng.randrange(10, 31) * 60
        rows.append((i, utility, district.code, f"{r1}、{r2}一带", f"around {e1} and {e2}", kind,
                     cause, cause_en, clock.iso(start), clock.iso(end), clock.iso(created)))
    return rows
