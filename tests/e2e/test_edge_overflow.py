"""When every worker is full the edge answers new calls itself: 503 with Retry-After, and the
workers never see them (no retry round over the workers, no socket-pool pressure)."""

from __future__ import annotations

import pytest
import trio

from hw.edge import kamailio_path
from hw.sip import SipChannel
from hw.sipphone import open_phone
from tests.daemon_proc import DaemonProcess
from tests.e2e.edge_site import edge_port, status
from tests.sip.conftest import free_rtp_block
from tests.sip.hostile import Battery

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(kamailio_path() is None, reason="Debian's kamailio is not installed "
                       "(make deps installs it)"),
]


async def test_full_workers_mean_503_with_retry_after_from_the_edge(edge_site):
    config, prompts = edge_site
    # 6 legs a worker, 4 of them kept for agents: each worker takes 2 callers.
    daemon = DaemonProcess(config, f"paths.prompts={prompts}", "sip.workers=2",
                           "sip.max_calls_per_worker=6", "sip.edge_retry_after_s=7").start()
    try:
        port = edge_port(daemon)
        assert status(config)["sip"]["capacity"] == 4
        async with open_phone(rtp_port=free_rtp_block()) as phone:
            calls: list[SipChannel] = []
            for i in range(4):
                calls.append(await phone.dial(f"sip:95598@127.0.0.1:{port}",
                                              caller_id=f"1390000300{i}", timeout=10))
            sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
            with sock:
                await sock.bind(("127.0.0.1", 0))
                battery = Battery(("127.0.0.1", port), ("127.0.0.9", 9))
                for _ in range(20):
                    await sock.sendto(battery.valid_invite(sock.getsockname()),
                                      ("127.0.0.1", port))
                replies = []
                with trio.fail_after(10):
                    while len(replies) < 20:
                        replies.append(await sock.recv(65536))
            assert all(r.startswith(b"SIP/2.0 503 ") for r in replies), replies[0]
            assert all(b"\r\nRetry-After: 7\r\n" in r for r in replies), replies[0]
            assert all(call.ended is None for call in calls)
            sip = status(config)["sip"]
            assert [w["refused"] for w in sip["workers"]] == [0, 0]  # never reached a worker
            assert sip["callers"] == 4
            for call in calls:
                await call.hangup()
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output[-3000:]
