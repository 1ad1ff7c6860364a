"""`ccd queues`, `ccd stations` and `ccd agent-cli` with typer's CliRunner: offline on the
database, and online through a daemon-like server (API + ACD runtime in a thread, holding the
database lock as `ccd run` does)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import typer
from typer.testing import CliRunner

from ccd.acd.settings import AcdSettings
from ccd.api.server import serve_api
from ccd.cli.main import main_options
from ccd.cli_acd import agent_cli_app, queues_app, stations_app
from ccd.config import Config, load
from ccd.lock import DatabaseLock
from tests.acd_runtime.conftest import AcdServices, rows, seed, start_runtime
from tests.api.conftest import PASSWORD

app = typer.Typer()
app.callback()(main_options)
app.add_typer(queues_app, name="queues")
app.add_typer(stations_app, name="stations")
app.add_typer(agent_cli_app, name="agent-cli")
runner = CliRunner()


@pytest.fixture
def site_config(tmp_path: Path) -> Config:
    path = tmp_path / "ccd.toml"
    path.write_text(
        f'[paths]\ndata_dir = "{tmp_path}"\ndatabase = "{tmp_path}/ccd.sqlite3"\n'
        f'run_dir = "{tmp_path}/run"\nprompts = "{tmp_path}/prompts"\n'
        f'recordings = "{tmp_path}/recordings"\n'
    )
    config = load(path)
    services = AcdServices(config)
    seed(services.db, AcdSettings())
    services.db.close()
    return config


def ccd(config: Config, *args: str, input: str | None = None, **env: str):
    return runner.invoke(app, ["--config", config.source, *args], input=input, env=env)


def test_queues_and_stations_offline_on_the_database(site_config: Config) -> None:
    added = ccd(site_config, "queues", "add", "gas", "--skill", "gas=3", "--wrap-up", "15",
                "--strategy", "best_skill", "--overflow", "30:queue:water",
                "--overflow", "60:skills:water=5,billing=2", "--name", "燃气业务")
    assert added.exit_code == 0, added.output
    assert "已添加队列 gas" in added.output
    listed = ccd(site_config, "queues", "list", "--json")
    gas = next(q for q in json.loads(listed.output) if q["name"] == "gas")
    assert (gas["display_name"], gas["strategy"], gas["wrap_up_s"]) == ("燃气业务", "best_skill",
                                                                         15.0)
    assert gas["overflow"] == [{"after_s": 30.0, "to_queue": "water"},
                               {"after_s": 60.0, "add_skills": {"water": 5, "billing": 2}}]
    lines = ccd(site_config, "queues", "list").output.splitlines()
    assert lines[0].split() == ["队列", "名称", "分配策略", "技能要求", "话后处理", "服务水平",
                                "振铃时限", "溢出", "定义于"]  # a header row
    gas = next(li for li in lines if li.startswith("gas"))
    assert "燃气业务" in gas and "最高技能" in gas and "30s→water" in gas
    # padded by display width: every row's columns start where the header's do
    from rich.cells import cell_len
    start = cell_len(lines[0][:lines[0].index("分配策略")])
    assert all(cell_len(li[:li.index(word)]) == start
               for li, word in ((gas, "最高技能"),) )

    changed = ccd(site_config, "queues", "set", "gas", "--wrap-up", "45", "--overflow", "none")
    assert changed.exit_code == 0, changed.output
    gas = next(q for q in json.loads(ccd(site_config, "queues", "list", "--json").output)
               if q["name"] == "gas")
    assert gas["wrap_up_s"] == 45 and gas["overflow"] == []

    bad = ccd(site_config, "queues", "add", "x", "--overflow", "soon:queue:water")
    assert bad.exit_code == 1 and "--overflow" in bad.output
    unknown = ccd(site_config, "queues", "add", "y", "--overflow", "5:queue:nowhere")
    assert unknown.exit_code == 1 and "nowhere" in unknown.output
    assert ccd(site_config, "queues", "remove", "gas").exit_code == 0
    assert ccd(site_config, "queues", "remove", "gas").exit_code == 1

    assert ccd(site_config, "stations", "add", "seat13", "sip:agent1013@10.0.0.33",
               "--description", "二楼").exit_code == 0
    listed = ccd(site_config, "stations", "list").output
    assert "seat13" in listed and "sip:agent1013@10.0.0.33" in listed
    refused = ccd(site_config, "stations", "add", "seat14", "http://x")
    assert refused.exit_code == 1
    assert ccd(site_config, "stations", "remove", "seat13").exit_code == 0
    from db import open_database

    db = open_database(site_config.database_path)
    actions = [r["action"] for r in rows(db, "SELECT action FROM audit_log ORDER BY id")]
    db.close()
    assert actions == ["queues.add", "queues.set", "queues.remove", "stations.add",
                       "stations.remove"]


def test_wrap_required_flag_on_add_set_and_list(site_config: Config) -> None:
    def listed() -> dict[str, bool]:
        out = ccd(site_config, "queues", "list", "--json").output
        return {q["name"]: q["wrap_up_required"] for q in json.loads(out)}

    added = ccd(site_config, "queues", "add", "complaints", "--skill", "water=1",
                "--wrap-required")
    assert added.exit_code == 0, added.output
    assert listed() == {"complaints": True, "water": False, "billing": False}
    line = next(li for li in ccd(site_config, "queues", "list").output.splitlines()
                if li.startswith("complaints"))
    assert "30s+须填代码" in line
    assert ccd(site_config, "queues", "set", "complaints", "--wrap-up", "45").exit_code == 0
    assert listed()["complaints"] is True  # not given: unchanged
    assert ccd(site_config, "queues", "set", "complaints", "--no-wrap-required").exit_code == 0
    assert listed()["complaints"] is False
    assert ccd(site_config, "queues", "set", "water", "--wrap-required").exit_code == 0
    assert listed() == {"complaints": False, "water": True, "billing": False}
    from db import open_database

    db = open_database(site_config.database_path)
    stored = dict(db.execute("SELECT name, wrap_up_required FROM queues").fetchall())
    details = [json.loads(r["details"]) for r in rows(
        db, "SELECT details FROM audit_log WHERE action = 'queues.set' ORDER BY id")]
    db.close()
    assert stored == {"complaints": 0, "water": 1, "billing": None}
    assert details == [{"wrap_up_s": 45.0}, {"wrap_up_required": False},
                       {"wrap_up_required": True}]


class Daemonish:
    """The API server and the ACD runtime in their own thread and trio run, holding the lock."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.services: AcdServices | None = None
        self._ready = threading.Event()
        self._stop: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._thread = threading.Thread(target=lambda: trio.run(self._main), daemon=True)

    async def _main(self) -> None:
        self._stop = trio.lowlevel.current_trio_token()
        with DatabaseLock(self.config.database_path), trio.CancelScope() as scope:
            self._scope = scope
            self.services = AcdServices(self.config)
            async with trio.open_nursery() as nursery:
                await start_runtime(nursery, self.services, AcdSettings(wrap_up_s=0),
                                    tmp_path=Path(self.config.paths.data_dir))
                await nursery.start(serve_api, self.config, self.services)
                self._ready.set()
        self.services.db.close()

    def __enter__(self) -> Daemonish:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._scope is not None and self._stop is not None
        trio.from_thread.run_sync(self._scope.cancel, trio_token=self._stop)
        self._thread.join(10)


