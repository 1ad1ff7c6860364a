"""Suite-wide fixtures: `snap_compare`, the SVG snapshot of a Textual app.

    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario)

Runs `app` headless at that size (Pilot), awaits `run_before(pilot)`, exports the screen as SVG
and compares it with `<test folder>/__snapshots__/<test module>/<test name>.svg`.
`pytest --snapshot-update` writes the files instead (review them before committing).
It is the interface of pytest-textual-snapshot, written here because that plugin pins an old
syrupy that holds pytest below 9.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.snapshot_helpers import stored


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--snapshot-update", action="store_true", default=False,
                     help="write the SVG snapshots instead of comparing with them")


@pytest.fixture
def snap_compare(request: pytest.FixtureRequest) -> Callable[..., bool]:
    def compare(app: Any, terminal_size: tuple[int, int] = (80, 24),
                run_before: Callable[[Any], Awaitable[None]] | None = None) -> bool:
        async def take() -> str:
            async with app.run_test(size=terminal_size) as pilot:
                if run_before is not None:
                    await run_before(pilot)
                await pilot.pause()
                svg: str = app.export_screenshot(simplify=True)
                return svg

        svg = asyncio.run(take())
        path = stored(request)
        if request.config.getoption("--snapshot-update"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(svg, encoding="utf-8")
            return True
        return path.exists() and path.read_text(encoding="utf-8") == svg

    return compare


def shared_prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The IVR's prompts, built once per run into the run's base temp folder (espeak-ng).

    Sites made with `ccd init --no-prompts` point `paths.prompts` here, so the suite does not
    synthesize the same 264 prompts for every site."""
    import subprocess
    import sys

    folder = tmp_path_factory.getbasetemp() / "ccd-prompts"
    built = folder / ".built"
    if not built.exists():
        out = subprocess.run([sys.executable, "-m", "ccd", "prompts", "build", "--prompts-dir",
                              str(folder)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        built.touch()
    return folder


@pytest.fixture(scope="session")
def built_prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_prompts(tmp_path_factory)
