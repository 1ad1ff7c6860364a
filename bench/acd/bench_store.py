"""The ACD with every record stored: simulated calls per second of wall time when the store writes
each record to SQLite (queue_events, agent_state_log, the calls row) and publishes it on a broker,
against the same run with a sink that drops records. Also: rows written per second, and how many
records one transaction carried on average (the writer batches whatever is pending).

Run: .venv/bin/python bench/acd/bench_store.py
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import trio
import trio.testing

from ccd.acd import model as m
from ccd.acd.core import Acd
from ccd.acd.service import AcdService
from ccd.acd.simulate import _CallerLeg, _Stations
from ccd.acd.store import AcdStore
from ccd.api.broker import Broker
from ccd.calls import CallLog
from db import open_database


class _Drop:
    def store(self, records: Sequence[m.AcdRecord]) -> None:
        pass


async def _run(calls_per_hour: float, aht: float, agents: int, hours: float, db_path: Path | None,
               out: dict[str, float]) -> None:
    queue = m.QueueConfig("sim", ring_timeout_s=3600, announce_every_s=None, callback_key=None,
                          ivr_key=None)
    acd = Acd([queue], [m.AgentConfig(f"agent{i}") for i in range(agents)])
    stations = _Stations()
    store = None
    db = None
    if db_path is not None:
        db = open_database(db_path)
        broker = Broker()
        store = AcdStore(db, broker, station_of=acd.agent_station)
    service = AcdService(acd, stations, store or _Drop())
    rng = random.Random(1)
    rate = calls_per_hour / 3600
    log = CallLog(db) if db is not None else None
    async with trio.open_nursery() as outer:
        if store is not None:
            await outer.start(store.run)
        await outer.start(service.run)
        for i in range(agents):
            service.feed(m.AgentLogin(f"agent{i}", f"sim:{i}", ready=True))
        async with trio.open_nursery() as calls:
            t = 0.0
            n = 0
            while True:
                t += rng.expovariate(rate)
                if t >= hours * 3600:
                    break
                await trio.sleep_until(t)
                n += 1
                call_id = f"sim-{n}"
                if log is not None:
                    log.start(call_id, src="138", dst="95598")
                stations.handle_s[call_id] = rng.expovariate(1 / aht)
                calls.start_soon(service.queue_call, _CallerLeg(None), "sim", m.Caller(call_id))
        if store is not None:
            await store.flush()
            out.update(rows=store.rows_written, transactions=store.transactions)
        outer.cancel_scope.cancel()
    out["calls"] = n
    if db is not None:
        db.conn.close()


def measure(stored: bool, cph: float = 2000, aht: float = 180, agents: int = 110,
            hours: float = 2) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3" if stored else None
        t0 = time.perf_counter()
        trio.run(_run, cph, aht, agents, hours, path, out,
                 clock=trio.testing.MockClock(autojump_threshold=0))
        out["wall_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    print("case                     calls  wall s  calls/wall s  rows  rows/wall s  rows/txn")
    for label, stored in (("records dropped", False), ("stored in SQLite + broker", True)):
        r = measure(stored)
        rows = r.get("rows", 0)
        per_txn = rows / r["transactions"] if r.get("transactions") else 0
        print(f"{label:<24} {r['calls']:6.0f}  {r['wall_s']:6.2f}  {r['calls'] / r['wall_s']:12,.0f}"
              f"  {rows:5.0f}  {rows / r['wall_s']:11,.0f}  {per_txn:8.1f}")


if __name__ == "__main__":
    main()
