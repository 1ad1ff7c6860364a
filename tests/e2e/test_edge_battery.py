"""The front door under attack: >10,000 malformed and hostile SIP messages at the running daemon's
Kamailio edge, from allowed and unknown loopback addresses; then no worker has restarted, nothing
was sent to the third address the messages named, the outsiders got no reply at all, and a SIPp
caller is answered and walks the IVR.

Without the edge the same INVITE variants abort a bare pjsua2 worker
(tests/sip/test_hostile_worker.py shows it), so this battery can fail.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
from collections import Counter

import pytest
import trio
import trio.lowlevel

from hw.edge import kamailio_path
from hw.kamailio import sdp_acceptable
from tests.daemon_proc import DaemonProcess
from tests.e2e.edge_site import edge_port, status
from tests.e2e.sipp import run_sipp_ivr_call
from tests.sip.hostile import Battery

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(kamailio_path() is None, reason="Debian's kamailio is not installed "
                       "(make deps installs it)"),
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (sip-tester) is not installed"),
]

ALLOWED = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]  # 127.0.0.1 is kept for the SIPp caller
UNKNOWN = ["127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"]
THIRD = "127.0.0.9"
PACED = 6000  # from allowed addresses, under the per-source rate so that each is examined
UNPACED = 4000  # from unknown addresses, as fast as the box sends
FLOOD = 1000  # per method, from one allowed address, as fast as the box sends


def udp(host: str) -> trio.socket.SocketType:
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return sock


async def collect(sock: trio.socket.SocketType, into: list[bytes]) -> None:
    while True:
        data = await sock.recv(65536)
        into.append(data)


SENT: dict[str, bytes] = {}  # Call-ID -> the message, to explain a reply


def call_id_of(message: bytes) -> str:
    for line in message.split(b"\r\n"):
        if line.lower().startswith(b"call-id:"):
            return line.split(b":", 1)[1].strip().decode(errors="replace")
    return ""


async def send(sock: trio.socket.SocketType, data: bytes, to: tuple[str, int]) -> None:
    SENT[call_id_of(data)] = data
    try:
        await sock.sendto(data, to)
    except OSError:  # EMSGSIZE for the 60 kB header: the kernel refused, nothing was sent
        pass


async def options_answered(port: int) -> bool:
    sock = udp("127.0.0.1")
    with sock:
        await sock.bind(("127.0.0.1", 0))
        me = sock.getsockname()[1]
        await sock.sendto((
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-alive{me}\r\n"
            f"From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: alive-{me}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\n"
            f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
        with trio.move_on_after(0.5):
            return (await sock.recv(65536)).startswith(b"SIP/2.0 200")
    return False


async def tcp_garbage(port: int, battery: Battery) -> None:
    """A few TCP connections that send junk, a huge header or half a message and go."""
    for i in range(30):
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
        except OSError:
            continue
        async with stream:
            payload = [battery.rng.randbytes(2000), b"INVITE sip:x SIP/2.0\r\nVia: " + b"A" * 70000,
                       battery.valid_invite(("127.0.0.1", 1))[:150]][i % 3]
            try:
                await stream.send_all(payload)
            except (OSError, trio.BrokenResourceError):
                pass


async def test_ten_thousand_hostile_messages_leave_every_worker_running(edge_site, tmp_path):
    config, prompts = edge_site
    peers = "[" + ", ".join(f'"{p}"' for p in ["127.0.0.1", *ALLOWED]) + "]"
    daemon = DaemonProcess(config, f"paths.prompts={prompts}", f"sip.allowed_peers={peers}",
                           "sip.workers=2").start()
    try:
        port = edge_port(daemon)
        before = status(config)["sip"]
        assert before["edge"]["alive"] and before["edge"]["restarts"] == 0
        async with trio.open_nursery() as nursery:
            # The third address only collects: whatever arrives waits in its buffer.
            third = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            third.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            third.bind((THIRD, 0))
            third.setblocking(False)
            battery = Battery(("127.0.0.1", port), (THIRD, third.getsockname()[1]))

            allowed = [udp(h) for h in ALLOWED]
            unknown = [udp(h) for h in UNKNOWN]
            replies: dict[str, list[bytes]] = {}
            for host, sock in zip(ALLOWED + UNKNOWN, allowed + unknown, strict=True):
                await sock.bind((host, 0))
                replies[host] = []
                nursery.start_soon(collect, sock, replies[host])
            edge = ("127.0.0.1", port)
            sent: Counter[str] = Counter()

            # 1. Every variant from allowed peers, paced under the per-source rate limit.
            sources = [s.getsockname() for s in allowed]
            for i, (which, (kind, data)) in enumerate(battery.mix(PACED, sources)):
                await send(allowed[which], data, edge)
                sent[kind] += 1
                if i % 12 == 11:
                    await trio.sleep(0.03)  # ~400 a second over three sources
            # 2. The same from unknown addresses, plus well-formed calls, unpaced.
            sources = [s.getsockname() for s in unknown]
            for which, (kind, data) in battery.mix(UNPACED, sources):
                await send(unknown[which], data, edge)
                sent[kind] += 1
            for i in range(500):
                await send(unknown[i % 4], battery.valid_invite(sources[i % 4]), edge)
                sent["valid-invite-from-unknown"] += 1
            # 3. Floods from one allowed peer: INVITE, REGISTER, SUBSCRIBE, OPTIONS.
            flooder = udp(ALLOWED[-1])
            await flooder.bind((ALLOWED[-1], 0))
            flood_replies: list[bytes] = []
            nursery.start_soon(collect, flooder, flood_replies)
            for method in ("INVITE", "REGISTER", "SUBSCRIBE", "OPTIONS"):
                for _ in range(FLOOD):
                    await send(flooder, battery.flood(method, flooder.getsockname()), edge)
                    sent[f"flood-{method.lower()}"] += 1
                await trio.lowlevel.checkpoint()
            await tcp_garbage(port, battery)
            total = sum(sent.values())
            assert total >= 10_000, sent

            # The edge still answers; replies to the battery have stopped arriving.
            with trio.fail_after(30):
                while True:
                    if await options_answered(port):
                        break
                    await trio.sleep(0.2)
            settled = -1
            with trio.fail_after(30):
                while settled != sum(len(r) for r in replies.values()):
                    settled = sum(len(r) for r in replies.values())
                    await trio.sleep(1.0)
            nursery.cancel_scope.cancel()

        after = status(config)["sip"]
        workers = after["workers"]
        assert [w["restarts"] for w in workers] == [0, 0], workers
        assert all(w["alive"] for w in workers), workers
        assert after["edge"]["restarts"] == 0 and after["edge"]["alive"], after["edge"]
        for host in UNKNOWN:
            assert replies[host] == [], f"an outsider ({host}) got {len(replies[host])} replies"
        answers = [r for host in ALLOWED for r in replies[host] if r.startswith(b"SIP/2.0 ")]
        codes = Counter(r.split(b" ", 2)[1].decode() for r in answers)
        assert codes["488"] > 500 and codes["405"] > 100 and codes["400"] > 0, codes
        # What reached a worker (a relayed INVITE gets 100 Trying from the edge's transaction)
        # was a call with an SDP that passes the grammar: a fuzzed header, an odd Request-URI,
        # a mutation that happened to stay valid. Nothing with a bad SDP got through.
        relayed = {call_id_of(r) for r in answers if r.split(b" ", 2)[1][:1] in (b"1", b"2")}
        for call_id in relayed:
            message = SENT[call_id]
            body = message.split(b"\r\n\r\n", 1)[1].decode("utf-8", "surrogateescape")
            assert sdp_acceptable(body), message
        # The flooding peer was ignored for a while (pike): most of its flood got no answer.
        assert len(flood_replies) < 4 * FLOOD // 2, f"{len(flood_replies)} flood replies"

        # The hostile calls that were answered end (no ACK came: pjsua gives up after 32 s and
        # sends BYE to where the INVITE really came from, never to the Contact it named).
        with trio.fail_after(60):
            while True:
                if not status(config)["sip"]["calls"]:
                    break
                await trio.sleep(0.5)
        reflected = []
        with third:
            while True:
                try:
                    reflected.append(third.recv(65536))
                except BlockingIOError:
                    break
        assert reflected == [], f"{len(reflected)} datagrams went to the third address"
        # The hotline still works: a SIPp caller is answered and walks the IVR.
        caller = await run_sipp_ivr_call(port, tmp_path, digit="1")
        db = config.parent / "ccd.sqlite3"

        with trio.fail_after(30):
            while True:
                conn = sqlite3.connect(db)
                row = conn.execute('SELECT id, digits, disposition FROM calls WHERE src = ? '
                                   'AND "end" IS NOT NULL', [caller]).fetchone()
                conn.close()
                if row:
                    break
                await trio.sleep(0.2)
        assert row[2] == "ANSWERED" and "1" in (row[1] or ""), row
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output[-3000:]
