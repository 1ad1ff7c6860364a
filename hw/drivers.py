"""Several telephony drivers side by side, as the one Driver the IVR and the ACD are given.

    drivers = DriverSet({"sip": sip_driver, "modem": modem_driver})
    leg = await drivers.originate("modem:95598")          # by the URI's scheme
    leg = await drivers.originate("sip:agent7@10.0.0.7", near=caller)

Each driver still accepts its own inbound calls (the telephony service runs one loop per
driver). Legs are bridged only by the driver that carries both: a SIP leg's audio lives inside
a pjsua2 media worker, an analog line's on its modem, and the pinned pjsua2 2.10 wheel gives
Python no access to audio frames (no `AudioMediaPort`), so nothing can carry audio between the
two. `originate(uri, near=leg)` across drivers therefore refuses at once with cause 503 and
reason 'cross-driver', and `can_bridge` lets the ACD know before it rings anyone.
"""

from __future__ import annotations

from collections.abc import Mapping

import trio

from hw.base import Channel, Driver, HangupCause
from hw.sipworker.channel import LegGone

CROSS_DRIVER = "cross-driver"
SCHEME_ALIASES = {"sips": "sip"}


def scheme_of(uri: str) -> str:
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    return SCHEME_ALIASES.get(scheme, scheme)


class DriverSet(Driver):
    """Drivers by URI scheme ('sip', 'modem', 'dialogic'). See the module docstring."""

    name = "drivers"

    def __init__(self, drivers: Mapping[str, Driver]) -> None:
        self.drivers = dict(drivers)

    def driver_for(self, uri: str) -> Driver | None:
        return self.drivers.get(scheme_of(uri))

    def can_bridge(self, channel: Channel, uri: str) -> bool:
        """Whether a leg placed to `uri` could be bridged with `channel`."""
        driver = self.driver_for(uri)
        return driver is not None and driver.name == channel.info.driver

    async def incoming(self) -> Channel:
        raise TypeError("DriverSet does not accept calls: run each driver's incoming() loop")

    async def originate(self, uri: str, caller_id: str = "", timeout: float = 30.0,  # noqa: ASYNC109
                        near: Channel | None = None) -> Channel:
        driver = self.driver_for(uri)
        if driver is None:
            await trio.lowlevel.checkpoint()
            raise LegGone(HangupCause.NOT_FOUND, f"no driver for {scheme_of(uri) or uri!r}")
        if near is not None and near.info.driver != driver.name:
            await trio.lowlevel.checkpoint()
            raise LegGone(HangupCause.UNAVAILABLE, CROSS_DRIVER)
        return await driver.originate(uri, caller_id=caller_id, timeout=timeout, near=near)

    def statistics(self) -> dict[str, object]:
        return {name: d.statistics() for name, d in self.drivers.items()}
