"""The web status endpoint over real HTTP on a real loopback socket (a free port per test)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlite_utils
import trio
import trio.testing

from ccd import webstatus
from ccd.webstatus import PUBLIC_FIELDS, RateLimiter, StatusServer
from ccd.workorders.service import WorkOrders
from ccd.workorders.settings import WebStatusSettings
from tests.workorders.conftest import local

SECRET_DESCRIPTION = "王先生家中厨房水管爆裂，门禁密码1234"


def seed(db: sqlite_utils.Database) -> list[str]:
    """Two work orders: one with a full record (customer, address, phone), one closed."""
    db.execute("INSERT INTO customers (id, name, created_at, updated_at) "
               "VALUES (1, '王建国', 'x', 'x')")
    db.execute("INSERT INTO accounts (account_no, customer_id, address, opened_at) "
               "VALUES ('1030000001', 1, '文三路88号3幢2单元501', 'x')")
    wo = WorkOrders(db, now=lambda: local(2026, 11, 20, 9))
    a = wo.create(type="repair", created_by="agent1", account_no="1030000001",
                  phone="13812345678", description=SECRET_DESCRIPTION, department="repair")
    b = wo.create(type="enquiry", created_by="agent1", phone="13900009999")
    wo.act(b["number"], "close", actor="agent1", note="已答复", now=local(2026, 11, 20, 10))
    return [a["number"], b["number"]]


async def get(port: int, target: str, *, method: str = "GET", source: str = "127.0.0.1",
              headers: dict[str, str] | None = None, raw: bytes | None = None
              ) -> tuple[int, dict[str, str], bytes]:
    """One real HTTP/1.1 request; (status, headers, body)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port, local_address=source)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = raw or (f"{method} {target} HTTP/1.1\r\nHost: hall.example\r\n{extra}\r\n"
                      ).encode()
    await stream.send_all(request)
    data = b""
    while chunk := await stream.receive_some(65536):
        data += chunk
    await stream.aclose()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert int(hdrs["content-length"]) == len(body) or method == "HEAD"
    return status, hdrs, body


async def start(nursery: trio.Nursery, db: sqlite_utils.Database, **kw: Any
                ) -> tuple[StatusServer, int]:
    settings = WebStatusSettings(enabled=True, listen="127.0.0.1:0", **kw)
    server, (_, port) = await nursery.start(webstatus.serve, db, settings)
    return server, port


async def test_the_right_check_gets_only_the_six_public_fields(
        db: sqlite_utils.Database, nursery: trio.Nursery) -> None:
    open_number, closed_number = seed(db)
    _, port = await start(nursery, db)
    status, headers, body = await get(port, f"/wo/{open_number}?check=13812345678")
    assert status == 200
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    data = json.loads(body)
    assert tuple(data) == PUBLIC_FIELDS
    assert data == {"number": open_number, "status": "dispatched", "type": "repair",
                    "created": "2026-11-20T01:00:00.000Z", "updated": "2026-11-20T01:00:00.000Z",
                    "closed": None}
    text = body.decode()
    for secret in ("王建国", "文三路", "13812345678", "水管爆裂", "1030000001", "agent1"):
        assert secret not in text
    # The twelve keyed digits work too; a closed one shows when it closed.
    status, _, body = await get(port, f"/wo/{closed_number.replace('WO-', '').replace('-', '')}"
                                      "?check=13900009999")
    assert status == 200
    assert json.loads(body)["closed"] == "2026-11-20T02:00:00.000Z"


async def test_a_wrong_check_and_an_unknown_number_look_exactly_alike(
        db: sqlite_utils.Database, nursery: trio.Nursery) -> None:
    number, _ = seed(db)
    _, port = await start(nursery, db, burst=100)
    wrong = await get(port, f"/wo/{number}?check=13812340000")
    unknown = await get(port, "/wo/WO-20261120-0999?check=13812340000")
    garbage = await get(port, "/wo/nonsense?check=13812345678")
    assert wrong[0] == 404
    assert wrong == unknown == garbage  # status, every header, body: byte for byte
    assert json.loads(wrong[2]) == {"error": "not-found"}


