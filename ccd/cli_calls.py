"""`ccd calls list|show`: the call records the daemon keeps (through the socket)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ccd.cli.context import connect

app = typer.Typer(help="Call records: recent calls, one call with its events.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(
        help="Only calls from this time on (ISO 8601, UTC, e.g. 2026-11-23T08:00).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many calls.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Recent call records, newest first.

    Examples:

      ccd --config demo-site/ccd.toml calls list

      ccd calls list --since 2026-11-23T00:00 --json | jq '.[].digits'
    """
    with connect(ctx) as client:
        calls = client.call("calls.list", since=since, limit=limit)
    if as_json:
        typer.echo(json.dumps(calls, ensure_ascii=False))
        return
    for c in calls:
        typer.echo(
            f"{c['id']}  {c['start'][:19]}  {c['src']:<14} {c['disposition']:<12} "
            f"{(c.get('duration') or 0):>6.1f}s  digits={c['digits'] or '-':<8} "
            f"{'>'.join(c['ivr_path'][-3:])}"
        )


@app.command("show")
def show(
    ctx: typer.Context,
    call_id: Annotated[str, typer.Argument(help="The call's id (see `ccd calls list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """One call record with its events and recordings.

    Examples:

      ccd calls show 20261123T083000-1a2b3c4d
    """
    with connect(ctx) as client:
        call = client.call("calls.show", id=call_id)
    if as_json:
        typer.echo(json.dumps(call, ensure_ascii=False))
        return
    events = call.pop("events")
    recordings = call.pop("recordings")
    for key, value in call.items():
        if value not in (None, "", []):
            typer.echo(f"{key:<14} {value}")
    typer.echo("events:")
    for e in events:
        typer.echo(f"  {e['at'][11:23]}  {e['kind']:<12} {json.dumps(e['data'], ensure_ascii=False)}")
    for r in recordings:
        typer.echo(f"recording: {r['path']} ({r['seconds']:.1f} s, {r['kind']})")
