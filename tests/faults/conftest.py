"""A demo site and its prompts for the fault tests (real daemon, real SIP, real SQLite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prompts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("prompts")
    out = subprocess.run(
        [sys.executable, "-m", "ccd", "prompts", "build", "--prompts-dir", str(folder)],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    return folder


def make_site(base: Path, customers: int = 200) -> Path:
    """`ccd init --demo` into base/site; returns its ccd.toml."""
    out = subprocess.run(
        [sys.executable, "-m", "ccd", "init", "--dir", str(base / "site"), "--demo",
         "--customers", str(customers)],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    return base / "site" / "ccd.toml"
