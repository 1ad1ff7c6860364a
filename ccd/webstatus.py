"""The read-only work-order status endpoint for the utility's web service hall (网上营业厅).

    GET /wo/WO-20261123-0042?check=0001   →   200 {"number", "status", "type", "created",
                                                     "updated", "closed"}

`check` is the last four digits of the work order's contact phone. A wrong check and an unknown
number get the same 404 with the same body, after the same lookup, so the endpoint never tells
whether a number exists. Each client IP has a token bucket; a failed check costs
`failure_cost` tokens, so trying the 10,000 possible checks takes hours, not seconds. Nothing but
the six fields above ever leaves: no name, phone, address or description.

A small HTTP/1.1 server of our own on trio (one request per connection, `Connection: close`):
h11 is not among our dependencies, and a GET with a query string is all this needs.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlite_utils
import trio

from ccd.workorders.service import normalize_number
from ccd.workorders.settings import WebStatusSettings

log = logging.getLogger("ccd.webstatus")

MAX_HEAD = 8192
PUBLIC_FIELDS = ("number", "status", "type", "created", "updated", "closed")
_PATH = re.compile(r"^/wo/([^/]+)$")
_CHECK = re.compile(r"^\d{4}$")
REASONS = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


class RateLimiter:
    """Token buckets per client (no clock, no I/O: `now` is passed in).

    rate: tokens per second. burst: bucket size. max_clients: buckets kept (least recently used
    dropped first; a dropped bucket comes back full, which only favours clients that have been
    quiet).
    """

    def __init__(self, rate: float, burst: int, max_clients: int = 10000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, key: str, now: float) -> float:
        tokens, updated = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - updated) * self.rate)

    def take(self, key: str, now: float, cost: float = 1.0) -> float:
        """Take `cost` tokens for `key`: 0.0 when allowed, else the seconds until it would be."""
        tokens = self._tokens(key, now)
        if tokens >= cost:
            self._store(key, tokens - cost, now)
            return 0.0
        self._store(key, tokens, now)
        return (cost - tokens) / self.rate

    def charge(self, key: str, now: float, cost: float) -> None:
        """Take `cost` more tokens whatever is left (down to -burst): a penalty."""
        self._store(key, max(-self.burst, self._tokens(key, now) - cost), now)

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, head_only: bool = False) -> bytes:
        payload = json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()
        lines = [
            f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Error')}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(payload)}",
            "Cache-Control: no-store",
            "X-Content-Type-Options: nosniff",
            "Connection: close",
            *(f"{k}: {v}" for k, v in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head_only else payload)


def _error(status: int, error: str, *headers: tuple[str, str]) -> Response:
    return Response(status, {"error": error}, tuple(headers))


NOT_FOUND = {"error": "not-found"}


def lookup(db: sqlite_utils.Database, number_text: str, check: str) -> Response:
    """The answer for one well-formed request (rate limit aside). No I/O besides the query."""
    number = normalize_number(unquote(number_text)) or ""
    found = db.execute(
        "SELECT number, status, type, created_at, updated_at, closed_at, phone "
        "FROM work_orders WHERE number = ?",
        [number],
    ).fetchone()
    # Compare against something even when the number is unknown, so both paths do the same work.
    phone = found[6] if found else ""
    expected = phone[-4:] if len(phone) >= 4 else "\x00\x00\x00\x00"
    ok = hmac.compare_digest(expected.encode(), check.encode()) and found is not None
    if not ok:
        return Response(404, dict(NOT_FOUND))
    return Response(200, dict(zip(PUBLIC_FIELDS, found[:6], strict=True)))


def parse_request_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """(method, target, headers in lower case) of a request head; ValueError when malformed."""
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        raise ValueError("bad request line")
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError("bad header line")
        headers[name.lower()] = value.strip()
    return parts[0], parts[1], headers


class StatusServer:
    """The endpoint's logic around one database.

    db: where work orders are read. settings: `[workorders.web]`. clock: seconds for the rate
    limiter (trio.current_time in the server, so MockClock drives it in tests).
    trusted_proxies: peers whose X-Forwarded-For names the real client.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        settings: WebStatusSettings,
        *,
        clock: Callable[[], float] = trio.current_time,
        trusted_proxies: tuple[str, ...] = (),
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.trusted_proxies = trusted_proxies
        self.limiter = RateLimiter(
            settings.requests_per_second, settings.burst, settings.max_clients
        )
        self.requests = 0
        self.refused = 0

    def client_key(self, peer: str, headers: dict[str, str]) -> str:
        if peer in self.trusted_proxies and headers.get("x-forwarded-for"):
            return headers["x-forwarded-for"].split(",")[-1].strip()
        return peer

    def respond(self, method: str, target: str, headers: dict[str, str], peer: str) -> Response:
        """The response to one parsed request from `peer` (an IP address)."""
        self.requests += 1
        key = self.client_key(peer, headers)
        now = self.clock()
        wait = self.limiter.take(key, now)
        if wait > 0:
            self.refused += 1
            return _error(429, "rate-limited", ("Retry-After", str(max(1, math.ceil(wait)))))
        if method not in ("GET", "HEAD"):
            return _error(405, "method-not-allowed", ("Allow", "GET, HEAD"))
        url = urlsplit(target)
        m = _PATH.match(url.path)
        if m is None:
            return Response(404, dict(NOT_FOUND))
        checks = parse_qs(url.query, keep_blank_values=True).get("check", [])
        if len(checks) != 1 or not _CHECK.match(checks[0]):
            return _error(400, "check-required")
        response = lookup(self.db, m.group(1), checks[0])
        if response.status != 200:
            self.limiter.charge(key, now, self.settings.failure_cost - 1)
        return response

    async def handle(self, stream: trio.SocketStream) -> None:
        """Serve one connection: one request, one response, close."""
        # A connection is a supervision boundary: whatever one client sends or does, the error
        # stays with its connection and the endpoint keeps serving the others.
        try:
            peer = stream.socket.getpeername()[0]
            head = b""
            with trio.move_on_after(self.settings.read_timeout_s) as scope:
                while b"\r\n\r\n" not in head and len(head) <= MAX_HEAD:
                    chunk = await stream.receive_some(4096)
                    if not chunk:
                        return
                    head += chunk
            if scope.cancelled_caught:
                await stream.send_all(_error(408, "timeout").encode())
                return
            end = head.find(b"\r\n\r\n")
            if end < 0 or end > MAX_HEAD:
                await stream.send_all(_error(431, "header-too-large").encode())
                return
            try:
                method, target, headers = parse_request_head(head[:end])
            except ValueError:
                await stream.send_all(_error(400, "bad-request").encode())
                return
            response = self.respond(method, target, headers, peer)
            await stream.send_all(response.encode(head_only=method == "HEAD"))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        except Exception:
            log.exception("web status: error serving a request")
        finally:
            with trio.move_on_after(1):
                await stream.aclose()


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


async def serve(
    db: sqlite_utils.Database,
    settings: WebStatusSettings,
    *,
    listen: str | None = None,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on `listen` (default settings.listen; port 0 picks a free one) until cancelled.

    task_status.started() receives the StatusServer and the (host, port) actually bound.
    """
    host, port = split_listen(listen or settings.listen)
    server = StatusServer(db, settings, trusted_proxies=tuple(settings.trusted_proxies))
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[:2]
    log.info("web status endpoint on http://%s:%s/wo/<number>?check=<last 4 digits>", *bound)
    task_status.started((server, bound))
    await trio.serve_listeners(server.handle, listeners)
