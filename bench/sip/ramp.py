"""Ramp concurrent SIPp calls against SIP media workers; print the most calls with <0.1% failed.

    .venv/bin/python bench/sip/ramp.py                       # 1 worker, default levels
    .venv/bin/python bench/sip/ramp.py --workers 2 --levels 20,40,54,60

Each worker is driven by this script exactly as the daemon drives it (hw.sip.SipDriver): every
call is answered and hears a looping prompt, and RFC 4733 digits are counted. SIPp (Debian's
sip-tester) places the calls with uac_ivr.xml: G.711 A-law from pcap/g711a.pcap, one RFC 4733
digit, the audio again, BYE (about 18 s a call). With several workers (no Kamailio here) one SIPp
per worker shares the level. For every level it prints: calls placed, failed, failure rate, the
peak concurrent calls seen by the owner, worker CPU (% of one core) and peak RSS, SIPp's CPU, the
RTP packets a second each call sent (what the caller hears) and received, and digits detected.
Figures, not pass/fail: nothing here asserts timing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import struct
import sys
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hw.base import Digit  # noqa: E402
from hw.sip import LegGone, SipChannel, SipDriver, open_sip_driver  # noqa: E402

HERE = Path(__file__).resolve().parent
PCAP_DIR = Path("/usr/share/sip-tester")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Level:
    target: int
    placed: int = 0
    succeeded: int = 0
    failed: int = 0
    failure_pct: float = 0.0
    peak_concurrent: int = 0
    worker_cpu_pct: list[float] = field(default_factory=list)
    worker_rss_mb: list[float] = field(default_factory=list)
    sipp_cpu_pct: float = 0.0
    proxy_cpu_pct: float = 0.0  # all Kamailio processes, when --kamailio
    tx_pps_p5: float = 0.0
    tx_pps_median: float = 0.0
    rx_pps_median: float = 0.0
    clean_share: float = 0.0  # share of (call, 2 s window) sending >= 45 packets a second
    answered: int = 0
    digits: int = 0
    refused_503: int = 0
    seconds: float = 0.0


class Owner:
    """What the daemon would do: answer, loop a prompt, count digits, wait for the hang-up."""

    def __init__(self, prompt: Path) -> None:
        self.prompt = prompt
        self.live = 0
        self.peak = 0
        self.answered = 0
        self.digits = 0

    async def serve(self, driver: SipDriver) -> None:
        async with trio.open_nursery() as nursery:
            while True:
                nursery.start_soon(self._call, await driver.incoming())

    async def _call(self, leg: SipChannel) -> None:
        events = leg.events()
        try:
            await leg.answer()
            await leg.start_play([self.prompt], loop=True)
        except LegGone:
            return
        self.answered += 1
        self.live += 1
        self.peak = max(self.peak, self.live)
        try:
            async for event in events:
                if isinstance(event, Digit):
                    self.digits += 1
        finally:
            self.live -= 1


def write_prompt(path: Path) -> Path:
    """A 2 s two-tone prompt (8 kHz mono 16-bit) - what a greeting costs to play."""
    rate, n = 8000, 16000
    frames = b"".join(
        struct.pack(
            "<h",
            int(
                4000 * math.sin(2 * math.pi * 440 * i / rate)
                + 3000 * math.sin(2 * math.pi * 700 * i / rate)
            ),
        )
        for i in range(n)
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def proc_times(pid: int) -> tuple[int, int] | None:
    """(utime + stime ticks, RSS bytes) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12]), int(fields[21]) * PAGE


async def sample(pids: list[int], samples: dict[int, list[tuple[float, int, int]]]) -> None:
    while True:
        now = trio.current_time()
        for pid in pids:
            got = proc_times(pid)
            if got is not None:
                samples.setdefault(pid, []).append((now, got[0], got[1]))
        await trio.sleep(1.0)


def cpu_pct(series: list[tuple[float, int, int]]) -> float:
    if len(series) < 2:
        return 0.0
    (t0, c0, _), (t1, c1, _) = series[0], series[-1]
    return round(100.0 * (c1 - c0) / CLK_TCK / max(t1 - t0, 1e-9), 1)


