"""Demo data: a believable water (and some power and gas) utility in Hangzhou.

`generate(db, seed=1, customers=20000, now=None)` fills an empty, migrated database in one
transaction: the same `seed`, `customers` and `now` give the same rows (password hashes aside,
which are salted). With `now=None` the history is laid out around the current time.

What it makes
- 10 districts (GB/T 2260 codes, Chinese and English names), with roads and housing estates.
- customers with Chinese names (surnames weighted by frequency), a few companies and a few
  English-speaking residents; 1-3 phone numbers each, globally unique; about 0.5% VIP and 0.1%
  blocked.
- accounts: water by default, some power and gas; address, district, meter number. Account
  numbers are 10 digits (keyable on a phone): utility (1 water, 2 power, 3 gas), district index
  (01-10), sequence.
- 12 months of meter readings and bills (tiered tariffs, db/demo_data/tariffs.py) and payments.
  Invariants: balance_fen = sum(payments) - sum(bills); arrears_fen = the unpaid part of bills
  whose due date is before `now`; each payment pays one bill (or is a prepayment, 预存), so the
  bills' paid_fen never exceeds their amount.
- outages: four current ones (planned and unplanned, water, power, gas), two upcoming planned
  ones and about forty past ones.
- staff (db/demo_data/staff.py): admin, two team leads, a QA, ten agents (1001-1010) with skills
  and levels; queues general/billing/repair/english/vip; stations seat01..seat12 at
  sip:agent1001@127.0.0.1:5070 and up. Every demo password equals the username (INSECURE: the
  settings row 'demo' says so, with `insecure_passwords`).

Phone numbers are stored in the normal form of `db.lookup.normalize_phone`: digits only,
national format — mobiles as 11 digits ('13800000001'), landlines with the 0 trunk prefix and
area code ('057188000007' for 0571-88000007).

Well-known customers (db/demo_data/fixtures.py), present whatever the seed:

| phone          | customer (id)          | account(s)                     | what it shows            |
|----------------|------------------------|--------------------------------|--------------------------|
| 13800000001    | 陈建国 (1)             | 1030000001 water, 西湖区 330106 | current unplanned water outage in the district; balance 0.00 |
| 13800000002    | 林晓燕 (2), VIP        | 1010000002 water, 上城区        | VIP; prepaid, balance +500.00 |
| 13800000003    | 赵刚 (3), blocked      | 1080000003 water, 钱塘区        | blocked number |
| 13800000004    | 刘芳 (4)               | 1060000004 water, 余杭区        | balance -123.45, arrears 123.45 (two overdue bills: 117.65 + 5.80); latest bill 0.00 |
| 13800000005    | John Smith (5), en     | 1010000005 water, 上城区        | language 'en' |
| 13800000006, 13800000016 | 周敏 (6)     | 1020000006 water, 2020000007 power, 3020000008 gas, 拱墅区 | three accounts; current planned water outage |
| 057188000007, 13800000007 | 杭州西子餐饮有限公司 (7) | 1050000009 water, 3050000010 gas, 萧山区 | landline caller; commercial; current planned gas outage |

Current outages (ids 1-4): 1 water unplanned 西湖区 330106; 2 water planned 拱墅区 330105;
3 power unplanned 滨江区 330108; 4 gas planned 萧山区 330109. Upcoming (5-6): water planned
临平区 330113 tomorrow night; power planned 余杭区 330110 in three days. No current outage in
上城区, 钱塘区 or 余杭区.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlite_utils

from ccd.api.auth import hash_password
from ccd.errors import CcdError
from ccd.timefmt import iso
from db.demo_data import names, staff
from db.demo_data.calendar import DAY, DUE_DAYS, LOCAL, Calendar, Clock
from db.demo_data.fixtures import (
    FIXTURE_PHONE_PREFIXES,
    FIXTURES,
    FixtureAccount,
    FixtureCustomer,
)
from db.demo_data.outages import outage_rows
from db.demo_data.places import DISTRICTS, ESTATE_SUFFIXES, ESTATE_WORDS, District
from db.demo_data.tariffs import BASE_USAGE, SEASON, bill_amount_fen

UTILITY_DIGIT = {"water": "1", "power": "2", "gas": "3"}
METER_LETTER = {"water": "W", "power": "E", "gas": "G"}
PAY_CHANNELS = (("alipay", 30), ("wechat", 30), ("bank", 20), ("counter", 10), ("app", 10))
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182",
    "183", "184", "185", "186", "187", "188", "189", "198", "199",
)


# Tables the demo fills from scratch: it refuses a database where any of them has rows.
DEMO_TABLES = ("customers", "accounts", "users", "districts", "queues", "stations", "outages")


class DemoNotEmpty(CcdError):
    error_id = "demo-not-empty"


@dataclass
class _Rows:
    customers: list[tuple]
    phones: list[tuple]
    accounts: list[tuple]
    bills: list[tuple]
    payments: list[tuple]
    readings: list[tuple]


def generate(
    db: sqlite_utils.Database,
    *,
    seed: int = 1,
    customers: int = 20000,
    now: float | None = None,
) -> dict[str, object]:
    """Fill an empty, migrated database with a demo utility; return counts and seconds taken.

    db: a database opened by `db.open_database` (schema current, no customers yet).
    seed: drives every random choice; same seed, customers and now give the same rows.
    customers: how many customers in all, the well-known fixtures included (at least 7).
    now: seconds since the epoch the history is laid out around (default: the current time).
    """
    if customers < len(FIXTURES):
        raise ValueError(f"customers must be at least {len(FIXTURES)} (the fixtures)")
    filled = [t for t in DEMO_TABLES if db[t].exists() and db[t].count]
    if filled:
        raise DemoNotEmpty(
            f"the database already has {', '.join(filled)}; demo data goes into a new database",
            tables=filled,
        )
    started = time.perf_counter()
    now_ts = int(time.time() if now is None else now)
    stamp = iso(now_ts)
    calendar = Calendar(now_ts)
    builder = _Builder(random.Random(seed), calendar)
    counts = dict.fromkeys(_Rows.__dataclass_fields__, 0)
    with ThreadPoolExecutor(max_workers=2) as pool:
        # scrypt releases the GIL: the hashes are computed on the side while rows are inserted.
        hashes = [pool.submit(hash_password, user[0]) for user in staff.USERS]
        with db.atomic():
            _insert_reference(db)
            for rows in builder.chunks(customers):
                _insert_rows(db, rows)
                for name in counts:
                    counts[name] += len(getattr(rows, name))
            _insert_users(db, stamp, [h.result() for h in hashes])
            _insert_department_staff(db)
            outages = outage_rows(random.Random(seed + 1), now_ts)
            db.conn.executemany(
                "INSERT INTO outages (id, utility, district_code, area, area_en, kind, cause, "
                "cause_en, starts_at, ends_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                outages,
            )
            summary: dict[str, object] = {
                "seed": seed,
                "now": stamp,
                **{("meter_readings" if k == "readings" else k): v for k, v in counts.items()},
                "outages": len(outages),
                "users": len(staff.USERS),
                "periods": [calendar.labels[0], calendar.labels[-1]],
                "insecure_passwords": [user[0] for user in staff.USERS],
                "note": "demo data: every demo user's password equals its username",
            }
            db.conn.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('demo', ?)",
                [json.dumps(summary, ensure_ascii=False)],
            )
    from ccd.kb import starter

    summary["kb_articles"] = starter.load(db, now=now_ts).added
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def _insert_department_staff(db: sqlite_utils.Database) -> None:
    """Heads and members of the back-office departments (only where the schema has them)."""
    if not db["department_members"].exists():
        return
    for department, (head, members) in staff.DEPARTMENT_STAFF.items():
        db.conn.execute(
            "UPDATE departments SET head_username = ? WHERE code = ?", [head, department]
        )
        db.conn.executemany(
            "INSERT INTO department_members (department, user_id) "
            "SELECT ?, id FROM users WHERE username = ?",
            [(department, member) for member in members],
        )


def _insert_reference(db: sqlite_utils.Database) -> None:
    """Districts, skills, queues and stations."""
    conn = db.conn
    conn.executemany(
        "INSERT INTO districts (code, name, name_en) VALUES (?,?,?)",
        [(d.code, d.name, d.name_en) for d in DISTRICTS],
    )
    conn.executemany("INSERT INTO skills (name, description) VALUES (?,?)", staff.SKILLS)
    for name, display, strategy, skills in staff.QUEUES:
        conn.execute(
            "INSERT INTO queues (name, display_name, strategy) VALUES (?,?,?)",
            (name, display, strategy),
        )
        conn.executemany(
            "INSERT INTO queue_skills (queue, skill, min_level) VALUES (?,?,?)",
            [(name, skill, level) for skill, level in skills.items()],
        )
    conn.executemany(
        "INSERT INTO stations (name, uri, kind, description) VALUES (?,?,?,?)",
        staff.station_rows(),
    )


def _insert_users(db: sqlite_utils.Database, stamp: str, password_hashes: list[str]) -> None:
    """Demo staff with their roles and skills; `password_hashes` in the order of staff.USERS."""
    conn = db.conn
    for user_id, (user, pw_hash) in enumerate(zip(staff.USERS, password_hashes, strict=True), start=1):
        username, display, number, roles, skills, language = user
        conn.execute(
            "INSERT INTO users (id, username, display_name, agent_number, password_hash, "
            "language, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
            (user_id, username, display, number, pw_hash, language, stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO user_roles (user_id, role) VALUES (?,?)",
            [(user_id, role) for role in roles],
        )
        conn.executemany(
            "INSERT INTO agent_skills (user_id, skill, level) VALUES (?,?,?)",
            [(user_id, skill, level) for skill, level in skills.items()],
        )


def _insert_rows(db: sqlite_utils.Database, rows: _Rows) -> None:
    conn = db.conn
    conn.executemany(
        "INSERT INTO customers (id, name, category, vip, blocked, language, created_at, "
        "updated_at) VALUES (?,?,?,?,?,?,?,?)",
        rows.customers,
    )
    conn.executemany(
        "INSERT INTO customer_phones (customer_id, phone, kind) VALUES (?,?,?)", rows.phones
    )
    conn.executemany(
        "INSERT INTO accounts (account_no, customer_id, utility, address, district_code, "
        "meter_no, balance_fen, arrears_fen, status, opened_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows.accounts,
    )
    conn.executemany(
        "INSERT INTO bills (account_no, period, usage, amount_fen, issued_at, due_at, paid_fen) "
        "VALUES (?,?,?,?,?,?,?)",
        rows.bills,
    )
    conn.executemany(
        "INSERT INTO payments (account_no, paid_at, amount_fen, channel) VALUES (?,?,?,?)",
        rows.payments,
    )
    conn.executemany(
        "INSERT INTO meter_readings (account_no, read_at, reading, usage, source) "
        "VALUES (?,?,?,?,?)",
        rows.readings,
    )


class _Builder:
    """Draws customers, phones, accounts and their history from one random stream."""

    def __init__(self, rng: random.Random, calendar: Calendar) -> None:
        self.rng = rng
        self.cal = calendar
        self.clock = Clock()
        self.rows = _Rows([], [], [], [], [], [])
        self.used_phones: set[str] = set()
        self.account_seq = 100  # the fixtures use 1..99
        self.amounts: dict[tuple[str, str], dict[int, int]] = {}
        self.surnames = [s for s, _ in names.SURNAMES]
        self.surname_weights = list(_cumulative(w for _, w in names.SURNAMES))
        self.districts = list(DISTRICTS)
        self.district_weights = list(_cumulative(d.weight for d in DISTRICTS))
        self.district_index = {d.code: i + 1 for i, d in enumerate(DISTRICTS)}
        self.channels = [c for c, _ in PAY_CHANNELS]
        self.channel_weights = list(_cumulative(w for _, w in PAY_CHANNELS))

    def chunks(self, customers: int, size: int = 2000) -> Iterator[_Rows]:
        """The rows of `customers` customers (fixtures first), `size` customers at a time."""
        for fixture in FIXTURES:
            self._fixture(fixture)
        for customer_id in range(len(FIXTURES) + 1, customers + 1):
            self._customer(customer_id)
            if customer_id % size == 0:
                yield self.rows
                self.rows = _Rows([], [], [], [], [], [])
        yield self.rows

    # -- customers -------------------------------------------------------------------------

    def _fixture(self, fx: FixtureCustomer) -> None:
        district = next(d for d in DISTRICTS if d.code == fx.district)
        opened = self.cal.now - 8 * 365 * DAY
        created = self.clock.iso(opened)
        self.rows.customers.append(
            (fx.customer_id, fx.name, fx.category, int(fx.vip), int(fx.blocked), fx.language,
             created, created)
        )
        for phone, kind in fx.phones:
            self.used_phones.add(phone)
            self.rows.phones.append((fx.customer_id, phone, kind))
        for acct in fx.accounts:
            self._fixture_account(fx.customer_id, fx.category, district, acct)

    def _customer(self, customer_id: int) -> None:
        rng = self.rng
        roll = rng.random()
        category = "residential" if roll < 0.925 else "commercial" if roll < 0.99 else "industrial"
        language = "zh"
        if category == "residential":
            if rng.random() < 0.005:
                language = "en"
                name = f"{rng.choice(names.ENGLISH_FIRST)} {rng.choice(names.ENGLISH_LAST)}"
            else:
                name = self._chinese_name()
        else:
            name = self._company_name()
        vip_rate = {"residential": 0.002, "commercial": 0.03, "industrial": 0.1}[category]
        vip = int(rng.random() < vip_rate)
        blocked = int(not vip and category == "residential" and rng.random() < 0.001)
        n_accounts = 1 if (r := rng.random()) < 0.86 else 2 if r < 0.97 else 3
        opened_at = self.cal.now - rng.randrange(30 * DAY, 20 * 365 * DAY)
        created = self.clock.iso(opened_at)
        self.rows.customers.append(
            (customer_id, name, category, vip, blocked, language, created, created)
        )
        self._phones(customer_id, category)
        district = self._district()
        address = self._address(district, category)
        utilities = ["water", "power", "gas"]
        first = "water" if (u := rng.random()) < 0.78 else "power" if u < 0.92 else "gas"
        taken = [first]
        self._account(customer_id, category, district, address, first, opened_at)
        for _ in range(n_accounts - 1):
            remaining = [x for x in utilities if x not in taken]
            if remaining and rng.random() < 0.7:
                utility = rng.choice(remaining)  # another utility at the same premises
                taken.append(utility)
                self._account(customer_id, category, district, address, utility, opened_at)
            else:
                other = self._district()  # a second flat or a shop
                later = rng.randrange(opened_at, self.cal.now - 30 * DAY + 1)
                self._account(customer_id, category, other, self._address(other, category),
                              "water", later)

    def _chinese_name(self) -> str:
        rng = self.rng
        surname = rng.choices(self.surnames, cum_weights=self.surname_weights)[0]
        pool = names.GIVEN_MALE if rng.random() < 0.5 else names.GIVEN_FEMALE
        first = rng.choice(pool if rng.random() < 0.8 else names.GIVEN_NEUTRAL)
        if rng.random() < 0.25:
            return surname + first
        return surname + first + rng.choice(pool)

    def _company_name(self) -> str:
        rng = self.rng
        if rng.random() < 0.4:
            return f"{self._chinese_name()[0]}记{rng.choice(names.SHOP_TRADES)}"
        return (f"杭州{rng.choice(names.COMPANY_WORDS)}{rng.choice(names.COMPANY_TRADES)}"
                f"{rng.choice(names.COMPANY_SUFFIXES)}")

    def _phones(self, customer_id: int, category: str) -> None:
        rng = self.rng
        count = 1 if (r := rng.random()) < 0.7 else 2 if r < 0.95 else 3
        for i in range(count):
            if category == "residential":
                landline = i > 0 and rng.random() < 0.4
            else:
                landline = i == 0
            phone = self._unique_phone(landline)
            self.rows.phones.append((customer_id, phone, "landline" if landline else "mobile"))

    def _unique_phone(self, landline: bool) -> str:
        rng = self.rng
        while True:
            if landline:
                phone = f"0571{rng.choice('8856')}{rng.randrange(10**7):07d}"
            else:
                phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
            if phone not in self.used_phones and not phone.startswith(FIXTURE_PHONE_PREFIXES):
                self.used_phones.add(phone)
                return phone

    def _district(self) -> District:
        return self.rng.choices(self.districts, cum_weights=self.district_weights)[0]

    def _address(self, district: District, category: str) -> str:
        rng = self.rng
        road, _ = rng.choice(district.roads)
        number = rng.randrange(1, 800)
        if category == "industrial":
            return f"{district.name}{road}{number}号厂区"
        if category == "commercial":
            return f"{district.name}{road}{number}号{rng.randrange(1, 4)}层商铺"
        estate = rng.choice(ESTATE_WORDS) + rng.choice(ESTATE_SUFFIXES)
        floor = rng.randrange(1, 19)
        return (f"{district.name}{road}{number}号{estate}{rng.randrange(1, 25)}幢"
                f"{rng.randrange(1, 5)}单元{floor}{rng.randrange(1, 5):02d}室")

    # -- accounts and their history ----------------------------------------------------------

    def _account(self, customer_id: int, category: str, district: District, address: str,
                 utility: str, opened_at: int) -> None:
        rng = self.rng
        self.account_seq += 1
        seq = self.account_seq
        account_no = (f"{UTILITY_DIGIT[utility]}{self.district_index[district.code]:02d}"
                      f"{seq:07d}")
        opened_year = dt.datetime.fromtimestamp(opened_at, LOCAL).year
        meter_no = f"{METER_LETTER[utility]}{opened_year % 100:02d}{seq:08d}"
        low, high = BASE_USAGE[(utility, category)]
        base = low + (high - low) * rng.random() ** 2
        season = SEASON[utility]
        usage = []
        for _year, m in self.cal.periods:
            factor = 0.0 if rng.random() < 0.01 else season[m] * (0.8 + 0.4 * rng.random())
            usage.append(int(base * factor + 0.5))
        profile = rng.random()
        if profile < 0.75:
            plan = _PayPlan("prompt")
        elif profile < 0.87:
            plan = _PayPlan("late")
        elif profile < 0.95:
            plan = _PayPlan("prompt", unpaid_last=rng.randrange(1, 5))
        else:
            plan = _PayPlan("quick", prepaid_fen=rng.randrange(100, 501) * 100)
        channel = rng.choices(self.channels, cum_weights=self.channel_weights)[0]
        if channel == "bank":
            plan.kind = "quick"
        is_new = opened_at >= self.cal.times[district.code][0][0]
        first_reading = 0 if is_new else rng.randrange(100, 9000)
        source = "smart" if utility == "power" or rng.random() < 0.2 else "reader"
        self._history(account_no, customer_id, category, district, utility, address, meter_no,
                      opened_at, usage, plan, channel, first_reading, source)

    def _fixture_account(self, customer_id: int, category: str, district: District,
                         acct: FixtureAccount) -> None:
        plan = _PayPlan("fixture", unpaid=set(acct.unpaid), prepaid_fen=acct.prepaid_fen)
        opened = self.cal.now - 8 * 365 * DAY
        self._history(acct.account_no, customer_id, category, district, acct.utility,
                      acct.address, acct.meter_no, opened, list(acct.usage), plan, "alipay",
                      acct.first_reading, "reader")

    def _history(self, account_no: str, customer_id: int, category: str, district: District,
                 utility: str, address: str, meter_no: str, opened_at: int, usage: list[int],
                 plan: _PayPlan, channel: str, reading: int, source: str) -> None:
        rng, iso_ = self.rng, self.clock.iso
        rnd = rng.random
        now = self.cal.now
        rows = self.rows
        times = self.cal.times[district.code]
        stamps = self.cal.stamps[district.code]
        last = len(usage) - 1
        labels = self.cal.labels
        amounts = self.amounts.setdefault((utility, category), {})
        billed = paid = arrears = 0
        for i, (read_ts, issue_ts, due_ts) in enumerate(times):
            if read_ts < opened_at:
                continue  # a new account: no reading or bill before it opened
            used = usage[i]
            reading += used
            read_at = read_ts + (int(rnd() * 8 * 3600) if plan.kind != "fixture" else 3600)
            rows.readings.append((account_no, iso_(read_at), float(reading), float(used), source))
            amount = amounts.get(used)
            if amount is None:
                amount = amounts[used] = bill_amount_fen(utility, category, used)
            pay_at = plan.pay_time(rng, issue_ts, last - i)
            bill_paid = 0
            if amount and pay_at is not None and pay_at <= now:
                bill_paid = amount
                rows.payments.append((account_no, iso_(pay_at), amount, channel))
            billed += amount
            paid += bill_paid
            if due_ts < now:
                arrears += amount - bill_paid
            issued_at, due_at = stamps[i]
            rows.bills.append((account_no, labels[i], float(used), amount, issued_at, due_at,
                               bill_paid))
        if plan.prepaid_fen:
            prepay_at = times[-1][1] + 2 * DAY + 3600
            rows.payments.append((account_no, iso_(prepay_at), plan.prepaid_fen, channel))
            paid += plan.prepaid_fen
        rows.accounts.append(
            (account_no, customer_id, utility, address, district.code, meter_no, paid - billed,
             arrears, "active", iso_(opened_at))
        )


@dataclass
class _PayPlan:
    """When an account pays its bills.

    kind: 'prompt' pays within the 20 days, 'late' 10-45 days after issue (often overdue),
    'quick' within two days (bank debit, prepayers), 'fixture' one day after issue, except the
    bills in `unpaid` (months before the latest). `unpaid_last`: stopped paying the last N bills.
    """

    kind: str
    unpaid_last: int = 0
    prepaid_fen: int = 0
    unpaid: set[int] | None = None

    def pay_time(self, rng: random.Random, issue_ts: int, months_before_latest: int) -> int | None:
        if months_before_latest < self.unpaid_last:
            return None
        if self.kind == "fixture":
            return None if months_before_latest in (self.unpaid or ()) else issue_ts + DAY + 7200
        if self.kind == "quick":
            return issue_ts + DAY + int(rng.random() * DAY)
        if self.kind == "late":
            return issue_ts + 10 * DAY + int(rng.random() * 35 * DAY)
        return issue_ts + DAY + int(rng.random() * (DUE_DAYS - 3) * DAY)


def _cumulative(weights: Iterable[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out
