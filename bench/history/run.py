"""Benchmark: the customer-history query (screen pop) on a big database.

    .venv/bin/python bench/history/run.py                      # 1,000,000 customers, 10,000,000 calls
    .venv/bin/python bench/history/run.py --customers 100000 --calls 1000000
    .venv/bin/python bench/history/run.py --db /var/tmp/h.sqlite3 --keep   # reuse next time

Generates the data with SQL (recursive CTEs inside one transaction each, indexes built after the
rows are in), then times `ccd.history.history()` — the function the API's customer.history
calls — for many random customers and for many random phone numbers, and prints p50/p90/p99.
The target (issue 5) is under 5 ms p99. Numbers only: nothing here asserts a time.

Data shape: every customer has a mobile, 30% also a landline, one account each; calls are spread
over a year and over customers (10% come from numbers that belong to nobody); half as many work
orders as customers, a tenth as many callbacks, a twentieth as many surveys. Values come from
arithmetic on the row number, so two runs build the same database.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import sqlite_utils  # noqa: E402

import db as database  # noqa: E402
from ccd.history import history  # noqa: E402

YEAR_START = 1735689600  # 2025-01-01T00:00:00Z
YEAR = 31_536_000
BULK_INDEXES = {
    "calls_start": "CREATE INDEX calls_start ON calls(start)",
    "calls_src": "CREATE INDEX calls_src ON calls(src, start)",
    "calls_customer": "CREATE INDEX calls_customer ON calls(customer_id, start)",
    "customer_phones_phone": "CREATE INDEX customer_phones_phone ON customer_phones(phone)",
}


def iso_expr(seconds: str) -> str:
    """SQL for ccd's ISO text of YEAR_START + `seconds`."""
    return f"strftime('%Y-%m-%dT%H:%M:%S.000Z', {YEAR_START} + ({seconds}), 'unixepoch')"


def mobile(expr: str) -> str:
    return f"('13' || printf('%09d', {expr}))"


def series(n: int) -> str:
    return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "


def step(label: str, db: sqlite_utils.Database, sql: str) -> None:
    t = time.perf_counter()
    db.conn.execute("BEGIN")
    db.conn.execute(sql)
    db.conn.execute("COMMIT")
    print(f"  {label:<28} {time.perf_counter() - t:7.1f} s", flush=True)


