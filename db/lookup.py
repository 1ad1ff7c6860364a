"""Read-only queries for the IVR and the screen pop: who is calling, what they owe, what is off.

Every function takes a `sqlite_utils.Database` and returns plain dicts (JSON-ready: money in
integer fen, times as ccd's ISO text in UTC, flags as bool) or None when nothing matches.

Phone numbers are compared in one normal form (`normalize_phone`): digits only, national
format. Mobiles are 11 digits ('13800000001'); landlines keep the 0 trunk prefix and the area code
('057188000007'); a local 7-8 digit number gets the configured area code; '+86', '0086' and '86'
in front of a national number are dropped; other international numbers become '00' + digits.
Whatever writes phone numbers into the database must store this form. (Lookups also find a
local landline stored bare, without its area code, as some billing-system exports have it.)
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import sqlite_utils

from ccd.timefmt import iso, parse

DEFAULT_AREA_CODE = "0571"
UNITS = {"water": "m³", "power": "kWh", "gas": "m³"}
DAY = 86400

_MOBILE = re.compile(r"1[3-9]\d{9}")
_SIP_USER = re.compile(r"^(?:sips?|tel):([^@;]*)", re.IGNORECASE)


def normalize_phone(text: str, *, area_code: str = DEFAULT_AREA_CODE) -> str:
    """A phone number as stored in customer_phones: digits only, national format.

    text: what the caller ID, an agent or a customer typed: '+86 138-0000-0001',
      '0571-88000007', '88000007', 'sip:13800000001@10.0.0.1', '013800000001'.
    area_code: the local area code, with its 0, given to 7-8 digit local numbers.
    Returns '' when there are no digits (withheld or anonymous caller IDs).
    """
    text = text.strip()
    sip = _SIP_USER.match(text)
    if sip:
        text = sip.group(1)
    international = text.startswith("+")
    digits = re.sub(r"\D", "", text)
    if digits.startswith("00"):
        international, digits = True, digits[2:]
    if international:
        if not digits.startswith("86"):
            return "00" + digits
        digits = digits[2:]
        return digits if _MOBILE.fullmatch(digits) or digits.startswith("0") else "0" + digits
    if digits.startswith("86") and len(digits) >= 12:
        national = digits[2:]
        return national if _MOBILE.fullmatch(national) else "0" + national.lstrip("0")
    if len(digits) == 12 and _MOBILE.fullmatch(digits[1:]) and digits[0] == "0":
        return digits[1:]  # a mobile dialled with the long-distance 0 in front
    if len(digits) in (7, 8) and digits[0] not in "01":
        return area_code + digits
    return digits


# -- customers -------------------------------------------------------------------------------

# The screen-pop path: each is an index search (tests check the query plans).
PHONE_SQL = "SELECT customer_id FROM customer_phones WHERE phone IN (?, ?)"
LISTS_SQL = "SELECT list FROM caller_lists WHERE phone IN (?, ?)"
CUSTOMER_SQL = (
    "SELECT id, name, category, vip, blocked, language, created_at FROM customers WHERE id = ?"
)
PHONES_SQL = "SELECT phone, kind FROM customer_phones WHERE customer_id = ? ORDER BY id"
ACCOUNTS_SQL = """
SELECT a.account_no, a.utility, a.address, a.district_code, d.name AS district_name,
       d.name_en AS district_name_en, a.meter_no, a.balance_fen, a.arrears_fen, a.status,
       a.opened_at
