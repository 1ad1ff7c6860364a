"""An agent whose desk phone is an analog line dials out over a second line: the ACD's dial-out
(the outbound path that exists until campaigns, issue 15) places both legs with the modem
driver and bridges them in the daemon (AT+VTR on both modems)."""

from __future__ import annotations

from pathlib import Path

import trio

from ccd.acd.model import AgentState as S
from ccd.acd.settings import AcdSettings
from ccd.api.server import serve_api
from ccd.config import Config
from hw.drivers import DriverSet
from hw.modem import audio as au
from hw.modem.driver import ModemDriver
from hw.modem.settings import ModemSettings
from tests.acd_runtime.conftest import (
    AcdServices,
    config,
    rows,
    services,
    start_runtime,
    wait_until,
)
from tests.api.conftest import PASSWORD, TrioClient
from tests.modem.emulator import ModemEmulator
from tests.sip.audio import write_tone

__all__ = ["config", "services"]  # the ACD runtime tests' fixtures


async def test_agent_dials_out_over_modem_lines(services: AcdServices, config: Config,
                                                tmp_path: Path) -> None:
    fmt = au.format_named("8-BIT LINEAR")
    desk, outside = ModemEmulator(tmp_path / "desk.tty"), ModemEmulator(tmp_path / "out.tty")
    desk.speech = fmt.encode(au.read_pcm(write_tone(tmp_path / "a.wav", 700, 1.0)))
    outside.speech = fmt.encode(au.read_pcm(write_tone(tmp_path / "b.wav", 1100, 1.0)))
    async with trio.open_nursery() as nursery:
        for emu in (desk, outside):
            await nursery.start(emu.run)
        driver = ModemDriver("modem", [ModemSettings(name="line1", port=str(desk.path)),
                                       ModemSettings(name="line2", port=str(outside.path))])
        await nursery.start(driver.run)
        await driver.wait_lines_up()
        settings = AcdSettings(announce_every_s=0, wrap_up_s=0,
                               outbound_uri="modem:line2/{number}")
        runtime = await start_runtime(nursery, services, settings, DriverSet({"modem": driver}),
                                      tmp_path)
        services.db.execute("UPDATE stations SET uri = 'modem:line1/8001' WHERE name = 'seat01'")
        await nursery.start(serve_api, config, services)
        agent = await TrioClient.connect(config.socket_path)
        await agent.call("login", username="agent1001", password=PASSWORD)
        await agent.call("agent.login", station="seat01")
        await agent.call("agent.not_ready", reason="meeting")
        started = await agent.call("agent.dial", number="13912345678")
        await desk.wait_for(lambda: len(desk.heard) >= len(outside.speech) + 800)
        await outside.wait_for(lambda: len(outside.heard) >= len(desk.speech) + 800)
        await outside.hang_up()  # the person called puts the phone down
        await desk.wait_for(lambda: not desk.offhook)
        await outside.wait_for(lambda: not outside.offhook)
        await wait_until(services.broker, lambda: runtime.acd.agent_state("agent1001") == (
            S.NOT_READY, "meeting"))
        await agent.aclose()
        nursery.cancel_scope.cancel()
    assert desk.dialled == ["8001"] and outside.dialled == ["13912345678"]
    assert bytes(outside.heard).startswith(desk.speech)  # the agent's voice, exactly
    assert bytes(desk.heard).startswith(outside.speech)
    (row,) = rows(services.db, "SELECT * FROM calls WHERE id = ?", [started["outbound"]])
    assert (row["direction"], row["dst"], row["agent"], row["disposition"],
            row["hangup_by"]) == ("out", "13912345678", "agent1001", "ANSWERED", "callee")
    assert row["talk_s"] >= 1.0 and row["end"] is not None
