"""`ccd phone`: a small softphone for trying the hotline from a terminal.

It is the same scripted phone the tests use (hw/sipphone.py: a pjsua2 media worker in phone mode).
Type digits and Enter to send them, `h` to hang up. The pjsua2 wheels have no sound devices, so
audio goes to the null device: `--record FILE` keeps what the phone hears, `--play FILE` speaks a
WAV into the call. `--station` turns it into an agent's desk phone that answers by itself.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Annotated

import trio
import typer

from ccd.cli.context import fail, state
from ccd.ivr.engine import wait_gone


def _rtp_base() -> int:
    # pjsua2 processes on one host must not share RTP ports (notes/pjsua2.md, pitfall 9).
    return random.randrange(40000, 59000, 200)


def _say(text: str) -> None:
    typer.echo(text)


async def _watch(call, label: str) -> None:
    async for event in call.events():
        _say(f"[{label}] {type(event).__name__.lower()}: {getattr(event, 'digit', '') or ''}"
             f"{getattr(event, 'reason', '') or ''}".rstrip(": "))


async def _keyboard(call, method: str) -> None:
    """Digits typed on stdin go out as DTMF; 'h' (or end of input) hangs up."""
    stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
    buffer = b""
    async for chunk in stdin:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            text = line.decode(errors="replace").strip()
            if text.lower() in ("h", "q", "hangup"):
                return
            digits = "".join(c for c in text if c in "0123456789*#ABCD")
            if digits:
                await call.send_dtmf(digits, method)
                _say(f"sent {digits} ({method})")


async def _run_call(call, *, digits: str, wait: float, method: str, play: Path | None,
                    record: Path | None, hangup_after: float | None, interactive: bool) -> None:
    _say(f"connected: {call.info.leg_id}")
    if record is not None:
        await call.start_record(record)
    if play is not None:
        await call.start_play([play], loop=True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch, call, "call")
        if digits:
            await trio.sleep(wait)
            await call.send_dtmf(digits, method)
            _say(f"sent {digits} ({method})")
        if interactive:
            await _keyboard(call, method)
        elif hangup_after is not None:
            await trio.sleep(hangup_after)
        else:
            await wait_gone(call)
        nursery.cancel_scope.cancel()
    if call.is_up:
        await call.hangup()
    _say("hung up")


def phone(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(
        help="Who to call (default: the hotline of the config's sip.listen).")] = "",
    caller: Annotated[str, typer.Option("--from", help="Calling number to present.")
                      ] = "13800000001",
    digits: Annotated[str, typer.Option(help="Digits to send once connected.")] = "",
    wait: Annotated[float, typer.Option(help="Seconds to wait before sending --digits.")] = 3.0,
    method: Annotated[str, typer.Option(help="DTMF method: rfc4733 or info.")] = "rfc4733",
    play: Annotated[Path | None, typer.Option(help="A WAV to speak into the call.")] = None,
    record: Annotated[Path | None, typer.Option(help="Keep what the phone hears (WAV).")] = None,
    hangup_after: Annotated[float | None, typer.Option(
        help="Hang up after this many seconds (default: interactive, or when the far end does).")
    ] = None,
    station: Annotated[str, typer.Option(
        help="Be this station's desk phone (e.g. seat01): listen on its URI and auto-answer.")
    ] = "",
) -> None:
    """A softphone in the terminal: call the hotline, send digits, or be an agent's desk phone.

    Examples:

      ccd --config demo-site/ccd.toml phone                 # call the hotline, type digits

      ccd phone --from 13800000004 --digits 1 --hangup-after 40 --record heard.wav

      ccd --config demo-site/ccd.toml phone --station seat01   # a desk phone for agent-cli
    """
    if method not in ("rfc4733", "info"):
        raise fail(f"--method must be rfc4733 or info, not {method!r}")
    interactive = hangup_after is None and sys.stdin.isatty()

    async def main() -> None:
        from hw.sipphone import open_phone

        if station:
            config = state(ctx).config
            import sqlite3

            conn = sqlite3.connect(config.database_path)
            row = conn.execute("SELECT uri FROM stations WHERE name = ?", [station]).fetchone()
            conn.close()
            if row is None:
                raise fail(f"no station {station!r}; see `ccd stations list`")
            user, _, hostport = row[0].removeprefix("sip:").partition("@")
            host, _, port = hostport.partition(":")
            async with open_phone(listen=host, sip_port=int(port or 5060), user=user,
                                  auto_answer=True, rtp_port=_rtp_base()) as desk:
                _say(f"desk phone of {station} ready at {desk.uri}; Ctrl-C to stop")
                while True:
                    call = await desk.incoming()
                    _say(f"ringing: {call.info.caller} → answered")
                    await _run_call(call, digits="", wait=0, method=method, play=play,
                                    record=record, hangup_after=hangup_after, interactive=False)
        target = uri
        if not target:
            config = state(ctx).config
            target = f"sip:hotline@{config.sip.public_address or config.sip.listen}"
        async with open_phone(rtp_port=_rtp_base()) as handset:
            _say(f"calling {target} from {caller} …")
            call = await handset.dial(target, caller_id=caller)
            await _run_call(call, digits=digits, wait=wait, method=method, play=play,
                            record=record, hangup_after=hangup_after, interactive=interactive)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        raise typer.Exit(code=0) from None
    except typer.Exit:
        raise
    except Exception as e:  # a refused call (busy, 403, 503) is the far end's answer, not a bug
        raise fail(f"call failed: {e}") from None
