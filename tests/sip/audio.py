"""Tones in, tones out: WAV writing and a Goertzel detector (no numpy needed)."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path
from typing import Any

import trio

RATE = 8000


def write_tone(path: Path, freq: float, seconds: float, amplitude: int = 8000) -> Path:
    """An 8 kHz mono 16-bit WAV of a sine at `freq` Hz (0 Hz: silence)."""
    n = int(RATE * seconds)
    frames = b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * freq * i / RATE)))
        for i in range(n)
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)
    return path


def read_samples(path: Path) -> tuple[list[int], int]:
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        n = w.getnframes()
        return list(struct.unpack(f"<{n}h", w.readframes(n))), w.getframerate()


def goertzel_amplitude(samples: list[int], rate: int, freq: float) -> float:
    """Amplitude of the `freq` component (a full-scale sine of amplitude A gives ~A)."""
    if not samples:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / len(samples)


def tone_levels(path: Path, freqs: list[float], skip: float = 0.6) -> dict[float, float]:
    """Amplitude of each frequency in a recording, ignoring its first `skip` seconds."""
    samples, rate = read_samples(path)
    samples = samples[int(skip * rate) :]
    return {f: goertzel_amplitude(samples, rate, f) for f in freqs}


PRESENT = 800.0  # amplitude a tone of amplitude 8000 keeps after G.711 and mixing, with margin
ABSENT = 150.0


def hears(path: Path, present: list[float], absent: list[float], skip: float = 0.6) -> dict:
    """Levels of `present` and `absent` tones; asserts the first are there and the others not."""
    levels = tone_levels(path, present + absent, skip)
    for f in present:
        assert levels[f] > PRESENT, f"{f} Hz missing from {path.name}: {levels}"
    for f in absent:
        assert levels[f] < ABSENT, f"{f} Hz should not be in {path.name}: {levels}"
    return levels


async def record_legs(folder: Path, legs: dict[str, Any], seconds: float = 1.6
                      ) -> dict[str, Path]:
    """Record what each leg (a SipChannel, by name) hears for `seconds`; the files by name."""
    stamp = f"{trio.current_time():.3f}"
    paths = {name: folder / f"{name}-{stamp}.wav" for name in legs}
    for name, leg in legs.items():
        await leg.start_record(paths[name])
    await trio.sleep(seconds)
    for leg in legs.values():
        await leg.stop_record()
    return paths