@pytest.mark.parametrize("query", ["", "?check=", "?check=56", "?check=5678", "?check=1234567x", "?check=abcd",
                                   "?check=13812345678&check=13812345678"])
async def test_a_missing_or_malformed_check_is_refused(
        db: sqlite_utils.Database, nursery: trio.Nursery, query: str) -> None:
    number, _ = seed(db)
    _, port = await start(nursery, db)
    status, _, body = await get(port, f"/wo/{number}{query}")
    assert (status, json.loads(body)) == (400, {"error": "check-required"})


async def test_rate_limited_per_client_ip(db: sqlite_utils.Database,
                                          nursery: trio.Nursery) -> None:
    number, _ = seed(db)
    server, port = await start(nursery, db, burst=3, requests_per_second=0.01)
    for _ in range(3):
        assert (await get(port, f"/wo/{number}?check=13812345678"))[0] == 200
    status, headers, body = await get(port, f"/wo/{number}?check=13812345678")
    assert (status, json.loads(body)) == (429, {"error": "rate-limited"})
    assert headers["retry-after"] == "100"  # one token at 0.01 per second
    # Another client (127.0.0.2 is loopback too) has its own bucket.
    assert (await get(port, f"/wo/{number}?check=13812345678", source="127.0.0.2"))[0] == 200
    assert server.refused == 1


async def test_failed_checks_cost_more_so_guessing_is_slow(
        db: sqlite_utils.Database, nursery: trio.Nursery) -> None:
    number, _ = seed(db)
    _, port = await start(nursery, db, burst=10, failure_cost=5, requests_per_second=0.01)
    assert (await get(port, f"/wo/{number}?check=13812340001"))[0] == 404
    assert (await get(port, f"/wo/{number}?check=13812340002"))[0] == 404
    # Ten tokens spent by two guesses: even the right answer must wait now.
    assert (await get(port, f"/wo/{number}?check=13812345678"))[0] == 429


async def test_a_trusted_proxy_passes_the_real_client(db: sqlite_utils.Database,
                                                      nursery: trio.Nursery) -> None:
    number, _ = seed(db)
    _, port = await start(nursery, db, burst=1, requests_per_second=0.01,
                          trusted_proxies=["127.0.0.1"])
    ok = f"/wo/{number}?check=13812345678"
    assert (await get(port, ok, headers={"X-Forwarded-For": "203.0.113.5"}))[0] == 200
    assert (await get(port, ok, headers={"X-Forwarded-For": "203.0.113.5"}))[0] == 429
    assert (await get(port, ok, headers={"X-Forwarded-For": "203.0.113.6"}))[0] == 200
    # An untrusted peer cannot pick its own bucket with the header.
    assert (await get(port, ok, source="127.0.0.3",
                      headers={"X-Forwarded-For": "198.51.100.1"}))[0] == 200
    assert (await get(port, ok, source="127.0.0.3",
                      headers={"X-Forwarded-For": "198.51.100.2"}))[0] == 429


async def test_other_methods_garbage_and_oversize_heads(db: sqlite_utils.Database,
                                                        nursery: trio.Nursery) -> None:
    number, _ = seed(db)
    _, port = await start(nursery, db, burst=100)
    status, headers, _ = await get(port, f"/wo/{number}?check=13812345678", method="POST")
    assert (status, headers["allow"]) == (405, "GET, HEAD")
    status, _, body = await get(port, f"/wo/{number}?check=13812345678", method="HEAD")
    assert (status, body) == (200, b"")
    assert (await get(port, "", raw=b"\x16\x03\x01garbage\r\n\r\n"))[0] == 400
    big = b"GET /wo/x HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 10000 + b"\r\n\r\n"
    assert (await get(port, "", raw=big))[0] == 431
    # Still serving after all that.
    assert (await get(port, f"/wo/{number}?check=13812345678"))[0] == 200


