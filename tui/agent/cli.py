"""`ccd agent`: the agent console (the lead registers it).

    app.command("agent", help=agent.__doc__)(agent)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import tomllib
import typer

from ccd.cli.context import fail, state
from ccd.errors import CcdError
from tui.agent.app import create_app
from tui.client import AsyncioClient


def read_keymap(path: Path) -> dict[str, str]:
    """A keymap file: a TOML `[keys]` table of action = key (e.g. answer = "f1")."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CcdError(f"{path}: cannot read the keymap ({exc})", error_id="bad-keymap") from None
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise CcdError(f"{path}: [keys] must map actions to key names", error_id="bad-keymap")
    return keys


def agent(
    ctx: typer.Context,
    agent_number: Annotated[str, typer.Option("--agent", help="Prefill the agent (工号).")] = "",
    station: Annotated[str, typer.Option(help="Prefill the station (座席号).")] = "",
    language: Annotated[str, typer.Option(help="zh or en (default: the site's).")] = "",
    keys: Annotated[Path | None, typer.Option(help="TOML file with a [keys] table.")] = None,
    answer: Annotated[str, typer.Option(help="console: answer with the key (auto-answer "
                                             "phone); phone: pick up the desk phone.")] = "console",
) -> None:
    """Open the agent console: log in, take calls, work orders, knowledge, all by keys.

    Examples:

      ccd agent

      ccd agent --agent agent1001 --station seat01

      ccd agent --keys ~/.config/ccd/keys.toml --language en
    """
    try:
        config = state(ctx).config
        keymap = read_keymap(keys) if keys is not None else {}
        app = create_app(
            AsyncioClient(config.socket_path),
            language=language or config.site.language,
            timezone=config.site.timezone,
            keys=keymap,
            agent=agent_number or os.environ.get("CCD_AGENT", ""),
            station=station or os.environ.get("CCD_STATION", ""),
            answer=answer,
        )
    except CcdError as e:
        raise fail(e.message) from None
    app.run()
