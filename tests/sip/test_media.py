"""Audio through a worker, checked by tones: recording, bridging, hold, and the spy modes."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from hw.base import SpyMode
from hw.sip import SipDriver, open_sip_driver
from hw.sipphone import SipPhone, open_phone
from tests.sip.audio import hears, read_samples
from tests.sip.conftest import connect, driver_kwargs, free_rtp_block, record_for

pytestmark = pytest.mark.sip


async def test_recording_holds_the_tone_the_phone_plays(
    driver: SipDriver, phone: SipPhone, tones: dict[str, Path], tmp_path: Path
) -> None:
    leg, call = await connect(driver, phone)
    await call.start_play([tones["tone1000"]], loop=True)
    rec = await leg.record(tmp_path / "rec.wav", max_seconds=2.0, silence_seconds=0)
    assert rec.ended_by == "max"
    assert 1.9 <= rec.seconds <= 2.2
    samples, rate = read_samples(rec.path)
    assert rate == 8000 and abs(len(samples) / rate - rec.seconds) < 0.01
    hears(rec.path, present=[1000], absent=[500, 2000])
    stats = await driver.worker_stats(0, media=True)
    (media,) = stats.media
    assert media.leg == leg.leg and media.rx_packets >= 100  # 50 packets a second, > 2 s
    assert media.tx_packets >= 100 and media.rx_lost == 0  # no VAD: silence is sent too
    await call.hangup()


async def test_recording_ends_on_silence_and_on_the_stop_digit(
    driver: SipDriver, phone: SipPhone, tones: dict[str, Path], tmp_path: Path
) -> None:
    leg, call = await connect(driver, phone)
    # The phone talks (tone) for ~1 s, then goes quiet: 1 s of silence ends the recording.
    await call.start_play([tones["tone1000"]], loop=False)
    rec = await leg.record(tmp_path / "quiet.wav", max_seconds=10.0, silence_seconds=1.0)
    assert rec.ended_by == "silence"
    assert 2.5 <= rec.seconds <= 4.5  # 2 s tone + 1 s silence (+ level polling)
    hears(rec.path, present=[1000], absent=[2000])

    async def press_hash() -> None:
        await trio.sleep(0.8)
        await call.send_dtmf("#", "rfc4733")

    await call.start_play([tones["tone700"]], loop=True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(press_hash)
        rec = await leg.record(tmp_path / "hash.wav", max_seconds=10.0, silence_seconds=0)
    assert (rec.ended_by, rec.digit) == ("digit", "#")
    assert rec.seconds < 3.0
    assert len(leg.digits) == 0  # the '#' that ended the recording is not left for collect
    await call.hangup()


async def test_bridge_two_phones_each_hears_the_other(
    driver: SipDriver,
    phone: SipPhone,
    agent_phone: SipPhone,
    tones: dict[str, Path],
    tmp_path: Path,
) -> None:
    caller, phone_a = await connect(driver, phone)
    with trio.fail_after(10):
        agent = await driver.originate(agent_phone.uri, caller_id="95598", timeout=5, near=caller)
        phone_b = await agent_phone.incoming()
    assert agent.info.direction == "out" and agent.info.extra["worker"] == "0"
    assert phone_b.caller == "95598"
    await caller.bridge(agent)
    await phone_a.start_play([tones["tone1000"]])
    await phone_b.start_play([tones["tone2000"]])
    a_hears, b_hears = tmp_path / "a.wav", tmp_path / "b.wav"
    await record_for([phone_a, phone_b], [a_hears, b_hears], 1.6)
    hears(a_hears, present=[2000], absent=[1000])
    hears(b_hears, present=[1000], absent=[2000])

    await caller.unbridge(agent)
    a_quiet = tmp_path / "a_quiet.wav"
    await record_for([phone_a], [a_quiet], 1.4)
    hears(a_quiet, present=[], absent=[1000, 2000])

    # Call recording of both sides on the caller's leg.
    await caller.bridge(agent)
    both = tmp_path / "both.wav"
    await caller.start_record(both, include_peers=True)
    await trio.sleep(1.6)
    await caller.stop_record()
    hears(both, present=[1000, 2000], absent=[500])
    await phone_a.hangup()
    with trio.fail_after(5):
        await caller.wait_gone()
    assert agent.is_up  # the agent leg lives on until the owner hangs it up
    await agent.hangup()
    with trio.fail_after(5):
        await phone_b.wait_gone()


async def test_hold_plays_music_to_the_held_leg_only(
    driver: SipDriver,
    phone: SipPhone,
    agent_phone: SipPhone,
    tones: dict[str, Path],
    tmp_path: Path,
) -> None:
    caller, phone_a = await connect(driver, phone)
    with trio.fail_after(10):
        agent = await driver.originate(agent_phone.uri, timeout=5, near=caller)
        phone_b = await agent_phone.incoming()
    await caller.bridge(agent)
    await phone_a.start_play([tones["tone1000"]])
    await phone_b.start_play([tones["tone2000"]])
    await caller.hold(tones["tone500"])
    a_rec, b_rec = tmp_path / "a.wav", tmp_path / "b.wav"
    await record_for([phone_a, phone_b], [a_rec, b_rec], 1.6)
    hears(a_rec, present=[500], absent=[2000])  # music, not the agent
    hears(b_rec, present=[], absent=[1000, 500])  # the agent hears neither caller nor music
    await caller.unhold()
    a_rec2 = tmp_path / "a2.wav"
    await record_for([phone_a], [a_rec2], 1.4)
    hears(a_rec2, present=[2000], absent=[500])
    stats = await driver.worker_stats(0)
    assert stats.players == 0  # the shared music player went with the last held leg
    await phone_a.hangup()
    await agent.hangup()


async def test_spy_modes_listen_whisper_barge(tones: dict[str, Path], tmp_path: Path) -> None:
    caller_hz, agent_hz, lead_hz = 700, 1100, 1700
    async with (
        open_sip_driver(**driver_kwargs()) as driver,
        open_phone(rtp_port=free_rtp_block(), user="caller") as caller_phone,
        open_phone(rtp_port=free_rtp_block(), user="agent", auto_answer=True) as agent_phone,
        open_phone(rtp_port=free_rtp_block(), user="lead", auto_answer=True) as lead_phone,
    ):
        caller, c_phone = await connect(driver, caller_phone)
        with trio.fail_after(10):
            agent = await driver.originate(agent_phone.uri, timeout=5, near=caller)
            a_phone = await agent_phone.incoming()
            lead = await driver.originate(lead_phone.uri, timeout=5, near=caller)
            l_phone = await lead_phone.incoming()
        await caller.bridge(agent)
        await c_phone.start_play([tones[f"tone{caller_hz}"]])
        await a_phone.start_play([tones[f"tone{agent_hz}"]])
        await l_phone.start_play([tones[f"tone{lead_hz}"]])

        expected = {
            # mode: (caller hears, agent hears, lead hears) as (present, absent)
            SpyMode.LISTEN: (
                ([agent_hz], [lead_hz]),
                ([caller_hz], [lead_hz]),
                ([caller_hz, agent_hz], []),
            ),
            SpyMode.WHISPER: (
                ([agent_hz], [lead_hz]),
                ([caller_hz, lead_hz], []),
                ([caller_hz, agent_hz], []),
            ),
            SpyMode.BARGE: (
                ([agent_hz, lead_hz], []),
                ([caller_hz, lead_hz], []),
                ([caller_hz, agent_hz], []),
            ),
        }
        for mode, wants in expected.items():
            await caller.spy(lead, agent, mode)
            paths = [tmp_path / f"{mode.value}-{who}.wav" for who in ("caller", "agent", "lead")]
            await record_for([c_phone, a_phone, l_phone], paths, 1.6)
            for path, (present, absent) in zip(paths, wants, strict=True):
                hears(path, present=present, absent=absent)
        await caller.unspy(lead)
        lead_after = tmp_path / "lead-after.wav"
        await record_for([l_phone], [lead_after], 1.4)
        hears(lead_after, present=[], absent=[caller_hz, agent_hz])
        for leg in (caller, agent, lead):
            await leg.hangup()
