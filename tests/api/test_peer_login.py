"""`login_peer` with real peers: a non-root process (uid nobody) on the real socket.

The peer is /usr/bin/python3 running a stdlib-only script as `nobody` (the venv's interpreter
may live where `nobody` cannot read it). Needs root to switch user; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from ccd.api.server import serve_api
from db import users
from tests.api.conftest import LocalServices, TrioClient, make_config

SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = 65534
PEER_SCRIPT = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"id": 1, "method": "login_peer"}\\n')
data = b""
while not data.endswith(b"\\n"):
    data += s.recv(65536)
print(data.decode().strip())
"""

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON),
    reason="needs root (to run a peer as nobody) and /usr/bin/python3",
)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder `nobody` can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="ccd-peer-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


async def _login_peer_as_nobody(socket_path: Path) -> dict:
    result = await trio.run_process(
        [SYSTEM_PYTHON, "-c", PEER_SCRIPT, str(socket_path)],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        capture_stdout=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("group", "allowed"), [("no-such-group-ccd-test", False), ("nogroup", True)]
)
async def test_non_root_peer_needs_the_configured_group(
    open_dir: Path, group: str, allowed: bool
) -> None:
    config = make_config(open_dir, socket_mode=0o666, group=group)
    config.run_dir.mkdir(parents=True)
    config.run_dir.chmod(0o755)
    services = LocalServices(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_api, config, services)
        reply = await _login_peer_as_nobody(config.socket_path)
        nursery.cancel_scope.cancel()
    if allowed:
        assert reply["result"]["username"] == "unix:nobody"
        assert reply["result"]["roles"] == ["admin"]
        assert reply["result"]["peer"]["uid"] == NOBODY
        (entry,) = users.list_audit(services.db, action="login_peer")
        assert (entry.actor, entry.outcome) == ("unix:nobody", "ok")
    else:
        assert reply["error"]["code"] == "peer-refused"
        assert reply["error"]["details"] == {"uid": NOBODY, "group": group}
        (entry,) = users.list_audit(services.db, action="login_peer")
        assert (entry.actor, entry.target, entry.outcome) == (
            "anonymous",
            f"uid:{NOBODY}",
            "failed",
        )
    services.db.close()


async def test_peer_login_can_be_switched_off(nursery: trio.Nursery, tmp_path: Path) -> None:
    config = make_config(tmp_path, peer_credentials=False)
    await nursery.start(serve_api, config, LocalServices(config))
    client = await TrioClient.connect(config.socket_path)
    assert await client.error("login_peer") == "peer-refused"  # even for root
    hello = await client.call("hello")
    assert hello["login"] == ["password"]
    await client.aclose()
