"""The feature issues' command groups, joined onto the main app in one place."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from ccd.ivr.cli import flows_app, prompts_app

    app.add_typer(flows_app, name="flows")
    app.add_typer(prompts_app, name="prompts")

    from ccd import cli_wfm

    app.add_typer(cli_wfm.wfm_app, name="wfm")
    app.command("simulate", help=cli_wfm.simulate.__doc__)(cli_wfm.simulate)

    from ccd import cli_wo

    cli_wo.register(app)
