"""DriverSet: legs go to the driver of their URI's scheme; no leg is placed beside a leg of
another driver (audio cannot cross from a modem line into a pjsua2 worker)."""

from __future__ import annotations

import pytest
import trio

from hw.base import ChannelGone, LegInfo
from hw.drivers import CROSS_DRIVER, DriverSet
from hw.modem.driver import ModemDriver
from hw.modem.settings import ModemSettings
from tests.modem.emulator import ModemEmulator


class Leg:
    def __init__(self, driver: str) -> None:
        self.info = LegInfo("x", "1", "2", "in", driver)


async def test_originate_by_scheme_and_refuse_across_drivers(tmp_path):
    emu = ModemEmulator(tmp_path / "m.tty")
    async with trio.open_nursery() as nursery:
        await nursery.start(emu.run)
        modem = ModemDriver("modem", [ModemSettings(name="line1", port=str(emu.path))])
        await nursery.start(modem.run)
        await modem.wait_lines_up()
        drivers = DriverSet({"modem": modem})
        with pytest.raises(ChannelGone) as gone:
            await drivers.originate("modem:95598", near=Leg("sip"))  # type: ignore[arg-type]
        assert gone.value.code == 503 and gone.value.cause == CROSS_DRIVER  # type: ignore[attr-defined]
        assert emu.dialled == []  # refused before anything was dialled
        with pytest.raises(ChannelGone) as gone:
            await drivers.originate("sip:agent@127.0.0.1")
        assert gone.value.code == 404  # type: ignore[attr-defined]
        assert drivers.can_bridge(Leg("modem"), "modem:1") and not drivers.can_bridge(
            Leg("modem"), "sip:seat01@127.0.0.1")  # type: ignore[arg-type]
        leg = await drivers.originate("modem:line1/95598", caller_id="96655")
        assert emu.dialled == ["95598"] and leg.info.driver == "modem"
        await leg.hangup()
        nursery.cancel_scope.cancel()
