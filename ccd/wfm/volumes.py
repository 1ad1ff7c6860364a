"""Per-interval staffing: read a CSV of interval volumes and staff each interval.

The CSV has a header row. Required columns: `interval` (a label such as `08:00`) and `calls`
(arrivals in that interval). Optional: `aht` (seconds; overrides the AHT given for the whole day).
Blank lines and lines starting with `#` are skipped. Example:

    interval,calls,aht
    08:00,100,180
    08:30,140,
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ccd.wfm.erlang import ErlangFigures, staff
from ccd.wfm.errors import BadVolumes


@dataclass(frozen=True)
class IntervalVolume:
    """One interval's forecast: its label, its calls and (optionally) its own AHT in seconds."""

    label: str
    calls: float
    aht_s: float | None = None


@dataclass(frozen=True)
class IntervalStaffing:
    """The staffing found for one interval: its volume and the figures of that many agents."""

    volume: IntervalVolume
    figures: ErlangFigures

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"interval": self.volume.label, "calls": self.volume.calls}
        out.update(self.figures.as_json())
        return out


def parse_volumes(text: str, source: str = "<volumes>") -> list[IntervalVolume]:
    """Parse volumes CSV text; `source` names the file in errors."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    for needed in ("interval", "calls"):
        if needed not in fields:
            raise BadVolumes(
                f"{source}: the header needs a '{needed}' column",
                file=source,
                column=needed,
                header=fields,
            )
    out: list[IntervalVolume] = []
    for number, row in enumerate(reader, start=2):
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        try:
            calls = float(clean["calls"])
            aht = float(clean["aht"]) if clean.get("aht") else None
        except ValueError as exc:
            raise BadVolumes(
                f"{source}, line {number}: not a number ({exc})", file=source, line=number
            ) from None
        if not (math.isfinite(calls) and calls >= 0) or (aht is not None and not aht > 0):
            raise BadVolumes(
                f"{source}, line {number}: calls must be >= 0 and aht > 0", file=source, line=number
            )
        out.append(IntervalVolume(clean["interval"], calls, aht))
    if not out:
        raise BadVolumes(f"{source}: no intervals", file=source)
    return out


def read_volumes(path: Path) -> list[IntervalVolume]:
    """Read a volumes CSV file (UTF-8, a BOM is allowed)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadVolumes(f"{path}: {exc.strerror}", file=str(path)) from None
    return parse_volumes(text, str(path))


def staff_intervals(
    volumes: Sequence[IntervalVolume],
    interval_s: float,
    aht_s: float,
    target_s: float,
    service_level: float,
    patience_s: float | None = None,
) -> list[IntervalStaffing]:
    """Staff every interval with `ccd.wfm.erlang.staff`.

    volumes: the intervals; interval_s: each interval's length (s); aht_s: the AHT for intervals
    without their own; target_s, service_level, patience_s: as for `staff`.
    """
    return [
        IntervalStaffing(
            v,
            staff(v.calls, interval_s, v.aht_s or aht_s, target_s, service_level, patience_s),
        )
        for v in volumes
    ]
