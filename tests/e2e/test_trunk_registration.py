"""A trunk whose registrar answers 401 (wrong password in ccd.toml) registers once the password
is fixed and the daemon gets SIGHUP; `ccd status` and the wallboard show each state; a call to
the trunk's DID runs the flow the DID names."""

from __future__ import annotations

import shutil
import signal
import sqlite3

import pytest
import trio

from hw.edge import kamailio_path
from hw.sipphone import open_phone
from tests.daemon_proc import DaemonProcess
from tests.e2e.edge_site import edge_port, status
from tests.e2e.test_surge_live import wait_for_node, wallboard_alerts
from tests.sip.conftest import free_rtp_block
from tests.trunks.fake_registrar import FakeRegistrar

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(kamailio_path() is None, reason="Debian's kamailio is not installed "
                       "(make deps installs it)"),
]

TRUNK = """
[[sip.trunks]]
name = "provider"
registrar = "sip:127.0.0.1:{port}"
username = "8675"
password = "{password}"
retry_s = 1.0
max_retry_s = 4.0
allowed = ["127.0.0.1"]
dids = {{ "96777" = "overflow.toml" }}
"""


async def wait_trunk(config, state: str) -> dict:
    with trio.fail_after(30):
        while True:
            trunks = status(config)["sip"]["trunks"]
            if trunks and trunks[0]["state"] == state:
                return trunks[0]
            await trio.sleep(0.1)


async def test_401_then_200_after_the_password_is_fixed_by_sighup(edge_site, tmp_path):
    site_config, prompts = edge_site
    config = tmp_path / "ccd.toml"  # a copy: the shared site's file stays as it is
    shutil.copytree(site_config.parent, tmp_path, dirs_exist_ok=True)
    original = config.read_text()
    registrar = FakeRegistrar(password="right")
    port = await registrar.bind()
    config.write_text(original + TRUNK.format(port=port, password="wrong"))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(registrar.serve)
        daemon = DaemonProcess(config, f"paths.prompts={prompts}").start()
        try:
            failed = await wait_trunk(config, "failed")
            assert failed["code"] == 401 and "credentials refused" in failed["reason"]
            assert "trunk" in wallboard_alerts(config)
            daemon.wait_for_line("trunk provider: failed (401", 10)  # logged

            config.write_text(original + TRUNK.format(port=port, password="right"))
            daemon.signal(signal.SIGHUP)
            ok = await wait_trunk(config, "registered")
            assert ok["code"] == 200 and ok["expires"] == 120
            assert "trunk" not in wallboard_alerts(config)
            edge = edge_port(daemon)
            assert registrar.contacts[-1] == f"<sip:8675@127.0.0.1:{edge}>"

            # The DID 96777 runs overflow.toml (the busy message), any other the default flow.
            async with open_phone(rtp_port=free_rtp_block()) as phone:
                call = await phone.dial(f"sip:96777@127.0.0.1:{edge}", caller_id="13900005001",
                                        timeout=10)
                with trio.fail_after(30):
                    await call.wait_gone()
            db = tmp_path / "ccd.sqlite3"
            nodes = await wait_for_node(db, "13900005001", "busy")
            assert nodes == ["outage_check", "busy"]
            conn = sqlite3.connect(db)
            assert conn.execute("SELECT dst FROM calls WHERE src = '13900005001'").fetchone() == (
                "96777",)
            conn.close()
        finally:
            code = daemon.stop()
            nursery.cancel_scope.cancel()
    assert code == 0, daemon.output[-3000:]
