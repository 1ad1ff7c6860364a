"""`ccd flows ...` and `ccd prompts ...`: check flow files, build prompt recordings.

The main CLI joins them with `app.add_typer(flows_app, name="flows")` and
`app.add_typer(prompts_app, name="prompts")`; `app` here holds both for testing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccd.ivr.catalogue import CatalogueError, load_catalogue
from ccd.ivr.check import warnings as flow_warnings
from ccd.ivr.flow import load_flow
from ccd.ivr.prompts import build_prompts
from ccd.ivr.synth import SynthesisError, ToolMissing

flows_app = typer.Typer(help="IVR flows: check them before the daemon loads them.",
                        no_args_is_help=True)
prompts_app = typer.Typer(help="Prompt recordings: synthesize the missing ones with espeak-ng.",
                          no_args_is_help=True)
app = typer.Typer(no_args_is_help=True)
app.add_typer(flows_app, name="flows")
app.add_typer(prompts_app, name="prompts")

CatalogOption = Annotated[
    list[Path] | None,
    typer.Option("--catalog", help="A folder of <lang>.toml files adding to or replacing the "
                 "built-in prompt texts (repeatable)."),
]


def _config_path(ctx: typer.Context, key: str) -> Path:
    """A folder from the loaded config (`paths.<key>`), for commands run inside a site."""
    from ccd.cli.context import state

    config = state(ctx).config
    return config.path(getattr(config.paths, key))


@flows_app.command("validate")
def validate(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(
        help="A flow file, or a folder of them (default: --flows-dir).")] = None,
    flows_dir: Annotated[Path | None, typer.Option(
        help="The flows folder (default: paths.flows of the config).")] = None,
    catalog: CatalogOption = None,
) -> None:
    """Check flow files: targets, reachability, prompts, variables, field values.

    Examples:

      ccd --config demo-site/ccd.toml flows validate

      ccd flows validate my-flow.toml
    """
    target = path or flows_dir or _config_path(ctx, "flows")
    files = sorted(target.glob("*.toml")) if target.is_dir() else [target]
    if not files:
        typer.echo(f"{target}: no flow files (*.toml) here", err=True)
        raise typer.Exit(code=1)
    try:
        catalogue = load_catalogue(*(catalog or []))
    except CatalogueError as e:
        typer.echo(e.message, err=True)
        raise typer.Exit(code=1) from None
    bad = 0
    for file in files:
        flow, faults = load_flow(file, catalogue)
        if faults or flow is None:
            bad += 1
            for fault in faults:
                typer.echo(str(fault), err=True)
            continue
        typer.echo(f"{file}: ok ({flow.name}: {len(flow.nodes)} nodes, "
                   f"languages {', '.join(flow.languages)})")
        for warning in flow_warnings(flow):
            typer.echo(f"warning: {warning}", err=True)
    if bad:
        typer.echo(f"{bad} of {len(files)} flow file(s) refused; fix the faults above.", err=True)
        raise typer.Exit(code=1)


@flows_app.command("reload")
def reload(ctx: typer.Context) -> None:
    """Make the running daemon load the flow again, without a restart (calls in progress keep
    theirs). A flow with faults is refused and the running one stays.

    Examples:

      ccd --config demo-site/ccd.toml flows reload
    """
    from ccd.cli.context import connect

    with connect(ctx) as client:
        result = client.call("flows.reload")
    typer.echo(f"flow reloaded: {result.get('flow')}")


@prompts_app.command("build")
def build(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option(
        "--force", help="Make again every prompt this tool made (studio recordings are kept).")
    ] = False,
    lang: Annotated[str, typer.Option(help="Languages, comma separated.")] = "zh,en",
    prompts_dir: Annotated[Path | None, typer.Option(
        help="The prompts folder (default: paths.prompts of the config).")] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Build just this prompt name (repeatable).")] = None,
    catalog: CatalogOption = None,
) -> None:
    """Synthesize missing or outdated prompts into 8 kHz mono WAV files.

    Examples:

      ccd --config demo-site/ccd.toml prompts build

      ccd prompts build --lang zh --only menu/main --force
    """
    prompts_dir = prompts_dir or _config_path(ctx, "prompts")
    languages = [code.strip() for code in lang.split(",") if code.strip()]
    try:
        catalogue = load_catalogue(*(catalog or []))
        report = build_prompts(prompts_dir, languages, force, catalogue=catalogue, names=only)
    except (ToolMissing, SynthesisError, CatalogueError) as e:
        typer.echo(e.message, err=True)
        raise typer.Exit(code=1) from None
    for code in languages:
        typer.echo(f"{code}: {len(report.made[code])} made, {len(report.cached[code])} cached, "
                   f"{len(report.studio[code])} studio recordings kept")
    typer.echo(f"{prompts_dir}: {report.total('made')} prompts made in {report.seconds:.1f} s")