FROM accounts a LEFT JOIN districts d ON d.code = a.district_code
WHERE a.customer_id = ? ORDER BY a.account_no
"""
FLAGS_SQL = (
    "SELECT count(*), max(c.vip), max(c.blocked) FROM customer_phones p "
    "JOIN customers c ON c.id = p.customer_id WHERE p.phone IN (?, ?)"
)
ACCOUNT_OWNER_SQL = "SELECT customer_id FROM accounts WHERE account_no = ?"


def customer_by_phone(
    db: sqlite_utils.Database,
    phone: str,
    *,
    now: float | str | None = None,
    area_code: str = DEFAULT_AREA_CODE,
) -> dict[str, Any] | None:
    """The customer calling from `phone`, with phones, accounts and flags; None if unknown.

    phone: the caller ID in any common shape (normalized here).
    now: when given (epoch seconds or ISO text), adds `outages`: current outages of each
      account's utility in its district, which the IVR announces before the menu.
    area_code: the local area code for 7-8 digit caller IDs.
    When several customers share the number, the lowest id is returned and the others are
    listed in `other_customer_ids`.
    """
    number = normalize_phone(phone, area_code=area_code)
    if not number:
        return None
    ids = sorted({row[0] for row in db.execute(PHONE_SQL, _forms(number, area_code)).fetchall()})
    if not ids:
        return None
    customer = _customer(db, ids[0], now)
    customer["matched_phone"] = number
    customer["other_customer_ids"] = ids[1:]
    return customer


def customer_by_account(
    db: sqlite_utils.Database, account_no: str, *, now: float | str | None = None
) -> dict[str, Any] | None:
    """The customer holding `account_no` (digits as keyed), like `customer_by_phone`."""
    row = db.execute(ACCOUNT_OWNER_SQL, [account_no.strip()]).fetchone()
    if row is None:
        return None
    customer = _customer(db, row[0], now)
    customer["matched_account"] = account_no.strip()
    return customer


def _customer(db: sqlite_utils.Database, customer_id: int, now: float | str | None) -> dict:
    customer = _dicts(db.execute(CUSTOMER_SQL, [customer_id]))[0]
    customer["vip"] = bool(customer["vip"])
    customer["blocked"] = bool(customer["blocked"])
    customer["phones"] = _dicts(db.execute(PHONES_SQL, [customer_id]))
    customer["accounts"] = _dicts(db.execute(ACCOUNTS_SQL, [customer_id]))
    if now is not None:
        seen: set[int] = set()
        outages = []
        for account in customer["accounts"]:
            if account["district_code"] is None:
                continue
            for outage in current_outages(
                db, account["district_code"], now, utility=account["utility"]
            ):
                if outage["id"] not in seen:
                    seen.add(outage["id"])
                    outages.append(outage)
        customer["outages"] = outages
    return customer


def caller_flags(
    db: sqlite_utils.Database, phone: str, *, area_code: str = DEFAULT_AREA_CODE
) -> dict[str, bool]:
    """{'known', 'vip', 'blocked', 'restricted'} for a caller ID: the customers' own flags, and
    the number's entry on the caller lists (`ccd callers`), which holds for non-customers too."""
    number = normalize_phone(phone, area_code=area_code)
    if not number:
        return {"known": False, "vip": False, "blocked": False, "restricted": False}
    forms = _forms(number, area_code)
    row = db.execute(FLAGS_SQL, forms).fetchone()
    listed = {r[0] for r in db.execute(LISTS_SQL, forms)}
    return {"known": row[0] > 0, "vip": bool(row[1]) or "vip" in listed,
            "blocked": bool(row[2]) or "blocked" in listed, "restricted": "restricted" in listed}


def is_blocked(db: sqlite_utils.Database, phone: str, *, area_code: str = DEFAULT_AREA_CODE) -> bool:
    """True when any customer with this number is on the blocked list."""
    return caller_flags(db, phone, area_code=area_code)["blocked"]


def is_vip(db: sqlite_utils.Database, phone: str, *, area_code: str = DEFAULT_AREA_CODE) -> bool:
    """True when any customer with this number is a VIP."""
    return caller_flags(db, phone, area_code=area_code)["vip"]


# -- accounts --------------------------------------------------------------------------------


