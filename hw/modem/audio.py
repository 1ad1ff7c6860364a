"""Sample formats of voice modems, matched by name (`AT+VSM=?` ids differ by vendor).

Prompts and recordings are 8 kHz mono 16-bit WAV files; the modem speaks one of
"8-BIT LINEAR" (unsigned, 0x80 is silence), "LINEAR" / "16-BIT LINEAR" / "SIGNED PCM" (16-bit
little-endian), "ULAW" and "ALAW" (G.711). No I/O except reading and writing WAV files.
"""

from __future__ import annotations

import re
import sys
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

RATE = 8000


class AudioFormatError(Exception):
    """A prompt the modem cannot play as it is (wrong rate, channels or width)."""


def _ulaw_encode(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _ulaw_decode(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -magnitude if sign else magnitude


def _alaw_encode(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(-sample - 1 if sample < 0 else sample, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


def _alaw_decode(byte: int) -> int:
    byte ^= 0x55
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    if exponent == 0:
        magnitude = (mantissa << 4) + 8
    else:
        magnitude = ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if sign else -magnitude


# Encoding tables indexed by the 16-bit sample shifted right by 2 (14 significant bits).
_ULAW = bytes(_ulaw_encode((i - 8192) << 2) for i in range(16384))
_ALAW = bytes(_alaw_encode((i - 8192) << 2) for i in range(16384))
_ULAW_DEC = [_ulaw_decode(b) for b in range(256)]
_ALAW_DEC = [_alaw_decode(b) for b in range(256)]


@dataclass(frozen=True)
class SampleFormat:
    """One modem sample format: `name` as the modem lists it, `width` bytes per sample."""

    name: str
    width: int

    def encode(self, pcm: array) -> bytes:
        """16-bit signed samples -> the modem's bytes."""
        key = self.key
        if key == "linear16":
            out = array("h", pcm)
            if sys.byteorder != "little":
                out.byteswap()
            return out.tobytes()
        if key == "linear8":
            return bytes(((s >> 8) + 128) & 0xFF for s in pcm)
        table = _ULAW if key == "ulaw" else _ALAW
        return bytes(table[(s >> 2) + 8192] for s in pcm)

    def decode(self, data: bytes) -> array:
        """The modem's bytes -> 16-bit signed samples."""
        key = self.key
        if key == "linear16":
            out = array("h", data[: len(data) // 2 * 2])
            if sys.byteorder != "little":
                out.byteswap()
            return out
        if key == "linear8":
            return array("h", ((b - 128) << 8 for b in data))
        table = _ULAW_DEC if key == "ulaw" else _ALAW_DEC
        return array("h", (table[b] for b in data))

    @property
    def key(self) -> str:
        return normalise(self.name)

    @property
    def bytes_per_second(self) -> int:
        return RATE * self.width

    @property
    def silence(self) -> bytes:
        """One sample of silence."""
        return self.encode(array("h", [0]))


def normalise(name: str) -> str:
    """Vendor spellings of a format name -> 'linear8', 'linear16', 'ulaw', 'alaw' or ''."""
    text = re.sub(r"[^A-Z0-9]", "", name.upper())
    if text in ("ULAW", "MULAW", "G711U", "G711ULAW"):
        return "ulaw"
    if text in ("ALAW", "G711A", "G711ALAW"):
        return "alaw"
    if text in ("8BITLINEAR", "UNSIGNEDPCM", "LINEAR8", "8BITPCM"):
        return "linear8"
    if text in ("LINEAR", "16BITLINEAR", "LINEAR16", "16BITPCM"):
        return "linear16"
    return ""


WIDTHS = {"linear8": 1, "linear16": 2, "ulaw": 1, "alaw": 1}


def format_named(name: str) -> SampleFormat:
    key = normalise(name)
    if not key:
        raise AudioFormatError(f"unknown sample format {name!r}")
    return SampleFormat(name, WIDTHS[key])


VSM_LINE = re.compile(r'^\s*(?:\+VSM:\s*)?(\d+)\s*,\s*"([^"]+)"\s*(?:,(.*))?$')


def parse_vsm_list(lines: list[str]) -> dict[int, str]:
    """The reply lines of `AT+VSM=?` -> {id: name} (lines that are not formats are skipped)."""
    found: dict[int, str] = {}
    for line in lines:
        m = VSM_LINE.match(line)
        if m:
            found[int(m.group(1))] = m.group(2)
    return found


def choose_format(offered: dict[int, str], wanted: str) -> tuple[int, SampleFormat]:
    """The id of the offered format whose name means the same as `wanted`."""
    key = normalise(wanted)
    for ident, name in sorted(offered.items()):
        if normalise(name) == key:
            return ident, SampleFormat(name, WIDTHS[key])
    names = ", ".join(f'{i} "{n}"' for i, n in sorted(offered.items())) or "none"
    raise AudioFormatError(f"the modem offers no {wanted!r} format (it offers {names})")


def read_pcm(path: Path) -> array:
    """Samples of an 8 kHz mono 16-bit WAV file."""
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise AudioFormatError(
                f"{path}: {w.getframerate()} Hz, {w.getnchannels()} channel(s), "
                f"{8 * w.getsampwidth()}-bit; a modem line plays 8000 Hz mono 16-bit WAV")
        frames = w.readframes(w.getnframes())
    pcm = array("h", frames)
    if sys.byteorder != "little":
        pcm.byteswap()
    return pcm


def write_wav(path: Path, pcm: array) -> None:
    data = array("h", pcm)
    if sys.byteorder != "little":
        data.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())


def level(pcm: array) -> float:
    """Mean absolute amplitude (0..32768): what silence detection compares."""
    return sum(abs(s) for s in pcm) / len(pcm) if pcm else 0.0


class PromptCache:
    """Prompts converted to one sample format, kept while their file is unchanged."""

    def __init__(self, fmt: SampleFormat, limit: int = 512) -> None:
        self.fmt = fmt
        self.limit = limit
        self._cache: dict[tuple[str, float], bytes] = {}

    def get(self, path: Path) -> bytes:
        key = (str(path), path.stat().st_mtime)
        found = self._cache.get(key)
        if found is None:
            found = self.fmt.encode(read_pcm(path))
            if len(self._cache) >= self.limit:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = found
        return found