async def test_a_silent_client_is_timed_out(db: sqlite_utils.Database,
                                            nursery: trio.Nursery) -> None:
    seed(db)
    _, port = await start(nursery, db, read_timeout_s=0.2)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(b"GET /wo/")
    data = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 408 ")


def test_the_token_bucket_with_now_passed_in() -> None:
    limiter = RateLimiter(rate=2.0, burst=4, max_clients=2)
    assert [limiter.take("a", 0.0) for _ in range(4)] == [0.0] * 4
    assert limiter.take("a", 0.0) == 0.5
    assert limiter.take("a", 0.5) == 0.0  # one token back after half a second
    limiter.charge("a", 0.5, 100)  # a penalty goes below zero, down to -burst
    assert limiter.take("a", 0.5) == pytest.approx(2.5)
    limiter.take("b", 1.0)
    limiter.take("c", 1.0)  # evicts "a", the least recently used
    assert limiter.take("a", 1.0) == 0.0


FROZEN = 1000.0


async def start_frozen(nursery: trio.Nursery, db: sqlite_utils.Database, **kw: Any
                       ) -> tuple[StatusServer, int]:
    """A server whose rate limiters see no time pass: every token counted exactly."""
    settings = WebStatusSettings(enabled=True, listen="127.0.0.1:0", **kw)
    server, (_, port) = await nursery.start(
        lambda task_status: webstatus.serve(db, settings, clock=lambda: FROZEN,
                                            task_status=task_status))
    return server, port


async def test_rotating_source_addresses_meet_the_site_wide_failure_budget(
        db: sqlite_utils.Database, nursery: trio.Nursery) -> None:
    number, _ = seed(db)
    server, port = await start_frozen(nursery, db, global_failures_per_minute=60)
    statuses = []
    for i in range(200):  # 200 addresses, one wrong guess each: no per-address limit is hit
        status, _, _ = await get(port, f"/wo/{number}?check=1381234{i:04d}",
                                 source=f"127.0.{1 + i // 250}.{2 + i % 250}")
        statuses.append(status)
    assert statuses == [404] * 60 + [429] * 140
    # Spent, the budget stops every check, the right one too, until it refills.
    status, headers, _ = await get(port, f"/wo/{number}?check=13812345678", source="127.0.9.9")
    assert status == 429 and headers["retry-after"] == "1"


async def test_all_clients_together_are_rate_limited(db: sqlite_utils.Database,
                                                     nursery: trio.Nursery) -> None:
    number, _ = seed(db)
    _, port = await start_frozen(nursery, db, global_requests_per_second=1.0, global_burst=5)
    statuses = [(await get(port, f"/wo/{number}?check=13812345678", source=f"127.0.3.{i}"))[0]
                for i in range(2, 9)]
    assert statuses == [200] * 5 + [429] * 2


async def test_connections_beyond_the_cap_get_503_at_once(db: sqlite_utils.Database,
                                                         nursery: trio.Nursery) -> None:
    number, _ = seed(db)
    server, port = await start(nursery, db, max_connections=3, read_timeout_s=30.0)
    idle = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(3)]
    for stream in idle:
        await stream.send_all(b"GET /wo/")  # half a request: each holds its slot
    await trio.testing.wait_all_tasks_blocked(cushion=0.05)  # the server took and read them
    assert server.active == 3
    status, headers, body = await get(port, f"/wo/{number}?check=13812345678")
    assert status == 503 and json.loads(body) == {"error": "busy"}
    assert server.refused_connections == 1
    for stream in idle:
        await stream.aclose()
    await trio.testing.wait_all_tasks_blocked(cushion=0.05)
    assert server.active == 0
    assert (await get(port, f"/wo/{number}?check=13812345678"))[0] == 200