def account_summary(db: sqlite_utils.Database, account_no: str) -> dict[str, Any] | None:
    """What the IVR reads out for one account; None if there is no such account.

    account_no: the account number as keyed.
    Returns the account (balance_fen: payments minus bills, negative when money is owed;
    arrears_fen: unpaid bills past their due date), its customer's id and name, `unit`
    ('m³' or 'kWh'), `last_bill` {period, usage, amount_fen, paid_fen, issued_at, due_at},
    `last_reading` {read_at, reading, usage, source} and `last_payment` {paid_at, amount_fen,
    channel}, each None when there is none.
    """
    account_no = account_no.strip()
    rows = _dicts(db.execute(
        "SELECT a.account_no, a.utility, a.customer_id, c.name AS customer_name, a.address, "
        "a.district_code, d.name AS district_name, a.meter_no, a.status, a.balance_fen, "
        "a.arrears_fen FROM accounts a JOIN customers c ON c.id = a.customer_id "
        "LEFT JOIN districts d ON d.code = a.district_code WHERE a.account_no = ?",
        [account_no],
    ))
    if not rows:
        return None
    summary = rows[0]
    summary["unit"] = UNITS.get(summary["utility"], "")
    summary["last_bill"] = _first(db.execute(
        "SELECT period, usage, amount_fen, paid_fen, issued_at, due_at FROM bills "
        "WHERE account_no = ? ORDER BY period DESC LIMIT 1",
        [account_no],
    ))
    summary["last_reading"] = _first(db.execute(
        "SELECT read_at, reading, usage, source FROM meter_readings "
        "WHERE account_no = ? ORDER BY read_at DESC LIMIT 1",
        [account_no],
    ))
    summary["last_payment"] = _first(db.execute(
        "SELECT paid_at, amount_fen, channel FROM payments "
        "WHERE account_no = ? ORDER BY paid_at DESC LIMIT 1",
        [account_no],
    ))
    return summary


# -- outages ---------------------------------------------------------------------------------

_OUTAGE_COLUMNS = (
    "o.id, o.utility, o.district_code, d.name AS district_name, d.name_en AS district_name_en, "
    "o.area, o.area_en, o.kind, o.cause, o.cause_en, o.starts_at, o.ends_at"
)


def current_outages(
    db: sqlite_utils.Database,
    district_code: str,
    now: float | str,
    *,
    utility: str | None = None,
) -> list[dict[str, Any]]:
    """Outages under way in a district at `now` (started, not yet restored), earliest first.

    district_code: a districts.code ('330106').
    now: epoch seconds or ISO text.
    utility: only outages of this utility ('water', 'power', 'gas'); all when None.
    """
    return _outages(db, _iso(now), _iso(now), district_code, utility)


def outages_for_district(
    db: sqlite_utils.Database,
    district_code: str,
    now: float | str,
    *,
    ahead_s: float = 7 * DAY,
    utility: str | None = None,
) -> list[dict[str, Any]]:
    """The outage notices of a district: current ones and those starting within `ahead_s`."""
    return outage_notices(db, now, district_code=district_code, ahead_s=ahead_s, utility=utility)


def outage_notices(
    db: sqlite_utils.Database,
    now: float | str,
    *,
    district_code: str | None = None,
    ahead_s: float = 7 * DAY,
    utility: str | None = None,
) -> list[dict[str, Any]]:
    """Current and upcoming outages (all districts unless `district_code`), earliest first.

    Each has `status`: 'current' or 'upcoming'.
    """
    now_ts = _ts(now)
    return _outages(db, iso(now_ts + ahead_s), iso(now_ts), district_code, utility)


