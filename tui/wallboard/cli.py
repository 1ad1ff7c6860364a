"""`ccd wallboard [--kiosk]`: the command that opens the board (the lead registers it).

    app.command("wallboard", help=wallboard.__doc__)(wallboard)

Logs in with $CCD_USER / $CCD_PASSWORD when CCD_USER is set, else as the local Unix user
(peer credentials). $CCD_STATION names the team lead's phone for listening (a station or a
sip: URI); without it the board asks the first time.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ccd.cli.context import fail, state
from ccd.errors import CcdError
from ccd.reports.settings import settings_of
from tui.client import AsyncioClient
from tui.wallboard.app import create_app

log = logging.getLogger("ccd.wallboard.tui")
# A kiosk whose app ended anyway (a bug in drawing) starts a new one after this long.
KIOSK_RESTART_S = 2.0


def login_from_environment() -> Callable[[AsyncioClient], Any]:
    """How the board logs in: $CCD_USER / $CCD_PASSWORD, else peer credentials."""
    user = os.environ.get("CCD_USER")
    password = os.environ.get("CCD_PASSWORD", "")

    async def login(client: AsyncioClient) -> dict[str, Any]:
        if user:
            return await client.login(user, password)
        return await client.login_peer()

    return login


def wallboard(
    ctx: typer.Context,
    kiosk: Annotated[
        bool,
        typer.Option(
            "--kiosk",
            help="Wall-screen mode: big figures, pages cycle, reconnects forever. No key and no "
            "click does anything, on purpose: a wall screen's keyboard is within anyone's reach. "
            "Stop it as a service: systemctl stop ccd-wallboard@tty1 (what `ccd deploy kiosk` "
            "installs), or kill its process.",
        ),
    ] = False,
) -> None:
    """Open the supervisor wallboard (team leads; QA may watch).

    Examples:

      ccd wallboard

      CCD_USER=lead1 CCD_PASSWORD=... ccd wallboard

      ccd wallboard --kiosk        # what `ccd deploy kiosk` runs on a wall screen
    """
    try:
        config = state(ctx).config
    except CcdError as e:
        raise fail(e.message) from None
    settings = settings_of(config)
    options: dict[str, Any] = {
        "kiosk": kiosk,
        "settings": settings,
        "language": config.site.language,
        "timezone": config.site.timezone,
        "site_name": config.site.name,
        "station": os.environ.get("CCD_STATION") or None,
    }
    login = login_from_environment()
    while True:
        app = create_app(AsyncioClient(config.socket_path), login=login, **options)
        try:
            app.run(mouse=not kiosk)
        except Exception:
            if not kiosk:
                raise
            # Contained: the wall must come back by itself; log and start a fresh board.
            log.exception("wallboard crashed; restarting")
        if not kiosk:
            return
        time.sleep(KIOSK_RESTART_S)
