"""The modem driver against the pty emulator: real serial I/O, real bytes, real time."""

from __future__ import annotations

import math
import random
import wave
from array import array
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from hw.base import ChannelGone, Digit, DriverFault, Hangup
from hw.modem import audio as au
from hw.modem.driver import ModemDriver
from hw.modem.settings import ModemSettings
from tests.modem.emulator import ModemEmulator


def tone_wav(path: Path, seconds: float, freq: float = 440.0, amp: int = 8000) -> Path:
    """A sine at `freq` Hz; freq 0: full-range noise (every byte value in every format)."""
    n = int(8000 * seconds)
    if freq:
        pcm = array("h", (int(amp * math.sin(2 * math.pi * freq * i / 8000)) for i in range(n)))
    else:
        rnd = random.Random(16)
        pcm = array("h", (rnd.randint(-32768, 32767) for _ in range(n)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm.tobytes())
    return path


@asynccontextmanager
async def modem_line(tmp_path: Path, name: str = "line1", **settings):
    emu = ModemEmulator(tmp_path / f"{name}.tty")
    async with trio.open_nursery() as nursery:
        await nursery.start(emu.run)
        driver = ModemDriver("modem", [ModemSettings(name=name, port=str(emu.path), retry_s=0.2,
                                                     **settings)])
        await nursery.start(driver.run)
        with trio.fail_after(10):
            await driver.wait_lines_up()
        yield emu, driver
        nursery.cancel_scope.cancel()


async def answered_call(emu: ModemEmulator, driver: ModemDriver, nursery, **ring):
    nursery.start_soon(lambda: emu.ring("13800000004", **ring))
    with trio.fail_after(10):
        channel = await driver.incoming()
    await channel.answer()
    return channel


@pytest.mark.parametrize("spaces", [True, False])
async def test_ring_reads_caller_id_and_answers(tmp_path, spaces):
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        channel = await answered_call(emu, driver, nursery, name="ZHANG SAN", spaces=spaces)
        assert channel.caller == "13800000004"
        assert channel.info.extra["callerid_name"] == "ZHANG SAN"
        eq = " = " if spaces else "="
        assert f"NMBR{eq}13800000004" in channel.info.extra["callerid_raw"]
        assert emu.offhook and "AT+VLS=1" in emu.commands
        assert driver.line("line1").state == "talking"
        await channel.hangup()
        # the first offered format named like 8-BIT LINEAR ("UNSIGNED PCM", id 1), at 8000 Hz
        assert not emu.offhook and emu.commands[-1] == "AT+VSM=1,8000"
        assert driver.line("line1").state == "idle"


async def test_raw_mdmf_caller_id(tmp_path):
    # MDMF: 0x80, length; 01 date-time "12050935"; 02 number "13800000004"
    body = bytes([1, 8]) + b"12050935" + bytes([2, 11]) + b"13800000004"
    raw = (bytes([0x80, len(body)]) + body).hex().upper()
    async with modem_line(tmp_path, caller_id="raw") as (emu, driver), \
            trio.open_nursery() as nursery:
        channel = await answered_call(emu, driver, nursery, raw=raw)
        assert "AT+VCID=2" in emu.commands
        assert channel.caller == "13800000004" and channel.info.extra["callerid_date"] == "1205"
        await channel.hangup()


@pytest.mark.parametrize("fmt", ["8-BIT LINEAR", "ULAW"])
async def test_play_sends_the_prompt_in_the_modem_format_with_dle_doubled(tmp_path, fmt):
    # a 1 s prompt whose samples include the encodings of 0x10 in both formats
    prompt = tone_wav(tmp_path / "p.wav", 1.0, freq=0)
    expected = au.format_named(fmt).encode(au.read_pcm(prompt))
    assert b"\x10" in expected
    async with modem_line(tmp_path, sample_format=fmt) as (emu, driver), \
            trio.open_nursery() as nursery:
        channel = await answered_call(emu, driver, nursery)
        t0 = trio.current_time()
        assert await channel.play([prompt]) is None
        took = trio.current_time() - t0
        session = emu.sessions[-1]
        assert bytes(session.audio) == expected and session.ended == "etx"
        assert took >= 0.9  # played out in real time, not dumped
        assert emu.underruns == 0
        await channel.hangup()


async def test_digit_barges_in_and_is_left_for_collect(tmp_path):
    prompt = tone_wav(tmp_path / "p.wav", 5.0)
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        channel = await answered_call(emu, driver, nursery)

        async def caller():
            await emu.wait_session(0)
            await trio.sleep(0.5)
            await emu.press("1", bracket=True)
            await emu.press("2")
        nursery.start_soon(caller)
        assert await channel.play([prompt]) == "1"
        assert emu.sessions[0].ended == "abort"
        assert 0 < len(emu.sessions[0].audio) < 8000 * 5
        assert await channel.collect(2, 5.0) == "12"
        await channel.hangup()


async def test_cts_low_holds_the_writes_and_nothing_is_lost(tmp_path):
    prompt = tone_wav(tmp_path / "p.wav", 2.0)
    expected = au.format_named("8-BIT LINEAR").encode(au.read_pcm(prompt))
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        channel = await answered_call(emu, driver, nursery)

        async def flow_control():
            await emu.wait_session(0)
            emu.reading = False  # CTS low for a second: the tty fills, the driver waits
            await trio.sleep(1.0)
            emu.reading = True
        nursery.start_soon(flow_control)
        await channel.play([prompt], barge_in=False)
        assert bytes(emu.sessions[0].audio) == expected
        await channel.hangup()


@pytest.mark.parametrize(("code", "reason"), [("l", "loop-current"), ("b", "busy"),
                                              ("d", "dialtone")])
async def test_far_end_gone_mid_prompt_ends_the_call_and_hangs_up(tmp_path, code, reason):
    """Loop-current break, or the exchange's busy / dial tone after the caller hung up."""
    prompt = tone_wav(tmp_path / "p.wav", 5.0)
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        channel = await answered_call(emu, driver, nursery)
        events = channel.events()

        async def caller():
            await emu.wait_session(0)
            await trio.sleep(0.5)
            await emu.press("5")
            await emu.send(b"\x10" + code.encode())
        nursery.start_soon(caller)
        with pytest.raises(ChannelGone):
            await channel.play([prompt], barge_in=False)
        assert channel.ended is not None and channel.ended.reason == reason
        seen = [e async for e in events]
        assert seen[0] == Digit("5", "inband") and isinstance(seen[-1], Hangup)
        await emu.wait_for(lambda: not emu.offhook, limit=10)
        line = driver.line("line1")
        with trio.fail_after(10):
            await line.wait_state("idle")


async def test_record_until_the_stop_key(tmp_path):
    fmt = au.format_named("8-BIT LINEAR")
    speech = tone_wav(tmp_path / "speech.wav", 1.5, freq=1000.0)
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        emu.speech = fmt.encode(au.read_pcm(speech))
        channel = await answered_call(emu, driver, nursery)

        async def caller():
            await emu.wait_command("AT+VRX")
            await trio.sleep(2.0)
            await emu.press("#")
        nursery.start_soon(caller)
        done = await channel.record(tmp_path / "rec.wav", 30, 5.0, "#")
        assert done.ended_by == "digit" and done.digit == "#"
        got = au.read_pcm(done.path)
        assert 1.9 <= done.seconds <= 3.0
        assert fmt.encode(got[: len(emu.speech)]) == emu.speech  # what the caller said
        assert au.level(got[12000 + 800 :]) < 300  # then silence
        await channel.hangup()


async def test_record_ends_on_silence(tmp_path):
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        channel = await answered_call(emu, driver, nursery)
        done = await channel.record(tmp_path / "rec.wav", 30, 1.0, "#")
        assert done.ended_by == "silence" and 0.9 <= done.seconds <= 2.0
        assert emu.mode == "command"
        await channel.hangup()


async def test_modem_that_vanishes_loses_the_call_and_comes_back(tmp_path):
    prompt = tone_wav(tmp_path / "p.wav", 5.0)
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        channel = await answered_call(emu, driver, nursery)
        line = driver.line("line1")

        async def unplug():
            await emu.wait_session(0)
            await trio.sleep(0.3)
            emu.vanish()
        nursery.start_soon(unplug)
        with pytest.raises(ChannelGone):
            await channel.play([prompt])
        assert channel.ended is not None and channel.ended.reason == "line-lost"
        with trio.fail_after(5):
            await line.wait_state("down")
        assert line.last_error
        emu.reappear()
        with trio.fail_after(10):
            await line.wait_up()
        assert line.restarts >= 1 and line.state == "idle"
        second = await answered_call(emu, driver, nursery)
        assert second.caller == "13800000004"
        await second.hangup()


async def test_modem_that_stops_answering_is_reset(tmp_path):
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        emu.mute.add("AT+VLS=1")
        nursery.start_soon(lambda: emu.ring("13800000004"))
        with trio.fail_after(10):
            channel = await driver.incoming()
        with pytest.raises(DriverFault):
            await channel.answer()
        emu.mute.clear()
        line = driver.line("line1")
        assert channel.ended is not None and channel.ended.reason == "line-lost"
        with trio.fail_after(15):
            await line.wait_state("idle", restarts=1)
        assert "no answer to AT+VLS=1" in line.last_error


async def test_missing_port_marks_the_line_down_and_the_other_carries_on(tmp_path):
    emu = ModemEmulator(tmp_path / "good.tty")
    async with trio.open_nursery() as nursery:
        await nursery.start(emu.run)
        driver = ModemDriver("modem", [
            ModemSettings(name="bad", port=str(tmp_path / "nothing"), retry_s=0.2),
            ModemSettings(name="good", port=str(emu.path), retry_s=0.2)])
        await nursery.start(driver.run)
        with trio.fail_after(10):
            await driver.line("good").wait_up()
        bad = driver.statistics()["lines"][0]
        assert bad["state"] in ("down", "starting") and "nothing" in driver.line("bad").last_error
        channel = await answered_call(emu, driver, nursery)
        assert channel.info.extra["line"] == "good"
        await channel.hangup()
        nursery.cancel_scope.cancel()


async def test_originate_dials_and_is_answered(tmp_path):
    async with modem_line(tmp_path) as (emu, driver):
        leg = await driver.originate("modem:95598", caller_id="12345", timeout=10)
        assert emu.dialled == ["95598"] and leg.is_up and leg.info.direction == "out"
        await leg.hangup()
        assert not emu.offhook


async def test_originate_busy(tmp_path):
    async with modem_line(tmp_path) as (emu, driver):
        emu.dial_result = "BUSY"
        with pytest.raises(ChannelGone) as gone:
            await driver.originate("modem:line1/95598", timeout=10)
        assert gone.value.code == 486  # type: ignore[attr-defined]
        assert not emu.offhook and driver.line("line1").state == "idle"


async def test_garbage_from_the_modem_never_stops_the_line(tmp_path):
    prompt = tone_wav(tmp_path / "p.wav", 0.5)
    async with modem_line(tmp_path) as (emu, driver), trio.open_nursery() as nursery:
        await emu.send(b"\x00\xff\x10\x10garbage\r\nNMBR\r\n\x10\x03OK?\r\n")  # while idle
        channel = await answered_call(emu, driver, nursery)
        assert await channel.play([prompt]) is None
        emu.garble.add("ATH0")  # noise instead of OK when it should hang up
        await channel.hangup()
        emu.garble.clear()
        line = driver.line("line1")
        with trio.fail_after(15):
            await line.wait_state("idle", restarts=1)
        assert "ATH0" in line.last_error and not emu.offhook  # reset, and put on hook
        again = await answered_call(emu, driver, nursery)
        assert await again.play([prompt]) is None
        await again.hangup()
