"""`ccd audit` against a real daemon: refusals (before login too) are there, filters work, and
times are shown in the site's time zone."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from zoneinfo import ZoneInfo

from ccd.api.client import SyncClient
from ccd.errors import CcdError
from ccd.timefmt import parse
from tests.daemon_proc import DaemonProcess
from tests.faults.conftest import make_site


def _ccd(config, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ccd", "--config", str(config), *args],
                          capture_output=True, text=True)


def test_ccd_audit_lists_refusals_with_filters(tmp_path):
    config = make_site(tmp_path, customers=20)
    daemon = DaemonProcess(config, "sip.enabled=false").start()
    sock = config.parent / "run" / "ccd.sock"
    try:
        with SyncClient.connect(sock) as c:
            try:
                c.call("users.list")  # before login
            except CcdError as e:
                assert e.error_id == "login-required"
            try:
                c.login("agent1001", "wrong")
            except CcdError as e:
                assert e.error_id == "login-failed"
        with SyncClient.connect(sock) as c:
            c.login("agent1001", "agent1001")
            try:
                c.subscribe("wallboard")
            except CcdError as e:
                assert e.error_id == "forbidden-topic"

        out = _ccd(config, "audit", "--outcome", "failed", "--json")
        assert out.returncode == 0, out.stderr
        failed = json.loads(out.stdout)
        assert [(e["actor"], e["action"], e["target"]) for e in failed] == [
            ("anonymous", "login", "agent1001")]
        assert failed[0]["details"]["reason"] == "bad-password"

        out = _ccd(config, "audit", "--actor", "anonymous", "--action", "users.list", "--json")
        assert [e["outcome"] for e in json.loads(out.stdout)] == ["refused"]

        out = _ccd(config, "audit", "--action", "subscribe", "--since", "1h")
        assert out.returncode == 0, out.stderr
        [line] = out.stdout.splitlines()
        assert "forbidden" in line and "agent1001" in line and "wallboard" in line
        everything = json.loads(_ccd(config, "audit", "--action", "subscribe", "--json").stdout)
        local = dt.datetime.fromtimestamp(parse(everything[0]["at"]), ZoneInfo("Asia/Shanghai"))
        assert line.startswith(local.strftime("%Y-%m-%d %H:%M:%S"))

        out = _ccd(config, "audit", "--until", "2000-01-01")
        assert out.stdout.strip() == "no audit entries match"
        out = _ccd(config, "audit", "--since", "yesterday-ish")
        assert out.returncode == 1 and "--since" in out.stderr
    finally:
        assert daemon.stop() == 0, daemon.output
