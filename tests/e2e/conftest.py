"""Fixtures for the end-to-end tests of the SIP edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.edge_site import build_site


@pytest.fixture(scope="session")
def edge_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A demo site with built prompts, shared by the edge tests (each starts its own daemon)."""
    return build_site(tmp_path_factory.mktemp("edge"))
