"""CPU per active modem line (play + DTMF detection) and the worst gap in the audio written at
8 kHz, against pty modem emulators in another process.

Each line answers a call and plays a 10 s prompt over and over (barge-in off) while the
emulator, which consumes the audio at exactly 8000 bytes a second and reports `DLE u` when it
runs dry, presses a key every 2 s. The figures are this process's CPU (the driver's: the
emulators run elsewhere) divided by the lines, the driver's own worst lateness against the
8 kHz schedule, and the underruns the emulators counted.

    make bench-modem                       # 4 lines, 120 s
    make bench-modem MODEM_ARGS="--lines 8 --seconds 600"
    make bench-modem MODEM_ARGS="--lines 4 --seconds 120 --bridge"   # two bridged pairs
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import resource
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hw.base import ChannelGone, Digit  # noqa: E402
from hw.modem.driver import ModemDriver  # noqa: E402
from hw.modem.settings import ModemSettings  # noqa: E402


def prompt(path: Path, seconds: float = 10.0) -> Path:
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                      for i in range(int(8000 * seconds)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames)
    return path


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_emulators(lines: int, folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("emulators.py")), "--lines", str(lines),
         "--dir", str(folder)], stdout=subprocess.PIPE, text=True)


async def run(emulators: subprocess.Popen[str], lines: int, seconds: float,
              folder: Path, bridge: bool = False) -> dict:
    assert emulators.stdout is not None
    ports = []
    while (line := emulators.stdout.readline().strip()) != "ready":
        ports.append(line.split())
    underruns: dict[str, int] = {}

    def read_underruns() -> None:
        assert emulators.stdout is not None
        for text in emulators.stdout:
            parts = text.split()
            if parts[:1] == ["underruns"]:
                underruns[parts[1]] = int(parts[2])

    file = prompt(folder / "prompt.wav")
    digits = 0
    try:
        driver = ModemDriver("modem", [ModemSettings(name=n, port=p) for n, p in ports])
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(trio.to_thread.run_sync, read_underruns,
                                                 abandon_on_cancel=True))
            await nursery.start(driver.run)
            with trio.fail_after(60):
                await driver.wait_lines_up()
            channels = []
            for _ in ports:
                with trio.fail_after(60):
                    channel = await driver.incoming()
                await channel.answer()
                channels.append(channel)
            for ln in driver.lines:  # count from here: call set-up is not the steady state
                ln.worst_gap_ms, ln.underruns, ln.tightest_lead_ms = 0.0, 0, 200.0
            t0, c0 = time.monotonic(), cpu()

            async def play(channel) -> None:
                while True:
                    await channel.play([file], barge_in=False)

            async def count_digits(channel) -> None:
                nonlocal digits
                async for event in channel.events():
                    if isinstance(event, Digit):
                        digits += 1

            with trio.move_on_after(seconds):
                async with trio.open_nursery() as calls:
                    for i, channel in enumerate(channels):
                        if bridge and i % 2 == 0 and i + 1 < len(channels):
                            await channel.bridge(channels[i + 1])  # AT+VTR both, in the daemon
                        elif not bridge:
                            calls.start_soon(play, channel)
                        calls.start_soon(count_digits, channel)
            elapsed, used = time.monotonic() - t0, cpu() - c0
            for channel in channels:
                try:
                    await channel.hangup()
                except ChannelGone:
                    pass
            nursery.cancel_scope.cancel()
    finally:
        emulators.kill()
        emulators.wait()
    return {
        "mode": "bridged pairs (AT+VTR both ways)" if bridge else "play + DTMF",
        "lines": lines,
        "seconds": round(elapsed, 1),
        "cpu_percent_per_line": round(100 * used / elapsed / lines, 3),
        "cpu_percent_total": round(100 * used / elapsed, 3),
        "worst_gap_ms": round(max(ln.worst_gap_ms for ln in driver.lines), 1),
        "tightest_lead_ms": round(min(ln.tightest_lead_ms for ln in driver.lines), 1),
        "underruns_reported_by_modems": sum(underruns.values()),
        "underruns_seen_by_driver": sum(ln.underruns for ln in driver.lines),
        "digits_detected": digits,
        "bytes_written": sum(ln.port.bytes_written for ln in driver.lines if ln.port),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--bridge", action="store_true",
                        help="bridge the lines in pairs instead of playing prompts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        emulators = start_emulators(args.lines, Path(tmp))
        result = trio.run(run, emulators, args.lines, args.seconds, Path(tmp), args.bridge)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / ("modem-bridge.json" if args.bridge else "modem.json")).write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:<30} {value}")


if __name__ == "__main__":
    main()
