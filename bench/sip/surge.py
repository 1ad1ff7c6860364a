"""`make bench-surge`: ramp SIPp callers against the full default `ccd run` (Kamailio edge,
media workers, the demo IVR) and report, per level, what a surge costs.

    .venv/bin/python bench/sip/surge.py --levels 20,60 --hold 30
    .venv/bin/python bench/sip/surge.py --levels 120,240,540 --overload

Per level: calls ok / failed (SIPp's counts), the server's RTP inter-packet gap p50/p99 and the
share of gaps > 30 ms (captured on the loopback interface with an AF_PACKET socket: every UDP
packet sent from the workers' RTP ports), CPU of ccd (daemon, workers, Kamailio: all processes)
and of SIPp as % of one core, ccd's RSS, and before the ramp the idle CPU of the whole stack.
"Clean" = 0 failed and p99 gap <= 30 ms. With --overload, one more run at 1.5x the highest
clean level for 60 s: how many callers got the busy announcement or 503 (Retry-After), and
whether any worker restarted. Needs root for the capture (else the gap columns are empty).
Figures, not pass/fail; JSON goes to bench/out/surge.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.daemon_proc import DaemonProcess, free_port  # noqa: E402
from tests.e2e.edge_site import edge_port, status  # noqa: E402
from tests.e2e.sipp import PCAP_DIR, scenario  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
CALLERS_PER_WORKER = 23  # the default worker: 27 legs, 4 kept for agents
ETH_P_ALL = 0x0003


class RtpCapture(threading.Thread):
    """Inter-packet gaps of every UDP flow whose source port is in [lo, hi), seen on `lo`."""

    def __init__(self, lo: int, hi: int) -> None:
        super().__init__(daemon=True)
        self.lo, self.hi = lo, hi
        self.gaps: list[float] = []
        self.last: dict[tuple[int, int], float] = {}
        self.stop = threading.Event()
        self.error = ""

    def run(self) -> None:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
            sock.bind(("lo", 0))
            sock.settimeout(0.2)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        except (PermissionError, OSError) as exc:
            self.error = str(exc)
            return
        with sock:
            while not self.stop.is_set():
                try:
                    data, addr = sock.recvfrom(2048)
                except TimeoutError:
                    continue
                if addr[2] == socket.PACKET_OUTGOING:  # loopback shows each packet twice
                    continue
                now = time.monotonic()
                if len(data) < 28 or data[9] != 17:  # IPv4 UDP only
                    continue
                ihl = (data[0] & 0x0F) * 4
                sport, dport = struct.unpack_from("!HH", data, ihl)
                if not (self.lo <= sport < self.hi) or sport % 2:  # RTP, not RTCP
                    continue
                key = (sport, dport)
                previous = self.last.get(key)
                self.last[key] = now
                if previous is not None and now - previous < 1.0:  # a new call on the port
                    self.gaps.append((now - previous) * 1000)


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants (workers), plus every kamailio process."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as f:
                names[int(entry)] = f.read().strip()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def cpu_rss(pids: list[int]) -> tuple[int, int]:
    ticks = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            rss += int(fields[21]) * PAGE
        except OSError:
            pass
    return ticks, rss


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(math.ceil(q * len(values))) - 1)]


def run_level(port: int, workdir: Path, level: int, hold_s: int, rate: float,
              rtp: tuple[int, int], daemon_pid: int, duration_s: float | None = None) -> dict:
    (workdir / "stat.csv").unlink(missing_ok=True)
    (workdir / "caller.xml").write_text(scenario("1", times=max(1, hold_s // 4), every_ms=4000))
    calls = level if duration_s is None else int(rate * duration_s)
    capture = RtpCapture(*rtp)
    capture.start()
    pids = tree_pids(daemon_pid)
    ccd0, _ = cpu_rss(pids)
    t0 = time.monotonic()
    sipp = subprocess.Popen(
        ["sipp", f"127.0.0.1:{port}", "-sf", "caller.xml", "-s", "95598", "-key", "caller",
         "13900000000", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", "42000",
         "-l", str(level), "-r", str(rate), "-m", str(calls), "-nostdin", "-timeout",
         f"{hold_s * 4 + 120}s", "-recv_timeout", "20s", "-trace_stat", "-stf",
         "stat.csv", "-fd", "1", "-trace_err", "-error_file", f"errors-{level}.log"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_rss = 0
    sipp_ticks = 0
    while sipp.poll() is None:
        time.sleep(1.0)
        peak_rss = max(peak_rss, cpu_rss(tree_pids(daemon_pid))[1])
        sipp_ticks = max(sipp_ticks, cpu_rss([sipp.pid])[0])
    wall = time.monotonic() - t0
    ccd1, _ = cpu_rss(tree_pids(daemon_pid))
    capture.stop.set()
    capture.join()
    ok, failed = sipp_counts(workdir / "stat.csv")
    errors = workdir / f"errors-{level}.log"
    if failed and errors.exists():  # keep SIPp's account of the failures
        out = ROOT / "bench" / "out"
        out.mkdir(exist_ok=True)
        shutil.copy(errors, out / f"surge-sipp-errors-{level}.log")
    gaps = capture.gaps
    p99 = percentile(gaps, 0.99)
    return {
        "level": level, "calls": calls, "ok": ok, "failed": failed,
        "gap_p50_ms": percentile(gaps, 0.50), "gap_p99_ms": p99,
        "gaps_over_30ms": (sum(g > 30 for g in gaps) / len(gaps)) if gaps else None,
        "rtp_packets": len(gaps), "capture_error": capture.error,
        "ccd_cpu_pct": round(100 * (ccd1 - ccd0) / CLK_TCK / wall, 1),
        "sipp_cpu_pct": round(100 * sipp_ticks / CLK_TCK / wall, 1),
        "ccd_rss_mb": round(peak_rss / 2**20, 1), "wall_s": round(wall, 1),
        "clean": failed == 0 and p99 is not None and p99 <= 30.0,
    }


def sipp_counts(stat: Path) -> tuple[int, int]:
    """(successful, failed) calls from the last line of SIPp's -trace_stat CSV."""
    lines = [line for line in stat.read_text().splitlines() if line.strip()] if stat.exists() else []
    if len(lines) < 2:
        return 0, 0
    head, last = lines[0].split(";"), lines[-1].split(";")
    row = dict(zip(head, last, strict=False))
    return int(row.get("SuccessfulCall(C)", 0)), int(row.get("FailedCall(C)", 0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default="20,60", help="concurrent callers, comma-separated")
    ap.add_argument("--hold", type=int, default=30, help="seconds each call stays up")
    ap.add_argument("--rate", type=float, default=0.0, help="new calls a second (0: level/10)")
    ap.add_argument("--workers", default="auto",
                    help=f"'auto': enough for the top level at {CALLERS_PER_WORKER} a worker")
    ap.add_argument("--overload", action="store_true",
                    help="then 1.5x the highest clean level for 60 s")
    args = ap.parse_args()
    if shutil.which("sipp") is None or shutil.which("kamailio") is None:
        raise SystemExit("needs sipp (sip-tester) and kamailio: make deps")
    levels = [int(x) for x in args.levels.split(",")]
    workers = (math.ceil(max(levels) / CALLERS_PER_WORKER) if args.workers == "auto"
               else int(args.workers))
    results: dict = {"workers": workers, "levels": [], "note": "shared box: figures are noisy"}
    with tempfile.TemporaryDirectory(prefix="ccd-surge-") as tmp:
        base = Path(tmp)
        subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(base / "site"),
                        "--demo", "--customers", "200"], check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "ccd", "prompts", "build", "--prompts-dir",
                        str(base / "prompts")], check=True, capture_output=True)
        rtp_start = 20000
        daemon = DaemonProcess(
            base / "site" / "ccd.toml", f"paths.prompts={base / 'prompts'}",
            f"sip.workers={workers}", f"sip.rtp_port_start={rtp_start}",
            "sip.rtp_ports_per_worker=200").start(timeout=120)
        assert daemon.proc is not None
        try:
            port = edge_port(daemon)
            workdir = base / "sipp"
            workdir.mkdir()
            (workdir / "pcap").symlink_to(PCAP_DIR)
            time.sleep(3)  # let start-up settle before measuring idle
            pids = tree_pids(daemon.proc.pid)
            c0, rss0 = cpu_rss(pids)
            time.sleep(10)
            c1, _ = cpu_rss(tree_pids(daemon.proc.pid))
            results["idle_cpu_pct"] = round(100 * (c1 - c0) / CLK_TCK / 10, 2)
            results["idle_rss_mb"] = round(rss0 / 2**20, 1)
            print(f"{workers} workers; idle: {results['idle_cpu_pct']}% of a core, "
                  f"{results['idle_rss_mb']} MB", flush=True)
            rtp = (rtp_start, rtp_start + 200 * workers)
            for level in levels:
                rate = args.rate or max(1.0, level / 10)
                row = run_level(port, workdir, level, args.hold, rate, rtp, daemon.proc.pid)
                results["levels"].append(row)
                print(json.dumps(row), flush=True)
            if args.overload:
                clean = [r["level"] for r in results["levels"] if r["clean"]] or levels[:1]
                level = int(max(clean) * 1.5)
                rate = args.rate or max(1.0, level / 10)
                row = run_level(port, workdir, level, args.hold, rate, rtp, daemon.proc.pid,
                                duration_s=60)
                sip = status(base / "site" / "ccd.toml")["sip"]
                row["worker_restarts"] = sum(w["restarts"] for w in sip["workers"])
                row["edge_restarts"] = sip["edge"]["restarts"]
                db = sqlite3.connect(base / "site" / "ccd.sqlite3")
                row["busy_announcements"] = db.execute(
                    "SELECT count(*) FROM calls WHERE disposition = 'BUSY'").fetchone()[0]
                db.close()
                results["overload"] = row
                print("overload", json.dumps(row), flush=True)
        finally:
            daemon.stop(timeout=30)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "surge.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {out / 'surge.json'}")


if __name__ == "__main__":
    main()
