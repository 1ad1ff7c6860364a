"""DLE shielding of V.253 voice data (ITU-T V.253 §4.3 and hardware-protocols.md).

Towards the modem every 0x10 in the audio is doubled and a transmission ends with `DLE ETX`
(abort: `DLE CAN DLE ETX`; stop a recording: `DLE !`, a duplex session: `DLE ^`). From the modem, `DLE DLE` is one 0x10,
`DLE SUB` two, `DLE ETX` ends the data and `DLE <other>` is an event (a digit, a tone, loop-current
break...). No I/O: the decoder is fed bytes and returns what they mean, and keeps a trailing lone
DLE until the next feed.
"""

from __future__ import annotations

from dataclasses import dataclass

DLE, ETX, SUB, CAN = 0x10, 0x03, 0x1A, 0x18

END_PLAY = bytes([DLE, ETX])
ABORT_PLAY = bytes([DLE, CAN, DLE, ETX])
STOP_RECORD = b"\x10!"
STOP_DUPLEX = b"\x10^"  # ends AT+VTR (full duplex); the modem answers DLE ETX, OK


def escape(audio: bytes) -> bytes:
    """Audio as written to the modem: every DLE doubled."""
    return audio.replace(b"\x10", b"\x10\x10")


@dataclass(frozen=True)
class DleEvent:
    """`DLE <code>` from the modem: a digit '0'-'9', '*', '#', 'A'-'D' or a tone/line event."""

    code: str


@dataclass(frozen=True)
class EndOfData:
    """`DLE ETX`: the modem ended the data stream (recording stopped, or play finished)."""


Item = bytes | DleEvent | EndOfData


class DleDecoder:
    """Split a stream from the modem into plain bytes, events and the end of data.

    Plain bytes are audio while recording and result-code text otherwise; the caller decides.
    """

    def __init__(self) -> None:
        self._held_dle = False

    def feed(self, data: bytes) -> list[Item]:
        out: list[Item] = []
        plain = bytearray()
        i = 0
        if self._held_dle and data:
            self._held_dle = False
            data = b"\x10" + data
        n = len(data)
        while i < n:
            j = data.find(b"\x10", i)
            if j < 0:
                plain += data[i:]
                break
            plain += data[i:j]
            if j + 1 >= n:
                self._held_dle = True
                break
            code = data[j + 1]
            i = j + 2
            if code == DLE:
                plain.append(DLE)
            elif code == SUB:
                plain += b"\x10\x10"
            else:
                if plain:
                    out.append(bytes(plain))
                    plain.clear()
                out.append(EndOfData() if code == ETX else DleEvent(chr(code)))
        if plain:
            out.append(bytes(plain))
        return out
