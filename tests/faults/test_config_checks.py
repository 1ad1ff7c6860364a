"""Addresses are checked when the config is read (file and key named, no traceback), and
SIGHUP says what it applied and which changed keys need a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ccd import config as configuration
from ccd.errors import ConfigError
from tests.daemon_proc import DaemonProcess
from tests.faults.conftest import make_site


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ccd.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "key", "fragment"), [
    ('[sip]\nallowed_peers = ["999.1.1.1"]\n', "sip.allowed_peers[0]",
     "is not an IP address or network (CIDR) such as 192.0.2.10 or 192.0.2.0/24: '999.1.1.1'"),
    ('[sip]\nallowed_peers = ["10.0.0.0/8", "10.1.2.3/33"]\n', "sip.allowed_peers[1]",
     "'10.1.2.3/33'"),
    ('[sip]\nlisten = "hotline.example:5060"\n', "sip.listen",
     "must listen on an IP address"),
    ('[sip]\npublic_address = "bad host!"\n', "sip.public_address", "'bad host!'"),
    ('[workorders.web]\ntrusted_proxies = ["proxy"]\n', "workorders.web.trusted_proxies[0]",
     "is not an IP address: 'proxy'"),
])
def test_bad_addresses_name_the_file_and_the_key(tmp_path, text, key, fragment):
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as bad:
        configuration.load(path)
    assert bad.value.message.startswith(f"{path}: '{key}' ")
    assert fragment in bad.value.message
    assert bad.value.details["key"] == key


def test_good_addresses_and_networks_pass(tmp_path):
    path = _config(tmp_path, '[sip]\nallowed_peers = ["127.0.0.1", "10.0.0.0/8", "::1", '
                             '"2001:db8::/32"]\npublic_address = "sip.water.example"\n'
                             '[workorders.web]\ntrusted_proxies = ["10.1.1.1"]\n')
    assert configuration.load(path).sip.allowed_peers[1] == "10.0.0.0/8"


def test_ccd_run_with_a_bad_peer_says_one_line_not_a_traceback(tmp_path):
    path = _config(tmp_path, '[sip]\nallowed_peers = ["999.1.1.1"]\n')
    out = subprocess.run([sys.executable, "-m", "ccd", "--config", str(path), "run"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"ccd: {path}: 'sip.allowed_peers[0]' is not an IP address or network (CIDR) such as "
        "192.0.2.10 or 192.0.2.0/24: '999.1.1.1'"]


def test_sighup_says_what_it_applied_and_what_needs_a_restart(tmp_path):
    config = make_site(tmp_path, customers=20)
    site_text = config.read_text(encoding="utf-8")
    daemon = DaemonProcess(config, "sip.enabled=false").start()
    try:
        config.write_text(site_text + '\n[log]\nlevel = "debug"\n\n[api]\nmax_sessions_per_user'
                          ' = 3\n\n[sip]\nallowed_peers = ["127.0.0.1", "10.0.0.0/8"]\n',
                          encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        applied = daemon.wait_for_line("config reloaded from", 15)
        assert applied.rstrip().endswith("applied api.max_sessions_per_user, log.level")
        restart = daemon.wait_for_line("need a restart", 15)
        assert restart.rstrip().endswith("sip.allowed_peers")

        config.write_text(site_text + '\n[sip]\nallowed_peers = ["999.1.1.1"]\n',
                          encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        refused = daemon.wait_for_line("reload refused", 15)
        assert "'sip.allowed_peers[0]'" in refused and str(config) in refused
        assert daemon.proc is not None and daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0, daemon.output
