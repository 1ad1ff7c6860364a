"""Fixtures for the SIP tests: tones, free loopback ports, a driver and phones in processes."""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from hw.sip import SipChannel, SipDriver, open_sip_driver
from hw.sipphone import SipPhone, open_phone
from tests.sip.audio import write_tone

_used_blocks: set[int] = set()


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_rtp_block(span: int = 200) -> int:
    """A base port of `span` free-looking UDP ports, never handed out twice in this run
    (pitfall 9: pjsua2 processes must not share RTP ranges)."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - span, span)
        if base in _used_blocks:
            continue
        if all(_udp_free(base + off) for off in (0, 1, span // 2, span - 2)):
            _used_blocks.add(base)
            return base
    raise RuntimeError("no free RTP block")


@pytest.fixture(scope="session")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """WAV files: tone<freq> (2 s loops), prompt (0.6 s of 1 kHz), long (4 s), tiny (20 ms)."""
    d = tmp_path_factory.mktemp("tones")
    files = {
        f"tone{f}": write_tone(d / f"tone{f}.wav", f, 2.0)
        for f in (500, 700, 1000, 1100, 1700, 2000)
    }
    files["prompt"] = write_tone(d / "prompt.wav", 1000, 0.6)
    files["prompt2"] = write_tone(d / "prompt2.wav", 500, 0.6)
    files["long"] = write_tone(d / "long.wav", 1000, 4.0)
    files["tiny"] = write_tone(d / "tiny.wav", 1000, 0.02)
    files["silence"] = write_tone(d / "silence.wav", 0, 1.0)
    return files


def driver_kwargs(**overrides: object) -> dict[str, object]:
    kwargs: dict[str, object] = dict(
        sip_port=0,
        rtp_port=free_rtp_block(400),
        rtp_span=200,
        allowed_peers=["127.0.0.1"],
        heartbeat=2.0,
        restart_delay=0.1,
    )
    workers = int(overrides.get("workers", 1))  # type: ignore[arg-type]
    if workers > 2:
        kwargs["rtp_port"] = free_rtp_block(200 * workers)
    kwargs.update(overrides)
    return kwargs


@pytest.fixture
async def driver() -> AsyncIterator[SipDriver]:
    async with open_sip_driver(**driver_kwargs()) as d:
        yield d


@pytest.fixture
async def phone() -> AsyncIterator[SipPhone]:
    async with open_phone(rtp_port=free_rtp_block()) as p:
        yield p


@pytest.fixture
async def agent_phone() -> AsyncIterator[SipPhone]:
    async with open_phone(rtp_port=free_rtp_block(), auto_answer=True, user="agent") as p:
        yield p


async def connect(
    driver: SipDriver,
    phone: SipPhone,
    called: str = "95598",
    caller_id: str = "13800000000",
    worker: int = 0,
) -> tuple[SipChannel, SipChannel]:
    """The phone calls the driver's worker; the daemon side answers. (daemon leg, phone leg)"""
    dialled: list[SipChannel] = []

    async def dial() -> None:
        dialled.append(await phone.dial(driver.worker_uri(worker, called), caller_id=caller_id))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(dial)
            leg = await driver.incoming()
            await leg.answer()
    return leg, dialled[0]


async def record_for(legs: list[SipChannel], paths: list[Path], seconds: float) -> None:
    """Record on several legs at once for `seconds`."""
    for leg, path in zip(legs, paths, strict=True):
        await leg.start_record(path)
    await trio.sleep(seconds)
    for leg in legs:
        await leg.stop_record()
