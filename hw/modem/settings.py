"""`[[modem]]` entries of ccd.toml: one analog line on a V.253 voice modem each."""

from __future__ import annotations

from typing import Literal

import msgspec

from ccd.errors import ConfigError
from hw.modem.audio import normalise


class ModemQuirks(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Vendor differences (read `AT+VLS=?` and `AT+VSM=?` on the modem to choose)."""

    offhook: int = 1  # AT+VLS=<n> that connects the telephone line (1 on most, 2 on some)
    init: list[str] = msgspec.field(default_factory=list)  # extra commands after the defaults
    optional: list[str] = msgspec.field(  # commands whose ERROR is logged, not fatal
        default_factory=lambda: ["AT+VNH=0", "AT+VIT=60", "AT+VDR=1,5"])
    tone_duration_ms: int = 100  # digits sent with AT+VTS last this long (AT+VTD)


class ModemSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str  # the line's name in status, logs and call records ('line1')
    port: str  # serial device; a /dev/serial/by-id/... link survives re-plugging
    baud: int = 115200  # 8-bit audio at 8 kHz needs more than 80,000 bit/s
    number: str = ""  # this line's own number (the called number of its calls)
    caller_id: Literal["formatted", "raw", "off"] = "formatted"  # AT+VCID=1 / 2 / 0
    rings: int = 2  # answer at this RING (caller ID comes between the first and second)
    sample_format: str = "8-BIT LINEAR"  # matched by name in AT+VSM=? ('ULAW', 'ALAW', 'LINEAR')
    transmit_gain: int = 128  # AT+VGT (128 is the modem's nominal level)
    receive_gain: int = 128  # AT+VGR
    silence_sensitivity: int = 128  # AT+VSD=<sensitivity>,<tenths of a second>
    silence_s: float = 5.0
    dial_timeout_s: float = 45.0  # an outbound call not answered by then is 'no answer'
    retry_s: float = 5.0  # first wait before reopening a line that went down (doubles to 60 s)
    quirks: ModemQuirks = msgspec.field(default_factory=ModemQuirks)


def validate(modems: list[ModemSettings]) -> None:
    """Raise ConfigError naming the key (`modem[0].baud`) of the first fault."""
    seen: dict[str, int] = {}
    for i, m in enumerate(modems):
        key = f"modem[{i}]"
        if not m.name or not m.name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"'{key}.name' must be letters, digits, - or _, got {m.name!r}",
                              key=f"{key}.name")
        if m.name in seen:
            raise ConfigError(f"'{key}.name' {m.name!r} is already modem[{seen[m.name]}]",
                              key=f"{key}.name")
        seen[m.name] = i
        if not m.port:
            raise ConfigError(f"'{key}.port' must name the serial device", key=f"{key}.port")
        width = 2 if normalise(m.sample_format) == "linear16" else 1
        if m.baud <= 8000 * 10 * width:  # 10 bits on the wire per byte
            raise ConfigError(
                f"'{key}.baud' is {m.baud}: 8 kHz audio needs a faster port (use 115200, or "
                "230400 for 16-bit LINEAR)", key=f"{key}.baud")
        if not normalise(m.sample_format):
            raise ConfigError(
                f"'{key}.sample_format' {m.sample_format!r} is not a voice format "
                "('8-BIT LINEAR', 'ULAW', 'ALAW' or 'LINEAR')", key=f"{key}.sample_format")
        if not 1 <= m.rings <= 10:
            raise ConfigError(f"'{key}.rings' must be between 1 and 10", key=f"{key}.rings")
        for gain in ("transmit_gain", "receive_gain", "silence_sensitivity"):
            if not 0 <= getattr(m, gain) <= 255:
                raise ConfigError(f"'{key}.{gain}' must be between 0 and 255",
                                  key=f"{key}.{gain}")
        if m.retry_s <= 0 or m.silence_s <= 0 or m.dial_timeout_s <= 0:
            raise ConfigError(f"'{key}': retry_s, silence_s and dial_timeout_s must be above 0",
                              key=key)
