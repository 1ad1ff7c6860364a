"""`ccd audit`: read the audit log (through the socket; admins only).

Times are shown in the site's time zone; --since/--until take local date-times ('2026-11-23',
'2026-11-23 08:00') or 'Nh'/'Nd' (hours or days back), and are sent to the daemon as UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from ccd.cli.context import connect, fail, state
from ccd.timefmt import iso, parse

RELATIVE = re.compile(r"^(\d+)([hd])$")


def to_utc(text: str, tz: ZoneInfo, now: float) -> str:
    """A --since/--until value as the daemon's ISO UTC text; raises ValueError if unreadable."""
    m = RELATIVE.match(text.strip())
    if m:
        seconds = int(m.group(1)) * (3600 if m.group(2) == "h" else 86400)
        return iso(now - seconds)
    local = dt.datetime.fromisoformat(text.strip().replace(" ", "T"))
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    return iso(local.timestamp())


def audit(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Only entries by this user ('anonymous' "
                                              "for refusals before login).")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (an API method, "
                                               "'login', 'connect').")] = None,
    outcome: Annotated[str | None, typer.Option(help="ok, failed, refused or forbidden.")] = None,
    target: Annotated[str | None, typer.Option(help="Only entries about this target.")] = None,
    since: Annotated[str | None, typer.Option(help="From this local time, or '24h', '7d'.")] = None,
    until: Annotated[str | None, typer.Option(help="Before this local time.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries (1-1000).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list (UTC times).")] = False,
) -> None:
    """The audit log, newest first: logins, changes, and every refusal.

    Examples:

      ccd audit --since 24h --outcome failed

      ccd audit --actor anonymous --action login --json | jq length
    """
    import time

    tz = ZoneInfo(state(ctx).config.site.timezone)
    params: dict[str, Any] = {"limit": limit}
    for key, value in (("actor", actor), ("action", action), ("outcome", outcome),
                       ("target", target)):
        if value is not None:
            params[key] = value
    for key, value in (("since", since), ("until", until)):
        if value is not None:
            try:
                params[key] = to_utc(value, tz, time.time())
            except ValueError:
                raise fail(f"--{key} {value!r}: expected a date-time such as 2026-11-23 08:00, "
                           "or 24h / 7d") from None
    with connect(ctx) as client:
        entries = client.call("audit.list", **params)
    if as_json:
        typer.echo(json.dumps(entries, ensure_ascii=False))
        return
    for e in entries:
        local = dt.datetime.fromtimestamp(parse(e["at"]), tz).strftime("%Y-%m-%d %H:%M:%S")
        details = json.dumps(e["details"], ensure_ascii=False, sort_keys=True)
        typer.echo(f"{local}  {e['outcome']:<9} {e['actor']:<14} {e['action']:<22} "
                   f"{e['target'] or '-':<16} {details}")
    if not entries:
        typer.echo("no audit entries match")
