"""A customer's history for the screen pop: every call, work order, callback and survey, newest
first, in one SQL statement.

Given a customer, their phone numbers are added; given a phone number, the customers who have it
are added. So a call from a number not yet linked to the customer still shows, and so does a work
order opened for the customer from another phone. Each branch reads its own index
(`calls_customer`, `calls_src`, `work_orders_customer`, `work_orders_phone`, …) and stops at
`limit`, so the cost stays flat however long the customer's record is (see bench/history).
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from ccd.customers_import import normalize_phone
from ccd.errors import ClientError
from ccd.workorders.store import rows

KINDS = ("call", "work_order", "callback", "survey")
MAX_LIMIT = 500

HISTORY_SQL = """
WITH who(id) AS (
    SELECT :customer_id WHERE :customer_id IS NOT NULL
    UNION
    SELECT customer_id FROM customer_phones WHERE :phone IS NOT NULL AND phone = :phone
),
nums(phone) AS (
    SELECT :phone WHERE :phone IS NOT NULL
    UNION
    SELECT phone FROM customer_phones WHERE customer_id IN (SELECT id FROM who)
)
SELECT kind, ref, at, status, summary, detail, phone, actor, customer_id FROM (
    SELECT * FROM (
        SELECT 'call' AS kind, c.id AS ref, c.start AS at, c.disposition AS status,
               COALESCE(c.wrap_code, c.queue, c.direction) AS summary, c.note AS detail,
               c.src AS phone, c.agent AS actor, c.customer_id AS customer_id
        FROM calls c WHERE c.customer_id IN (SELECT id FROM who)
        ORDER BY c.start DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT 'call', c.id, c.start, c.disposition, COALESCE(c.wrap_code, c.queue, c.direction),
               c.note, c.src, c.agent, c.customer_id
        FROM calls c WHERE c.src IN (SELECT phone FROM nums)
            AND (c.customer_id IS NULL OR c.customer_id NOT IN (SELECT id FROM who))
        ORDER BY c.start DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT 'work_order', w.number, w.created_at, w.status, w.type,
               substr(w.description, 1, 120), w.phone, w.created_by, w.customer_id
        FROM work_orders w WHERE w.customer_id IN (SELECT id FROM who)
        ORDER BY w.created_at DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT 'work_order', w.number, w.created_at, w.status, w.type,
               substr(w.description, 1, 120), w.phone, w.created_by, w.customer_id
        FROM work_orders w WHERE w.phone IN (SELECT phone FROM nums)
            AND (w.customer_id IS NULL OR w.customer_id NOT IN (SELECT id FROM who))
        ORDER BY w.created_at DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT 'callback', CAST(b.id AS TEXT), b.created_at, b.status, b.kind, b.result,
               b.phone, NULL, b.customer_id
        FROM callbacks b WHERE b.customer_id IN (SELECT id FROM who)
        ORDER BY b.created_at DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT 'callback', CAST(b.id AS TEXT), b.created_at, b.status, b.kind, b.result,
               b.phone, NULL, b.customer_id
        FROM callbacks b WHERE b.phone IN (SELECT phone FROM nums)
            AND (b.customer_id IS NULL OR b.customer_id NOT IN (SELECT id FROM who))
        ORDER BY b.created_at DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT 'survey', CAST(s.id AS TEXT), s.created_at, s.status, CAST(s.score AS TEXT),
               (SELECT number FROM work_orders WHERE id = s.work_order_id), s.phone, NULL,
               s.customer_id
        FROM surveys s WHERE s.customer_id IN (SELECT id FROM who)
        ORDER BY s.created_at DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT 'survey', CAST(s.id AS TEXT), s.created_at, s.status, CAST(s.score AS TEXT),
               (SELECT number FROM work_orders WHERE id = s.work_order_id), s.phone, NULL,
               s.customer_id
        FROM surveys s WHERE s.phone IN (SELECT phone FROM nums)
            AND (s.customer_id IS NULL OR s.customer_id NOT IN (SELECT id FROM who))
        ORDER BY s.created_at DESC LIMIT :limit)
)
ORDER BY at DESC, kind, ref DESC
LIMIT :limit
"""


def history(
    db: sqlite_utils.Database,
    *,
    customer_id: int | None = None,
    phone: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest `limit` contacts of a customer and/or a phone number, newest first.

    customer_id: the customer. phone: a phone number in any usual spelling (normalised here).
    Each item has kind (call, work_order, callback, survey), ref (call id, work-order number,
    callback or survey id), at, status, summary, detail, phone, actor and customer_id.
    """
    if customer_id is None and not phone:
        raise ClientError("give a customer id or a phone number", error_id="bad-params")
    if not 1 <= limit <= MAX_LIMIT:
        raise ClientError(f"limit must be 1..{MAX_LIMIT}", error_id="bad-params", limit=limit)
    normal = None
    if phone:
        normal = normalize_phone(phone) or "".join(ch for ch in phone if ch.isdigit()) or phone
    return rows(db, HISTORY_SQL, {"customer_id": customer_id, "phone": normal, "limit": limit})
