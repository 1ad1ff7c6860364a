"""`[[dialogic]]` in a real daemon: with the runtime present its channels are opened and idle;
without it the daemon still runs and `ccd status` names the missing library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.daemon_proc import DaemonProcess
from tests.dialogic.test_driver import runtime_dir  # noqa: F401 - the fixture


@pytest.mark.parametrize("present", [True, False])
def test_daemon_with_board_channels(tmp_path, runtime_dir, present):  # noqa: F811
    out = subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(tmp_path / "site")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    config = tmp_path / "site" / "ccd.toml"
    folder = runtime_dir if present else tmp_path / "no-runtime"
    with config.open("a", encoding="utf-8") as f:
        f.write(f'\n[[dialogic]]\nname = "dxxxB3C1"\nlibrary_dir = "{folder}"\n')
    daemon = DaemonProcess(config).start()
    try:
        status = subprocess.run([sys.executable, "-m", "ccd", "--config", str(config), "status",
                                 "--json"], capture_output=True, text=True)
        text = subprocess.run([sys.executable, "-m", "ccd", "--config", str(config), "status"],
                              capture_output=True, text=True).stdout
    finally:
        assert daemon.stop() == 0, daemon.output
    line = json.loads(status.stdout)["lines"]["lines"][0]
    assert line["driver"] == "dialogic" and line["line"] == "dxxxB3C1"
    if present:
        assert line["state"] == "idle" and line["last_error"] == ""
        assert "dxxxB3C1  空闲" in text
    else:
        assert line["state"] == "down" and "libsrl.so was not found" in line["last_error"]
        assert "libsrl.so was not found" in daemon.output and "最近故障" in text