async def rtp_rates(driver: SipDriver, workers: int, rates: dict[str, list[float]]) -> None:
    """Every 2 s: packets a second each leg sent (tx) and received (rx) since the last look."""
    last: dict[tuple[int, int], tuple[float, int, int]] = {}
    while True:
        await trio.sleep(2.0)
        now = trio.current_time()
        for index in range(workers):
            try:
                stats = await driver.worker_stats(index, media=True)
            except Exception:  # noqa: BLE001 - a restarting worker just has no sample
                continue
            for m in stats.media:
                key = (index, m.leg)
                if key in last:
                    t, tx, rx = last[key]
                    dt = now - t
                    rates["tx"].append((m.tx_packets - tx) / dt)
                    rates["rx"].append((m.rx_packets - rx) / dt)
                last[key] = (now, m.tx_packets, m.rx_packets)


async def run_sipp(
    workdir: Path, target: str, calls: int, limit: int, rate: float, tag: str, pids: list[int]
) -> tuple[int, int, int]:
    """One SIPp run; returns (successful calls, failed calls, 503 answers seen)."""
    stat_file = workdir / f"stat-{tag}.csv"
    err_file = workdir / f"err-{tag}.log"
    cmd = [
        "sipp", target, "-sf", "uac_ivr.xml", "-s", "95598", "-i", "127.0.0.1",
        "-p", "0", "-mp", str(40000 + 2000 * int(tag.split("-")[-1])),
        "-l", str(limit), "-r", str(rate), "-m", str(calls),
        "-trace_stat", "-stf", str(stat_file), "-fd", "1",
        "-trace_err", "-error_file", str(err_file),
        "-nostdin", "-timeout", "300s", "-recv_timeout", "10s",
    ]  # fmt: skip
    output = await trio.to_thread.run_sync(open, workdir / f"sipp-{tag}.out", "wb")
    with output:
        proc = await trio.lowlevel.open_process(cmd, cwd=workdir, stdout=output, stderr=output)
        pids.append(proc.pid)
        await proc.wait()
    ok = failed = 0
    text = await trio.Path(stat_file).read_text() if await trio.Path(stat_file).exists() else ""
    rows = [r.split(";") for r in text.splitlines() if r.strip()]
    if len(rows) >= 2:
        header, last = rows[0], rows[-1]
        ok = int(last[header.index("SuccessfulCall(C)")])
        failed = int(last[header.index("FailedCall(C)")])
    else:
        failed = calls
        tail = await trio.Path(workdir / f"sipp-{tag}.out").read_text(errors="replace")
        print(tail[-500:], file=sys.stderr)
    errors = await trio.Path(err_file).read_text() if await trio.Path(err_file).exists() else ""
    return ok, failed, errors.count("SIP/2.0 503")


