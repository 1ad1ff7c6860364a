"""`ccd wallboard`: the command's options, and a kiosk that starts a fresh board after a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.wallboard import ccd_cli
from tui.wallboard import cli

runner = CliRunner()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wbcli") / "site"
    subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(folder), "--no-prompts"],
                   check=True, capture_output=True, text=True)
    return folder / "ccd.toml"


class Crashing:
    """An app whose run ends the way a crash does (Textual returns code 1, or it raises)."""

    made: list[dict[str, Any]] = []

    def __init__(self, client: Any, *, login: Any, **options: Any) -> None:
        self.options = options
        Crashing.made.append(options)

    def run(self, mouse: bool = True) -> None:
        if len(Crashing.made) % 2:
            raise RuntimeError("drawing failed")


class Stop(Exception):
    pass


def test_kiosk_starts_a_new_board_after_each_crash(site: Path, monkeypatch) -> None:
    Crashing.made = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise Stop  # the test's way out of a loop that never ends by itself

    monkeypatch.setattr(cli, "create_app", Crashing)
    monkeypatch.setattr(cli.time, "sleep", sleep)
    result = runner.invoke(ccd_cli.app, ["--config", str(site), "wallboard", "--kiosk"])
    assert isinstance(result.exception, Stop)
    assert len(Crashing.made) == 3 and sleeps == [cli.KIOSK_RESTART_S] * 3
    options = Crashing.made[0]
    assert options["kiosk"] is True
    assert options["language"] == "zh" and options["timezone"] == "Asia/Shanghai"
    assert options["settings"].kiosk_page_s == 15.0


def test_without_kiosk_a_crash_is_reported(site: Path, monkeypatch) -> None:
    Crashing.made = []
    monkeypatch.setattr(cli, "create_app", Crashing)
    result = runner.invoke(ccd_cli.app, ["--config", str(site), "wallboard"])
    assert isinstance(result.exception, RuntimeError)
    assert len(Crashing.made) == 1 and Crashing.made[0]["kiosk"] is False


def test_a_bad_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(ccd_cli.app, ["--config", str(tmp_path / "none.toml"), "wallboard"])
    assert result.exit_code == 1
    assert "no such config file" in result.output
