"""How long the ACD takes to connect a queued caller over real SIP on loopback.

Calls one after another: a pjsua2 caller phones the SIP driver, the harness queues the leg, the
ACD rings an auto-answering pjsua2 desk phone and bridges the two. Measured per call (wall time):
queue -> agent talking (ring, answer, bridge) and queue -> the caller's record committed with the
answer (the moment an agent console would be told). Printed as p50 / p90 / max in milliseconds.

Run: .venv/bin/python bench/acd/bench_sip_setup.py [CALLS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import trio

from ccd.acd import tables
from ccd.acd.model import AgentState
from ccd.acd.runtime import AcdRuntime
from ccd.acd.settings import AcdSettings, QueueSettings
from ccd.api.broker import Broker
from ccd.calls import CallLog, new_call_id
from db import open_database, users
from hw.sip import open_sip_driver
from hw.sipphone import open_phone


async def bench(calls: int, tmp: Path) -> tuple[list[float], list[float]]:
    db = open_database(tmp / "bench.sqlite3")
    settings = AcdSettings(announce_every_s=0, wrap_up_s=0, record_calls=True)
    tables.add_queue(db, "water", QueueSettings(skills={}), settings)
    users.add_user(db, "agent1", roles=["agent"])
    talking: list[float] = []
    stored: list[float] = []
    async with (
        open_sip_driver(sip_port=0, rtp_port=31000, rtp_span=200) as driver,
        open_phone(rtp_port=31400, user="caller") as caller,
        open_phone(rtp_port=31600, user="agent1", auto_answer=True) as desk,
        trio.open_nursery() as nursery,
    ):
        tables.add_station(db, "seat01", desk.uri)
        broker = Broker()
        runtime = AcdRuntime(db, settings, driver, broker=broker, recordings_dir=tmp / "rec",
                             music_dir=tmp / "prompts")
        await nursery.start(runtime.run)
        runtime.login("agent1", "seat01", ready=True)
        log = CallLog(db)
        for _ in range(calls):
            async with trio.open_nursery() as call:
                call.start_soon(caller.dial, driver.worker_uri(0, "95598"))
                leg = await driver.incoming()
                await leg.answer()
                call_id = new_call_id()
                log.start(call_id, src=leg.caller, dst=leg.called)
                events = broker.subscribe(["acd.agent"])
                t0 = time.perf_counter()
                call.start_soon(partial(runtime.queue_channel, leg, "water", call_id=call_id))
                desk_leg = await desk.incoming()
                while runtime.acd.agent_state("agent1")[0] is not AgentState.TALKING:
                    await events.wait()  # every state change is pushed once it is stored
                    events.take_all()
                talking.append(time.perf_counter() - t0)
                await runtime.store.flush()
                stored.append(time.perf_counter() - t0)
                events.close()
                await trio.sleep(0.2)
                await desk_leg.hangup()
            await trio.sleep(0.6)  # pjsua2 frees a call's media sockets ~500 ms after it ends
        nursery.cancel_scope.cancel()
    db.conn.close()
    return talking, stored


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (f"p50 {statistics.median(ordered) * 1000:6.1f}  p90 {p90 * 1000:6.1f}  "
            f"max {ordered[-1] * 1000:6.1f} ms")


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        talking, stored = trio.run(bench, calls, Path(tmp))
    print(f"{calls} calls, one after another")
    print(f"queued -> agent talking (ring, answer, bridge): {_ms(talking)}")
    print(f"queued -> answer committed to SQLite:           {_ms(stored)}")


if __name__ == "__main__":
    main()
