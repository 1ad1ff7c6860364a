"""What the IVR asks of the daemon, answered from the database, work orders and the ACD.

One `DaemonIvrServices` per call, so every work order, callback and survey it makes carries the
call's id. Field names follow `ccd.ivr.sources`, the contract between flows and this module.
"""

from __future__ import annotations

import json
import time
import wave
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ccd.acd.views import UNSTAFFED_WAIT_S
from ccd.ivr.engine import BaseServices
from ccd.ivr.synth import wav_seconds
from ccd.timefmt import iso
from db import lookup
from db.users import transaction
from hw.base import Channel

# Work-order statuses as the IVR's status prompts name them (ccd/ivr/catalog: wo/status/*).
SPOKEN_STATUS = {
    "new": "new",
    "dispatched": "dispatched",
    "accepted": "accepted",
    "paused": "accepted",
    "close_requested": "replied",
    "closed": "closed",
    "cancelled": "closed",
}


def caller_language(db: Any, caller: str, languages: Sequence[str], default: str) -> str:
    """The language a known caller speaks (customers.language) when the flow speaks it, else
    `default` (the site's): an English-speaking customer is greeted in English."""
    found = lookup.customer_by_phone(db, caller) if caller else None
    spoken = str((found or {}).get("language") or "")
    return spoken if spoken in languages else default


def caller_identity(db: Any, caller: str) -> dict[str, Any]:
    """The customer (and, when they have only one, the account) behind a caller number, for a
    call record the IVR flow did not identify; {} for an unknown number."""
    found = lookup.customer_by_phone(db, caller) if caller else None
    if not found:
        return {}
    accounts = found.get("accounts") or []
    return {"customer_id": found["id"],
            "account_no": accounts[0]["account_no"] if len(accounts) == 1 else None}


# How long a caller's voice report waits for a database locked by another process.
REPORT_WAIT_S = 10.0


