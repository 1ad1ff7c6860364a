"""`ccd deploy daemon|kiosk`: the files written, what they say, and `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ccd.cli.main import app as ccd_app
from ccd.cli_deploy import deploy_app

runner = CliRunner()


def cli() -> typer.Typer:
    """The `ccd` app with `deploy` (added here until the lead registers it)."""
    if not any(group.name == "deploy" for group in ccd_app.registered_groups):
        ccd_app.add_typer(deploy_app, name="deploy")
    return ccd_app


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deploy") / "site"
    subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(folder), "--no-prompts"],
                   check=True, capture_output=True, text=True)
    return folder / "ccd.toml"


def deploy(site: Path, *args: str):
    return runner.invoke(cli(), ["--config", str(site), "deploy", *args])


def service_section(text: str) -> dict[str, list[str]]:
    section, out = "", {}
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(f"{section}.{key}", []).append(value)
    return out


def test_daemon_unit(site: Path, tmp_path: Path) -> None:
    result = deploy(site, "daemon", "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    unit = tmp_path / "ccd.service"
    assert f"  {unit}" in result.output and "systemctl enable --now ccd.service" in result.output
    keys = service_section(unit.read_text())
    assert keys["Service.Type"] == ["notify"]
    assert keys["Service.WatchdogSec"] == ["30"]
    assert keys["Service.Restart"] == ["on-failure"]
    assert keys["Service.User"] == ["ccd"] and keys["Service.Group"] == ["ccd"]
    assert keys["Service.RuntimeDirectory"] == ["ccd"]
    (command,) = keys["Service.ExecStart"]
    assert f"--config {site}" in command and command.endswith(" run")
    assert "--set paths.run_dir=/run/ccd" in command
    sysusers = (tmp_path / "ccd.sysusers.conf").read_text()
    assert f'u ccd - "ccd contact center" {site.parent}' in sysusers


def test_kiosk_unit(site: Path, tmp_path: Path) -> None:
    result = deploy(site, "kiosk", "--output", str(tmp_path), "--tty", "tty2", "--login", "qa1")
    assert result.exit_code == 0, result.output
    assert "systemctl enable --now ccd-wallboard@tty2.service" in result.output
    keys = service_section((tmp_path / "ccd-wallboard@.service").read_text())
    assert keys["Service.Restart"] == ["always"]
    assert keys["Unit.StartLimitIntervalSec"] == ["0"]
    assert keys["Service.TTYPath"] == ["/dev/%I"]
    assert keys["Service.StandardInput"] == ["tty"]
    assert keys["Unit.Conflicts"] == ["getty@%i.service"]
    assert keys["Install.WantedBy"] == ["multi-user.target"]
    (command,) = keys["Service.ExecStart"]
    assert command.endswith("wallboard --kiosk")
    env = tmp_path / "wallboard.env"
    assert "CCD_USER=qa1" in env.read_text()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_kiosk_refuses_a_tty_that_is_not_one(site: Path, tmp_path: Path) -> None:
    result = deploy(site, "kiosk", "--output", str(tmp_path), "--tty", "pts/3")
    assert result.exit_code == 1
    assert "--tty must name a virtual console" in result.output
    assert not (tmp_path / "ccd-wallboard@.service").exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package `systemd`)")
def test_systemd_analyze_verify_accepts_the_units(site: Path, tmp_path: Path) -> None:
    assert deploy(site, "daemon", "--output", str(tmp_path)).exit_code == 0
    assert deploy(site, "kiosk", "--output", str(tmp_path)).exit_code == 0
    # verify needs an instance of the template, as systemctl enable would make.
    shutil.copy(tmp_path / "ccd-wallboard@.service", tmp_path / "ccd-wallboard@tty1.service")
    out = subprocess.run(
        ["systemd-analyze", "verify", "ccd.service", "ccd-wallboard@tty1.service"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    ours = [line for line in (out.stdout + out.stderr).splitlines()
            if "ccd.service" in line or "ccd-wallboard" in line]
    assert out.returncode == 0 and ours == [], out.stdout + out.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package `systemd`)")
def test_systemd_analyze_catches_a_broken_unit(site: Path, tmp_path: Path) -> None:
    """The check above can fail: a unit with a bad key is reported."""
    assert deploy(site, "daemon", "--output", str(tmp_path)).exit_code == 0
    unit = tmp_path / "ccd.service"
    unit.write_text(unit.read_text().replace("WatchdogSec=30", "WatchdogSecs=30"))
    out = subprocess.run(["systemd-analyze", "verify", "ccd.service"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert "Unknown key 'WatchdogSecs'" in out.stdout + out.stderr
