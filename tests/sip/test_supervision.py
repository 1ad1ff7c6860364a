"""Worker deaths, leaks and shutdown: the pjsua2 pitfalls guarded, checked against real processes."""

from __future__ import annotations

import ast
import os
import signal
from pathlib import Path

import pytest
import trio

from hw.base import Hangup
from hw.sip import LegGone, SipChannel, SipDriver, open_sip_driver
from hw.sipphone import SipPhone
from tests.sip.conftest import connect, driver_kwargs

pytestmark = pytest.mark.sip

NO_OBJECTS = {"Call": 0, "AudioMediaPlayer": 0, "AudioMediaRecorder": 0, "AudioMedia": 0}


async def _assert_nothing_left(driver: SipDriver, index: int = 0) -> None:
    stats = await driver.worker_stats(index, objects=True)
    assert (stats.legs, stats.pj_calls, stats.players, stats.recorders, stats.routes) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert stats.conf_ports_active == 1  # only the conference bridge's own port
    assert {k: stats.objects[k] for k in NO_OBJECTS} == NO_OBJECTS


async def test_sigkill_fails_the_legs_and_a_new_worker_takes_the_next_call(
    phone: SipPhone, tones: dict[str, Path]
) -> None:
    lost: list[SipChannel] = []
    async with open_sip_driver(**driver_kwargs(on_leg_lost=lost.append)) as driver:
        leg, call = await connect(driver, phone)
        events: list[object] = []

        async def watch() -> None:
            async for event in leg.events():
                events.append(event)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await leg.start_play([tones["tone1000"]])
            old_pid = driver.statistics()["workers"][0]["pid"]  # type: ignore[index]
            os.kill(old_pid, signal.SIGKILL)
            with trio.fail_after(5):
                await leg.wait_gone()
        assert events == [Hangup(500, "worker-lost")]
        assert lost == [leg]
        with pytest.raises(LegGone) as gone:
            await leg.play([tones["prompt"]])
        assert (gone.value.code, gone.value.reason) == (500, "worker-lost")

        with trio.fail_after(10):
            ready = await driver.wait_worker_ready(0, restarts=1)
        assert ready.pid != old_pid
        stats = driver.statistics()["workers"][0]  # type: ignore[index]
        assert stats["restarts"] == 1 and stats["alive"] and stats["calls"] == 0
        await call.hangup()  # the phone's side of the lost call
        leg2, call2 = await connect(driver, phone)  # same address, new worker
        assert leg2.info.leg_id.startswith("sip/0.2/")
        assert await leg2.play([tones["prompt"]], barge_in=False) is None
        await call2.hangup()


async def test_other_workers_carry_on_when_one_dies(
    phone: SipPhone, tones: dict[str, Path]
) -> None:
    async with open_sip_driver(**driver_kwargs(workers=2)) as driver:
        workers = driver.statistics()["workers"]  # type: ignore[assignment]
        assert workers[0]["rtp_ports"][1] < workers[1]["rtp_ports"][0]  # type: ignore[index]
        leg, call = await connect(driver, phone, worker=1)
        assert leg.info.extra["worker"] == "1"
        driver.kill_worker(0)
        with trio.fail_after(10):
            await driver.wait_worker_ready(0, restarts=1)
        assert leg.is_up and call.is_up
        assert await leg.play([tones["prompt"]], barge_in=False) is None
        assert driver.statistics()["workers"][1]["restarts"] == 0  # type: ignore[index]
        await call.hangup()


async def test_originate_near_places_the_leg_in_the_callers_worker(
    phone: SipPhone, agent_phone: SipPhone
) -> None:
    async with open_sip_driver(**driver_kwargs(workers=2)) as driver:
        leg, call = await connect(driver, phone, worker=1)
        agent = await driver.originate(agent_phone.uri, near=leg, timeout=5)
        assert agent.info.extra["worker"] == "1"
        await agent.hangup()
        await call.hangup()


async def test_no_leaked_pjsua2_objects_after_hangups_mid_play_and_mid_record(
    driver: SipDriver, phone: SipPhone, tones: dict[str, Path], tmp_path: Path
) -> None:
    leg, call = await connect(driver, phone)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_hang_up_later, call, 0.5)
        with pytest.raises(LegGone):
            await leg.play([tones["long"]])
    await _assert_nothing_left(driver)

    leg, call = await connect(driver, phone)
    await call.start_play([tones["tone1000"]])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_hang_up_later, call, 1.0)
        rec = await leg.record(tmp_path / "cut.wav", max_seconds=20)
    assert rec.ended_by == "hangup" and 0.5 < rec.seconds < 2.0
    assert rec.path.stat().st_size == 44 + round(rec.seconds * 16000)  # a complete WAV
    await _assert_nothing_left(driver)

    # Many short calls in a row: every Call is dropped in onCallState(DISCONNECTED), so a
    # reused call id never hangs up the next call.
    for _ in range(4):
        leg, call = await connect(driver, phone)
        await leg.start_play([tones["tone1000"]])
        await call.hangup()
        with trio.fail_after(5):
            await leg.wait_gone()
    await _assert_nothing_left(driver)


async def _hang_up_later(call: SipChannel, seconds: float) -> None:
    await trio.sleep(seconds)
    await call.hangup()


async def test_worker_runs_pjsua2_on_one_thread_with_gc_off(driver: SipDriver) -> None:
    stats = await driver.worker_stats(0)
    assert stats.python_threads == 1  # pitfall 1: no other Python thread can touch pjsua2
    assert stats.gc_enabled is False and stats.gc_frozen > 1000  # pitfall 3
    limits = driver.statistics()["workers"][0]["limits"]  # type: ignore[index]
    assert limits["pj_max_calls"] == 28  # requested (64 - 8) / 2, within the build's 32
    assert limits["max_calls"] == 27 and limits["conf_ports"] >= 64


async def test_refused_calls_leave_nothing_behind(phone: SipPhone) -> None:
    async with open_sip_driver(**driver_kwargs(allowed_peers=["192.0.2.1"])) as driver:
        for _ in range(3):
            with pytest.raises(LegGone) as refused:
                await phone.dial(driver.worker_uri(0, "1"))
            assert refused.value.code == 403
        await _assert_nothing_left(driver)


async def test_shutdown_with_live_calls_players_and_recorders_exits_cleanly(
    phone: SipPhone, tones: dict[str, Path], tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    async with open_sip_driver(**driver_kwargs(log_dir=logs)) as driver:
        leg, call = await connect(driver, phone)
        await leg.start_play([tones["tone1000"]])
        await leg.start_record(tmp_path / "open.wav")
        link = driver._slots[0].link
    assert link is not None and link.exit_code == 0  # pitfall 6: no abort in libDestroy
    log = (logs / "sipworker-0.log").read_text()
    assert "Assertion" not in log and "Traceback" not in log and "Segmentation" not in log
    with trio.fail_after(5):
        await call.wait_gone()
    assert call.ended is not None and call.ended.reason == "remote"


def test_no_player_overrides_on_eof2() -> None:
    """Overriding AudioMediaPlayer.onEof2 segfaulted 7 runs in 8: prompts are timed instead."""
    root = Path(__file__).resolve().parents[2] / "hw"
    for source in [*root.glob("sipworker/*.py"), root / "sip.py", root / "sipphone.py"]:
        tree = ast.parse(source.read_text())
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert "onEof2" not in names, source.name
