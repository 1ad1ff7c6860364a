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

    from ccd import cli_acd

    app.add_typer(cli_acd.queues_app, name="queues")
    app.add_typer(cli_acd.stations_app, name="stations")
    app.add_typer(cli_acd.agent_cli_app, name="agent-cli")

    from ccd import cli_callers, cli_calls, cli_phone

    app.add_typer(cli_calls.app, name="calls")
    app.add_typer(cli_callers.app, name="callers")

    from ccd import cli_audit

    app.command("audit", help=cli_audit.audit.__doc__)(cli_audit.audit)

    from ccd import cli_smdr

    app.add_typer(cli_smdr.app, name="smdr")

    app.command("phone", help=cli_phone.phone.__doc__)(cli_phone.phone)
    register_deploy(app)

    from tui.agent.cli import agent
    from tui.wallboard.cli import wallboard

    app.command("agent", help=agent.__doc__)(agent)
    app.command("wallboard", help=wallboard.__doc__)(wallboard)


def register_deploy(app: typer.Typer) -> None:
    """`ccd deploy`: systemd units (daemon, kiosk) and the Kamailio front end."""
    from ccd import cli_kamailio
    from ccd.cli_deploy import deploy_app

    deploy_app.command("kamailio", help=cli_kamailio.kamailio.__doc__)(cli_kamailio.kamailio)
    app.add_typer(deploy_app, name="deploy")
