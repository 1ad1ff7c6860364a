"""Customer methods for the agent console: the screen pop and the customer search.

    customer.screen_pop {phone | customer_id | call_id}   everything the agent needs before 您好
    customer.search {text}                                by phone, account, meter, name, address

The screen pop gathers, in one reply: the call (caller number, queue, wait, and what the caller
did in the IVR: the nodes walked and the keys pressed, read from `call_events` while the call is
live), the customer (name, VIP/blocked flags, phones, accounts with district, meter, balance and
arrears), the outages under way in their accounts' districts, the last contacts and every open
work order. An unknown caller gets `customer: null` and still the call and the contacts of the
number. Read-only; every role may call them.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import msgspec

from ccd.api.registry import ANY_ROLE, Context, Params, method
from ccd.errors import ClientError
from ccd.history import history
from ccd.workorders import queries
from db import lookup

CONTACTS = 5
OPEN_ORDERS = 20
SEARCH_LIMIT = 20
Phone = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
RowId = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
CallId = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class ScreenPopParams(Params):
    phone: Phone | None = None
    customer_id: RowId | None = None
    call_id: CallId | None = None


class SearchParams(Params):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = SEARCH_LIMIT


def call_summary(ctx: Context, call_id: str) -> dict[str, Any] | None:
    """The call's number, queue, wait and IVR path/digits (None: no such call)."""
    db = ctx.services.db
    cursor = db.execute(
        'SELECT id, start, src, dst, queue, wait_s, customer_id, account_no, ivr_path, digits '
        "FROM calls WHERE id = ?",
        [call_id],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    call = dict(zip([d[0] for d in cursor.description], row, strict=True))
    path: list[str] = []
    digits = ""
    for kind, data in db.execute(
        "SELECT kind, data FROM call_events WHERE call_id = ? AND kind IN ('node', 'dtmf') "
        "ORDER BY id",
        [call_id],
    ).fetchall():
        details = json.loads(data or "{}")
        if kind == "node":
            path.append(str(details.get("node", "")))
        else:
            digits += str(details.get("digits", ""))
    if not path and call["ivr_path"]:
        path = list(json.loads(call["ivr_path"]))
    call["ivr_path"] = path
    call["digits"] = digits or (call["digits"] or "")
    if not call["queue"]:
        call["queue"] = _queue_of(db, call_id)
    return call


def _queue_of(db: Any, call_id: str) -> str | None:
    row = db.execute(
        "SELECT queue FROM queue_events WHERE call_id = ? AND queue != '' ORDER BY id LIMIT 1",
        [call_id],
    ).fetchone()
    return row[0] if row else None


def screen_pop(ctx: Context, params: ScreenPopParams) -> dict[str, Any]:
    """See the module docstring; raises `bad-params` without any key, `no-such-call`."""
    db = ctx.services.db
    now = time.time()
    call = None
    phone = params.phone
    customer_id = params.customer_id
    if params.call_id is not None:
        call = call_summary(ctx, params.call_id)
        if call is None:
            raise ClientError(f"no call {params.call_id}", error_id="no-such-call",
                              call_id=params.call_id)
        phone = phone or call["src"]
        customer_id = customer_id if customer_id is not None else call["customer_id"]
    if customer_id is None and not phone:
        raise ClientError("give a phone, a customer id or a call id", error_id="bad-params")
    customer = None
    if customer_id is not None:
        exists = db.execute("SELECT 1 FROM customers WHERE id = ?", [customer_id]).fetchone()
        if exists is not None:
            customer = lookup._customer(db, customer_id, now)
    elif phone:
        customer = lookup.customer_by_phone(db, phone, now=now)
    found_id = customer["id"] if customer else None
    contacts = history(db, customer_id=found_id, phone=phone or None, limit=CONTACTS)
    orders: list[dict[str, Any]] = []
    if found_id is not None:
        orders = queries.list_orders(db, customer_id=found_id, open_only=True, limit=OPEN_ORDERS)
    elif phone:
        orders = queries.list_orders(db, phone=lookup.normalize_phone(phone), open_only=True,
                                     limit=OPEN_ORDERS)
    return {
        "call": call,
        "phone": phone,
        "customer": customer,
        "outages": customer.get("outages", []) if customer else [],
        "contacts": contacts,
        "open_work_orders": orders,
    }


@method("customer.screen_pop", roles=ANY_ROLE, params=ScreenPopParams)
async def customer_screen_pop(ctx: Context, params: ScreenPopParams) -> dict[str, Any]:
    """The screen pop: customer, accounts, flags, outages, contacts, open work orders, IVR."""
    return screen_pop(ctx, params)


@method("customer.search", roles=ANY_ROLE, params=SearchParams)
async def customer_search(ctx: Context, params: SearchParams) -> list[dict[str, Any]]:
    """Customers by phone, account, meter number, name or address."""
    return lookup.search_customers(ctx.services.db, params.text, limit=params.limit)

