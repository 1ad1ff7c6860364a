"""`ccd phone`: a small softphone for trying the hotline from a terminal (or a script).

It is the same scripted phone the tests use (hw/sipphone.py: a pjsua2 media worker in phone mode).
Lines on stdin, typed or piped: digits send DTMF, `wait N` pauses N seconds (for scripts), `h`
hangs up. The call ends when the far end hangs up, on `h`, or on Ctrl-C (hung up cleanly). Piped
input that runs out leaves the call up until the far end hangs up or --hangup-after.

While the call is in the IVR the phone shows what the hotline is saying (the prompts' texts, from
the daemon's call record) when the daemon lets this user read call records. The pjsua2 wheels
have no sound devices, so audio goes to the null device: `--record FILE` keeps what the phone
hears, `--play FILE` speaks a WAV into the call. `--station` turns it into an agent's desk phone
that answers by itself. PJSIP's own log goes to a file (`ccd-phone/` in the temp directory).
"""

from __future__ import annotations

import functools
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import trio
import typer

from ccd.cli.context import fail, state
from ccd.ivr.engine import wait_gone

POLL_S = 0.3  # how often the IVR's words are read from the call record


def _rtp_base() -> int:
    # pjsua2 processes on one host must not share RTP ports (notes/pjsua2.md, pitfall 9).
    return random.randrange(40000, 59000, 200)


def _log_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"ccd-phone-{os.getuid()}"


def _say(text: str) -> None:
    typer.echo(text)


async def _watch(call: Any, label: str) -> None:
    async for event in call.events():
        _say(f"[{label}] {type(event).__name__.lower()}: {getattr(event, 'digit', '') or ''}"
             f"{getattr(event, 'reason', '') or ''}".rstrip(": "))


async def _read_lines(fd: int) -> Any:
    """Lines from `fd` as they come, without making it non-blocking (a terminal's file stays
    as the shell left it) and without reading ahead: nothing typed after the call is taken."""
    buffer = b""
    while True:
        while b"\n" not in buffer:
            await trio.lowlevel.wait_readable(fd)
            chunk = os.read(fd, 1)  # one byte at a time: never a byte past the line
            if not chunk:
                if buffer.strip():
                    yield buffer.decode(errors="replace").strip()
                return
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        yield line.decode(errors="replace").strip()


async def _commands(call: Any, method: str, done: trio.CancelScope) -> None:
    """Digits on stdin go out as DTMF; 'wait N' pauses; 'h' hangs up. The end of piped input
    leaves the call to the far end (or --hangup-after)."""
    async for text in _read_lines(sys.stdin.fileno()):
        word = text.lower()
        if word in ("h", "q", "hangup"):
            done.cancel()
            return
        if word.startswith("wait"):
            try:
                await trio.sleep(float(word.split()[1]))
            except (IndexError, ValueError):
                _say("wait needs seconds, e.g. wait 5")
            continue
        digits = "".join(c for c in text if c in "0123456789*#ABCD")
        if digits:
            await call.send_dtmf(digits, method)
            _say(f"sent {digits} ({method})")
        elif text:
            _say(f"? {text!r}: type digits, 'wait N' or 'h'")


async def _far_end(call: Any, done: trio.CancelScope) -> None:
    await wait_gone(call)
    _say("the far end hung up")
    done.cancel()


async def _interrupt(done: trio.CancelScope, stopped: list[bool]) -> None:
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        async for _ in signals:
            stopped.append(True)
            done.cancel()
            return


