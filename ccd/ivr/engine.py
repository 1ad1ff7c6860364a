"""The IVR engine: runs the walker on a Channel, with trio.

The walker (`walker.py`) decides; this module only carries its actions out: it plays prompt files
(`PromptStore`), collects digits, records, asks `Services` for data and work orders, and for a
transfer rings the agent with `Driver.originate(near=channel)` and bridges the two legs until one
of them hangs up. Everything the walker logs is passed to `on_event(kind, data)` as it happens,
so a recorder can write call events while the call is still going.

The daemon plugs in the database and the ACD by implementing `Services`; `BaseServices` is a
starting point that finds nothing and has no ACD.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import trio

from ccd.ivr import actions as a
from ccd.ivr import walker as w
from ccd.ivr.flow import Flow
from ccd.ivr.prompts import PromptStore
from ccd.ivr.synth import SynthesisError, ToolMissing, wav_seconds
from ccd.ivr.voice import voiced_seconds
from hw.base import (
    Channel,
    ChannelGone,
    Driver,
    DriverFault,
    Hangup,
    HangupCause,
    PromptUnplayable,
)

log = logging.getLogger("ccd.ivr")

OnEvent = Callable[[str, dict[str, Any]], Awaitable[None] | None]


class Services(Protocol):
    """What the IVR needs from the rest of the daemon (database, work orders, ACD)."""

    async def lookup(self, source: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
        """Data from the named source (see `ccd.ivr.sources.SOURCES` for names, arguments and
        the fields to return); None when nothing is found. Raising means the source failed."""

    async def create_work_order(self, kind: str, caller: str, account: str,
                                recording: Path) -> str:
        """Open a work order of `kind` ('repair', 'complaint') for the calling number and
        account ('' when unknown) with the recording attached; return its number."""

    async def request_callback(self, caller: str, number: str, account: str, queue: str) -> None:
        """Register a callback to `number` (the caller's or one they keyed in)."""

    async def save_survey(self, caller: str, survey: str, answers: Mapping[str, str]) -> None:
        """Store a satisfaction survey's answers (question variable -> key pressed)."""

    async def enqueue(self, channel: Channel, queue: str, priority: int) -> str:
        """Hand the call to the ACD. Return 'connected' once the ACD owns the call, 'unavailable'
        when there is no ACD (the flow then transfers), 'failed' when the queue refused it."""


class BaseServices:
    """Services that find nothing and have no ACD: subclass and override what you have."""

    async def lookup(self, source: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
        return None

    async def create_work_order(self, kind: str, caller: str, account: str,
                                recording: Path) -> str:
        raise NotImplementedError("work orders are not connected")

    async def request_callback(self, caller: str, number: str, account: str, queue: str) -> None:
        raise NotImplementedError("callbacks are not connected")

    async def save_survey(self, caller: str, survey: str, answers: Mapping[str, str]) -> None:
        return None

    async def enqueue(self, channel: Channel, queue: str, priority: int) -> str:
        return "unavailable"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:64] or "call"


async def wait_gone(channel: Channel) -> None:
    """Return when `channel` has ended (a Hangup on its event stream, or the stream closed)."""
    if not channel.is_up:
        return
    async for event in channel.events():
        if isinstance(event, Hangup):
            return


class Engine:
    """Runs calls through a flow.

    flow: the validated flow (`replace_flow` swaps it for new calls: reload without restart);
    prompts: where prompt files are; services: the daemon's side; driver: places transfer legs
    (None: transfers fail and the flow's on_fail is taken); recordings_dir: where recordings go;
    agent_uri: the `$agent_uri` variable; clock: wall-clock seconds (business hours, dates);
    yao: read 1 as 幺 in digit strings.
    """

    def __init__(self, flow: Flow, prompts: PromptStore, services: Services, *,
                 recordings_dir: Path | str, driver: Driver | None = None, agent_uri: str = "",
                 clock: Callable[[], float] = time.time, yao: bool = True) -> None:
        self.flow = flow
        self.prompts = prompts
        self.services = services
        self.driver = driver
        self.recordings_dir = Path(recordings_dir)
        self.agent_uri = agent_uri
        # Whether the hotline is in surge mode now ($surge and the `surge` branch test; the
        # daemon plugs in ccd/telephony/surge.py). A call keeps the face it started with.
        self.surge_on: Callable[[], bool] = lambda: False
        self.clock = clock
        self.yao = yao

    def replace_flow(self, flow: Flow) -> None:
        """Use `flow` for calls that start from now on; calls in progress keep theirs."""
        self.flow = flow

    async def run(self, channel: Channel, *, call_id: str = "", on_event: OnEvent | None = None,
                  answer: bool = True, lang: str | None = None,
                  services: Services | None = None) -> w.Summary:
        """Walk one call from the flow's start to its end; returns what the call record needs.

        call_id: names recordings and is the `$call_id` variable; on_event: receives every call
        event (kind, data); answer: answer the leg first; lang: start in this language;
        services: this call's own Services (e.g. bound to its call id) instead of the engine's.
        When the line fails (`DriverFault`), the summary has disposition 'failed' and ended_by
        'driver'; trio cancellation (daemon shutdown) propagates as usual.
        """
        call = _Call(self, self.flow, channel, call_id, on_event, services or self.services)
        return await call.run(answer, lang)


class _Call:
    def __init__(self, engine: Engine, flow: Flow, channel: Channel, call_id: str,
                 on_event: OnEvent | None, services: Services) -> None:
        self.engine = engine
        self.services = services
        self.channel = channel
        self.call_id = call_id
        self.on_event = on_event
        variables: dict[str, Any] = {"agent_uri": engine.agent_uri, "surge": engine.surge_on()}
        self.walker = w.Walker(flow, caller=channel.caller, called=channel.called,
                               call_id=call_id, variables=variables, yao=engine.yao)
        self.recordings = 0
        self.bridge_ended_by = ""

    async def emit(self, kind: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            result = self.on_event(kind, data)
            if inspect.isawaitable(result):
                await result

    async def flush(self) -> None:
        for kind, data in self.walker.take_events():
            await self.emit(kind, data)

    async def run(self, answer: bool, lang: str | None) -> w.Summary:
        if lang is not None:
            self.walker.vars["lang"] = lang
        clock = self.engine.clock
        if answer:
            try:
                await self.channel.answer()
            except ChannelGone as gone:
                await self.emit("hangup", {"by": "caller", "cause": gone.cause, "node": ""})
                self.walker.disposition = "abandoned"
                self.walker.hung_up = True
                return self.walker.summary()
            await self.emit("answer", {})
        action = self.walker.start(clock())
        await self.flush()
        try:
            while not isinstance(action, a.Finish):
                event = await self.carry_out(action)
                action = self.walker.feed(event, clock())
                await self.flush()
        except DriverFault as fault:
            # The line itself failed (a media worker died): this call is over, and what the
            # walker knows is still what its call record needs.
            await self.flush()
            await self.emit("driver_fault", {"error": str(fault), "node": self.walker.path[-1]})
            summary = self.walker.summary()
            summary.disposition, summary.ended_by = "failed", "driver"
            return summary
        summary = self.walker.summary()
        if action.hangup:
            try:
                await self.channel.hangup(action.cause)
            except ChannelGone:
                pass
            await self.emit("hangup", {"by": "ivr", "cause": action.cause,
                                       "disposition": action.disposition})
            summary.ended_by = "ivr"
        elif self.bridge_ended_by:
            summary.ended_by = self.bridge_ended_by
        return summary

    async def carry_out(self, action: a.Action) -> a.Event:
        """Do one action; a caller who hangs up during it becomes a HungUp event."""
        try:
            if isinstance(action, a.Play):
                files = [await self.prompt_file(item, action.lang) for item in action.prompts]
                return a.Played(await self.play([f for f in files if f is not None],
                                                action.barge_in))
            if isinstance(action, a.Collect):
                return a.Collected(await self.channel.collect(
                    action.max_digits, action.timeout, action.inter_digit_timeout,
                    action.terminator))
            if isinstance(action, a.Record):
                return await self.record(action)
            if isinstance(action, a.Enqueue):
                return a.Queued(await self.services.enqueue(self.channel, action.queue,
                                                                   action.priority))
            if isinstance(action, a.Transfer):
                return await self.transfer(action)
        except ChannelGone as gone:
            return a.HungUp(_cause(gone.cause))
        return await self.ask_services(action)

    async def ask_services(self, action: a.Action) -> a.Event:
        services = self.services
        caller = self.channel.caller
        # A failing data source or work-order service must not drop the caller: the failure
        # goes to the walker, which takes the flow's error path and logs the reason.
        try:
            if isinstance(action, a.Lookup):
                return a.LookedUp(await services.lookup(action.source, action.args))
            if isinstance(action, a.OpenWorkOrder):
                number = await services.create_work_order(action.kind, caller, action.account,
                                                          Path(action.recording))
                return a.WorkOrderOpened(str(number))
            if isinstance(action, a.RequestCallback):
                await services.request_callback(caller, action.number, action.account,
                                                action.queue)
                return a.Done()
            if isinstance(action, a.SaveSurvey):
                await services.save_survey(caller, action.survey, action.answers)
                return a.Done()
        except Exception as e:  # noqa: BLE001 - contained per action, see above
            reason = f"{type(e).__name__}: {e}"
            if isinstance(action, a.Lookup):
                return a.LookedUp(None, error=reason)
            if isinstance(action, a.OpenWorkOrder):
                return a.WorkOrderOpened(error=reason)
            return a.Done(error=reason)
        raise TypeError(f"no way to carry out {action!r}")

    async def play(self, files: list[Path], barge_in: bool) -> str | None:
        """Play what exists; a prompt that cannot be played costs only itself, never the call."""
        if not files:
            return None
        try:
            return await self.channel.play(files, barge_in)
        except PromptUnplayable as e:  # deleted or damaged between our check and the worker
            log.warning("call %s: prompts not played (%s)", self.call_id or "-", e)
            await self.emit("prompt_failed", {"files": [str(f) for f in files], "error": str(e)})
            return None

    async def prompt_file(self, item: a.PromptItem, lang: str) -> Path | None:
        store = self.engine.prompts
        if isinstance(item, str):
            path = store.find(item, lang)
            if path is not None:
                return path
            path = store.path(item, lang)  # deleted under a running daemon: skip it, say which
            log.warning("call %s: prompt file missing, skipped: %s (make it with `ccd prompts "
                        "build`)", self.call_id or "-", path)
            await self.emit("prompt_missing", {"prompt": item, "lang": lang, "file": str(path)})
            return None
        ready = store.speech_ready(item.text, lang)
        if ready is not None:
            return ready
        try:
            return await trio.to_thread.run_sync(store.speech, item.text, lang)
        except (ToolMissing, SynthesisError) as e:
            # The rest of the sentence is still worth hearing; the gap is logged.
            await self.emit("speech_failed", {"text": item.text, "error": e.message})
            return None

    async def record(self, action: a.Record) -> a.Recorded:
        self.recordings += 1
        folder = self.engine.recordings_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_safe(self.call_id)}-{self.recordings}-{_safe(action.node)}.wav"
        await self.emit("record_start", {"node": action.node, "path": str(path)})
        try:
            done = await self.channel.record(path, action.max_seconds, action.silence_seconds,
                                             action.stop_digits)
        except ChannelGone:
            # The caller hung up while speaking: what was recorded is still their report.
            seconds = 0.0
            try:
                seconds = wav_seconds(path)
            except (OSError, EOFError, ValueError):
                pass
            return a.Recorded(str(path), seconds, "hangup", voiced_s=voiced_seconds(str(path)))
        # Inline, not in a thread: a few milliseconds for a minute of audio, and trio's
        # MockClock would jump past timeouts while a thread ran.
        voiced = voiced_seconds(str(done.path))
        return a.Recorded(str(done.path), done.seconds, done.ended_by, done.digit, voiced)

    async def transfer(self, action: a.Transfer) -> a.Event:
        driver = self.engine.driver
        if driver is None:
            return a.Transferred(False, "no driver to place the transfer leg")
        outcome: dict[str, Any] = {}
        async with trio.open_nursery() as nursery:

            async def ring() -> None:
                try:
                    outcome["leg"] = await driver.originate(
                        action.uri, caller_id=action.caller_id, timeout=action.timeout,
                        near=self.channel)
                except ChannelGone as e:
                    outcome["failed"] = e.cause
                nursery.cancel_scope.cancel()

            async def watch_caller() -> None:
                await wait_gone(self.channel)
                outcome["caller_gone"] = True
                nursery.cancel_scope.cancel()

            nursery.start_soon(ring)
            nursery.start_soon(watch_caller)
        leg: Channel | None = outcome.get("leg")
        if outcome.get("caller_gone") or not self.channel.is_up:
            if leg is not None:
                await _hangup_quietly(leg)
            return a.HungUp()
        if leg is None:
            return a.Transferred(False, f"not answered ({outcome.get('failed', 'no answer')})")
        await self.emit("bridge", {"uri": action.uri, "leg": leg.info.leg_id})
        try:
            await self.channel.bridge(leg)
        except ChannelGone:
            await _hangup_quietly(leg)
            return a.HungUp()
        ended: list[str] = []
        async with trio.open_nursery() as nursery:

            async def until_gone(who: str, channel: Channel) -> None:
                await wait_gone(channel)
                ended.append(who)
                nursery.cancel_scope.cancel()

            nursery.start_soon(until_gone, "caller", self.channel)
            nursery.start_soon(until_gone, "agent", leg)
        await _hangup_quietly(leg)
        await _hangup_quietly(self.channel)
        self.bridge_ended_by = ended[0] if ended else ""
        await self.emit("unbridge", {"uri": action.uri, "ended_by": self.bridge_ended_by})
        await self.emit("hangup", {"by": self.bridge_ended_by, "cause": HangupCause.NORMAL,
                                   "node": self.walker.path[-1]})
        return a.Transferred(True)


def _cause(cause: object) -> int:
    if isinstance(cause, int):
        return cause
    return HangupCause.NORMAL


async def _hangup_quietly(channel: Channel) -> None:
    if channel.is_up:
        try:
            await channel.hangup()
        except ChannelGone:
            pass
