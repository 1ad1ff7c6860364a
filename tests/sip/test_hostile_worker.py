"""Why the edge exists: the pinned pjsua2 2.10 worker, reached directly, dies of the battery's
INVITE variants (an INVITE without a body, a truncated or garbage SDP abort it with SIGABRT).

This is the control for tests/e2e/test_edge_battery.py: the same messages that the edge turns
away kill a bare worker, so the battery there can fail. If a future pjsua2 build survives this,
the test fails and says so - then the edge is defence in depth rather than the only guard.
"""

from __future__ import annotations

import socket

import trio

from hw.sip import open_sip_driver
from tests.sip.conftest import driver_kwargs
from tests.sip.hostile import Battery


async def test_a_bare_worker_dies_of_the_batterys_invites() -> None:
    async with open_sip_driver(**driver_kwargs(restart_delay=0.1)) as driver:
        port = driver.statistics()["workers"][0]["sip_port"]  # type: ignore[index]
        battery = Battery(("127.0.0.1", int(port)), ("127.0.0.9", 9))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sock:
            sock.bind(("127.0.0.1", 0))
            sent = 0
            with trio.fail_after(60):
                while driver.statistics()["workers"][0]["restarts"] == 0:  # type: ignore[index]
                    _, message = [battery.invite_no_body, battery.invite_truncated_sdp,
                                  battery.invite_garbage_sdp][sent % 3](sock.getsockname())
                    sock.sendto(message, ("127.0.0.1", int(port)))
                    sent += 1
                    await trio.sleep(0.05)
        assert sent <= 30, f"the worker needed {sent} bad INVITEs to die"
