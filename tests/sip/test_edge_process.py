"""The edge process itself: started, answering, restarted after kill -9 with a fresh config, and
a clear error when Kamailio cannot start."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import trio

from hw.edge import EdgeFault, EdgeSettings, KamailioEdge, kamailio_path
from hw.kamailio import WorkerAddress
from tests.daemon_proc import free_port

pytestmark = pytest.mark.skipif(kamailio_path() is None,
                                reason="Debian's kamailio is not installed (make deps)")


async def test_killed_edge_is_restarted_with_a_fresh_config(tmp_path: Path) -> None:
    workers = [WorkerAddress("127.0.0.1", 5999, 9)]
    edge = KamailioEdge(EdgeSettings("127.0.0.1", free_port(), allowed_peers=["127.0.0.1"]),
                        lambda: workers, tmp_path, restart_delay=0.1)
    async with trio.open_nursery() as nursery:
        await nursery.start(edge.run)
        first_pid = edge.statistics()["pid"]
        listed = await edge.rpc("dispatcher.list")
        assert "sip:127.0.0.1:5999" in str(listed)
        workers[0] = WorkerAddress("127.0.0.1", 5998, 9)  # what the next start must write
        edge.kill(signal.SIGKILL)
        with trio.fail_after(20):
            await edge.wait_restarted(1)
        assert edge.statistics()["pid"] != first_pid
        assert edge.statistics()["last_exit"] == -signal.SIGKILL
        listed = await edge.rpc("dispatcher.list")
        assert "sip:127.0.0.1:5998" in str(listed) and "5999" not in str(listed)
        nursery.cancel_scope.cancel()
    assert not edge.alive


async def test_an_edge_that_cannot_start_says_why(tmp_path: Path) -> None:
    port = free_port()
    blocker = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    with blocker:
        await blocker.bind(("127.0.0.1", port))  # the edge's port is taken
        edge = KamailioEdge(EdgeSettings("127.0.0.1", port), lambda: [
            WorkerAddress("127.0.0.1", 5999, 9)], tmp_path)
        with pytest.raises(EdgeFault, match="kamailio did not start"):
            await edge.run()


async def test_missing_kamailio_names_the_setting(tmp_path: Path) -> None:
    edge = KamailioEdge(EdgeSettings("127.0.0.1", 5060), list, tmp_path)
    edge.executable = None
    with pytest.raises(EdgeFault, match='sip.edge = "none"'):
        await edge.run()
