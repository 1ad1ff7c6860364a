"""Every time a person reads is in the site's time zone (Asia/Shanghai in the demo), whatever the
host's TZ: the host here runs on New York time. Stored times stay UTC ('...Z').

Covers `ccd calls list` / `calls show` against the real daemon, backup names, the console's screen
pop and task lines, and the console taking its zone from the daemon's `hello`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccd import timefmt
from tests.wallboard.conftest import WallboardDaemon
from tui.agent import views
from tui.agent.catalog import Texts

HOST_TZ = "America/New_York"
STORED = "2026-11-23T00:30:00.000Z"  # 08:30 in Shanghai, 19:30 the day before in New York


@pytest.fixture
def host_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", HOST_TZ)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sitetime") / "site"
    subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(folder), "--demo",
                    "--customers", "50"], check=True, capture_output=True, text=True)
    return folder / "ccd.toml"


def _ccd(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ccd", "--config", str(site), *args],
                          capture_output=True, text=True, timeout=60)


def test_local_ignores_the_hosts_zone(host_elsewhere: None) -> None:
    assert time.strftime("%H", time.localtime(timefmt.parse(STORED))) == "19"  # the host's
    assert timefmt.local(STORED, "Asia/Shanghai", "%Y-%m-%d %H:%M") == "2026-11-23 08:30"
    assert timefmt.from_local("2026-11-23T08:30", "Asia/Shanghai") == STORED
    assert timefmt.local(None, "Asia/Shanghai", empty="—") == "—"


def test_calls_list_and_show_use_the_sites_time(host_elsewhere: None, site: Path) -> None:
    db = site.parent / "ccd.sqlite3"
    daemon = WallboardDaemon(site).start()
    try:
        conn = sqlite3.connect(db)
        conn.execute(
            "INSERT INTO calls (id, start, answer, \"end\", src, disposition, duration, queue, "
            "agent) VALUES ('c-old', ?, ?, ?, '13800000001', 'ANSWERED', 95, 'general', "
            "'agent1001')", [STORED, "2026-11-23T00:30:10.000Z", "2026-11-23T00:31:45.000Z"])
        conn.commit()
        conn.close()

        async def live_call() -> None:
            from tui.client import AsyncioClient
            client = await AsyncioClient.connect(daemon.socket)
            await client.login_peer()
            await client.call("testing.call", call_id="c-live", queue="general",
                              number="13900000009")
            await client.close()

        asyncio.run(live_call())
        out = _ccd(site, "calls", "list")
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0].split()[:4] == ["开始时间", "主叫号码", "状态", "时长"]  # a header row
        old = next(line for line in lines if "c-old" in line)
        assert "2026-11-23 08:30:00" in old and "已接通" in old and "1:35" in old
        live = next(line for line in lines if "c-live" in line)
        assert "进行中" in live and "ANSWERED" not in live and "0.0s" not in live
        # --since is read in the site's zone: 08:30 Shanghai includes the call, 08:31 does not.
        assert "c-old" in _ccd(site, "calls", "list", "--since", "2026-11-23T08:30").stdout
        shown = _ccd(site, "calls", "list", "--since", "2026-11-23T08:31", "--limit", "1000")
        assert "c-old" not in shown.stdout
        as_json = json.loads(_ccd(site, "calls", "list", "--json").stdout)
        assert {c["id"] for c in as_json} >= {"c-old", "c-live"}
        show = _ccd(site, "calls", "show", "c-old").stdout
        assert "2026-11-23 08:30:00" in show and "2026-11-23 08:31:45" in show
        assert STORED not in show
    finally:
        daemon.stop()


def test_backup_names_carry_the_sites_time(host_elsewhere: None, site: Path) -> None:
    before = time.time()
    out = _ccd(site, "db", "backup")
    assert out.returncode == 0, out.stderr
    name = out.stdout.strip().rsplit("/", 1)[-1]
    expected = {timefmt.local(t, "Asia/Shanghai", "ccd-%Y%m%d-%H%M") for t in (before,
                                                                                time.time())}
    assert name[:17] in expected, (name, expected)


def test_the_screen_pop_shows_outages_and_contacts_in_the_sites_time(host_elsewhere: None
                                                                   ) -> None:
    pop = {"phone": "13800000004", "customer": {"id": 4, "name": "刘芳", "phones": []},
           "outages": [{"utility": "water", "cause": "管道抢修", "starts_at": "2026-11-23T03:00:00.000Z",
                        "ends_at": "2026-11-23T11:00:00.000Z"}],
           "contacts": [{"at": STORED, "kind": "call", "summary": "查询水费"}],
           "open_work_orders": []}
    text = "\n".join(views.pop_lines(pop, Texts("zh"), views.SITE))
    assert "11-23 11:00" in text and "11-23 19:00" in text  # 03:00Z and 11:00Z in Shanghai
    assert "11-23 08:30" in text and "19:30" not in text
    task = {"kind": "callback", "due_at": STORED, "phone": "13800000004"}
    assert "11-23 08:30" in views.task_line(task, Texts("zh"), views.SITE)


def test_the_console_takes_the_daemons_zone(host_elsewhere: None, site: Path) -> None:
    from tests.agent_console.conftest import console, log_in

    daemon = WallboardDaemon(site).start()
    try:
        async def scenario() -> str:
            app = console(daemon.socket, timezone="UTC")
            async with app.run_test(size=(100, 40)) as pilot:
                await log_in(pilot, app, "agent1002", "seat02")
                return str(app.zone)

        assert asyncio.run(scenario()) == "Asia/Shanghai"
    finally:
        daemon.stop()


def test_daemon_log_lines_carry_the_sites_time(host_elsewhere: None) -> None:
    import logging

    from ccd.log import SiteTimeFormatter

    formatter = SiteTimeFormatter("%(asctime)s %(message)s", "%H:%M", "Asia/Shanghai")
    record = logging.LogRecord("ccd", logging.INFO, "", 0, "ready", None, None)
    record.created = timefmt.parse(STORED)
    assert formatter.format(record) == "08:30 ready"  # not 19:30, the host's
