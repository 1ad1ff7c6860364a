"""kill -9 of a media worker during calls: its callers hear a BYE (from the edge, which tracks
every dialog), the other worker's callers carry on, and a new call is answered within 2 s."""

from __future__ import annotations

import os
import signal

import pytest
import trio

from hw.edge import kamailio_path
from hw.sip import SipChannel
from hw.sipphone import open_phone
from tests.daemon_proc import DaemonProcess
from tests.e2e.edge_site import edge_port, status
from tests.sip.conftest import free_rtp_block

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(kamailio_path() is None, reason="Debian's kamailio is not installed "
                       "(make deps installs it)"),
]

NEW_CALL_ANSWERED_WITHIN_S = 2.0  # what the issue asks for


async def test_callers_of_a_killed_worker_get_a_bye_and_new_calls_are_answered(edge_site):
    config, prompts = edge_site
    daemon = DaemonProcess(config, f"paths.prompts={prompts}", "sip.workers=2").start()
    try:
        uri = f"sip:95598@127.0.0.1:{edge_port(daemon)}"
        async with open_phone(rtp_port=free_rtp_block()) as phone:
            calls: list[SipChannel] = []
            for i in range(4):  # least-loaded first: two on each worker
                calls.append(await phone.dial(uri, caller_id=f"1390000100{i}", timeout=10))
            with trio.fail_after(10):
                while True:
                    workers = status(config)["sip"]["workers"]
                    if [w["calls"] for w in workers] == [2, 2]:
                        break
                    await trio.sleep(0.1)
            assert status(config)["sip"]["capacity"] == 2 * 23  # callers, not legs
            victim = workers[0]
            os.kill(victim["pid"], signal.SIGKILL)
            killed_at = trio.current_time()

            with trio.fail_after(NEW_CALL_ANSWERED_WITHIN_S):
                fresh = await phone.dial(uri, caller_id="13900002000", timeout=10)
            answered_after = trio.current_time() - killed_at

            with trio.fail_after(10):
                while True:
                    if sum(call.ended is not None for call in calls) == 2:
                        break
                    await trio.sleep(0.05)
            ended = [call for call in calls if call.ended is not None]
            assert [call.ended.reason for call in ended] == ["remote", "remote"], [
                call.ended for call in ended]
            survivors = [call for call in calls if call.ended is None]
            assert len(survivors) == 2 and fresh.ended is None
            for call in [*survivors, fresh]:
                await call.hangup()

        with trio.fail_after(15):  # the supervisor restarts the killed worker
            while True:
                after = status(config)["sip"]
                if after["workers"][0]["alive"] and after["workers"][0]["restarts"] == 1:
                    break
                await trio.sleep(0.1)
        assert after["workers"][1]["restarts"] == 0
        assert after["edge"]["dialogs_ended"] == 2
        print(f"new call answered {answered_after:.2f} s after the kill")
        assert answered_after < NEW_CALL_ANSWERED_WITHIN_S
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output[-3000:]
