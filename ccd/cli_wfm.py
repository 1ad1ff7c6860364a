"""`ccd wfm erlang|staff` and `ccd simulate`: staffing arithmetic and the ACD simulator.

Wire them with `app.add_typer(cli_wfm.wfm_app, name="wfm")` and
`app.command("simulate", help=cli_wfm.simulate.__doc__)(cli_wfm.simulate)`.
They need no config and no daemon.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ccd.cli.tables import render_table
from ccd.errors import CcdError
from ccd.wfm import erlang
from ccd.wfm.catalogue import text
from ccd.wfm.erlang import ErlangFigures

wfm_app = typer.Typer(
    name="wfm",
    help=(
        "Workforce management: Erlang C / Erlang A figures and staffing.\n\n"
        "Examples:\n\n"
        "  ccd wfm erlang --calls 100 --interval 1800 --aht 180 --agents 14 --target 20\n\n"
        "  ccd wfm staff --calls 100 --interval 1800 --aht 180 --target 20 --service-level 0.8\n\n"
        "  ccd wfm staff --volumes day.csv --interval 1800 --aht 180 --target 20 --json"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)

Calls = Annotated[float, typer.Option("--calls", help="Calls arriving in the interval.")]
Interval = Annotated[
    float, typer.Option("--interval", help="Length of the interval in seconds (1800 = 30 min).")
]
Aht = Annotated[float, typer.Option("--aht", help="Average handle time in seconds.")]
Target = Annotated[
    float, typer.Option("--target", help="Service-level threshold: answered within this many s.")
]
Patience = Annotated[
    float | None,
    typer.Option(
        "--patience",
        help="Mean seconds a caller waits before hanging up: use Erlang A (default: nobody "
        "abandons, Erlang C).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object for machines.")]


def _fail(exc: CcdError) -> typer.Exit:
    typer.echo(f"ccd: {exc.message}", err=True)
    return typer.Exit(code=1)


def _percent(value: float) -> str:
    return f"{value * 100:.2f}%"


def _seconds(value: float) -> str:
    return text("seconds", value=value) if math.isfinite(value) else text("never")


def _print_figures(f: ErlangFigures) -> None:
    rows = [
        (text("traffic"), text("erlangs", value=f.traffic_erlangs)),
        (text("agents"), str(f.agents)),
        (text("probability_wait"), _percent(f.probability_wait)),
        (text("service_level", target=f.target_s), _percent(f.service_level)),
        (text("asa"), _seconds(f.asa_s)),
        (text("occupancy"), _percent(f.occupancy)),
    ]
    if f.patience_s is not None:
        rows.append((text("probability_abandon"), _percent(f.probability_abandon)))
    for label, value in rows:
        typer.echo(f"{label}: {value}")


@wfm_app.command("erlang")
def erlang_command(
    calls: Calls,
    aht: Aht,
    agents: Annotated[int, typer.Option("--agents", help="Agents taking calls.")],
    interval: Interval = 1800.0,
    target: Target = 20.0,
    patience: Patience = None,
    as_json: Json = False,
) -> None:
    """Erlang figures for a load and a number of agents.

    Probability of waiting, service level, average speed of answer and occupancy (and the
    abandon rate with --patience, by Erlang A).

    Example: ccd wfm erlang --calls 100 --interval 1800 --aht 180 --agents 14 --target 20
    """
    try:
        f = erlang.figures(calls, interval, aht, agents, target, patience)
    except CcdError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(f.as_json()))
    else:
        _print_figures(f)


@wfm_app.command("staff")
def staff_command(
    aht: Aht,
    calls: Annotated[
        float | None,
        typer.Option("--calls", help="Calls arriving in the interval (or give --volumes)."),
    ] = None,
    interval: Interval = 1800.0,
    target: Target = 20.0,
    service_level: Annotated[
        float,
        typer.Option("--service-level", help="Share to answer within --target (0.8 = 80%)."),
    ] = 0.8,
    volumes: Annotated[
        Path | None,
        typer.Option(
            "--volumes",
            help="CSV with columns interval,calls[,aht]: staff each interval.",
            dir_okay=False,
        ),
    ] = None,
    patience: Patience = None,
    as_json: Json = False,
) -> None:
    """The smallest number of agents that meets a service-level target.

    For one interval (--calls) or for every interval of a CSV of volumes (--volumes).

    Examples:

      ccd wfm staff --calls 100 --interval 1800 --aht 180 --target 20 --service-level 0.8

      ccd wfm staff --volumes day.csv --interval 1800 --aht 180 --target 20 --json
    """
    from ccd.wfm.volumes import read_volumes, staff_intervals

    if (calls is None) == (volumes is None):
        typer.echo("ccd: give either --calls or --volumes FILE", err=True)
        raise typer.Exit(code=1)
    try:
        if volumes is None:
            assert calls is not None
            f = erlang.staff(calls, interval, aht, target, service_level, patience)
            if as_json:
                typer.echo(json.dumps(f.as_json()))
            else:
                _print_figures(f)
            return
        rows = staff_intervals(
            read_volumes(volumes), interval, aht, target, service_level, patience
        )
    except CcdError as exc:
        raise _fail(exc) from None
    peak = max(r.figures.agents for r in rows)
    if as_json:
        typer.echo(json.dumps({"agents": peak, "intervals": [r.as_json() for r in rows]}))
        return
    header = (text("interval"), text("calls"), text("agents"), text("service_level", target=target))
    typer.echo(render_table([(header[0], "left"), *((h, "right") for h in header[1:])], [
        (r.volume.label, f"{r.volume.calls:g}", str(r.figures.agents),
         _percent(r.figures.service_level)) for r in rows]))
    typer.echo(text("peak", agents=peak))


def simulate(
    calls_per_hour: Annotated[
        float, typer.Option("--calls-per-hour", help="Mean arrivals per hour (Poisson).")
    ],
    aht: Annotated[float, typer.Option("--aht", help="Mean handle time in seconds (exponential).")],
    agents: Annotated[int, typer.Option("--agents", help="Agents logged in and ready.")],
    hours: Annotated[float, typer.Option("--hours", help="Hours of arrivals.")] = 8.0,
    target_s: Annotated[
        float, typer.Option("--target-s", help="Service-level threshold in seconds.")
    ] = 20.0,
    patience: Annotated[
        float | None,
        typer.Option("--patience", help="Mean seconds before a waiting caller hangs up (none)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random draws.")] = 0,
    as_json: Json = False,
) -> None:
    """Simulate calls through the real ACD on a virtual clock.

    Prints what was measured beside the Erlang formula's figures for the same load.

    Example: ccd simulate --calls-per-hour 200 --aht 180 --agents 14 --hours 8 --target-s 20
    """
    from ccd.acd.simulate import simulate as run

    if calls_per_hour < 0 or aht <= 0 or agents < 0 or hours <= 0 or target_s < 0:
        typer.echo(
            "ccd: --calls-per-hour, --agents and --target-s must be >= 0, --aht and --hours > 0",
            err=True,
        )
        raise typer.Exit(code=1)
    if patience is not None and patience <= 0:
        typer.echo("ccd: --patience must be a positive number of seconds", err=True)
        raise typer.Exit(code=1)
    result = run(calls_per_hour, aht, agents, hours, target_s, patience, seed)
    if as_json:
        typer.echo(json.dumps(result.as_json()))
        return
    e = result.erlang
    rows = [
        (text("service_level", target=target_s), result.service_level, e.service_level, True),
        (text("asa"), result.asa_s, e.asa_s, False),
        (text("occupancy"), result.occupancy, e.occupancy, True),
    ]
    table = [(text("offered"), str(result.offered), ""),
             (text("answered"), str(result.answered), ""),
             (text("abandoned"), str(result.abandoned), "")]
    for label, measured, predicted, percent in rows:
        show = _percent if percent else _seconds
        table.append((label, show(measured), show(predicted)))
    typer.echo(render_table([("", "left"), (text("measured"), "right"),
                             (text("predicted"), "right")], table))
    typer.echo(text("speed", wall=result.wall_s, rate=result.calls_per_wall_second))
