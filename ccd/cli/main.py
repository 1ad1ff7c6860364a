"""`ccd`: the sysadmin's command line. One `typer.Typer()` per noun, joined here.

Global options come before the command: `ccd --config site/ccd.toml --set sip.listen=... run`.
The config is loaded lazily, so `ccd init` works before any config exists.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ccd.cli import dbcmd, site, users
from ccd.cli.context import State
from ccd.errors import CcdError
from ccd.filemodes import restrict_umask

app = typer.Typer(
    name="ccd",
    help=(
        "ccd — contact center for public utilities (water, power, gas hotlines).\n\n"
        "Examples:\n\n"
        "  ccd init --dir site --demo        # a demo site in ./site\n\n"
        "  ccd --config site/ccd.toml run    # start the daemon\n\n"
        "  ccd --config site/ccd.toml status # ask the running daemon"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Config file (default: $CCD_CONFIG, else ./ccd.toml).",
            envvar="CCD_CONFIG",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a setting for this run: SECTION.KEY=VALUE (repeatable).",
            metavar="SECTION.KEY=VALUE",
        ),
    ] = None,
) -> None:
    restrict_umask()  # whatever this command creates: 0750 folders, 0640 files (filemodes.py)
    ctx.obj = State(config_path=config, overrides=list(set_ or []))


app.command("init", help=site.init.__doc__)(site.init)
app.command("run", help=site.run.__doc__)(site.run)
app.command("status", help=site.status.__doc__)(site.status)
app.add_typer(site.config_app, name="config")
app.add_typer(users.app, name="users")
app.add_typer(dbcmd.app, name="db")


def _add_optional_apps() -> None:
    """Sub-apps of the feature issues, added when their modules are present."""
    from ccd.cli.plugins import register

    register(app)


_add_optional_apps()


def main() -> None:
    try:
        app()
    except CcdError as e:
        typer.echo(f"ccd: {e.message}", err=True)
        sys.exit(1)
