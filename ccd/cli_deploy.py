"""`ccd deploy`: systemd files for the daemon and for a wallboard kiosk (see ccd/deploy.py).

    ccd --config /srv/ccd/ccd.toml deploy daemon --output /tmp/units
    ccd --config /srv/ccd/ccd.toml deploy kiosk --output /tmp/units --tty tty1

Both print what they wrote and the commands that install and enable it (run them as root).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccd import deploy
from ccd.cli.context import fail, state
from ccd.errors import CcdError

deploy_app = typer.Typer(
    help="Write systemd units: the daemon, or a wallboard kiosk on a text console.",
    no_args_is_help=True,
)

Output = Annotated[
    Path, typer.Option("--output", "-o", help="Folder for the files (created if needed).")
]


def _site(ctx: typer.Context) -> deploy.Site:
    try:
        config = state(ctx).config
    except CcdError as e:
        raise fail(e.message) from None
    if not config.source or not Path(config.source).exists():
        raise fail("no config file: give one with --config (the units run that site)")
    return deploy.Site(
        config=Path(config.source).resolve(),
        executable=deploy.ccd_executable(),
        name=config.site.name,
        group=config.api.group,
    )


def _report(written: list[Path], steps: list[str]) -> None:
    typer.echo("wrote:")
    for path in written:
        typer.echo(f"  {path}")
    typer.echo("to install and enable (as root):")
    for step in steps:
        typer.echo(f"  {step}")


@deploy_app.command("daemon")
def daemon(
    ctx: typer.Context,
    output: Output = Path("."),
    watchdog: Annotated[int, typer.Option(help="WatchdogSec: restart a hung daemon.")] = 30,
) -> None:
    """The daemon's unit (Type=notify, watchdog, restart on failure, user `ccd`, /run/ccd).

    Examples:

      ccd --config /srv/ccd/ccd.toml deploy daemon --output /tmp/units

      ccd --config /srv/ccd/ccd.toml deploy daemon --watchdog 60
    """
    site = _site(ctx)
    if watchdog < 2:
        raise fail("--watchdog must be at least 2 seconds")
    written = deploy.write(
        {deploy.DAEMON_UNIT: deploy.daemon_unit(site, watchdog_s=watchdog),
         deploy.SYSUSERS: deploy.sysusers(site)},
        output,
    )
    _report(written, deploy.daemon_steps(site, output.resolve()))
    typer.echo(f"note: clients on this machine find the socket at {deploy.RUN_DIR}/"
               f"{Path(state(ctx).config.api.socket).name}: set [paths] run_dir = "
               f"\"{deploy.RUN_DIR}\" in {site.config} so `ccd` commands use it too.")


@deploy_app.command("kiosk")
def kiosk(
    ctx: typer.Context,
    output: Output = Path("."),
    tty: Annotated[str, typer.Option(help="The console the board takes over.")] = "tty1",
    user: Annotated[str, typer.Option(help="Unix user the board runs as.")] = "ccd-kiosk",
    login: Annotated[str, typer.Option(help="ccd user to log in as (team lead or QA).")] = "",
    fbterm: Annotated[
        bool, typer.Option(help="Draw with fbterm and a CJK font (Chinese on a bare console).")
    ] = False,
) -> None:
    """A unit that starts `ccd wallboard --kiosk` on a text console at boot, restarted always.

    Examples:

      ccd --config /srv/ccd/ccd.toml deploy kiosk --output /tmp/units --tty tty1

      ccd --config /srv/ccd/ccd.toml deploy kiosk --login lead1 --fbterm
    """
    site = _site(ctx)
    if not tty.startswith("tty") or not tty[3:].isdigit():
        raise fail(f"--tty must name a virtual console like tty1, not {tty!r}")
    written = deploy.write(
        {deploy.KIOSK_UNIT: deploy.kiosk_unit(site, user=user, fbterm=fbterm),
         deploy.KIOSK_ENV: deploy.kiosk_env(login)},
        output,
    )
    _report(written, deploy.kiosk_steps(site, output.resolve(), user=user, tty=tty))
    if not fbterm:
        typer.echo("note: the Linux console cannot draw Chinese; use --fbterm (apt install "
                   "fbterm fonts-wqy-zenhei) or set site.language = \"en\".")
