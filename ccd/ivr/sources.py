"""The named data sources a flow may look up, with their arguments and result fields.

This is the contract between flows and `Services.lookup(source, args)`: a flow's `lookup` node
names a source, passes its arguments, and may then refer to the fields listed here
(`$customer.balance_fen`); validation refuses any other field. `Services.lookup` returns a dict
with these fields (a value may be None when unknown), or None when nothing was found.

Money is in fen (integers), times are ISO 8601 strings (`ccd.timefmt.iso`), dates 'YYYY-MM-DD',
billing periods 'YYYY-MM'.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str
    args: tuple[str, ...]
    fields: tuple[str, ...]
    optional_args: tuple[str, ...] = ("lang",)
    doc: str = ""


CUSTOMER = ("customer_id", "name", "account_no", "address", "district_code", "district_name",
            "meter_no", "vip", "blocked", "language", "balance_fen", "arrears_fen")
OUTAGE = ("count", "district_code", "area", "cause", "kind", "starts_at", "ends_at")
WORK_ORDER = ("number", "kind", "status", "created_at", "updated_at")

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("customer_by_phone", ("phone",), CUSTOMER,
               doc="the customer (and main account) whose phone number this is"),
        Source("customer_by_account", ("account_no",), CUSTOMER,
               doc="the customer owning this account number"),
        Source("last_bill", ("account_no",), ("period", "amount_fen", "paid_fen", "due_at",
                                              "usage"),
               doc="the account's latest bill"),
        Source("last_reading", ("account_no",), ("read_at", "reading", "usage"),
               doc="the account's latest meter reading"),
        Source("outages_for_district", ("district_code",), OUTAGE,
               doc="current or coming outages in a district: the soonest one, and `count` "
                   "(None when there is none); "
                   "area and cause in the language `lang` when given"),
        Source("outage_for_caller", ("phone",), OUTAGE,
               doc="as outages_for_district, for the district of the caller's account"),
        Source("work_order_status", ("number",), WORK_ORDER,
               doc="a work order by its number; `status` is one of the statuses the "
                   "work_order_status node reads (new, dispatched, accepted, ...)"),
        Source("caller_flags", ("phone",), ("vip", "blocked", "restricted", "customer_id"),
               doc="whether a calling number is a VIP or on the blocked list (always found)"),
        Source("queue_status", ("queue",), ("waiting", "agents_ready", "agents_staffed",
                                            "expected_wait_s", "expected_wait_known"),
               doc="live numbers of an ACD queue; with no agent staffed expected_wait_s is "
                   "an hour (3600) and expected_wait_known false"),
    )
}

# Fields of the variable a `record` node fills.
RECORDING = ("number", "recording", "seconds")
# What branch tests look up by themselves.
BRANCH_SOURCES = {"vip": "caller_flags", "blocked": "caller_flags", "restricted": "caller_flags", "outage": "outage_for_caller",
                  "queue_load": "queue_status"}
