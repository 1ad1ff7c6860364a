"""N pty modem emulators in their own process (so the benchmark's CPU figures are the driver's
alone). Prints one line per modem, "<name> <path>", then rings each once, answers, and presses
a key every `--key-every` seconds while the line is off hook, until killed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.modem.emulator import ModemEmulator  # noqa: E402


async def main(count: int, folder: Path, key_every: float) -> None:
    modems = [ModemEmulator(folder / f"line{i + 1}.tty") for i in range(count)]
    for emu in modems:  # what each caller says when bridged: a second of speech, then silence
        emu.speech = bytes(0x80 + int(40 * ((i % 40) / 40 - 0.5)) for i in range(8000))
    async with trio.open_nursery() as nursery:
        for i, emu in enumerate(modems):
            await nursery.start(emu.run)
            print(f"line{i + 1} {emu.path}", flush=True)
        print("ready", flush=True)
        for i, emu in enumerate(modems):
            nursery.start_soon(_caller, emu, f"1380000{i:04d}", key_every)


async def _caller(emu: ModemEmulator, number: str, key_every: float) -> None:
    await emu.wait_for(lambda: any(c.endswith(",8000") for c in emu.commands), limit=60)
    await emu.ring(number)
    digits = "1234567890*#"
    n = 0
    while True:
        await trio.sleep(key_every)
        if emu.offhook:
            await emu.press(digits[n % len(digits)])
            n += 1
        counts = f"{emu.underruns}"
        sys.stdout.write(f"underruns {emu.path.stem} {counts}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=4)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--key-every", type=float, default=2.0)
    args = parser.parse_args()
    trio.run(main, args.lines, args.dir, args.key_every)
