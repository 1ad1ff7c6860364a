"""A `ccd`-like typer app with the feature command groups, for CliRunner tests.

It has the main app's global `--config` option and nothing else, so a test of `ccd wo` or
`ccd kb` does not depend on which other groups are wired into `ccd.cli` yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccd import cli_wo
from ccd.cli.context import State
from db import open_database

SITE = """\
[site]
name = "测试热线"

[paths]
data_dir = "."
database = "ccd.sqlite3"
run_dir = "run"
"""


def build() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def main(
        ctx: typer.Context,
        config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
    ) -> None:
        ctx.obj = State(config_path=config)

    cli_wo.register(app)
    return app


def make_site(base: Path) -> Path:
    """A site folder with its ccd.toml and a migrated database; returns the config path."""
    cfg = base / "ccd.toml"
    cfg.write_text(SITE, encoding="utf-8")
    open_database(base / "ccd.sqlite3").conn.close()
    return cfg
