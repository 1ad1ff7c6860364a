"""How much of a caller's recording holds a voice: the seconds of 20 ms frames whose peak reaches
VOICE_PEAK. A repair report or complaint of 5 s of line silence (the caller said nothing and the
recorder stopped on silence) has none, and must not become a work order for a crew.

    voiced_seconds("recordings/call-1-repair.wav")   # -> 0.0 for silence, ~3.2 for speech

Plain Python on 16-bit PCM WAV (what the recorders write): a few milliseconds for a minute.
"""

from __future__ import annotations

import sys
import wave
from array import array

FRAME_S = 0.020
# About -32 dBFS: above a quiet line's hiss and comfort noise, well below speech peaks.
VOICE_PEAK = 800


def voiced_seconds(path: str, peak: int = VOICE_PEAK) -> float:
    """Seconds of `path` (16-bit PCM WAV, any rate, first channel) in frames whose peak
    amplitude reaches `peak`; 0.0 for a file that cannot be read (nothing to hear in it)."""
    try:
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2:
                return 0.0
            rate, channels = w.getframerate(), w.getnchannels()
            data = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error):
        return 0.0
    samples = array("h")
    samples.frombytes(data[: len(data) - len(data) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if channels > 1:
        samples = samples[::channels]
    step = max(1, int(rate * FRAME_S))
    voiced = 0
    for start in range(0, len(samples), step):
        frame = samples[start:start + step]
        if frame and max(max(frame), -min(frame)) >= peak:
            voiced += len(frame)
    return voiced / rate if rate else 0.0
