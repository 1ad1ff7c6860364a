"""`[[dialogic]]` entries of ccd.toml: one voice-board channel each."""

from __future__ import annotations

import re

import msgspec

from ccd.errors import ConfigError

CHANNEL_NAME = re.compile(r"^dxxxB\d+C\d+$")


class DialogicSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str  # the board/channel device, e.g. "dxxxB1C1"
    number: str = ""  # this line's own number (the called number of its calls)
    rings: int = 2  # answer at this ring (caller ID arrives after the first)
    caller_id: bool = True  # dx_setparm(DXCH_CALLID, DX_CALLIDENABLE)
    library_dir: str = ""  # where libdxxx.so and libsrl.so are ("": the system's library path)


def validate(channels: list[DialogicSettings]) -> None:
    seen: set[str] = set()
    for i, ch in enumerate(channels):
        key = f"dialogic[{i}]"
        if not CHANNEL_NAME.match(ch.name):
            raise ConfigError(f"'{key}.name' must be a board channel such as dxxxB1C1, got "
                              f"{ch.name!r}", key=f"{key}.name")
        if ch.name in seen:
            raise ConfigError(f"'{key}.name' {ch.name!r} is listed twice", key=f"{key}.name")
        seen.add(ch.name)
        if not 1 <= ch.rings <= 10:
            raise ConfigError(f"'{key}.rings' must be between 1 and 10", key=f"{key}.rings")
