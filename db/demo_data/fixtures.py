"""Well-known demo customers that tests and the README tour rely on (listed in db/demo.py).

Their content does not depend on the seed, only on `now` (which months are billed). Usage is
listed oldest month first, twelve months; `unpaid` names bills by how many months before the
latest one they are (0 = the latest bill), and those bills are left unpaid.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FixtureAccount:
    account_no: str
    utility: str
    address: str
    meter_no: str
    usage: tuple[int, ...]
    unpaid: tuple[int, ...] = ()
    prepaid_fen: int = 0  # one prepayment (预存) on top of the bills
    first_reading: int = 1000


@dataclass(frozen=True)
class FixtureCustomer:
    key: str
    customer_id: int
    name: str
    category: str
    district: str
    phones: tuple[tuple[str, str], ...]  # (phone in normal form, kind)
    accounts: tuple[FixtureAccount, ...]
    vip: bool = False
    blocked: bool = False
    language: str = "zh"


WATER_USAGE = (12, 11, 13, 14, 16, 19, 22, 21, 17, 14, 12, 11)

FIXTURES: tuple[FixtureCustomer, ...] = (
    FixtureCustomer(
        "outage", 1, "陈建国", "residential", "330106",
        (("13800000001", "mobile"),),
        (FixtureAccount("1030000001", "water", "西湖区文三路128号翠苑三区5幢2单元301室",
                        "W1500000001", WATER_USAGE),),
    ),
    FixtureCustomer(
        "vip", 2, "林晓燕", "residential", "330102",
        (("13800000002", "mobile"), ("057187000002", "landline")),
        (FixtureAccount("1010000002", "water", "上城区望江路66号望江家园2幢1单元1201室",
                        "W1600000002", WATER_USAGE, prepaid_fen=50000),),
        vip=True,
    ),
    FixtureCustomer(
        "blocked", 3, "赵刚", "residential", "330114",
        (("13800000003", "mobile"),),
        (FixtureAccount("1080000003", "water", "钱塘区学林街99号学林雅苑8幢3单元502室",
                        "W1700000003", WATER_USAGE),),
        blocked=True,
    ),
    FixtureCustomer(
        # 35 m³ = 18 × 2.90 + 17 × 3.85 = 117.65 yuan and 2 m³ = 5.80 yuan unpaid: -123.45.
        "arrears", 4, "刘芳", "residential", "330110",
        (("13800000004", "mobile"),),
        (FixtureAccount("1060000004", "water", "余杭区五常大道181号西溪蝶园9幢2单元602室",
                        "W1800000004", (10, 11, 12, 14, 15, 18, 20, 22, 19, 35, 2, 0),
                        unpaid=(2, 1)),),
    ),
    FixtureCustomer(
        "english", 5, "John Smith", "residential", "330102",
        (("13800000005", "mobile"),),
        (FixtureAccount("1010000005", "water", "上城区钱江路1366号华润万象府3幢1801室",
                        "W1900000005", WATER_USAGE),),
        language="en",
    ),
    FixtureCustomer(
        "multi", 6, "周敏", "residential", "330105",
        (("13800000006", "mobile"), ("13800000016", "mobile")),
        (
            FixtureAccount("1020000006", "water", "拱墅区莫干山路210号和平花园4幢1单元402室",
                           "W1400000006", WATER_USAGE),
            FixtureAccount("2020000007", "power", "拱墅区莫干山路210号和平花园4幢1单元402室",
                           "E1400000007", (210, 190, 160, 150, 170, 260, 380, 400, 250, 170,
                                           180, 240)),
            FixtureAccount("3020000008", "gas", "拱墅区莫干山路210号和平花园4幢1单元402室",
                           "G1400000008", (28, 25, 20, 15, 12, 10, 9, 9, 11, 14, 20, 26)),
        ),
    ),
    FixtureCustomer(
        "landline", 7, "杭州西子餐饮有限公司", "commercial", "330109",
        (("057188000007", "landline"), ("13800000007", "mobile")),
        (
            FixtureAccount("1050000009", "water", "萧山区市心路518号1层商铺", "W1300000009",
                           (120, 115, 130, 140, 150, 170, 190, 185, 160, 140, 125, 120)),
            FixtureAccount("3050000010", "gas", "萧山区市心路518号1层商铺", "G1300000010",
                           (900, 860, 700, 620, 560, 500, 480, 470, 540, 640, 760, 880)),
        ),
    ),
)

FIXTURE_PHONE_PREFIXES = ("1380000", "05718700", "05718800")  # random numbers avoid these
