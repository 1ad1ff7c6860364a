"""Checks on prompt files before pjsua2 sees them (plain Python, no pjsua2).

pjsua2 2.10 rejects a WAV of one 20 ms frame with PJ_EINVAL and a playlist of files with different
formats; the worker times prompts itself (it never overrides `onEof2`, which segfaults), so it needs
each file's length anyway.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

MIN_SECONDS = 0.040


class BadWav(Exception):
    """A prompt file that cannot be played; `path` names it."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


@dataclass(frozen=True)
class WavFormat:
    rate: int
    channels: int
    sample_width: int


def wav_seconds(path: str) -> tuple[float, WavFormat]:
    """Length in seconds and format of a PCM WAV file; raises BadWav."""
    try:
        with wave.open(path, "rb") as w:
            fmt = WavFormat(w.getframerate(), w.getnchannels(), w.getsampwidth())
            frames = w.getnframes()
    except FileNotFoundError:
        raise BadWav(path, "no such file") from None
    except (wave.Error, EOFError, OSError) as exc:
        raise BadWav(path, f"not a PCM WAV file ({exc})") from None
    if fmt.sample_width != 2:
        raise BadWav(path, f"{8 * fmt.sample_width}-bit samples; 16-bit PCM is required")
    seconds = frames / fmt.rate if fmt.rate else 0.0
    if seconds < MIN_SECONDS:
        raise BadWav(path, f"{seconds * 1000:.0f} ms long; prompts need at least 40 ms")
    return seconds, fmt


def playlist_seconds(paths: list[str]) -> float:
    """Total length of files that will be played as one list; all must share one format."""
    if not paths:
        raise BadWav("", "empty prompt list")
    total = 0.0
    first: WavFormat | None = None
    for path in paths:
        seconds, fmt = wav_seconds(str(Path(path)))
        if first is None:
            first = fmt
        elif fmt != first:
            raise BadWav(path, f"format {fmt} differs from the first file's {first}")
        total += seconds
    return total
