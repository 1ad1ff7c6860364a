"""Benchmark: the wallboard with 1,000 agents and 200 ACD events a second.

    .venv/bin/python bench/wallboard/run.py                 # 1000 agents, 21 calls/s, 30 s
    .venv/bin/python bench/wallboard/run.py --tmux          # and a real terminal's CPU
    .venv/bin/python bench/wallboard/run.py --agents 200 --calls-per-s 5 --seconds 20

A demo site gets 1,000 more agents and stations; the real daemon runs with the test launcher
(tests/wallboard/daemon_main.py: the ACD runtime on simulated phones that answer after 0.2 s),
whose load generator places `--calls-per-s` calls into one queue. Each call is about ten stored
records (enter, offer, answer, completion, wrap-up and the agent state changes around them):
21 calls a second is about 200 events a second, through the real AcdService, core, store and
wallboard publisher. The board runs in this process (headless Textual, 200×50, on the Agents
page with its 1,000-row grid) and notes each paint and the row ids it includes.

Printed: events stored per second; from event to paint (the record's time, written by the
store, to the paint that first includes its row) p50/p90/p99/max; pushes and paints per
second; CPU of the board's process and of the daemon. Numbers only, no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ccd.api.client import SyncClient  # noqa: E402
from ccd.reports.board import Wallboard  # noqa: E402
from ccd.timefmt import iso, parse  # noqa: E402
from tests.daemon_proc import DaemonProcess  # noqa: E402
from tui.client import AsyncioClient  # noqa: E402
from tui.wallboard.app import create_app  # noqa: E402


def make_site(folder: Path, agents: int) -> Path:
    subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(folder), "--demo",
                    "--customers", "200"], check=True, capture_output=True)
    db = sqlite3.connect(folder / "ccd.sqlite3")
    now = iso()
    with db:
        for i in range(1, agents + 1):
            cur = db.execute(
                "INSERT INTO users (username, display_name, agent_number, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)", (f"bench{i:04d}", f"座席{i:04d}", f"B{i:04d}", now, now))
            db.execute("INSERT INTO user_roles (user_id, role) VALUES (?, 'agent')",
                       (cur.lastrowid,))
            db.execute("INSERT INTO agent_skills (user_id, skill, level) VALUES (?, 'water', 5)",
                       (cur.lastrowid,))
            db.execute("INSERT INTO stations (name, uri) VALUES (?, ?)",
                       (f"bseat{i:04d}", f"sip:bench{i:04d}@127.0.0.1:9"))
    db.close()
    return folder / "ccd.toml"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_tmux(config: Path) -> tuple[list[str], int]:
    """`ccd wallboard` in a real terminal (tmux, 200×50) on its Agents page: (tmux, pid)."""
    tmux = ["tmux", "-u", "-L", f"ccd-wallboard-bench-{os.getpid()}"]
    command = (f"env LANG=C.UTF-8 {sys.executable} -m tests.wallboard.ccd_cli --config {config}"
               " wallboard")
    subprocess.run([*tmux, "new-session", "-d", "-s", "board", "-x", "200", "-y", "50", "-c",
                    str(ROOT), command], check=True)
    pid = int(subprocess.run([*tmux, "list-panes", "-t", "board", "-F", "#{pane_pid}"],
                             check=True, capture_output=True, text=True).stdout)
    time.sleep(3)
    subprocess.run([*tmux, "send-keys", "-t", "board", "3"], check=True)
    return tmux, pid


def process_cpu(pid: int) -> float:
    """CPU seconds of `pid` and its children (tmux runs the board under `env`)."""
    total = cpu_seconds(pid)
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for kid in child.read_text().split():
            total += process_cpu(int(kid))
    return total


async def watch(socket: Path, seconds: float, warmup: float,
                terminal: tuple[list[str], int] | None) -> dict[str, object]:
    paints: list[tuple[float, int, int]] = []
    app = create_app(AsyncioClient(socket), login=_peer)

    def painted(board: Wallboard) -> None:
        paints.append((time.time(), board.high_water.get("queue_events", 0),
                       board.high_water.get("agent_state_log", 0)))

    app.on_paint = painted
    async with app.run_test(size=(200, 50)) as pilot:
        while app.board is None:
            await pilot.pause(0.05)
        await pilot.press("3")
        await asyncio.sleep(warmup)
        pushes0, paints0 = app.pushes_applied, len(paints)
        term0 = process_cpu(terminal[1]) if terminal else 0.0
        cpu0, wall0 = time.process_time(), time.time()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        wall = time.time() - wall0
        term = 100 * (process_cpu(terminal[1]) - term0) / wall if terminal else None
        return {
            "paints": paints, "window": (wall0, wall0 + wall),
            "cpu_pct": 100 * cpu / wall,
            "pushes_per_s": (app.pushes_applied - pushes0) / wall,
            "paints_per_s": (len(paints) - paints0) / wall,
            "agents": len(app.board.agents) if app.board else 0,
            "terminal_cpu_pct": term,
        }


async def _peer(client: AsyncioClient) -> dict[str, object]:
    return await client.login_peer()


def latencies(db_path: Path, paints: list[tuple[float, int, int]], window: tuple[float, float]
              ) -> tuple[list[float], int]:
    db = sqlite3.connect(db_path)
    rows = {
        "q": dict(db.execute("SELECT id, at FROM queue_events").fetchall()),
        "a": dict(db.execute("SELECT id, at FROM agent_state_log").fetchall()),
    }
    db.close()
    out: list[float] = []
    seen_q = seen_a = 0
    counted = 0
    start, end = window
    for painted_at, hw_q, hw_a in paints:
        for table, lo, hi in (("q", seen_q, hw_q), ("a", seen_a, hw_a)):
            for row_id in range(lo + 1, hi + 1):
                at = rows[table].get(row_id)
                if at is None:
                    continue
                event_at = parse(at)
                if start <= event_at <= end:
                    out.append(painted_at - event_at)
                    counted += 1
        seen_q, seen_a = max(seen_q, hw_q), max(seen_a, hw_a)
    return out, counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--calls-per-s", type=float, default=21.0)
    parser.add_argument("--talk-s", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=45.0,
                        help="seconds of load before measuring (talk + wrap-up: steady state)")
    parser.add_argument("--tmux", action="store_true",
                        help="also run `ccd wallboard` in tmux and measure its CPU")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = make_site(Path(tmp) / "site", args.agents)
        daemon = DaemonProcess(config, "sip.enabled=false")
        daemon.args[daemon.args.index("ccd")] = "tests.wallboard.daemon_main"
        daemon.env["PYTHONPATH"] = str(ROOT)
        daemon.start(timeout=60)
        socket = config.parent / "run" / "ccd.sock"
        try:
            with SyncClient.connect(socket) as admin:
                admin.login_peer()
                names = [f"bench{i:04d}" for i in range(1, args.agents + 1)]
                for i in range(0, len(names), 250):
                    chunk = names[i:i + 250]
                    admin.call("testing.login", agents=chunk,
                               stations=[n.replace("bench", "bseat") for n in chunk])
                admin.call("testing.load", queue="general", calls_per_s=args.calls_per_s,
                           seconds=args.warmup + args.seconds + 5, talk_s=args.talk_s)
                terminal = start_tmux(config) if args.tmux else None
                daemon_cpu0, t0 = cpu_seconds(daemon.proc.pid), time.time()
                result = asyncio.run(watch(socket, args.seconds, args.warmup, terminal))
                daemon_cpu = 100 * (cpu_seconds(daemon.proc.pid) - daemon_cpu0) / (time.time() - t0)
                if terminal is not None:
                    subprocess.run([*terminal[0], "kill-server"], check=False)
        finally:
            daemon.stop()
        lat, counted = latencies(config.parent / "ccd.sqlite3", result["paints"],  # type: ignore[arg-type]
                                 result["window"])  # type: ignore[arg-type]
    start, end = result["window"]  # type: ignore[misc]
    print(f"wallboard bench: {args.agents} agents ({result['agents']} on the board), "
          f"{args.calls_per_s:g} calls/s, {args.seconds:g} s measured after {args.warmup:g} s")
    print(f"  events stored:      {counted / (end - start):.0f} /s ({counted} in the window)")
    if lat:
        print("  event -> paint:     p50 {:.0f} ms  p90 {:.0f} ms  p99 {:.0f} ms  max {:.0f} ms"
              .format(*(1000 * pct(lat, q) for q in (0.5, 0.9, 0.99)), 1000 * max(lat)))
        print(f"                      mean {1000 * statistics.mean(lat):.0f} ms")
    print(f"  pushes applied:     {result['pushes_per_s']:.1f} /s; paints {result['paints_per_s']:.1f} /s")
    print(f"  CPU, board process: {result['cpu_pct']:.0f}% of one core (headless Textual)")
    if result["terminal_cpu_pct"] is not None:
        print(f"  CPU, board in tmux: {result['terminal_cpu_pct']:.0f}% of one core "
              "(`ccd wallboard`, Agents page, 200×50)")
    print(f"  CPU, daemon:        {daemon_cpu:.0f}% of one core (ACD + store + publisher + API)")


if __name__ == "__main__":
    main()
