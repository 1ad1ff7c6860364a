"""`ccd smdr import`: call records from an existing PBX's SMDR log (offline, like `db migrate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import db as database
from ccd.cli.context import fail, state
from ccd.lock import is_locked

app = typer.Typer(help="Import call records from an existing PBX (SMDR).", no_args_is_help=True)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The SMDR log as the PBX printed it.")],
    fmt: Annotated[str, typer.Option("--format", help="panasonic (KX-TDA/NS fixed columns) or "
                                     "avaya (IP Office CSV).")] = "panasonic",
) -> None:
    """Add a PBX's call records to the call history (the same file twice adds nothing).

    Run it while the daemon is stopped; times are read in the site's time zone.

    Examples:

      ccd --config site/ccd.toml smdr import pbx-2026-12.log --format panasonic

      ccd smdr import smdr.csv --format avaya
    """
    from ccd import smdr

    if fmt not in smdr.FORMATS:
        raise fail(f"--format must be one of {', '.join(smdr.FORMATS)}, not {fmt!r}")
    config = state(ctx).config
    path = config.database_path
    if is_locked(path):
        raise fail(f"{path} is in use by a running daemon; stop it (ccd deploy) and run again")
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise fail(f"{file}: cannot read: {e.strerror}") from None
    db = database.open_database(path)
    try:
        result = smdr.import_lines(db, text.splitlines(), fmt, config.site.timezone)
    finally:
        db.conn.close()
    typer.echo(f"{file}: {result.imported} imported, {result.already} already there, "
               f"{result.skipped} headers or blank lines, {len(result.errors or [])} not records")
    for error in (result.errors or [])[:20]:
        typer.echo(f"  {error}", err=True)
    if result.errors:
        raise typer.Exit(code=1)