async def _follow_ivr(ctx: typer.Context, caller: str, since: float) -> None:
    """Print the IVR's prompts (their texts) as the daemon logs them for this call."""
    try:
        client = await trio.to_thread.run_sync(_client, ctx)
    except Exception:
        return  # no daemon here (another host's hotline), or not allowed: audio only
    try:
        from ccd.ivr.catalogue import load_catalogue

        catalogue = load_catalogue()
        call_id = None
        shown = 0
        while True:
            if call_id is None:
                recent = await trio.to_thread.run_sync(
                    lambda: client.call("calls.list", limit=20))
                call_id = next((c["id"] for c in recent if _ours(c, caller, since)), None)
            else:
                record = await trio.to_thread.run_sync(
                    lambda cid=call_id: client.call("calls.show", id=cid))
                plays = [e["data"] for e in record["events"] if e["kind"] == "play"]
                for data in plays[shown:]:
                    _say("[ivr] " + prompt_text(catalogue, data))
                shown = len(plays)
            await trio.sleep(POLL_S)
    except Exception as exc:  # noqa: BLE001 — the words are a help; the call goes on without
        _say(f"(the IVR's words are not shown: {exc})")
    finally:
        client.close()


def _client(ctx: typer.Context) -> Any:
    from ccd.api.client import SyncClient

    config = state(ctx).config
    client = SyncClient.connect(config.socket_path)
    user = os.environ.get("CCD_USER")
    if user:
        client.login(user, os.environ.get("CCD_PASSWORD", ""))
    else:
        client.login_peer()
    return client


def _ours(record: dict[str, Any], caller: str, since: float) -> bool:
    from ccd.timefmt import parse

    return (record.get("src") == caller and not record.get("end")
            and parse(record["start"]) >= since - 5)


def prompt_text(catalogue: Any, data: dict[str, Any]) -> str:
    """A play event's prompts as words: each prompt's catalogue text (spoken numbers joined),
    synthesized speech as it is; a name without text (a tone, a recording) in brackets."""
    lang = str(data.get("lang") or "zh")
    words = []
    for name in data.get("prompts") or []:
        if name.startswith("speech:"):
            words.append(name.removeprefix("speech:"))
        elif catalogue.has(name, lang) and catalogue.entry(name, lang).text:
            words.append(catalogue.entry(name, lang).text)
        else:
            words.append(f"[{name}]")
    return ("" if lang == "zh" else " ").join(words)


async def _run_call(call: Any, *, digits: str, wait: float, method: str, play: Path | None,
                    record: Path | None, hangup_after: float | None, commands: bool,
                    follow: Any = None, interruptible: bool = True) -> bool:
    """One call until it ends; True when the user stopped it with Ctrl-C (which only a call
    that is `interruptible` listens for: the desk phone listens for it itself)."""
    _say(f"connected: {call.info.leg_id}")
    if record is not None:
        await call.start_record(record)
    if play is not None:
        await call.start_play([play], loop=True)
    stopped: list[bool] = []
    try:
        async with trio.open_nursery() as nursery:
            done = nursery.cancel_scope
            nursery.start_soon(_watch, call, "call")
            nursery.start_soon(_far_end, call, done)
            if interruptible:
                nursery.start_soon(_interrupt, done, stopped)
            if follow is not None:
                nursery.start_soon(follow)
            if digits:
                await trio.sleep(wait)
                await call.send_dtmf(digits, method)
                _say(f"sent {digits} ({method})")
            if hangup_after is not None:
                nursery.start_soon(_hang_up_after, hangup_after, done)
            if commands:
                nursery.start_soon(_commands, call, method, done)
    finally:
        with trio.CancelScope(shield=True):
            if call.is_up:
                await call.hangup()
                _say("hung up")
    return bool(stopped)


