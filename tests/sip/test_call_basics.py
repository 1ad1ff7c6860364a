"""A real phone (pjsua2 in its own process) calls a SipDriver worker: answer, prompts, digits."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from hw.base import Answered, Digit, Hangup, PromptUnplayable
from hw.sip import LegGone, SipDriver
from hw.sipphone import SipPhone
from tests.sip.audio import hears
from tests.sip.conftest import connect

pytestmark = pytest.mark.sip


async def test_answer_play_prompt_and_the_phone_hears_it(
    driver: SipDriver, phone: SipPhone, tones: dict[str, Path], tmp_path: Path
) -> None:
    leg, call = await connect(driver, phone, called="95598", caller_id="13800000001")
    assert (leg.caller, leg.called, leg.info.direction) == ("13800000001", "95598", "in")
    assert leg.info.extra["source"].startswith("127.0.0.1:")
    assert leg.is_up and call.is_up
    heard = tmp_path / "heard.wav"
    await call.start_record(heard)
    t0 = trio.current_time()
    assert await leg.play([tones["prompt"], tones["prompt2"]], barge_in=False) is None
    elapsed = trio.current_time() - t0
    await call.stop_record()
    assert 1.15 <= elapsed < 3.0  # two 0.6 s prompts, played to their end
    hears(heard, present=[1000, 500], absent=[2000], skip=0.1)
    await call.hangup()
    with trio.fail_after(5):
        await leg.wait_gone()
    assert leg.ended == Hangup(200, "remote")
    assert call.ended == Hangup(200, "local")


async def test_digits_by_rfc4733_and_info_arrive_in_order_and_barge_in(
    driver: SipDriver, phone: SipPhone, tones: dict[str, Path]
) -> None:
    leg, call = await connect(driver, phone)
    seen: list[object] = []

    async def watch() -> None:
        async for event in leg.events():
            seen.append(event)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)

        async def press() -> None:
            await trio.sleep(0.5)
            await call.send_dtmf("12", "rfc4733")
            await call.send_dtmf("34", "info")
            await call.send_dtmf("#", "info")

        async with trio.open_nursery() as presses:
            presses.start_soon(press)
            t0 = trio.current_time()
            first = await leg.play([tones["long"]], barge_in=True)
            assert first == "1"
            assert trio.current_time() - t0 < 3.0  # the 4 s prompt was cut short by the digit
            digits = await leg.collect(8, timeout=5, inter_digit_timeout=3, terminator="#")
            assert digits == "1234"
        await call.hangup()
    digit_events = [e for e in seen if isinstance(e, Digit)]
    assert digit_events == [
        Digit("1", "rfc4733"),
        Digit("2", "rfc4733"),
        Digit("3", "info"),
        Digit("4", "info"),
        Digit("#", "info"),
    ]
    assert seen[-1] == Hangup(200, "remote")
    assert not any(isinstance(e, Answered) for e in seen)  # inbound legs were answered by us


async def test_a_digit_typed_ahead_skips_the_prompt(
    driver: SipDriver, phone: SipPhone, tones: dict[str, Path]
) -> None:
    leg, call = await connect(driver, phone)
    await call.send_dtmf("7", "info")
    with trio.fail_after(5):
        assert await leg.collect(1, timeout=5) == "7"
    events = leg.events()
    await call.send_dtmf("9", "info")
    with trio.fail_after(5):
        assert await events.__anext__() == Digit("9", "info")
    t0 = trio.current_time()
    assert await leg.play([tones["long"]], barge_in=True) == "9"
    assert trio.current_time() - t0 < 0.5
    assert await leg.collect(1, timeout=1) == "9"
    await call.hangup()


async def test_collect_times_out_empty_and_hangup_during_collect_raises(
    driver: SipDriver, phone: SipPhone
) -> None:
    leg, call = await connect(driver, phone)
    assert await leg.collect(4, timeout=0.3) == ""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(call.hangup)
        with pytest.raises(LegGone) as gone:
            await leg.collect(4, timeout=10)
    assert (gone.value.code, gone.value.reason) == (200, "remote")


async def test_bad_prompt_files_are_refused_and_the_worker_carries_on(
    driver: SipDriver, phone: SipPhone, tones: dict[str, Path], tmp_path: Path
) -> None:
    leg, call = await connect(driver, phone)
    # A prompt that cannot be played is the leg's PromptUnplayable, naming the file; the leg is up.
    with pytest.raises(PromptUnplayable) as tiny:
        await leg.play([tones["tiny"]])  # one 20 ms frame: pjsua2 2.10 says PJ_EINVAL
    assert str(tones["tiny"]) in str(tiny.value)
    with pytest.raises(PromptUnplayable) as missing:
        await leg.play([tmp_path / "nope.wav"])
    assert f"{tmp_path / 'nope.wav'}: no such file" in str(missing.value)
    with pytest.raises(PromptUnplayable) as mixed:
        (tmp_path / "x.wav").write_bytes(b"not a wav")
        await leg.play([tmp_path / "x.wav"])
    assert str(tmp_path / "x.wav") in str(mixed.value)
    assert await leg.play([tones["prompt"]], barge_in=False) is None
    await leg.hangup()
    assert call.is_up is False or await _gone(call)


async def _gone(call: object) -> bool:
    with trio.fail_after(5):
        await call.wait_gone()  # type: ignore[attr-defined]
    return True


async def test_tcp_transport(driver: SipDriver, phone: SipPhone) -> None:
    uri = driver.worker_uri(0, "95598") + ";transport=tcp"
    async with trio.open_nursery() as nursery:
        dialled = []

        async def dial() -> None:
            dialled.append(await phone.dial(uri))

        nursery.start_soon(dial)
        with trio.fail_after(10):
            leg = await driver.incoming()
            await leg.answer()
    assert dialled[0].is_up
    await dialled[0].hangup()
    with trio.fail_after(5):
        await leg.wait_gone()
