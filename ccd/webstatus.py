"""The read-only work-order status endpoint for the utility's web service hall (网上营业厅).

    GET /wo/WO-20261123-0042?check=13812345678   →   200 {"number", "status", "type", "created",
                                                            "updated", "closed"}

`check` is the whole contact phone number given when the work order was opened (any usual
spelling: '138-1234-5678', '+86 138 1234 5678'); the customer knows it, a stranger who learned
the work-order number does not. A wrong check and an unknown number get the same 404 with the
same body, after the same lookup, so the endpoint never tells whether a number exists. Nothing
but the six fields above ever leaves: no name, phone, address or description.

How strong: a mobile number has 11 digits, of which a stranger can guess the first three at
best (about 5 x 10^9 candidates); a landline 7-8 digits after a known area code (10^7-10^8).
Guessing is bounded three ways: each client address has a token bucket in which a failed check
costs `failure_cost` tokens; all clients together may fail `global_failures_per_minute` checks
(default 60: 3,600 guesses an hour, whatever the number of source addresses), after which every
check is refused with 429 until the budget refills; and all requests together are limited to
`global_requests_per_second`. At the defaults, an even chance of finding one landline-only
order's check takes over a year; a mobile one, centuries. (The old 4-digit check fell in 45 s to
200 rotating addresses.) At most `max_connections` connections are served at once; beyond that
a connection gets 503 at once and is closed, so a flood cannot exhaust file descriptors.

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
from db.lookup import normalize_phone

log = logging.getLogger("ccd.webstatus")

MAX_HEAD = 8192
PUBLIC_FIELDS = ("number", "status", "type", "created", "updated", "closed")
_PATH = re.compile(r"^/wo/([^/]+)$")
_CHECK = re.compile(r"^[0-9+()\- ]{7,24}$")
GLOBAL = "*"  # the key of the all-clients buckets
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

    def available(self, key: str, now: float) -> float:
        """Tokens `key` has at `now` (may be negative after a penalty)."""
        return self._tokens(key, now)

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
    phone = normalize_phone(found[6] or "") if found else ""
    given = normalize_phone(check)
    # Compared in constant time, and against a placeholder when the order has no phone.
    expected = phone if len(phone) >= 7 else "\x00" * 11
    ok = hmac.compare_digest(expected.encode(), given.encode()) and found is not None
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
        self.all_requests = RateLimiter(settings.global_requests_per_second,
                                        settings.global_burst, 1)
        self.all_failures = RateLimiter(settings.global_failures_per_minute / 60.0,
                                        settings.global_failures_per_minute, 1)
        self.requests = 0
        self.refused = 0
        self.refused_connections = 0
        self.active = 0
        self.lingering = 0

    def client_key(self, peer: str, headers: dict[str, str]) -> str:
        if peer in self.trusted_proxies and headers.get("x-forwarded-for"):
            return headers["x-forwarded-for"].split(",")[-1].strip()
        return peer

    def respond(self, method: str, target: str, headers: dict[str, str], peer: str) -> Response:
        """The response to one parsed request from `peer` (an IP address)."""
        self.requests += 1
        key = self.client_key(peer, headers)
        now = self.clock()
        wait = self.all_requests.take(GLOBAL, now) or self.limiter.take(key, now)
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
        if len(checks) != 1 or not _CHECK.match(checks[0]) or \
                len(normalize_phone(checks[0])) < 7:
            return _error(400, "check-required")
        # The site-wide failure budget: spent, every check waits (guessing from many
        # addresses at once gains nothing).
        left = self.all_failures.available(GLOBAL, now)
        if left < 1:
            self.refused += 1
            wait = (1 - left) / self.all_failures.rate
            return _error(429, "rate-limited", ("Retry-After", str(max(1, math.ceil(wait)))))
        response = lookup(self.db, m.group(1), checks[0])
        if response.status != 200:
            self.limiter.charge(key, now, self.settings.failure_cost - 1)
            self.all_failures.take(GLOBAL, now)
        return response

    async def handle(self, stream: trio.SocketStream) -> None:
        """Serve one connection: one request, one response, close."""
        if self.active >= self.settings.max_connections:
            self.refused_connections += 1
            if self.lingering >= self.settings.max_connections:  # a flood: no courtesy
                with trio.move_on_after(1):
                    await stream.aclose()
                return
            # Answer, stop sending, and read what the client already sent before closing:
            # closing with unread input resets the connection and the 503 would be lost. At
            # most max_connections refused connections linger so, for at most a second.
            self.lingering += 1
            with trio.move_on_after(1):
                try:
                    await stream.send_all(_error(503, "busy", ("Retry-After", "1")).encode())
                    await stream.send_eof()
                    drained = 0
                    while drained <= MAX_HEAD and (chunk := await stream.receive_some(4096)):
                        drained += len(chunk)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    pass
            self.lingering -= 1
            with trio.move_on_after(1):
                await stream.aclose()
            return
        self.active += 1
        try:
            await self._serve(stream)
        finally:
            self.active -= 1

    async def _serve(self, stream: trio.SocketStream) -> None:
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
    clock: Callable[[], float] = trio.current_time,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on `listen` (default settings.listen; port 0 picks a free one) until cancelled.

    task_status.started() receives the StatusServer and the (host, port) actually bound.
    clock: the rate limiters' seconds (tests freeze it to count exactly).
    """
    host, port = split_listen(listen or settings.listen)
    server = StatusServer(db, settings, clock=clock,
                          trusted_proxies=tuple(settings.trusted_proxies))
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[:2]
    log.info("web status endpoint on http://%s:%s/wo/<number>?check=<contact phone number>", *bound)
    task_status.started((server, bound))
    await trio.serve_listeners(server.handle, listeners)
