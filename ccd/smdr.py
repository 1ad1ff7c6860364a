"""Call records from an existing PBX's SMDR output, so a utility can report on calls that did not
pass through ccd: Panasonic KX-TDA/NS fixed columns and Avaya IP Office CSV.

`parse_panasonic` / `parse_avaya` read one line each (None for headers, separators and blank
lines; `SmdrError` for a line that looks like a record but is not one); `import_lines` writes
the records into `calls` (direction, numbers, start/answer/end in UTC, duration, talk time),
each under an id made from the line itself, so importing the same file twice adds nothing.
The PBX prints local time: `zone` is the site's time zone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlite_utils

from ccd.timefmt import iso

FORMATS = ("panasonic", "avaya")


class SmdrError(ValueError):
    """A line that is not a record of the given format (its text is in the message)."""


@dataclass(frozen=True)
class SmdrCall:
    start: dt.datetime  # local time, as the PBX printed it
    ring_s: float
    duration_s: float  # connected time
    direction: str  # 'in' or 'out'
    extension: str
    line: str  # CO line / trunk
    number: str  # the outside party: caller (in) or number dialled (out)
    account: str = ""
    condition: str = ""  # Panasonic: TR transfer, FW forward...
    raw: str = ""


PANASONIC = re.compile(
    r"^\s*(?P<date>\d\d/\d\d/\d\d)\s+(?P<time>\d{1,2}:\d\d\s?[AP]M)\s+(?P<ext>\S+)\s+"
    r"(?P<co>\d+)\s+(?P<io><I>|<D>)?(?P<number>[0-9*#PX+]*)\s+"
    r"(?:(?P<ring>\d+'\d\d)\s+)?(?P<dur>\d\d:\d\d'\d\d)"
    r"(?:\s+(?P<acc>\d+))?(?:\s+(?P<cd>[A-Z]{2}))?\s*$")


def parse_panasonic(text: str) -> SmdrCall | None:
    """`01/02/02 10:03AM   101 01 <I>13800000004   0'05 00:01'05  TR` (MM/DD/YY)."""
    line = text.rstrip("\r\n")
    stripped = line.strip()
    if not stripped or stripped.startswith(("-", "Date", "=")):
        return None
    m = PANASONIC.match(line)
    if m is None:
        raise SmdrError(f"not a Panasonic SMDR record: {stripped!r}")
    start = dt.datetime.strptime(f"{m['date']} {m['time'].replace(' ', '')}", "%m/%d/%y %I:%M%p")
    ring = 0.0
    if m["ring"]:
        minutes, seconds = m["ring"].split("'")
        ring = int(minutes) * 60 + int(seconds)
    hours, rest = m["dur"].split(":")
    minutes, seconds = rest.split("'")
    return SmdrCall(start, ring, int(hours) * 3600 + int(minutes) * 60 + int(seconds),
                    "in" if m["io"] else "out", m["ext"], m["co"], m["number"],
                    m["acc"] or "", m["cd"] or "", line)


def parse_avaya(text: str) -> SmdrCall | None:
    """An IP Office CSV record: call start, connected time, ring time, caller, direction,
    called, dialled, account, internal, call id, continuation, party 1 device and name, party 2
    device and name, hold time, park time..."""
    line = text.rstrip("\r\n")
    if not line.strip():
        return None
    fields = [f.strip() for f in line.split(",")]
    if fields[0].lower().startswith("call start"):
        return None
    if len(fields) < 13:
        raise SmdrError(f"not an Avaya SMDR record ({len(fields)} fields): {line!r}")
    try:
        start = dt.datetime.strptime(fields[0], "%Y/%m/%d %H:%M:%S")
        h, m_, s = (int(x) for x in fields[1].split(":"))
        ring = float(fields[2] or 0)
    except ValueError:
        raise SmdrError(f"not an Avaya SMDR record: {line!r}") from None
    incoming = fields[4].upper() == "I"
    party1 = fields[11]
    extension = party1[1:] if party1[:1] == "E" else fields[13][1:] if fields[13][:1] == "E" \
        else party1
    number = fields[3] if incoming else (fields[6] or fields[5])
    trunk = fields[13] if incoming else party1
    return SmdrCall(start, ring, h * 3600 + m_ * 60 + s, "in" if incoming else "out",
                    extension, trunk, number, fields[7], "", line)


PARSERS = {"panasonic": parse_panasonic, "avaya": parse_avaya}


@dataclass
class ImportResult:
    imported: int = 0
    already: int = 0  # records imported before (same line)
    skipped: int = 0  # headers and blank lines
    errors: list[str] | None = None  # "line N: why"


def import_lines(db: sqlite_utils.Database, lines: Iterable[str], fmt: str,
                 zone: str = "Asia/Shanghai", source: str = "smdr") -> ImportResult:
    """Parse `lines` as `fmt` and add each record to `calls` (one transaction)."""
    parse = PARSERS[fmt]
    tz = ZoneInfo(zone)
    result = ImportResult(errors=[])
    with db.conn:
        for number, text in enumerate(lines, 1):
            try:
                call = parse(text)
            except SmdrError as e:
                result.errors.append(f"line {number}: {e}")  # type: ignore[union-attr]
                continue
            if call is None:
                result.skipped += 1
                continue
            call_id = "smdr-" + hashlib.sha1(call.raw.strip().encode()).hexdigest()[:20]
            start = call.start.replace(tzinfo=tz).timestamp()
            answered = call.duration_s > 0
            answer = start + call.ring_s
            end = answer + call.duration_s if answered else start + call.ring_s
            outside, inside = call.number, call.extension
            cur = db.conn.execute(
                "INSERT OR IGNORE INTO calls (id, start, answer, \"end\", src, dst, direction, "
                "channel, disposition, duration, billsec, station, talk_s, note, userfield) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [call_id, iso(start), iso(answer) if answered else None, iso(end),
                 outside if call.direction == "in" else inside,
                 inside if call.direction == "in" else outside, call.direction,
                 f"{source}:{fmt}:{call.line}", "ANSWERED" if answered else "NO ANSWER",
                 round(end - start, 3), call.duration_s, inside,
                 call.duration_s if answered else None,
                 " ".join(x for x in (call.account and f"account {call.account}",
                                      call.condition) if x), source])
            if cur.rowcount:
                result.imported += 1
            else:
                result.already += 1
    return result