def generate(db: sqlite_utils.Database, customers: int, calls: int) -> None:
    n = customers
    conn = db.conn
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    for name in BULK_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    stamp = "'2025-01-01T00:00:00.000Z'"
    step("customers", db, series(n) + "INSERT INTO customers (id, name, created_at, updated_at)"
         f" SELECT i, '客户' || i, {stamp}, {stamp} FROM s")
    step("phones", db, series(n) + "INSERT INTO customer_phones (customer_id, phone, kind) "
         f"SELECT i, {mobile('i')}, 'mobile' FROM s UNION ALL "
         "SELECT i, '0571' || printf('%08d', i), 'landline' FROM s WHERE i % 10 < 3")
    step("accounts", db, series(n) + "INSERT INTO accounts (account_no, customer_id, address, "
         f"opened_at) SELECT printf('1%09d', i), i, '文三路' || i || '号', {stamp} FROM s")
    # customer of call i: a spread of i over 1..n; every tenth call from a number nobody owns.
    cust = f"((i * 48271) % 2147483647) % {n} + 1"
    step("calls", db, series(calls) + "INSERT INTO calls (id, start, src, dst, disposition, "
         "customer_id, agent, queue, billsec) SELECT printf('c%09d', i), "
         f"{iso_expr(f'(i * 69621) % {YEAR}')}, "
         f"CASE WHEN i % 10 = 0 THEN '139' || printf('%08d', i) ELSE {mobile(cust)} END, "
         "'95598', 'ANSWERED', "
         f"CASE WHEN i % 10 = 0 THEN NULL ELSE {cust} END, "
         "'agent' || (i % 50), 'general', i % 600 FROM s")
    for name, sql in BULK_INDEXES.items():
        step(f"index {name}", db, sql)
    wos = n // 2
    wcust = f"((i * 16807) % 2147483647) % {n} + 1"
    step("work orders", db, series(wos) + "INSERT INTO work_orders (number, type, status, "
         "customer_id, phone, description, created_by, created_at, updated_at) "
         f"SELECT printf('WO-B-%08d', i), 'repair', 'closed', {wcust}, {mobile(wcust)}, "
         f"'漏水', 'agent1', {iso_expr(f'(i * 7919) % {YEAR}')}, "
         f"{iso_expr(f'(i * 7919) % {YEAR}')} FROM s")
    bcust = f"((i * 69621) % 2147483647) % {n} + 1"
    step("callbacks", db, series(n // 10) + "INSERT INTO callbacks (kind, phone, customer_id, "
         "status, due_at, created_at, updated_at) "
         f"SELECT 'survey', {mobile(bcust)}, {bcust}, 'done', {stamp}, "
         f"{iso_expr(f'(i * 104729) % {YEAR}')}, {stamp} FROM s")
    step("surveys", db, series(n // 20) + "INSERT INTO surveys (customer_id, phone, status, "
         f"score, created_at) SELECT {bcust}, {mobile(bcust)}, 'answered', 1 + i % 5, "
         f"{iso_expr(f'(i * 1299709) % {YEAR}')} FROM s")
    conn.execute("PRAGMA journal_mode = WAL")


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return (f"p50 {q[49]:6.3f} ms   p90 {q[89]:6.3f} ms   p99 {q[98]:6.3f} ms   "
            f"max {ms[-1]:6.3f} ms   mean {statistics.fmean(ms):6.3f} ms")


def measure(db: sqlite_utils.Database, customers: int, queries: int, seed: int) -> None:
    rng = random.Random(seed)
    ids = [rng.randint(1, customers) for _ in range(queries)]
    phones = [f"+86 13{rng.randint(1, customers):09d}" if rng.random() < 0.8
              else f"0571-{rng.randint(1, customers):08d}" for _ in range(queries)]
    for cid in ids[: min(200, queries)]:  # warm the page cache a little
        history(db, customer_id=cid)
    rows = 0
    by_id = []
    for cid in ids:
        t = time.perf_counter()
        rows += len(history(db, customer_id=cid, limit=50))
        by_id.append(time.perf_counter() - t)
    by_phone = []
    for phone in phones:
        t = time.perf_counter()
        history(db, phone=phone, limit=50)
        by_phone.append(time.perf_counter() - t)
    print(f"history by customer id, {queries} random customers ({rows / queries:.1f} items each):")
    print("  " + percentiles(by_id))
    print(f"history by phone number, {queries} random numbers (80% mobiles, 20% landlines):")
    print("  " + percentiles(by_phone))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=5000, help="queries of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--pragma", action="append", default=[],
                        help="e.g. temp_store=MEMORY: set on the measuring connections")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="ccd-bench-history-")) / "history.sqlite3"
    try:
        db = database.open_database(path)
        have = db.execute("SELECT count(*) FROM customers").fetchone()[0]
        if have == 0:
            print(f"generating {args.customers:,} customers and {args.calls:,} calls in {path}")
            t = time.perf_counter()
            generate(db, args.customers, args.calls)
            print(f"  {'total':<28} {time.perf_counter() - t:7.1f} s")
        else:
            args.customers = have
            print(f"reusing {path} ({have:,} customers)")
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        calls = db.execute("SELECT max(rowid) FROM calls").fetchone()[0]
        version = db.execute("SELECT sqlite_version()").fetchone()[0]
        db.conn.close()
        print(f"database: {size / 2**30:.2f} GiB, {calls:,} calls; SQLite {version}; "
              f"pragmas: {', '.join(args.pragma) or 'as db.connect sets them'}")
        # The daemon's connection lives for days and also runs scans (reports, imports) that
        # fill its page cache; measure one that has just done a scan, then a fresh one. (Seen
        # here: right after a big scan, glibc grows and trims the heap on every query — brk
        # calls — which costs about 1 ms a query; PRAGMA temp_store = MEMORY avoids it.)
        for label, churn in (("after a full scan on the same connection", True),
                             ("fresh connection", False)):
            conn = database.connect(path)
            for pragma in args.pragma:
                conn.execute(f"PRAGMA {pragma}")
            if churn:
                conn.execute("SELECT count(*), sum(length(name)) FROM customers").fetchall()
            print(f"-- {label}")
            measure(conn, args.customers, args.queries, args.seed)
            conn.conn.close()
    finally:
        if not args.keep and args.db is None:
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
            path.parent.rmdir()


if __name__ == "__main__":
    main()
