"""At capacity a caller is never met by silence: the next callers hear the busy announcement (and
the outage notice for their district) and are hung up; beyond that room the edge itself answers
503 with Retry-After, and the workers never see those INVITEs (no retry round over them)."""

from __future__ import annotations

import sqlite3
from collections import Counter

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


def final_codes(replies: list[bytes]) -> dict[str, bytes]:
    """Call-ID -> the first final response to its INVITE."""
    finals: dict[str, bytes] = {}
    for reply in replies:
        code = reply.split(b" ", 2)[1]
        call_id = next(line.split(b":", 1)[1].strip().decode() for line in reply.split(b"\r\n")
                       if line.lower().startswith(b"call-id:"))
        if code[:1] != b"1" and call_id not in finals:
            finals[call_id] = reply
    return finals


async def test_beyond_capacity_callers_hear_busy_then_the_edge_says_retry_after(edge_site):
    config, prompts = edge_site
    # 6 legs a worker, 4 kept for agents, 2 of those for announcements: 2 callers a worker.
    daemon = DaemonProcess(config, f"paths.prompts={prompts}", "sip.workers=2",
                           "sip.max_calls_per_worker=6", "sip.edge_retry_after_s=7").start()
    try:
        port = edge_port(daemon)
        uri = f"sip:95598@127.0.0.1:{port}"
        assert status(config)["sip"]["capacity"] == 4
        async with open_phone(rtp_port=free_rtp_block()) as phone:
            calls: list[SipChannel] = []
            for i in range(4):
                calls.append(await phone.dial(uri, caller_id=f"1390000300{i}", timeout=10))
            # The fifth caller is answered, hears the busy announcement, and is hung up on.
            late = await phone.dial(uri, timeout=10)  # (the phone's 4 caller IDs are in use)
            with trio.fail_after(30):
                await late.wait_gone()
            assert late.ended is not None and late.ended.reason == "remote"

            # A burst beyond even that: the edge answers 503 Retry-After itself.
            sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
            with sock:
                await sock.bind(("127.0.0.1", 0))
                battery = Battery(("127.0.0.1", port), ("127.0.0.9", 9))
                for _ in range(20):
                    await sock.sendto(battery.valid_invite(sock.getsockname()),
                                      ("127.0.0.1", port))
                replies: list[bytes] = []
                with trio.fail_after(15):
                    while len(final_codes(replies)) < 20:
                        replies.append(await sock.recv(65536))
            finals = final_codes(replies)
            codes = Counter(r.split(b" ", 2)[1].decode() for r in finals.values())
            assert set(codes) <= {"200", "503"} and codes["200"] <= 4, codes
            busy = [r for r in finals.values() if r.startswith(b"SIP/2.0 503 ")]
            assert all(b"\r\nRetry-After: 7\r\n" in r for r in busy), busy[0]
            assert all(call.ended is None for call in calls)  # nobody answered lost their call
            sip = status(config)["sip"]
            assert [w["refused"] for w in sip["workers"]] == [0, 0]  # the edge kept them away
            for call in calls:
                await call.hangup()
        conn = sqlite3.connect(config.parent / "ccd.sqlite3")
        # (the site is shared by the edge tests: other calls from 'phone' may be there)
        rows = conn.execute("SELECT disposition, ivr_path, hangup_by FROM calls WHERE src = ? "
                            "AND disposition != 'ANSWERED' AND ivr_path LIKE '%busy%'",
                            ["phone"]).fetchall()  # the phone's own identity
        conn.close()
        assert rows == [("BUSY", '["outage_check", "busy"]', "ivr")], rows
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output[-3000:]
