"""Two analog lines bridged in the daemon, through the IVR's transfer: the caller on line1 is put
through to a number dialled on line2 (Driver.originate over a modem line), each hears the other
byte for byte, and when the caller hangs up both lines go back on hook."""

from __future__ import annotations

from pathlib import Path

import trio

from ccd.ivr.catalogue import load_catalogue
from ccd.ivr.engine import BaseServices, Engine
from ccd.ivr.flow import validate_flow
from ccd.ivr.prompts import PromptStore
from hw.drivers import DriverSet
from hw.modem import audio as au
from hw.modem.driver import ModemDriver
from hw.modem.settings import ModemSettings
from tests.modem.emulator import ModemEmulator
from tests.sip.audio import write_tone

FLOW = """
[flow]
name = "put-through"
start = "ring_agent"

[nodes.ring_agent]
kind = "transfer"
uri = "modem:line2/800"
timeout = 10.0
on_fail = "bye"

[nodes.bye]
kind = "hangup"
"""


async def test_transfer_dials_out_on_a_second_line_and_bridges(tmp_path: Path):
    flow_file = tmp_path / "flow.toml"
    flow_file.write_text(FLOW, encoding="utf-8")
    flow = validate_flow(flow_file, load_catalogue())
    fmt = au.format_named("8-BIT LINEAR")
    caller, agent = ModemEmulator(tmp_path / "l1.tty"), ModemEmulator(tmp_path / "l2.tty")
    caller.speech = fmt.encode(au.read_pcm(write_tone(tmp_path / "a.wav", 1000, 1.0)))
    agent.speech = fmt.encode(au.read_pcm(write_tone(tmp_path / "b.wav", 500, 1.0)))
    async with trio.open_nursery() as nursery:
        for emu in (caller, agent):
            await nursery.start(emu.run)
        driver = ModemDriver("modem", [ModemSettings(name="line1", port=str(caller.path)),
                                       ModemSettings(name="line2", port=str(agent.path))])
        await nursery.start(driver.run)
        await driver.wait_lines_up()
        engine = Engine(flow, PromptStore(tmp_path / "prompts"), BaseServices(),
                        recordings_dir=tmp_path / "rec", driver=DriverSet({"modem": driver}))
        nursery.start_soon(lambda: caller.ring("13800000004"))
        channel = await driver.incoming()
        result: dict = {}

        async def run() -> None:
            result["summary"] = await engine.run(channel, call_id="c1")
        nursery.start_soon(run)
        await agent.wait_for(lambda: len(agent.heard) >= len(caller.speech) + 800)
        await caller.wait_for(lambda: len(caller.heard) >= len(agent.speech) + 800)
        await caller.hang_up()
        await agent.wait_for(lambda: not agent.offhook)
        await caller.wait_for(lambda: not caller.offhook)
        with trio.fail_after(10):
            await driver.line("line1").wait_state("idle")
            await driver.line("line2").wait_state("idle")
        nursery.cancel_scope.cancel()
    assert agent.dialled == ["800"]
    assert bytes(agent.heard).startswith(caller.speech)  # each hears the other, exactly
    assert bytes(caller.heard).startswith(agent.speech)
    assert "AT+VTR" in caller.commands and "AT+VTR" in agent.commands
    assert result["summary"].ended_by == "caller"
