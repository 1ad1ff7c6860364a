"""Tariffs and usage patterns of the demo utility.

Prices are in tenths of a fen per unit (m³ of water or gas, kWh of power) so amounts are exact
integers: a bill is the sum over the tiers of units × price, rounded half up to a whole fen.
Residential water, power and gas are tiered by monthly usage, as Chinese utilities do (阶梯价格).
"""

from __future__ import annotations

# (units up to which this tier applies, or None for the rest; price in 0.1 fen per unit)
Tiers = tuple[tuple[int | None, int], ...]

TARIFFS: dict[tuple[str, str], Tiers] = {
    ("water", "residential"): ((18, 2900), (36, 3850), (None, 6700)),
    ("water", "commercial"): ((None, 4900),),
    ("water", "industrial"): ((None, 4500),),
    ("power", "residential"): ((230, 538), (400, 588), (None, 838)),
    ("power", "commercial"): ((None, 750),),
    ("power", "industrial"): ((None, 680),),
    ("gas", "residential"): ((30, 3000), (None, 3600)),
    ("gas", "commercial"): ((None, 3600),),
    ("gas", "industrial"): ((None, 3300),),
}

UNITS = {"water": "m³", "power": "kWh", "gas": "m³"}


def bill_amount_fen(utility: str, category: str, usage: int) -> int:
    """The bill in fen for `usage` whole units of `utility` at the `category` tariff."""
    tenths = 0
    floor = 0
    for ceiling, price in TARIFFS[(utility, category)]:
        top = usage if ceiling is None else min(usage, ceiling)
        if top > floor:
            tenths += (top - floor) * price
        if ceiling is None or usage <= ceiling:
            break
        floor = ceiling
    return (tenths + 5) // 10


# Typical monthly usage of one account, by utility and category (units).
BASE_USAGE: dict[tuple[str, str], tuple[int, int]] = {
    ("water", "residential"): (6, 22),
    ("water", "commercial"): (40, 300),
    ("water", "industrial"): (300, 3000),
    ("power", "residential"): (120, 420),
    ("power", "commercial"): (800, 6000),
    ("power", "industrial"): (8000, 60000),
    ("gas", "residential"): (8, 30),
    ("gas", "commercial"): (200, 1500),
    ("gas", "industrial"): (1000, 8000),
}

# Seasonal factor by calendar month (index 1..12): water peaks in summer, power in summer and
# winter (air conditioning both ways in Hangzhou), gas in winter.
SEASON: dict[str, tuple[float, ...]] = {
    "water": (0, 0.85, 0.85, 0.9, 0.95, 1.05, 1.15, 1.3, 1.3, 1.1, 0.95, 0.9, 0.9),
    "power": (0, 1.25, 1.1, 0.9, 0.8, 0.85, 1.1, 1.45, 1.5, 1.05, 0.85, 0.9, 1.15),
    "gas": (0, 1.45, 1.35, 1.15, 0.95, 0.8, 0.7, 0.65, 0.65, 0.75, 0.9, 1.1, 1.4),
}
