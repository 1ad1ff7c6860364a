"""Socket API figures: calls per second, login cost, event fan-out. Prints numbers; asserts none.

    .venv/bin/python bench/api_bench.py

The server runs in this process (its own thread and trio run) on a socket in a temporary folder,
with rate limits raised out of the way; clients are the blocking SyncClient (the CLI's).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import trio

from ccd import __version__
from ccd.api import auth
from ccd.api.broker import Broker
from ccd.api.client import SyncClient
from ccd.api.server import serve_api
from ccd.config import ApiConfig, Config, PathsConfig
from db import open_database, users


class Services:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.db = open_database(config.database_path)
        self.broker = Broker(buffer=100_000)

    def status(self) -> dict[str, Any]:
        return {"version": __version__, "pid": os.getpid(), "uptime_s": 0.0, "database_bytes": 0}


def start(base: Path) -> tuple[Config, Services, trio.lowlevel.TrioToken]:
    config = Config(
        paths=PathsConfig(database=str(base / "ccd.sqlite3"), run_dir=str(base / "run")),
        api=ApiConfig(requests_per_second=1e9, burst=10**9),
        source=str(base / "ccd.toml"),
    )
    services = Services(config)
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        box["token"] = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_api, config, services)
            ready.set()

    threading.Thread(target=trio.run, args=(main,), daemon=True).start()
    ready.wait()
    return config, services, box["token"]


def rate(label: str, count: int, seconds: float, unit: str = "calls") -> None:
    print(f"{label:<46} {count / seconds:>10,.0f} {unit}/s   ({count} in {seconds:.2f} s)")


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="ccd-bench-"))
    config, services, token = start(base)
    users.add_user(
        services.db, "ann", password_hash=auth.hash_password("password1"), roles=["agent"]
    )
    path = config.socket_path

    with SyncClient.connect(path) as client:
        client.login_peer()
        for method, n in (("ping", 5000), ("status", 5000), ("users.list", 2000)):
            t0 = time.perf_counter()
            for _ in range(n):
                client.call(method)
            rate(f"sequential {method}, one connection", n, time.perf_counter() - t0)

    t0 = time.perf_counter()
    n = 20
    for _ in range(n):
        with SyncClient.connect(path) as client:
            client.login("ann", "password1")
    rate("connect + password login (scrypt n=2^14)", n, time.perf_counter() - t0, "logins")

    def hammer(results: list[int], n: int) -> None:
        with SyncClient.connect(path) as client:
            client.login_peer()
            for _ in range(n):
                client.call("ping")
        results.append(n)

    for clients in (4, 16):
        done: list[int] = []
        threads = [threading.Thread(target=hammer, args=(done, 1000)) for _ in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rate(f"ping, {clients} connections in parallel", sum(done), time.perf_counter() - t0)

    subscribers = [SyncClient.connect(path) for _ in range(10)]
    for sub in subscribers:
        sub.login_peer()
        sub.subscribe("wallboard")
    events = 2000

    def publish_all() -> None:
        for n in range(events):
            services.broker.publish("wallboard", {"n": n, "waiting": 3, "agents": 12})

    t0 = time.perf_counter()
    trio.from_thread.run_sync(publish_all, trio_token=token)
    published = time.perf_counter() - t0
    for sub in subscribers:
        for _ in range(events):
            assert sub.next_event(timeout=30) is not None
    delivered = time.perf_counter() - t0
    rate("publish (10 subscribers, encode once)", events, published, "events")
    rate("events delivered to 10 subscribers", events * 10, delivered, "events")
    for sub in subscribers:
        sub.close()


if __name__ == "__main__":
    main()
