"""`ccd calls list|show`: the call records the daemon keeps (through the socket)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from ccd import timefmt
from ccd.cli.context import connect, fail, state
from ccd.cli.tables import Justify, show_table
from ccd.words import text

WORDS: dict[str, dict[str, str]] = {
    "col_start": {"zh": "开始时间", "en": "start"},
    "col_caller": {"zh": "主叫号码", "en": "caller"},
    "col_status": {"zh": "状态", "en": "status"},
    "col_duration": {"zh": "时长", "en": "duration"},
    "col_queue": {"zh": "队列", "en": "queue"},
    "col_agent": {"zh": "座席", "en": "agent"},
    "col_digits": {"zh": "按键", "en": "digits"},
    "col_id": {"zh": "通话编号", "en": "call id"},
    "empty": {"zh": "没有通话记录", "en": "no calls"},
    "IN PROGRESS": {"zh": "进行中", "en": "in progress"},
    "LIVE": {"zh": "通话中", "en": "talking"},
    "ANSWERED": {"zh": "已接通", "en": "answered"},
    "NO ANSWER": {"zh": "未接通", "en": "not answered"},
    "BUSY": {"zh": "忙", "en": "busy"},
    "FAILED": {"zh": "失败", "en": "failed"},
    "REFUSED": {"zh": "已拒绝", "en": "refused"},
    "bad_since": {"zh": "--since 的时间看不懂：{value}（例：2026-11-23T08:00）",
                  "en": "cannot read the --since time {value!r} (e.g. 2026-11-23T08:00)"},
}


def status_and_duration(call: dict[str, Any], lang: str, now: float) -> tuple[str, str]:
    """A call's status in words and its duration; a call still going shows how long it has
    been going (never 'ANSWERED 0.0s')."""
    disposition = str(call.get("disposition") or "")
    if not call.get("end"):
        key = "LIVE" if call.get("answer") else "IN PROGRESS"
        seconds = max(0.0, now - timefmt.parse(call["start"])) if call.get("start") else 0.0
        return text(WORDS, key, lang), _duration(seconds) + "…"
    word = text(WORDS, disposition, lang) if disposition in WORDS else disposition
    return word, _duration(float(call.get("duration") or 0.0))


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"

app = typer.Typer(help="Call records: recent calls, one call with its events.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(
        help="Only calls from this time on, in the site's time zone (e.g. 2026-11-23T08:00).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many calls.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Recent call records, newest first.

    Examples:

      ccd --config demo-site/ccd.toml calls list

      ccd calls list --since 2026-11-23T00:00 --json | jq '.[].digits'
    """
    site = state(ctx).config.site
    lang, zone = site.language, site.timezone
    if since is not None:
        try:
            since = timefmt.from_local(since, zone)
        except ValueError:
            raise fail(text(WORDS, "bad_since", lang, value=since)) from None
    with connect(ctx) as client:
        calls = client.call("calls.list", since=since, limit=limit)
    if as_json:
        typer.echo(json.dumps(calls, ensure_ascii=False))
        return
    now = time.time()
    rows = []
    for c in calls:
        status, duration = status_and_duration(c, lang, now)
        rows.append((timefmt.local(c["start"], zone, "%Y-%m-%d %H:%M:%S"), c["src"] or "-",
                     status, duration, c.get("queue") or "-", c.get("agent") or "-",
                     c["digits"] or "-", c["id"]))
    columns: list[tuple[str, Justify]] = [("col_start", "left"), ("col_caller", "left"), ("col_status", "left"),
               ("col_duration", "right"), ("col_queue", "left"), ("col_agent", "left"),
               ("col_digits", "left"), ("col_id", "left")]
    show_table([(text(WORDS, key, lang), justify) for key, justify in columns], rows, text(WORDS, "empty", lang))


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
    zone = state(ctx).config.site.timezone
    for key, value in call.items():
        if value not in (None, "", []):
            if key in ("start", "answer", "end"):  # stored in UTC, shown in the site's zone
                value = timefmt.local(value, zone, "%Y-%m-%d %H:%M:%S")
            typer.echo(f"{key:<14} {value}")
    typer.echo("events:")
    for e in events:
        at = timefmt.local(e["at"], zone, "%H:%M:%S.%f")[:12]
        typer.echo(f"  {at}  {e['kind']:<12} {json.dumps(e['data'], ensure_ascii=False)}")
    for r in recordings:
        typer.echo(f"recording: {r['path']} ({r['seconds']:.1f} s, {r['kind']})")
