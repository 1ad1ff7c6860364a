"""A demo site with built prompts for end-to-end tests of the SIP edge, and small helpers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.daemon_proc import DaemonProcess


def build_site(base: Path) -> tuple[Path, Path]:
    """A demo site (50 customers) and its prompts under `base`: (ccd.toml, prompts folder)."""
    prompts = base / "prompts"
    out = subprocess.run([sys.executable, "-m", "ccd", "prompts", "build", "--prompts-dir",
                          str(prompts)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(base / "site"),
                          "--demo", "--customers", "50"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return base / "site" / "ccd.toml", prompts


def edge_port(daemon: DaemonProcess) -> int:
    line = next(x for x in daemon.stderr_lines if "answering SIP calls at" in x)
    return int(line.rsplit(":", 1)[1])


def status(config: Path) -> dict[str, Any]:
    from ccd.api.client import SyncClient

    client = SyncClient.connect(config.parent / "run" / "ccd.sock")
    try:
        client.login_peer()
        return client.call("status")
    finally:
        client.close()