@pytest.fixture
def daemon(site_config: Config) -> Iterator[Daemonish]:
    with Daemonish(site_config) as d:
        yield d


def test_queue_added_through_the_daemon_is_live_at_once(
    site_config: Config, daemon: Daemonish
) -> None:
    added = ccd(site_config, "queues", "add", "gas", "--skill", "gas=1")
    assert added.exit_code == 0, added.output
    assert daemon.services is not None and daemon.services.acd is not None
    assert "gas" in daemon.services.acd.acd.queue_names()
    changed = ccd(site_config, "queues", "set", "gas", "--wrap-up", "5")
    assert "已修改队列 gas" in changed.output and "重启" not in changed.output
    gas = daemon.services.acd.acd.queue_config("gas")
    assert gas is not None and gas.wrap_up_s == 5  # applied to the running ACD at once


def test_agent_cli_logs_in_goes_ready_and_not_ready(
    site_config: Config, daemon: Daemonish
) -> None:
    script = "state\nready\nnotready meal\nhold\nbogus\nwrapup\nlogout\nquit\n"
    result = ccd(site_config, "agent-cli", "--user", "agent1001", "--station", "seat01",
                 input=script, CCD_PASSWORD=PASSWORD)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("*")]
    assert lines == [
        "not_ready:login @seat01",
        "not_ready:login @seat01",
        "ready @seat01",
        "not_ready:meal @seat01",
        "! bad-agent-transition: 当前状态（not_ready）下不能执行“call-control”",
        "未知命令：bogus（help 查看帮助）",
        "! wrapup 缺少参数，用法：wrapup CODE [NOTE]",  # not a msgspec message
        "logged_out",
    ]
    pushed = [line for line in result.output.splitlines() if line.startswith("* state")]
    assert pushed[:3] == ["* state not_ready:login", "* state ready", "* state not_ready:meal"]
    from db import connect

    db = connect(site_config.database_path)
    states = [r["state"] for r in rows(db, "SELECT state FROM agent_state_log WHERE agent = "
                                           "'agent1001' ORDER BY id")]
    db.close()
    assert states == ["not_ready", "ready", "not_ready", "logged_out"]

    wrong = ccd(site_config, "agent-cli", "--user", "agent1001", input="quit\n",
                CCD_PASSWORD="wrong password")
    assert wrong.exit_code == 1


def test_agent_cli_shows_events_as_they_come(site_config: Config, daemon: Daemonish) -> None:
    """A team lead forces the agent not ready: the line appears while agent-cli waits for
    input, not after the agent's next command."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccd", "--config", site_config.source, "agent-cli", "--user",
         "agent1002", "--station", "seat02", "--ready"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CCD_PASSWORD": PASSWORD})
    assert proc.stdout is not None and proc.stdin is not None
    try:
        assert _line_with(proc, "ready @seat02").startswith("ready")
        assert daemon.services is not None and daemon._stop is not None
        acd = daemon.services.acd
        trio.from_thread.run_sync(lambda: acd.force_state("agent1002", "not_ready", "meal",
                                                          by="lead1"), trio_token=daemon._stop)
        assert _line_with(proc, "* state not_ready") == "* state not_ready:meal"
    finally:
        proc.stdin.close()
        assert proc.wait(10) == 0


def _line_with(proc: subprocess.Popen[str], needle: str, limit_s: float = 10.0) -> str:
    """The first line of the process's output that holds `needle` (no input is sent). Reads the
    raw pipe (a buffered readline would hide lines from select)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffered = _pending.setdefault(fd, b"")
    deadline = time.monotonic() + limit_s
    while True:
        *complete, buffered = buffered.split(b"\n")
        for i, raw in enumerate(complete):
            line = raw.decode()
            if needle in line:
                _pending[fd] = b"\n".join([*complete[i + 1:], buffered])
                return line.strip()
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, left))
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            raise AssertionError(f"no line with {needle!r} within {limit_s} s")
        buffered += chunk


_pending: dict[int, bytes] = {}
