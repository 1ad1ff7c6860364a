"""Kamailio's dispatcher in front of two workers: calls reach both; a killed worker is avoided."""

from __future__ import annotations

import shutil
import signal
import socket
from collections import Counter
from pathlib import Path

import pytest
import trio

from hw.kamailio import KamailioConfig, WorkerAddress, render, write
from hw.sip import SipChannel, SipDriver, open_sip_driver
from hw.sipphone import SipPhone
from tests.sip.conftest import driver_kwargs

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="kamailio is not installed"),
]


def free_port() -> int:
    """A port free for both UDP and TCP on loopback."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def test_rendered_config_lists_every_worker_with_its_cap(tmp_path: Path) -> None:
    workers = [WorkerAddress("10.0.0.5", 5071, 27), WorkerAddress("10.0.0.6", 5071, 20, "tcp")]
    files = render(KamailioConfig(workers, listen="10.0.0.1", port=5060), tmp_path / "d.list")
    assert files["dispatcher.list"].splitlines()[1:] == [
        "1 sip:10.0.0.5:5071 0 0 duid=w0;maxload=27",
        "1 sip:10.0.0.6:5071;transport=tcp 0 0 duid=w1;maxload=20",
    ]
    cfg = files["kamailio.cfg"]
    assert 'ds_select_dst("1", "10")' in cfg and "listen=udp:10.0.0.1:5060" in cfg
    assert str(tmp_path / "d.list") in cfg
    with pytest.raises(ValueError):
        render(KamailioConfig([]), tmp_path / "d.list")


async def _options_ok(port: int) -> bool:
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    with sock:
        await sock.bind(("127.0.0.1", 0))
        me = sock.getsockname()[1]
        request = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-probe{me}\r\n"
            f"From: <sip:probe@127.0.0.1:{me}>;tag=probe\r\nTo: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: probe-{me}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n"
        )
        await sock.sendto(request.encode(), ("127.0.0.1", port))
        with trio.move_on_after(0.3):
            data = await sock.recv(65536)
            return data.startswith(b"SIP/2.0 200")
    return False


async def test_dispatcher_spreads_calls_and_avoids_a_killed_worker(
    phone: SipPhone, tmp_path: Path
) -> None:
    # restart_delay keeps a killed worker down for the rest of the test.
    async with open_sip_driver(**driver_kwargs(workers=2, restart_delay=60.0)) as driver:
        workers = [
            WorkerAddress("127.0.0.1", w["sip_port"], w["capacity"])  # type: ignore[index]
            for w in driver.statistics()["workers"]  # type: ignore[union-attr]
        ]
        port = free_port()
        cfg = write(KamailioConfig(workers, port=port, tcp=False), tmp_path / "kamailio")
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        log = await trio.to_thread.run_sync(open, tmp_path / "kamailio.log", "wb")
        with log:
            kamailio = await trio.lowlevel.open_process(
                ["kamailio", "-DD", "-E", "-f", str(cfg), "-Y", str(run_dir)],
                stdout=log,
                stderr=log,
            )
            try:
                for _ in range(50):  # Kamailio is a separate process: ask until it answers
                    if await _options_ok(port):
                        break
                    await trio.sleep(0.2)
                else:
                    raise AssertionError((tmp_path / "kamailio.log").read_text()[-2000:])
                await _spread_then_fail_over(driver, phone, port)
            finally:
                kamailio.send_signal(signal.SIGTERM)
                with trio.move_on_after(5):
                    await kamailio.wait()
                if kamailio.returncode is None:
                    kamailio.kill()
                    await kamailio.wait()


async def _spread_then_fail_over(driver: SipDriver, phone: SipPhone, port: int) -> None:
    answered_on: list[str] = []
    legs: list[SipChannel] = []

    async def answer_all() -> None:
        async with trio.open_nursery() as calls:
            while True:
                leg = await driver.incoming()
                answered_on.append(leg.info.extra["worker"])
                legs.append(leg)
                calls.start_soon(leg.answer)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_all)
        uri = f"sip:95598@127.0.0.1:{port}"
        held: list[SipChannel] = []

        async def dial_and_hold() -> None:
            held.append(await phone.dial(uri, timeout=10))

        with trio.fail_after(20):
            for _ in range(4):  # one at a time: each goes to the least loaded worker
                await dial_and_hold()
        assert Counter(answered_on) == {"0": 2, "1": 2}
        # In-dialog requests follow the Record-Route through Kamailio to the right worker:
        # SIP INFO digits, then the BYEs.
        for call, leg in zip(held, legs, strict=True):
            await call.send_dtmf(leg.info.extra["worker"], "info")
            with trio.fail_after(5):
                assert await leg.collect(1, timeout=5) == leg.info.extra["worker"]
        for call in held:
            await call.hangup()
        with trio.fail_after(10):
            await driver.wait_idle()

        driver.kill_worker(0)
        answered_on.clear()
        with trio.fail_after(30):
            for _ in range(4):
                call = await phone.dial(uri, timeout=10)
                await call.hangup()
        assert answered_on == ["1", "1", "1", "1"]
        assert driver.statistics()["workers"][0]["alive"] is False  # type: ignore[index]
        nursery.cancel_scope.cancel()