async def one_level(
    driver: SipDriver,
    owner: Owner,
    workdir: Path,
    workers: int,
    target: int,
    args: argparse.Namespace,
) -> Level:
    level = Level(target)
    if args.kamailio_port:
        targets = [(f"127.0.0.1:{args.kamailio_port}", target)]
    else:
        per_worker = [
            target // workers + (1 if i < target % workers else 0) for i in range(workers)
        ]
        targets = [
            (driver.worker_uri(i).split("@", 1)[1], limit) for i, limit in enumerate(per_worker)
        ]
    pids = [w["pid"] for w in driver.statistics()["workers"]]  # type: ignore[index]
    sipp_pids: list[int] = []
    samples: dict[int, list[tuple[float, int, int]]] = {}
    rates: dict[str, list[float]] = {"tx": [], "rx": []}
    owner.peak, answered0, digits0 = owner.live, owner.answered, owner.digits
    t0 = trio.current_time()
    results: list[tuple[int, int, int]] = []

    async def sipp_for(index: int, host_port: str, limit: int) -> None:
        if limit == 0:
            return
        rate = min(args.rate * (workers if args.kamailio_port else 1), limit)
        tag = f"{target}-{index}"
        results.append(
            await run_sipp(workdir, host_port, args.rounds * limit, limit, rate, tag, sipp_pids)
        )

    async with trio.open_nursery() as nursery:
        watched = [p for p in pids if p] + args.proxy_pids
        nursery.start_soon(sample, watched, samples)
        nursery.start_soon(rtp_rates, driver, workers, rates)
        async with trio.open_nursery() as sipps:
            for index, (host_port, limit) in enumerate(targets):
                sipps.start_soon(sipp_for, index, host_port, limit)
            await trio.sleep(0.5)
            watched.extend(sipp_pids)  # the sampler reads this list each second
        nursery.cancel_scope.cancel()
    level.seconds = round(trio.current_time() - t0, 1)
    level.succeeded = sum(r[0] for r in results)
    level.failed = sum(r[1] for r in results)
    level.refused_503 = sum(r[2] for r in results)
    level.placed = level.succeeded + level.failed
    level.failure_pct = round(100.0 * level.failed / max(level.placed, 1), 3)
    level.peak_concurrent = owner.peak
    level.answered = owner.answered - answered0
    level.digits = owner.digits - digits0
    for pid in pids:
        series = samples.get(pid or -1, [])
        level.worker_cpu_pct.append(cpu_pct(series))
        level.worker_rss_mb.append(round(max((s[2] for s in series), default=0) / 2**20, 1))
    level.sipp_cpu_pct = round(sum(cpu_pct(samples.get(pid, [])) for pid in sipp_pids), 1)
    level.proxy_cpu_pct = round(sum(cpu_pct(samples.get(pid, [])) for pid in args.proxy_pids), 1)
    if rates["tx"]:
        tx = sorted(rates["tx"])
        level.tx_pps_p5 = round(tx[len(tx) // 20], 1)
        level.tx_pps_median = round(statistics.median(tx), 1)
        level.rx_pps_median = round(statistics.median(rates["rx"]), 1)
        level.clean_share = round(sum(1 for r in tx if r >= 45) / len(tx), 3)
    return level


async def run_kamailio(
    driver: SipDriver,
    workdir: Path,
    args: argparse.Namespace,
    *,
    task_status: trio.TaskStatus[None],
) -> None:
    """Kamailio's dispatcher in front of the workers (hw/kamailio.py), until cancelled."""
    from hw.kamailio import KamailioConfig, WorkerAddress, write

    workers = [
        WorkerAddress("127.0.0.1", w["sip_port"], w["capacity"])  # type: ignore[index]
        for w in driver.statistics()["workers"]  # type: ignore[union-attr]
    ]
    args.kamailio_port = args.kamailio
    config = KamailioConfig(workers, port=args.kamailio, tcp=False, children=4)
    cfg = await trio.to_thread.run_sync(write, config, workdir / "kamailio")
    await (trio.Path(workdir) / "kamailio-run").mkdir(exist_ok=True)
    log = await trio.to_thread.run_sync(open, workdir / "kamailio.log", "wb")
    with log:
        proc = await trio.lowlevel.open_process(
            ["kamailio", "-DD", "-E", "-f", str(cfg), "-Y", str(workdir / "kamailio-run")],
            stdout=log,
            stderr=log,
        )
        try:
            await trio.sleep(1.0)  # it forks its children, then listens
            children = await trio.run_process(
                ["pgrep", "-P", str(proc.pid)], capture_stdout=True, check=False
            )
            args.proxy_pids = [proc.pid] + [int(x) for x in children.stdout.split()]
            task_status.started()
            await trio.sleep_forever()
        finally:
            proc.terminate()
            with trio.move_on_after(5) as cleanup:
                cleanup.shield = True
                await proc.wait()


async def main(args: argparse.Namespace) -> None:
    if shutil.which("sipp") is None:
        raise SystemExit("sipp not found: apt-get install sip-tester")
    levels = [int(x) for x in args.levels.split(",")]
    with tempfile.TemporaryDirectory(prefix="ccd-sip-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "pcap").symlink_to(PCAP_DIR)
        shutil.copy(HERE / "uac_ivr.xml", workdir / "uac_ivr.xml")
        owner = Owner(write_prompt(workdir / "prompt.wav"))
        driver_args = dict(
            workers=args.workers, sip_port=0, rtp_port=args.rtp_port, rtp_span=1000,
            max_calls=args.max_calls, max_cps=args.max_cps, extra_legs=args.extra_legs,
            allowed_peers=["127.0.0.1"], log_dir=workdir / "logs",
        )  # fmt: skip
        results: list[Level] = []
        async with open_sip_driver(**driver_args) as driver, trio.open_nursery() as nursery:
            nursery.start_soon(owner.serve, driver)
            info = driver.statistics()["workers"][0]  # type: ignore[index]
            print(f"workers: {args.workers}; limits per worker: {info['limits']}")  # type: ignore[index]
            args.proxy_pids = []
            args.kamailio_port = 0
            if args.kamailio:
                await nursery.start(run_kamailio, driver, workdir, args)
                print(f"through Kamailio on port {args.kamailio_port}")
            header = (
                f"{'level':>5} {'placed':>6} {'failed':>6} {'fail%':>6} {'peak':>4} "
                f"{'cpu% per worker':>16} {'rss MB':>12} {'sipp%':>5} {'tx pps p5/med':>13} "
                f"{'rx med':>6} {'clean':>5} {'digits':>9} {'proxy%':>6}"
            )
            print(header)
            for target in levels:
                level = await one_level(driver, owner, workdir, args.workers, target, args)
                results.append(level)
                print(
                    f"{level.target:>5} {level.placed:>6} {level.failed:>6} {level.failure_pct:>6} "
                    f"{level.peak_concurrent:>4} {str(level.worker_cpu_pct):>16} "
                    f"{str(level.worker_rss_mb):>12} {level.sipp_cpu_pct:>5} "
                    f"{level.tx_pps_p5:>6}/{level.tx_pps_median:<6} {level.rx_pps_median:>6} "
                    f"{level.clean_share:>5} {level.digits:>4}/{level.answered:<4} "
                    f"{level.proxy_cpu_pct:>6}",
                    flush=True,
                )
                await trio.sleep(2)  # let the last calls' sockets be reused
            stats = driver.statistics()
            nursery.cancel_scope.cancel()
        good = [lv for lv in results if lv.failure_pct < 0.1 and lv.placed]
        best = max(good, key=lambda lv: lv.peak_concurrent, default=None)
        print(
            "most concurrent calls with <0.1% failed: "
            + (f"{best.peak_concurrent} (level {best.target})" if best else "none")
        )
        print(f"worker restarts during the run: {[w['restarts'] for w in stats['workers']]}")  # type: ignore[index]
        if args.out:
            out = trio.Path(args.out)
            await out.parent.mkdir(parents=True, exist_ok=True)
            await out.write_text(
                json.dumps({"args": vars(args), "levels": [asdict(lv) for lv in results]}, indent=2)
            )


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--levels", default="8,16,24,27,30", help="total concurrent calls to try")
    ap.add_argument("--rate", type=float, default=5.0, help="new calls a second per SIPp")
    ap.add_argument("--rounds", type=int, default=3, help="calls placed per concurrent slot")
    ap.add_argument("--max-calls", type=int, default=28)
    ap.add_argument("--max-cps", type=float, default=8.0)
    ap.add_argument("--extra-legs", type=int, default=0, help="IVR-only calls reserve nothing")
    ap.add_argument("--rtp-port", type=int, default=30000)
    ap.add_argument(
        "--kamailio",
        type=int,
        default=0,
        metavar="PORT",
        help="put Kamailio's dispatcher on this port in front of the workers",
    )
    ap.add_argument("--out", default="bench/out/sip-ramp.json")
    return ap.parse_args()


if __name__ == "__main__":
    trio.run(main, parse())