class DaemonIvrServices(BaseServices):
    def __init__(self, daemon: Any, call_id: str, lang: str = "zh") -> None:
        self.daemon = daemon
        self.lang = lang
        self.db = daemon.db
        self.call_id = call_id

    async def lookup(self, source: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
        handler = getattr(self, f"_{source}", None)
        if handler is None:
            raise LookupError(f"no data source {source!r}")
        return handler(**args)

    # --- sources ---------------------------------------------------------------------------

    def _customer(self, found: dict[str, Any] | None) -> dict[str, Any] | None:
        if not found or not found.get("accounts"):
            return None
        account = found["accounts"][0]
        return {
            "customer_id": found["id"],
            "name": found["name"],
            "account_no": account["account_no"],
            "address": account["address"],
            "district_code": account["district_code"],
            "district_name": account.get("district_name"),
            "meter_no": account.get("meter_no"),
            "vip": bool(found["vip"]),
            "blocked": bool(found["blocked"]),
            "language": found.get("language", "zh"),
            "balance_fen": account["balance_fen"],
            "arrears_fen": account["arrears_fen"],
        }

    def _customer_by_phone(self, phone: str, lang: str = "") -> dict[str, Any] | None:
        return self._customer(lookup.customer_by_phone(self.db, phone))

    def _customer_by_account(self, account_no: str, lang: str = "") -> dict[str, Any] | None:
        return self._customer(lookup.customer_by_account(self.db, account_no))

    def _last_bill(self, account_no: str, lang: str = "") -> dict[str, Any] | None:
        summary = lookup.account_summary(self.db, account_no)
        bill = summary and summary.get("last_bill")
        if not bill:
            return None
        return {k: bill.get(k) for k in ("period", "amount_fen", "paid_fen", "due_at", "usage")}

    def _last_reading(self, account_no: str, lang: str = "") -> dict[str, Any] | None:
        summary = lookup.account_summary(self.db, account_no)
        reading = summary and summary.get("last_reading")
        if not reading:
            return None
        return {k: reading.get(k) for k in ("read_at", "reading", "usage")}

    def _outages_for_district(self, district_code: str, lang: str = "") -> dict[str, Any] | None:
        return _outage_fields(
            lookup.outage_notices(self.db, time.time(), district_code=district_code), lang
        )

    def _outage_for_caller(self, phone: str, lang: str = "") -> dict[str, Any] | None:
        """A current outage in the district of any of the caller's accounts."""
        found = lookup.customer_by_phone(self.db, phone)
        current = [
            outage
            for account in (found or {}).get("accounts", [])
            for outage in lookup.current_outages(self.db, account["district_code"], time.time())
        ]
        return _outage_fields(current, lang)

    def _caller_flags(self, phone: str, lang: str = "") -> dict[str, Any]:
        flags = lookup.caller_flags(self.db, phone)
        found = lookup.customer_by_phone(self.db, phone) if flags.get("known") else None
        return {
            "vip": bool(flags.get("vip")),
            "blocked": bool(flags.get("blocked")),
            "restricted": bool(flags.get("restricted")),
            "customer_id": found["id"] if found else None,
        }

    def _work_order_status(self, number: str, lang: str = "") -> dict[str, Any] | None:
        workorders = getattr(self.daemon, "workorders", None)
        if workorders is None:
            return None
        from ccd.errors import CcdError
        from ccd.workorders.service import normalize_number

        normal = normalize_number(number)
        if normal is None:
            return None
        try:
            wo = workorders.get(normal)
        except CcdError:
            return None
        status = "escalated" if wo.get("escalated_at") and wo["status"] not in ("closed", "cancelled") \
            else SPOKEN_STATUS.get(wo["status"], "unknown")
        return {
            "number": wo["number"],
            "kind": wo["type"],
            "status": status,
            "created_at": wo["created_at"],
            "updated_at": wo["updated_at"],
        }

    def _queue_status(self, queue: str, lang: str = "") -> dict[str, Any] | None:
        acd = getattr(self.daemon, "acd", None)
        if acd is None or not hasattr(acd, "queue_status"):
            return {"waiting": 0, "agents_ready": 0, "agents_staffed": 0,
                    "expected_wait_s": UNSTAFFED_WAIT_S, "expected_wait_known": False}
        return acd.queue_status(queue)

    # --- actions ---------------------------------------------------------------------------

    async def create_work_order(self, kind: str, caller: str, account: str, recording: Path) -> str:
        workorders = getattr(self.daemon, "workorders", None)
        if workorders is None:
            raise RuntimeError("work orders are not running")
        try:
            seconds = wav_seconds(recording)
        except (OSError, EOFError, wave.Error):  # a report cut short still opens its order
            seconds = 0.0
        rec_id = await self.daemon.call_log.recording_committed(
            self.call_id, str(recording), kind="voice-report", seconds=seconds,
            wait_s=REPORT_WAIT_S,
        )
        customer_id = None
        if not account:  # a known caller's report is for their customer (and their one account)
            known = self._customer_by_phone(caller)
            if known is not None:
                customer_id = known["customer_id"]
                found = lookup.customer_by_phone(self.db, caller) or {}
                if len(found.get("accounts") or []) == 1:
                    account = str(known["account_no"])

        def create(db: object) -> dict:
            return workorders.create(
                type=kind,
                created_by="ivr",
                source="ivr",
                phone=caller if lookup.normalize_phone(caller) else "",
                customer_id=customer_id,
                account_no=account or None,
                call_id=self.call_id,
                description=f"IVR {kind}: voice report ({seconds:.0f} s)",
                attachments=[{"path": str(recording), "kind": "recording",
                              "recording_id": rec_id}],
            )

        # Through the daemon's write queue: while another process holds the database lock the
        # caller waits (up to REPORT_WAIT_S) instead of losing the report at the first try.
        wo = await self._commit(create, "IVR work order")
        # The caller hears (and later keys in) the digits: 'WO-20261123-0042' → '20261123-0042'.
        return str(wo["number"]).removeprefix("WO-")

    async def request_callback(self, caller: str, number: str, account: str, queue: str) -> None:
        phone = lookup.normalize_phone(number) or number
        found = lookup.customer_by_phone(self.db, phone)
        now = iso()
        row = [phone, found["id"] if found else None, self.call_id, now,
               json.dumps({"queue": queue, "account": account}, ensure_ascii=False), now, now]
        # Committed (through the write queue, waiting out another process's lock) before the
        # caller is told the callback is booked.
        await self._commit(lambda db: db.execute(
            "INSERT INTO callbacks (kind, phone, customer_id, call_id, due_at, note, created_at, "
            "updated_at) VALUES ('request', ?, ?, ?, ?, ?, ?, ?)", row), "IVR callback")

    async def save_survey(self, caller: str, survey: str, answers: Mapping[str, str]) -> None:
        now = iso()
        found = lookup.customer_by_phone(self.db, caller)

        def write(db: Any) -> None:  # one op: the survey and its answers, or nothing
            cur = db.execute(
                "INSERT INTO surveys (customer_id, phone, status, created_at, answered_at) "
                "VALUES (?, ?, 'answered', ?, ?)",
                [found["id"] if found else None, lookup.normalize_phone(caller) or caller, now,
                 now],
            )
            for question, answer in answers.items():
                db.execute(
                    "INSERT INTO survey_answers (survey_id, question, answer, at) "
                    "VALUES (?, ?, ?, ?)",
                    [cur.lastrowid, f"{survey}.{question}", answer, now],
                )

        await self._commit(write, "IVR survey")

    async def _commit(self, op: Any, label: str) -> Any:
        """Run a write through the daemon's write queue (db/writer.py) and wait for it."""
        writer = getattr(getattr(self.daemon, "call_log", None), "writer", None)
        if writer is None:  # no telephony write queue (tests of the services alone)
            with transaction(self.db):
                return op(self.db)
        return await writer.commit(op, wait_s=REPORT_WAIT_S, label=label)

    async def enqueue(self, channel: Channel, queue: str, priority: int) -> str:
        acd = getattr(self.daemon, "acd", None)
        if acd is None or not hasattr(acd, "enqueue"):
            return "unavailable"
        return str(await acd.enqueue(channel, queue, priority, call_id=self.call_id,
                                     lang=self.lang))


def _outage_fields(outages: list[dict[str, Any]], lang: str) -> dict[str, Any] | None:
    """The soonest outage of a list, with the count, in the caller's language."""
    if not outages:
        return None
    first = outages[0]
    english = lang == "en"
    return {
        "count": len(outages),
        "district_code": first["district_code"],
        "area": (first.get("area_en") if english else None) or first["area"],
        "cause": (first.get("cause_en") if english else None) or first["cause"],
        "kind": first["kind"],
        "starts_at": first["starts_at"],
        "ends_at": first["ends_at"],
    }