async def _hang_up_after(seconds: float, done: trio.CancelScope) -> None:
    await trio.sleep(seconds)
    done.cancel()


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
        help="Hang up after this many seconds (default: on 'h', Ctrl-C or the far end).")
    ] = None,
    station: Annotated[str, typer.Option(
        help="Be this station's desk phone (e.g. seat01): listen on its URI and auto-answer.")
    ] = "",
) -> None:
    """A softphone in the terminal: call the hotline, send digits, or be an agent's desk phone.

    Type (or pipe) digits and Enter to send them, 'wait N' to pause, 'h' to hang up.

    Examples:

      ccd --config demo-site/ccd.toml phone                 # call the hotline, type digits

      printf 'wait 6\\n1\\nwait 20\\nh\\n' | ccd phone --from 13800000004   # a scripted call

      ccd phone --from 13800000004 --digits 1 --hangup-after 40 --record heard.wav

      ccd --config demo-site/ccd.toml phone --station seat01   # a desk phone for agent-cli
    """
    if method not in ("rfc4733", "info"):
        raise fail(f"--method must be rfc4733 or info, not {method!r}")

    async def main() -> bool:
        from hw.sipphone import open_phone

        if station:
            return await _desk_phone(ctx, station, method, play, record)
        target = uri
        if not target:
            config = state(ctx).config
            target = f"sip:hotline@{config.sip.public_address or config.sip.listen}"
        async with open_phone(rtp_port=_rtp_base(), log_dir=_log_dir()) as handset:
            _say(f"calling {target} from {caller} …")
            since = time.time()
            call = await handset.dial(target, caller_id=caller)
            return await _run_call(
                call, digits=digits, wait=wait, method=method, play=play, record=record,
                hangup_after=hangup_after, commands=True,
                follow=lambda: _follow_ivr(ctx, caller, since))

    try:
        interrupted = trio.run(main, restrict_keyboard_interrupt_to_checkpoints=True)
    except typer.Exit:
        raise
    except BaseException as e:  # noqa: BLE001 — sorted below; nothing escapes as a traceback
        if _only(e, KeyboardInterrupt):
            raise typer.Exit(code=130) from None
        if _only(e, typer.Exit):
            raise typer.Exit(code=1) from None
        if isinstance(e, Exception) or getattr(e, "exceptions", None) is not None:
            # a refused call (busy, 403, 503) is the far end's answer, not a bug
            raise fail(f"call failed: {_first(e)}") from None
        raise
    if interrupted:
        raise typer.Exit(code=130)


async def _desk_phone(ctx: typer.Context, station: str, method: str, play: Path | None,
                      record: Path | None) -> bool:
    import sqlite3

    from hw.sipphone import open_phone

    config = state(ctx).config
    conn = sqlite3.connect(config.database_path)
    row = conn.execute("SELECT uri FROM stations WHERE name = ?", [station]).fetchone()
    conn.close()
    if row is None:
        raise fail(f"no station {station!r}; see `ccd stations list`")
    user, _, hostport = row[0].removeprefix("sip:").partition("@")
    host, _, port = hostport.partition(":")
    async with open_phone(listen=host, sip_port=int(port or 5060), user=user, auto_answer=True,
                          rtp_port=_rtp_base(), log_dir=_log_dir()) as desk:
        _say(f"desk phone of {station} ready at {desk.uri}; Ctrl-C to stop")
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            async with trio.open_nursery() as nursery:
                async def stop() -> None:
                    async for _ in signals:
                        nursery.cancel_scope.cancel()
                        return

                nursery.start_soon(stop)
                while True:
                    # Each call in its own task: a call whose far end vanished without a BYE
                    # (a daemon killed with -9) must not keep the desk from answering the next.
                    call = await desk.incoming()
                    _say(f"ringing: {call.info.caller} → answered")
                    nursery.start_soon(functools.partial(
                        _run_call, call, digits="", wait=0, method=method, play=play,
                        record=record, hangup_after=None, commands=False,
                        interruptible=False))
    return True


def _only(exc: BaseException, kind: type[BaseException]) -> bool:
    members = getattr(exc, "exceptions", None)
    if members is not None:
        return all(_only(e, kind) for e in members)
    return isinstance(exc, kind)


def _first(exc: BaseException) -> BaseException:
    members = getattr(exc, "exceptions", None)
    return _first(members[0]) if members else exc
