"""Site commands: `init`, `run`, `status`, and `config show|check`."""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
import tomllib
import trio
import typer

import db as database
from ccd import config as configuration
from ccd import log, secrets, words
from ccd.cli.context import connect, fail, state
from ccd.errors import CcdError
from ccd.filemodes import secure_site
from db import seal

SITE_CONFIG = """\
# ccd site config written by `ccd init`. Paths are relative to this file's folder.
# Every setting, its default and what it means: `ccd config show`, or ccd.toml in the source.

[site]
name = "{name}"

[paths]
data_dir = "."
database = "ccd.sqlite3"
run_dir = "run"
prompts = "prompts"
recordings = "recordings"
flows = "flows"
backups = "backups"
"""


def init(
    dir: Annotated[Path, typer.Option("--dir", help="Folder for the new site.")] = Path("site"),
    demo: Annotated[bool, typer.Option(help="Fill the database with a demo utility.")] = False,
    customers: Annotated[int, typer.Option(help="Demo customers (with --demo).")] = 20000,
    seed: Annotated[int, typer.Option(help="Demo data seed (with --demo).")] = 1,
    name: Annotated[str, typer.Option(help="Site name shown on screens.")] = "演示水务热线",
    force: Annotated[bool, typer.Option(help="Reuse a folder that already has a site.")] = False,
    prompts: Annotated[bool, typer.Option(
        help="Make the prompts the flow can play (espeak-ng); --no-prompts for a site that "
             "brings studio recordings (`ccd run` makes what is still missing).")] = True,
) -> None:
    """Create a site folder: its ccd.toml, the database, prompts, flows and recordings folders.

    Examples:

      ccd init --dir site --demo

      ccd init --dir /srv/ccd --name "市供水热线"
    """
    dir = dir.resolve()
    cfg_file = dir / "ccd.toml"
    if cfg_file.exists() and not force:
        raise fail(f"{cfg_file} exists; use --force to reuse the site, or another --dir")
    dir.mkdir(parents=True, exist_ok=True)
    cfg_file.write_text(SITE_CONFIG.format(name=name.replace('"', "'")), encoding="utf-8")
    config = configuration.load(cfg_file)
    for key in ("run_dir", "prompts", "recordings", "flows", "backups"):
        config.path(getattr(config.paths, key)).mkdir(parents=True, exist_ok=True)
    _copy_flows(config.path(config.paths.flows))
    if demo and config.database_path.exists() and force:
        for suffix in ("", "-wal", "-shm"):
            Path(str(config.database_path) + suffix).unlink(missing_ok=True)
    db = database.open_database(config.database_path)
    if demo:
        from db import demo as demo_data

        demo_data.generate(db, seed=seed, customers=customers)
    key_path = config.path(config.database.seal_key_file)
    if seal.load_key(key_path) is None:
        seal.create_key(key_path)  # 0600; the daemon seals every ended call with it
    db.conn.close()
    secure_site(config)  # a reused (--force) folder may hold files made under a looser umask
    made = _build_prompts(config) if prompts else "not made (--no-prompts)"
    typer.echo(f"site ready in {dir}")
    typer.echo(f"  config:   {cfg_file}")
    typer.echo(f"  database: {config.database_path}" + (" (demo data)" if demo else ""))
    typer.echo(f"  prompts:  {made}")
    typer.echo(f"  seal key: {key_path} (back it up apart from the database)")
    typer.echo(f"start it:   ccd --config {cfg_file} run")


def _build_prompts(config: configuration.Config) -> str:
    """Make the prompts the site's flow can play; say what was done, or what to do."""
    from ccd.telephony.prompts import PromptsMissing, build_command, prepare_prompts
    from ccd.telephony.service import load_flow

    try:
        made = prepare_prompts(config, load_flow(config))
    except PromptsMissing as e:
        typer.echo(f"ccd: {e.message}", err=True)
        return f"{config.path(config.paths.prompts)} (missing: run `{build_command(config)}`)"
    return f"{config.path(config.paths.prompts)} ({len(made)} made)"


def _copy_flows(dest: Path) -> None:
    """Copy the shipped demo flows into the site, keeping any the site already edited."""
    shipped = Path(__file__).resolve().parent.parent / "ivr" / "flows"
    if not shipped.is_dir():
        return
    for flow in shipped.glob("*.toml"):
        target = dest / flow.name
        if not target.exists():
            shutil.copyfile(flow, target)


def run(ctx: typer.Context) -> None:
    """Run the daemon in the foreground until Ctrl-C (SIGINT) or SIGTERM; SIGHUP reloads config.

    Examples:

      ccd --config site/ccd.toml run

      ccd --config site/ccd.toml --set sip.listen=127.0.0.1:5099 --set log.format=journal run
    """
    from ccd import daemon

    st = state(ctx)
    config = st.config
    log.setup(config.log.level, config.log.format, config.site.timezone)
    secrets.install_log_filter(config)

    def ready(_: daemon.Daemon) -> None:
        if config.log.format == "plain":
            print(daemon.banner(config), file=sys.stderr, flush=True)

    try:
        trio.run(functools.partial(daemon.serve, config, st.overrides, on_ready=ready))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        raise typer.Exit(code=130) from None
    except Exception as e:
        # A service that cannot start (missing prompts, a bad flow, a media worker or the SIP
        # edge) raises inside the daemon's nursery, which wraps it in a group: say it in one line.
        fault = _start_fault(e)
        if fault is None:
            raise
        raise fail(fault.message if isinstance(fault, CcdError) else str(fault)) from None


def _start_fault(exc: BaseException) -> BaseException | None:
    """The CcdError or DriverFault `exc` is, or the first one inside its (nested) groups."""
    from hw.base import DriverFault

    if isinstance(exc, (CcdError, DriverFault)):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = _start_fault(inner)
        if found is not None:
            return found
    return None


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ask the running daemon how it is: uptime, version, connections, database size.

    Examples:

      ccd --config site/ccd.toml status

      ccd status --json | jq .uptime_s
    """
    with connect(ctx) as client:
        result = client.call("status")
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    from ccd.cli.status_view import render

    lines = result.pop("lines", None)  # analog lines: their own rows, with times of the site
    typer.echo(render(result, state(ctx).config.site.language))
    if isinstance(lines, dict):
        _echo_lines(lines, state(ctx).config)


def _echo_lines(lines: dict[str, Any], config: Any) -> None:
    """Analog lines, one a row: name, state, since when (site time), calls, last fault."""
    from hw.modem import catalogue

    lang, zone = config.site.language, ZoneInfo(config.site.timezone)
    typer.echo(words.text(catalogue.TEXTS, "lines", lang) + ":")
    for line in lines.get("lines", []):
        since = dt.datetime.fromtimestamp(line.get("since", 0), zone).strftime("%m-%d %H:%M:%S")
        typer.echo("  " + catalogue.line_row(line, since, lang))


config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration (file, then --set overrides) as TOML.

    Examples:

      ccd --config site/ccd.toml config show
    """
    config = state(ctx).config
    data = msgspec.to_builtins(config)
    data.pop("source", None)
    raw: dict[str, Any] = {}
    if config.source and Path(config.source).exists():
        raw = tomllib.loads(Path(config.source).read_text(encoding="utf-8"))
    typer.echo(msgspec.toml.encode(secrets.masked(data, raw)).decode())


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the config file; exit 1 with the file and key of the first fault.

    Examples:

      ccd --config /etc/ccd/ccd.toml config check
    """
    config = state(ctx).config
    typer.echo(f"{config.source}: ok")
