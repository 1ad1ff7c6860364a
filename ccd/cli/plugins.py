"""The feature issues' command groups, joined onto the main app in one place."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
