"""The supervisor contains workers that misbehave: garbage, silence, early death."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import trio

from hw.sip import open_sip_driver
from hw.sipworker import protocol as p
from hw.sipworker.link import WorkerStartFailed
from tests.sip.conftest import driver_kwargs

READY = p.encode(
    p.Ready(
        pid=0,
        mode="server",
        sip_address="127.0.0.1",
        sip_port=5999,
        rtp_port=20000,
        rtp_range=200,
        uri="sip:ccd@127.0.0.1:5999",
        pj_version="fake",
        limits=p.Limits(
            pj_max_calls=28,
            conf_ports=254,
            max_calls=27,
            max_cps=8,
            extra_legs=2,
            max_players=32,
            max_recorders=32,
            ioqueue_handles=64,
        ),
    )
)


def fake_python(tmp_path: Path, behaviour: str) -> str:
    """An executable that stands in for `python -m hw.sipworker --fd N ...`."""
    script = tmp_path / f"fake-{behaviour}"
    script.write_text(
        f"""#!{sys.executable}
import os, sys
fd = int(sys.argv[sys.argv.index("--fd") + 1])
behaviour = {behaviour!r}
if behaviour == "exit":
    sys.exit(3)
os.write(fd, {READY!r})
if behaviour == "garbage":
    os.write(fd, b"\\x00\\x00\\x00\\x05junk!")
elif behaviour == "oversize":
    os.write(fd, b"\\xff\\xff\\xff\\xff")
# Never answer a command ("silent"), but do leave when told to shut down.
while b"shutdown" not in os.read(fd, 65536):
    pass
"""
    )
    script.chmod(0o755)
    return str(script)


async def test_a_worker_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkerStartFailed, match="exited with 3 before it was ready"):
        async with open_sip_driver(**driver_kwargs(python=fake_python(tmp_path, "exit"))):
            pass


@pytest.mark.sip
async def test_a_port_in_use_is_reported_with_the_reason() -> None:
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as taken:
        await taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(
            WorkerStartFailed, match="exited with 2 before it was ready: .*transport"
        ):
            async with open_sip_driver(**driver_kwargs(sip_port=port)):
                pass


@pytest.mark.parametrize("behaviour", ["garbage", "oversize", "silent"])
async def test_a_worker_that_misbehaves_is_killed_and_restarted(
    tmp_path: Path, behaviour: str
) -> None:
    kwargs = driver_kwargs(
        python=fake_python(tmp_path, behaviour), heartbeat=0.3, restart_delay=0.05
    )
    async with open_sip_driver(**kwargs) as driver:
        with trio.fail_after(10):
            await driver.wait_worker_ready(0, restarts=2)
        stats = driver.statistics()
        assert stats["workers"][0]["restarts"] >= 2  # type: ignore[index]
    # Leaving the context shut the driver down without an exception escaping it.
