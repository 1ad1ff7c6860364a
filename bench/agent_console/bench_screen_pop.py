"""Agent console benchmark: offer -> screen pop painted (p50/p99), and memory after many calls.

    .venv/bin/python -m bench.agent_console.bench_screen_pop [--offers 100] [--calls 500]

Runs the real daemon (tests/wallboard/daemon_main.py: `ccd run` with simulated phones) on a demo
site and the console headless (Textual's run_test, 120x40). Each offer: a caller (a demo number)
enters the queue, the ACD offers the call to the console's agent, the console fetches
`customer.screen_pop` and paints; the caller then hangs up while ringing. The latency is from the
offer record's time (the daemon's wall clock, same host) to the end of the paint after the pop.
Memory is the console process's RSS (the daemon runs in its own process).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.agent_console.conftest import admin, console, log_in, until
from tests.wallboard.conftest import WallboardDaemon

NUMBERS = ["13800000001", "13800000002", "13800000004", "13800000005", "13800000006",
           "057188000007", "13900000000"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def bench(socket: Path, offers: int, calls: int) -> None:
    app = console(socket)
    painted: dict[str, float] = {}
    offered_at: dict[str, float] = {}

    def on_paint(call_id: str | None) -> None:
        painted.setdefault(call_id or "", time.time())
        if app.offer.get("call_id") == call_id and app.offer.get("at"):
            offered_at[call_id or ""] = float(app.offer["at"])  # the daemon's offer record

    app.on_pop_painted = on_paint
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, app, "agent1001", "seat01")
        await pilot.press("f2")
        await until(pilot, lambda: app.state.get("state") == "ready", "ready")
        lead = await admin(socket)
        latencies: list[float] = []
        rss_start = rss_mb()
        total = max(offers, calls)
        for i in range(total):
            call_id = f"bench-{i}"
            await lead.call("testing.call", call_id=call_id, queue="general",
                            number=NUMBERS[i % len(NUMBERS)])
            await until(pilot, lambda c=call_id: c in painted and c in offered_at, call_id)
            if i < offers:
                latencies.append(painted[call_id] - offered_at[call_id])
            await lead.call("testing.caller_hangup", call_id=call_id)
            await until(pilot, lambda: app.state.get("state") in ("ready", "not_ready"),
                        "back to ready")
            if app.state.get("state") == "not_ready":
                await pilot.press("f2")
                await until(pilot, lambda: app.state.get("state") == "ready", "ready")
            if i + 1 == offers:
                ms = sorted(x * 1000 for x in latencies)
                p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
                print(f"offer -> screen pop painted over {len(ms)} offers: "
                      f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms")
        print(f"console RSS: {rss_start:.1f} MB after login, {rss_mb():.1f} MB after {total} "
              f"calls; events dropped {app.client.events_dropped}")
        await lead.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offers", type=int, default=100)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(site), "--demo",
                        "--customers", "2000"], check=True, capture_output=True)
        daemon = WallboardDaemon(site / "ccd.toml").start()
        try:
            asyncio.run(bench(daemon.socket, args.offers, args.calls))
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