def _outages(
    db: sqlite_utils.Database,
    starts_before: str,
    ends_after: str,
    district_code: str | None,
    utility: str | None,
) -> list[dict[str, Any]]:
    """Outages with starts_at <= starts_before and ends_at > ends_after (= now)."""
    where = ["o.starts_at <= ?", "o.ends_at > ?"]
    params: list[Any] = [starts_before, ends_after]
    if district_code is not None:
        where.append("o.district_code = ?")
        params.append(district_code)
    if utility is not None:
        where.append("o.utility = ?")
        params.append(utility)
    rows = _dicts(db.execute(
        f"SELECT {_OUTAGE_COLUMNS} FROM outages o LEFT JOIN districts d "
        f"ON d.code = o.district_code WHERE {' AND '.join(where)} ORDER BY o.starts_at, o.id",
        params,
    ))
    for row in rows:
        row["status"] = "current" if row["starts_at"] <= ends_after else "upcoming"
    return rows


def districts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every district {code, name, name_en}, by code: the IVR's area menu."""
    return _dicts(db.execute("SELECT code, name, name_en FROM districts ORDER BY code"))


# -- search ----------------------------------------------------------------------------------


def search_customers(
    db: sqlite_utils.Database,
    text: str,
    *,
    limit: int = 20,
    area_code: str = DEFAULT_AREA_CODE,
) -> list[dict[str, Any]]:
    """Customers matching `text` by phone, account number, meter number, name or address.

    text: what the agent typed: part of a phone number or account number, a name, part of an
      address. Exact phone and account matches come first.
    limit: most customers returned.
    Each result is a customer (id, name, category, vip, blocked, language) with `phones`,
    `accounts` and `matched_on` ('phone', 'account', 'meter', 'name' or 'address').
    """
    text = text.strip()
    if not text:
        return []
    found: dict[int, str] = {}

    def collect(matched_on: str, sql: str, params: list[Any]) -> None:
        if len(found) >= limit:
            return
        for (customer_id,) in db.execute(sql + f" LIMIT {int(limit)}", params).fetchall():
            if len(found) >= limit:
                break
            found.setdefault(customer_id, matched_on)

    if re.fullmatch(r"[\d\s()+\-]+", text):
        digits = re.sub(r"\D", "", text)
        collect("phone", PHONE_SQL, _forms(normalize_phone(text, area_code=area_code), area_code))
        collect("account", ACCOUNT_OWNER_SQL, [digits])
        if len(digits) >= 3:
            pattern = "%" + _like(digits) + "%"
            collect("phone", "SELECT DISTINCT customer_id FROM customer_phones "
                    "WHERE phone LIKE ? ESCAPE '\\' ORDER BY customer_id", [pattern])
            collect("account", "SELECT DISTINCT customer_id FROM accounts "
                    "WHERE account_no LIKE ? ESCAPE '\\' ORDER BY customer_id", [_like(digits) + "%"])
    else:
        pattern = "%" + _like(text) + "%"
        collect("meter", "SELECT DISTINCT customer_id FROM accounts WHERE meter_no = ?",
                [text.upper()])
        collect("name", "SELECT id FROM customers WHERE name LIKE ? ESCAPE '\\' ORDER BY id",
                [pattern])
        collect("address", "SELECT DISTINCT customer_id FROM accounts "
                "WHERE address LIKE ? ESCAPE '\\' ORDER BY customer_id", [pattern])
    results = []
    for customer_id, matched_on in found.items():
        customer = _customer(db, customer_id, None)
        customer["matched_on"] = matched_on
        results.append(customer)
    return results


# -- helpers ---------------------------------------------------------------------------------


def _forms(number: str, area_code: str) -> list[str]:
    """The normal form, and for a local landline also the bare local number, which some
    billing-system exports store without the area code."""
    local = number[len(area_code):] if number.startswith(area_code) else ""
    return [number, local if len(local) in (7, 8) else number]


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _first(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    rows = _dicts(cursor)
    return rows[0] if rows else None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ts(now: float | str) -> float:
    return parse(now) if isinstance(now, str) else float(now)


def _iso(now: float | str) -> str:
    """ccd's exact text form, so text comparisons with stored times order correctly."""
    return iso(_ts(now))
