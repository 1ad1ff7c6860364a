"""The sysadmin's CLI against a real daemon: users through the socket, backup while it runs,
restore once it has stopped."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.daemon_proc import DaemonProcess


def ccd(config, *args, stdin=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "ccd", "--config", str(config), *args],
        capture_output=True, text=True, input=stdin, env=env,
    )


@pytest.fixture
def site(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "ccd", "init", "--dir", str(tmp_path / "site"), "--demo",
         "--customers", "300", "--no-prompts"],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    return tmp_path / "site" / "ccd.toml"


def dump(path):
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_users_through_the_daemon(site):
    daemon = DaemonProcess(site, "sip.enabled=false").start()
    try:
        out = ccd(site, "users", "add", "wangfang", "--role", "agent", "--name", "王芳",
                  "--agent-number", "2001", "--password-stdin", stdin="s3cret-pw\n")
        assert out.returncode == 0, out.stderr
        users = json.loads(ccd(site, "users", "list", "--json").stdout)
        wang = next(u for u in users if u["username"] == "wangfang")
        assert wang["roles"] == ["agent"] and wang["display_name"] == "王芳"

        # the new user logs in with the password; an agent may not list users
        env = {**os.environ, "CCD_USER": "wangfang", "CCD_PASSWORD": "s3cret-pw"}
        assert ccd(site, "status", "--json", env=env).returncode == 0
        refused = ccd(site, "users", "list", env=env)
        assert refused.returncode == 1
        assert "无权调用“users.list”：需要角色 admin" in refused.stderr

        assert ccd(site, "users", "roles", "wangfang", "-r", "agent", "-r", "teamlead").returncode == 0
        assert ccd(site, "users", "passwd", "wangfang", "--password-stdin",
                   stdin="another-pw\n").returncode == 0
        wrong = ccd(site, "status", env=env)
        assert wrong.returncode == 1 and "login refused" in wrong.stderr
        assert ccd(site, "users", "disable", "wangfang").returncode == 0
        users = json.loads(ccd(site, "users", "list", "--json").stdout)
        wang = next(u for u in users if u["username"] == "wangfang")
        assert wang["disabled"] and sorted(wang["roles"]) == ["agent", "teamlead"]

        audit = sqlite3.connect(site.parent / "ccd.sqlite3").execute(
            "SELECT action, outcome FROM audit_log WHERE target LIKE '%wangfang%' OR "
            "actor = 'wangfang'").fetchall()
        assert ("users.add", "ok") in audit
        assert any(outcome != "ok" for _, outcome in audit)  # the refused users.list
    finally:
        assert daemon.stop() == 0


def test_backup_while_running_then_restore_gives_identical_database(site, tmp_path):
    daemon = DaemonProcess(site, "sip.enabled=false").start()
    backup = tmp_path / "backup.sqlite3"
    try:
        out = ccd(site, "db", "backup", str(backup))
        assert out.returncode == 0, out.stderr
        snapshot = dump(backup)
        refused = ccd(site, "db", "restore", str(backup))
        assert refused.returncode == 1
        # the daemon keeps writing after the backup: this row is not in it
        assert ccd(site, "users", "add", "later", "-r", "qa", "--password-stdin",
                   stdin="pw-later-1\n").returncode == 0
    finally:
        assert daemon.stop() == 0
    db_path = site.parent / "ccd.sqlite3"
    assert dump(db_path) != snapshot
    out = ccd(site, "db", "restore", str(backup))
    assert out.returncode == 0, out.stderr
    assert dump(db_path) == snapshot
    check = ccd(site, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
