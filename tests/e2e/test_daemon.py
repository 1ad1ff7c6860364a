"""The daemon as a real subprocess: start, status over the real socket, signals, one per database."""

import json
import signal
import subprocess
import sys
import time

import pytest

from ccd.api.client import SyncClient
from tests.daemon_proc import DaemonProcess


@pytest.fixture
def site(tmp_path, built_prompts):
    out = subprocess.run(
        [sys.executable, "-m", "ccd", "init", "--dir", str(tmp_path / "site"), "--no-prompts"],
        capture_output=True, text=True, check=True,
    )
    assert "site ready" in out.stdout
    config = tmp_path / "site" / "ccd.toml"
    config.write_text(config.read_text().replace('prompts = "prompts"',
                                                 f'prompts = "{built_prompts}"'))
    return config


def ccd(config, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "ccd", "--config", str(config), *args],
        capture_output=True, text=True, env=env,
    )


def test_starts_answers_status_and_stops_on_sigterm(site):
    daemon = DaemonProcess(site).start()
    sock = site.parent / "run" / "ccd.sock"
    try:
        assert sock.exists()
        with SyncClient.connect(sock) as client:
            client.login_peer()
            status = client.call("status")
        assert status["version"]
        assert status["pid"] == daemon.proc.pid
        assert status["database"] == str(site.parent / "ccd.sqlite3")
        assert status["database_bytes"] > 0
        assert status["connections"] >= 1

        out = ccd(site, "status", "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["pid"] == daemon.proc.pid
        shown = ccd(site, "status")  # for a person: titled tables, not a Python dict
        assert shown.returncode == 0 and "{" not in shown.stdout and "已运行" in shown.stdout
    finally:
        t0 = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=5)
        elapsed = time.monotonic() - t0
        daemon.drain()
    assert code == 0, daemon.output
    assert elapsed < 1.0, f"took {elapsed:.2f}s to stop"
    assert not sock.exists()
    assert "stopped" in daemon.output
    # the shutdown says what stopped, at INFO (SIP telephony and its count of calls)
    assert "INFO    ccd.telephony: SIP telephony stopped: 0 calls handled" in daemon.output


def test_second_daemon_on_same_database_is_refused(site):
    first = DaemonProcess(site).start()
    try:
        second = ccd(site, "--set", "api.socket=other.sock", "run")
        assert second.returncode == 1
        assert "already in use by a running ccd daemon" in second.stderr
        assert f"pid {first.proc.pid}" in second.stderr
        # the first one is unharmed
        with SyncClient.connect(site.parent / "run" / "ccd.sock") as client:
            client.login_peer()
            assert client.call("status")["pid"] == first.proc.pid
    finally:
        assert first.stop() == 0


def test_sigint_stops_cleanly(site):
    daemon = DaemonProcess(site).start()
    daemon.signal(signal.SIGINT)
    assert daemon.proc.wait(timeout=5) == 0
    daemon.drain()
    assert "SIGINT: stopping" in daemon.output


def test_sighup_reloads_and_bad_reload_keeps_running(site):
    daemon = DaemonProcess(site).start()
    try:
        text = site.read_text()
        site.write_text(text + "\n[log]\nlevel = \"debug\"\n")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_line("config reloaded", 5)
        site.write_text(text + "\n[log]\nlevle = \"debug\"\n")
        daemon.signal(signal.SIGHUP)
        line = daemon.wait_for_line("reload refused", 5)
        assert "did you mean 'log.level'" in line
        with SyncClient.connect(site.parent / "run" / "ccd.sock") as client:
            client.login_peer()
            assert client.call("status")["pid"] == daemon.proc.pid
    finally:
        assert daemon.stop() == 0


def test_bad_config_does_not_start(site):
    site.write_text(site.read_text() + "\n[sip]\nworkers = 0\n")
    out = ccd(site, "run")
    assert out.returncode == 1
    assert f"{site}: 'sip.workers' must be between 1 and 64" in out.stderr
    assert not (site.parent / "run" / "ccd.sock").exists()


def test_systemd_notify(site, tmp_path):
    import socket as s

    path = tmp_path / "notify.sock"
    listener = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(10)
    daemon = DaemonProcess(
        site, "log.format=journal", env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "2000000"}
    )
    daemon.start()
    try:
        got = []
        while not any("READY=1" in m for m in got):
            got.append(listener.recv(1024).decode())
        while not any("WATCHDOG=1" in m for m in got):
            got.append(listener.recv(1024).decode())
        assert any(line.startswith("<6>ccd.daemon: ready") for line in daemon.stderr_lines)
    finally:
        daemon.signal(signal.SIGTERM)
        daemon.proc.wait(timeout=5)
        while not any("STOPPING=1" in m for m in got):
            got.append(listener.recv(1024).decode())
        listener.close()
