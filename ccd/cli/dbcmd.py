"""`ccd db`: migrate, check, verify (the call records' seals), backup (online), restore."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

import db as database
from ccd import timefmt
from ccd.cli.context import fail, state
from ccd.lock import is_locked

app = typer.Typer(help="The database: migrate, check, backup, restore.", no_args_is_help=True)


@app.command("migrate")
def migrate(ctx: typer.Context) -> None:
    """Apply pending schema migrations (the daemon also does this at start-up).

    Examples:

      ccd --config site/ccd.toml db migrate
    """
    config = state(ctx).config
    path = config.database_path
    if is_locked(path):
        raise fail(f"{path} is in use by a running daemon; it migrates at start-up")
    db = database.open_database(path, apply_migrations=False)
    applied = database.migrate(db, path)
    db.conn.close()
    typer.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Check integrity, foreign keys and pending migrations; exit 1 on any fault.

    Examples:

      ccd db check
    """
    from db import backup

    config = state(ctx).config
    report = backup.check(config.database_path)
    for key, value in report.items():
        typer.echo(f"{key}: {value}")
    sealed = _verify(config)
    if not report.get("ok", False) or not sealed:
        raise typer.Exit(code=1)


@app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Check the call records' seals: every call changed, removed or inserted since it was
    sealed is listed; exit 1 if any. Safe while the daemon runs (reads only).

    Examples:

      ccd db verify
    """
    if not _verify(state(ctx).config):
        raise typer.Exit(code=1)


def _verify(config: Any) -> bool:
    """Print the seal check of the config's database; True when nothing is wrong."""
    from db import seal

    key_path = config.path(config.database.seal_key_file)
    try:
        key = seal.load_key(key_path)
    except seal.SealKeyError as e:
        raise fail(e.message) from None
    import sqlite3

    import sqlite_utils

    path = config.database_path
    if not path.exists():
        raise fail(f"{path}: no such database")
    db = sqlite_utils.Database(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                               timeout=30))
    try:
        if key is None:
            count = db.execute("SELECT count(*) FROM call_seals").fetchone()[0]
            typer.echo(f"seals: no key at {key_path}" + (
                f", but {count} call records are sealed: restore the key" if count else
                " and nothing sealed yet"))
            return count == 0
        report = seal.verify(db, key, key_path.with_name(key_path.name + ".head"))
    finally:
        db.conn.close()
    for line in report.lines():
        typer.echo(line)
    typer.echo("seals: ok" if report.ok else "seals: FAULTS FOUND (see above)")
    return report.ok


@app.command("backup")
def backup_(
    ctx: typer.Context,
    dest: Annotated[Path | None, typer.Argument(help="Backup file (default: in paths.backups).")] = None,
) -> None:
    """Copy the database with SQLite's online backup; safe while the daemon runs.

    Examples:

      ccd db backup

      ccd db backup /mnt/nas/ccd-$(date +%F).sqlite3
    """
    from db import backup

    config = state(ctx).config
    if dest is None:
        # The site's local time, whatever the host's TZ: names sort and read like the rota.
        stamp = timefmt.local(time.time(), config.site.timezone, "%Y%m%d-%H%M%S")
        dest = config.path(config.paths.backups) / f"ccd-{stamp}.sqlite3"
    dest.parent.mkdir(parents=True, exist_ok=True)
    backup.backup(config.database_path, dest)
    typer.echo(f"backup written to {dest}")


@app.command("restore")
def restore(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A backup file made by `ccd db backup`.")],
) -> None:
    """Replace the database with a backup; only while the daemon is stopped.

    Examples:

      ccd db restore site/backups/ccd-20261123-020000.sqlite3
    """
    from db import backup

    config = state(ctx).config
    if not source.exists():
        raise fail(f"{source}: no such backup file")
    backup.restore(source, config.database_path)
    _reset_seal_head(config)
    typer.echo(f"restored {config.database_path} from {source}")


def _reset_seal_head(config: Any) -> None:
    """A restored database ends its seal chain where the backup did: note that as the head, so
    `db verify` does not report the newer (undone) seals as cut off."""
    from db import seal

    key_path = config.path(config.database.seal_key_file)
    head = key_path.with_name(key_path.name + ".head")
    db = database.connect(config.database_path)
    try:
        head.unlink(missing_ok=True)
        if db["call_seals"].exists():
            seal.Sealer(b"", head_path=head).note_head(db)
    finally:
        db.conn.close()
