"""Caller lists: blocked (黑名单), VIP and restricted numbers, customers or not (team leads and
admins). Numbers are stored normalised; each change is audited.

`callers.set {phone, list, note}` puts a number on one list (a number is on at most one);
`callers.clear {phone}` takes it off; `callers.list` shows them all. The IVR reads them on the
next call (db.lookup.caller_flags).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ccd.api import catalogue
from ccd.api.registry import Context, NoParams, Params, method
from ccd.errors import ClientError, NotFound
from ccd.timefmt import iso
from db import lookup, users

LEAD = {"teamlead", "admin"}
Phone = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]

catalogue.register({
    "not-a-phone": {"zh": "{phone} 不是电话号码", "en": "{phone} is not a phone number"},
    "not-listed": {"zh": "{phone} 不在任何名单上", "en": "{phone} is on no list"},
})


def _number(phone: str) -> str:
    normal = lookup.normalize_phone(phone)
    if not normal:
        raise ClientError(f"{phone!r} is not a phone number", error_id="not-a-phone", phone=phone)
    return normal


class SetParams(Params):
    phone: Phone
    list: Literal["blocked", "vip", "restricted"]
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


@method("callers.set", roles=LEAD, params=SetParams)
async def set_caller(ctx: Context, params: SetParams) -> dict[str, Any]:
    """Put a number on the blocked, VIP or restricted list (replacing any other list)."""
    db = ctx.services.db
    phone = _number(params.phone)
    row = {"phone": phone, "list": params.list, "note": params.note,
           "set_by": ctx.session.actor, "set_at": iso()}
    with users.transaction(db):
        db.execute("INSERT OR REPLACE INTO caller_lists (phone, list, note, set_by, set_at) "
                   "VALUES (:phone, :list, :note, :set_by, :set_at)", row)
        users.audit(db, ctx.session.actor, ctx.method, target=phone,
                    details={"list": params.list, "note": params.note})
    customer = lookup.customer_by_phone(db, phone)
    return {**row, "customer": customer["name"] if customer else None}


class PhoneParams(Params):
    phone: Phone


@method("callers.clear", roles=LEAD, params=PhoneParams)
async def clear_caller(ctx: Context, params: PhoneParams) -> dict[str, Any]:
    """Take a number off the caller lists."""
    db = ctx.services.db
    phone = _number(params.phone)
    with users.transaction(db):
        gone = db.execute("DELETE FROM caller_lists WHERE phone = ?", [phone]).rowcount
        if gone:
            users.audit(db, ctx.session.actor, ctx.method, target=phone)
    if not gone:
        raise NotFound(f"{phone} is on no list", error_id="not-listed", phone=phone)
    return {"phone": phone}


@method("callers.list", roles=LEAD)
async def list_callers(ctx: Context, params: NoParams) -> list[dict[str, Any]]:
    """Every listed number, by list then number, with the customer's name when there is one."""
    db = ctx.services.db
    rows = db.execute("SELECT phone, list, note, set_by, set_at FROM caller_lists "
                      "ORDER BY list, phone").fetchall()
    out = []
    for phone, which, note, set_by, set_at in rows:
        customer = lookup.customer_by_phone(db, phone)
        out.append({"phone": phone, "list": which, "note": note, "set_by": set_by,
                    "set_at": set_at, "customer": customer["name"] if customer else None})
    return out
