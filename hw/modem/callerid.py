"""Caller ID from a voice modem: formatted lines (`AT+VCID=1`) or raw SDMF/MDMF hex (`AT+VCID=2`).

Formatted: `DATE = MMDD`, `TIME = HHMM`, `NMBR = <number>` (`P` private, `O` unavailable),
`NAME = <name>`, between the first and second RING; some modems omit the spaces (`NMBR=`).
Raw: one hex line (some modems prefix `MESG = `) holding a Bellcore/ETSI message: SDMF (type
0x04: 8 digits of date and time, then the number) or MDMF (type 0x80: parameters 0x01 date-time,
0x02 number, 0x04 reason the number is absent, 0x07 name, 0x08 reason the name is absent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FIELD = re.compile(r"^\s*(DATE|TIME|NMBR|NAME|MESG|DDN_NMBR)\s*=\s*(.*?)\s*$")
HEX = re.compile(r"^(?:[0-9A-Fa-f]{2}){3,}$")
WITHHELD = {"P": "private", "O": "unavailable"}


@dataclass
class CallerId:
    """What a ring told about the caller. `number` is '' when withheld (`withheld` says why)."""

    number: str = ""
    name: str = ""
    date: str = ""  # MMDD
    time: str = ""  # HHMM
    withheld: str = ""  # 'private', 'unavailable' or ''
    raw: list[str] = field(default_factory=list)  # the lines as the modem sent them

    @property
    def empty(self) -> bool:
        return not self.raw


def is_callerid_line(line: str) -> bool:
    return bool(FIELD.match(line)) or bool(HEX.match(line.strip()))


def add_line(cid: CallerId, line: str) -> None:
    """Take one line from the modem into `cid` (lines that are not caller ID are ignored)."""
    m = FIELD.match(line)
    if m is None:
        if HEX.match(line.strip()):
            cid.raw.append(line)
            _decode_raw(cid, line.strip())
        return
    cid.raw.append(line)
    key, value = m.group(1), m.group(2)
    if key == "MESG":
        if HEX.match(value):
            _decode_raw(cid, value)
    elif key == "NMBR":
        _set_number(cid, value)
    elif key == "NAME":
        cid.name = "" if value in WITHHELD else value
    elif key == "DATE":
        cid.date = value
    elif key == "TIME":
        cid.time = value


def _set_number(cid: CallerId, value: str) -> None:
    if value.upper() in WITHHELD:
        cid.number, cid.withheld = "", WITHHELD[value.upper()]
    else:
        cid.number = value


def _decode_raw(cid: CallerId, text: str) -> None:
    data = bytes.fromhex(text)
    if len(data) < 2:
        return
    kind, length = data[0], data[1]
    body = data[2 : 2 + length]
    if kind == 0x04:  # SDMF: MMDDHHMM then the number
        stamp = body[:8].decode("ascii", "replace")
        cid.date, cid.time = stamp[:4], stamp[4:8]
        _set_number(cid, body[8:].decode("ascii", "replace"))
    elif kind == 0x80:  # MDMF: type, length, value...
        i = 0
        while i + 2 <= len(body):
            ptype, plen = body[i], body[i + 1]
            value = body[i + 2 : i + 2 + plen].decode("ascii", "replace")
            i += 2 + plen
            if ptype == 0x01:
                cid.date, cid.time = value[:4], value[4:8]
            elif ptype == 0x02:
                _set_number(cid, value)
            elif ptype == 0x04:
                cid.withheld = WITHHELD.get(value.upper(), "unavailable")
            elif ptype == 0x07:
                cid.name = value
