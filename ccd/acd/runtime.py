"""The ACD in the daemon: the core and its service, fed from the database, the config and the API.

    runtime = await nursery.start(start_acd, daemon, driver)   # also sets daemon.acd

`AcdRuntime` owns the core (`Acd`), the trio service (`AcdService`), the store of its records, the
station directory and the telephony adapters. Callers come in through `queue_channel` (or
`enqueue`, shaped like the IVR's `Services.enqueue`); agents and team leads act through the
methods below, which the socket API calls with the acting user's name as `by`. Agent methods take
effect at once and raise the core's client errors (`bad-agent-transition`, `no-such-queue`...);
`await runtime.store.flush()` commits their records.

Beyond the core, the runtime keeps what only telephony knows: which channel carries each call
and each agent, three-way conferences, team leads' listening legs, and agents' outbound calls.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
import trio

from ccd.acd import model as m
from ccd.acd import settings as acd_settings
from ccd.acd import tables, views
from ccd.acd.adapters import (
    Announcer,
    CallRecording,
    ChannelAgentLeg,
    ChannelCaller,
    DriverStations,
    quietly,
    write_default_music,
)
from ccd.acd.core import Acd
from ccd.acd.dialout import Dialler
from ccd.acd.errors import BadAgentTransition, NoSuchAgent
from ccd.acd.model import AgentState
from ccd.acd.service import AcdService, QueueOutcome
from ccd.acd.settings import AcdSettings
from ccd.acd.store import AcdStore, Publisher
from ccd.acd.supervision import Supervision
from ccd.calls import CallLog, new_call_id
from ccd.errors import CcdError, ClientError
from ccd.ivr.prompts import PromptStore
from hw.base import Channel, Driver

log = logging.getLogger("ccd.acd")

S = AgentState
R = m.RecordKind
ON_A_CALL = (S.TALKING, S.ON_HOLD)
ANSWER_MODES = ("phone", "console")
CallbackHandler = Callable[[str, str, str, str], Awaitable[None]]  # caller, number, queue, call
# What `enqueue` tells the IVR for each way a call leaves the ACD.
IVR_OUTCOMES = {
    "completed": "connected",
    "abandoned": "connected",
    "callback": "connected",
    "max_wait": "failed",
    "left": "left",
}


@dataclass
class _Caller:
    channel: Channel
    number: str
    leg: ChannelCaller


class AcdRuntime:
    """See the module docstring.

    db: the daemon's database; settings: `[acd]`; driver: places station and team-lead legs
    (None: telephony off, every station unreachable); broker: pushed events; recordings_dir:
    where call recordings go; prompts: the IVR's prompt store (None: no announcements);
    music_dir: resolves relative music paths; language: callers' default language.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        settings: AcdSettings,
        driver: Driver | None = None,
        *,
        broker: Publisher | None = None,
        recordings_dir: Path | str = "recordings",
        prompts: PromptStore | None = None,
        music_dir: Path | str = ".",
        language: str = "zh",
    ) -> None:
        self.db = db
        self.settings = settings
        self.driver = driver
        self.recordings_dir = Path(recordings_dir)
        self.music_dir = Path(music_dir)
        self.language = language
        self.call_log = CallLog(db)
        self.directory = tables.StationDirectory(db, settings)
        self.acd = Acd(
            tables.queue_configs(db, settings),
            tables.agent_configs(db),
            acd_settings.weights(settings),
        )
        self.store = AcdStore(db, broker, station_of=self.acd.agent_station)
        self.announcer = Announcer(prompts)
        self.stations = DriverStations(
            driver,
            self.directory,
            self._caller_of,
            caller_id=settings.caller_id,
            gate=self._wait_console_answer,
            on_answer=self._agent_answered,
            on_gone=self._agent_leg_gone,
        )
        self.service = AcdService(self.acd, self.stations, _Sink(self.store_records))
        self.store.wall_time = self.service.wall_time
        self.callback_handler: CallbackHandler | None = None
        self._callers: dict[str, _Caller] = {}
        self._agent_legs: dict[str, ChannelAgentLeg] = {}
        self._agent_calls: dict[str, str] = {}  # agent -> call offered, handled or wrapped up
        self._last_call: dict[str, str] = {}  # agent -> the last call they answered
        self._answer_mode: dict[str, str] = {}
        self._gates: dict[tuple[str, str], trio.Event] = {}
        self._conferences: dict[str, tuple[str, str]] = {}  # call -> (agent, consulted agent)
        self.supervision = Supervision(self)
        self.dialler = Dialler(self)
        self._default_music: Path | None = None
        self._nursery: trio.Nursery | None = None

    # ------------------------------------------------------------ running

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the store's writer and the service until cancelled."""
        if not self.settings.music and self.driver is not None:
            path = self.music_dir / "music" / "default.wav"
            if not path.exists():
                await trio.to_thread.run_sync(write_default_music, path)
            self._default_music = path
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.store.run)
                await nursery.start(self.service.run)
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    def store_records(self, records: Sequence[m.AcdRecord]) -> None:
        """The service's RecordSink: note what telephony needs, then hand on to the store."""
        for r in records:
            if r.kind is R.AGENT_STATE and r.agent is not None:
                if r.details.get("to") in ("ringing", "talking", "on_hold", "wrap_up"):
                    if r.call_id:
                        self._agent_calls[r.agent] = r.call_id
                else:
                    self._agent_calls.pop(r.agent, None)
                    self._gates.pop((r.agent, r.call_id or ""), None)
            elif r.kind is R.ANSWERED and r.agent is not None and r.call_id is not None:
                self._last_call[r.agent] = r.call_id
            elif r.kind is R.TRANSFERRED and r.call_id is not None:
                if r.details.get("mode") == "consulted" and r.details.get("to_agent"):
                    self._last_call[str(r.details["to_agent"])] = r.call_id
                self._conferences.pop(r.call_id, None)
        self.store.store(records)

    def status(self) -> dict[str, Any]:
        """What `ccd status` shows under 'acd'."""
        return views.status(self)

    async def reload(self, config: object) -> None:
        """New config (SIGHUP): new stations and queues apply at once; changed queues at the
        next start (the running ones keep their callers and their settings)."""
        try:
            new = acd_settings.from_config(config)
        except CcdError as exc:
            log.error("[acd] not reloaded: %s", exc.message)
            return
        self.settings = new
        self.directory.settings = new
        self.stations.caller_id = new.caller_id
        self.add_new_queues()
        for agent in tables.agent_configs(self.db):
            self._refresh_agent(agent)

    def add_new_queues(self) -> list[str]:
        """Add queues that appeared in the database or config since start; returns their names."""
        known = set(self.acd.queue_names())
        added = []
        configs = {q.name: q for q in tables.queue_configs(self.db, self.settings)}
        pending = [name for name in configs if name not in known]
        for _ in range(len(pending)):  # overflow targets first
            for name in list(pending):
                targets = {r.to_queue for r in configs[name].overflow if r.to_queue}
                if targets <= set(self.acd.queue_names()) | {name}:
                    self.acd.add_queue(configs[name])
                    added.append(name)
                    pending.remove(name)
        return added

    def _refresh_agent(self, config: m.AgentConfig) -> None:
        try:
            self.acd.update_agent(config)
        except NoSuchAgent:
            self.acd.add_agent(config)

    # ------------------------------------------------------------ callers

    def _caller_of(self, call_id: str) -> tuple[Channel, str] | None:
        caller = self._callers.get(call_id)
        return (caller.channel, caller.number) if caller else None

    def _music(self, music: str | None) -> Path | None:
        if not music:
            return self._default_music
        path = Path(music)
        return path if path.is_absolute() else self.music_dir / path

    async def queue_channel(
        self,
        channel: Channel,
        queue: str,
        *,
        call_id: str | None = None,
        priority: int = 0,
        lang: str | None = None,
    ) -> QueueOutcome:
        """Queue an answered caller and serve them until they leave the ACD.

        channel: the caller's leg; queue: the queue's name; call_id: the `calls` row of this
        call (None: one is made, and closed when the call leaves); priority: the IVR's priority
        (at or above `vip_priority`: a VIP); lang: the caller's language (default: the site's).
        A completed call and a callback request end with the caller's leg hung up; otherwise
        the leg goes back to whoever queued it. Raises `no-such-queue` before queueing.
        """
        self.acd.queue_config(queue)  # no-such-queue before anything else
        own_row = call_id is None
        if call_id is None:
            call_id = new_call_id()
            self.call_log.start(
                call_id, src=channel.caller, dst=channel.called, channel=channel.info.leg_id
            )
        flags = tables.caller_flags(self.db, channel.caller, call_id, self.settings)
        caller = m.Caller(
            call_id,
            channel.caller,
            vip=flags["vip"] or priority >= self.settings.vip_priority,
            repeat_caller=flags["repeat_caller"],
            outage_area=flags["outage_area"],
        )
        recording = None
        if self.settings.record_calls:
            recording = CallRecording(self.recordings_dir / f"{_safe(call_id)}-acd.wav")
        leg = ChannelCaller(
            channel,
            announcer=self.announcer,
            lang=lang or self.language,
            music=self._music,
            recording=recording,
        )
        self._callers[call_id] = _Caller(channel, channel.caller, leg)
        outcome = QueueOutcome(call_id, "abandoned")
        try:
            outcome = await self.service.queue_call(leg, queue, caller)
            if outcome.outcome == "callback" and self.callback_handler is not None:
                await self.callback_handler(
                    channel.caller, outcome.callback_number or "", queue, call_id
                )
        finally:
            del self._callers[call_id]
            self._conferences.pop(call_id, None)
            with trio.CancelScope(shield=True):
                await self.supervision.end_call(call_id)
                if outcome.outcome in ("completed", "callback"):
                    with quietly("hang up the caller", channel):
                        await channel.hangup()
                if recording is not None and recording.started:
                    await self.keep_recording(call_id, channel, recording)
                if own_row:
                    by = "agent" if outcome.outcome == "completed" else "caller"
                    self.call_log.end(call_id, hangup_by=by)
        return outcome

    async def keep_recording(
        self, call_id: str, channel: Channel, recording: CallRecording
    ) -> None:
        seconds = await recording.stop(channel)
        known = self.db.execute("SELECT 1 FROM calls WHERE id = ?", [call_id]).fetchone()
        self.call_log.recording(
            call_id if known else None, str(recording.path), kind="call", seconds=round(seconds, 3)
        )

    async def enqueue(
        self,
        channel: Channel,
        queue: str,
        priority: int = 0,
        *,
        call_id: str | None = None,
        lang: str | None = None,
    ) -> str:
        """The IVR's `Services.enqueue`: serve the caller, then say how it ended for the flow.

        Returns 'connected' when the call is over (answered, the caller hung up, or a callback
        was registered), 'failed' for an unknown queue or the maximum wait, 'left' when the
        caller chose to go back to self-service. Arguments as for `queue_channel`.
        """
        try:
            outcome = await self.queue_channel(
                channel, queue, call_id=call_id, priority=priority, lang=lang
            )
        except CcdError as exc:
            log.warning("call %s not queued in %s: %s", call_id, queue, exc.message)
            return "failed"
        return IVR_OUTCOMES.get(outcome.outcome, "failed")

    # ------------------------------------------------------------ agent legs

    def _agent_answered(self, leg: ChannelAgentLeg) -> None:
        old = self._agent_legs.get(leg.agent)
        if old is not None and old.channel.is_up and old is not leg:
            log.warning("agent %s has a second leg; keeping the new one", leg.agent)
        self._agent_legs[leg.agent] = leg

    def _agent_leg_gone(self, leg: ChannelAgentLeg) -> None:
        """A station hung up. In a conference, the agent who started it leaves the caller with
        the consulted agent (a consulted transfer) instead of ending the call for everyone."""
        if self._agent_legs.get(leg.agent) is leg:
            del self._agent_legs[leg.agent]
        conference = self._conferences.get(leg.call_id)
        if conference is None:
            return
        agent, consulted = conference
        del self._conferences[leg.call_id]
        if leg.agent == agent:
            try:
                self.service.feed(m.ConsultTransfer(agent))
            except CcdError as exc:
                log.info("conference of %s: no hand-over (%s)", leg.call_id, exc.message)

    async def _wait_console_answer(self, agent: str, call_id: str) -> None:
        if self._answer_mode.get(agent, "phone") != "console":
            await trio.lowlevel.checkpoint()
            return
        gate = self._gates.setdefault((agent, call_id), trio.Event())
        try:
            await gate.wait()
        finally:
            self._gates.pop((agent, call_id), None)

    # ------------------------------------------------------------ agents

    def _feed(self, event: m.Event) -> m.Step:
        return self.service.feed(event)

    def _ensure_agent(self, agent: str) -> None:
        config = tables.agent_config(self.db, agent)
        if config is None:
            raise NoSuchAgent(
                f"{agent} is not an enabled user with the agent role",
                error_id="not-an-agent",
                agent=agent,
            )
        self._refresh_agent(config)

    def login(
        self,
        agent: str,
        station: str,
        *,
        ready: bool = False,
        answer: str = "phone",
        by: str | None = None,
    ) -> None:
        """Log `agent` in at `station` (a station name); answer: 'phone' (pick up the desk
        phone) or 'console' (`answer` from the console; the phone must auto-answer)."""
        if answer not in ANSWER_MODES:
            raise ClientError(f"answer must be one of {ANSWER_MODES}", error_id="bad-params")
        self._ensure_agent(agent)
        self.directory.get(station)
        self._feed(m.AgentLogin(agent, station, ready=ready, by=by))
        self._answer_mode[agent] = answer

    def logout(self, agent: str, by: str | None = None) -> None:
        self._feed(m.AgentLogout(agent, by=by))
        self._answer_mode.pop(agent, None)

    def ready(self, agent: str, by: str | None = None) -> None:
        self._feed(m.AgentReady(agent, by=by))

    def not_ready(self, agent: str, reason: str, by: str | None = None) -> None:
        self._feed(m.AgentNotReady(agent, reason or "break", by=by))

    def answer(self, agent: str) -> None:
        """Answer the ringing offer from the console (agents logged in with answer='console')."""
        state, _ = self.acd.agent_state(agent)
        call_id = self._agent_calls.get(agent)
        if state is not S.RINGING or call_id is None:
            raise BadAgentTransition(
                f"agent {agent} has no call ringing", agent=agent, state=state.value,
                request="answer",
            )
        if self._answer_mode.get(agent, "phone") != "console":
            raise ClientError(
                "answer this call on the phone (log in with answer='console' to answer here)",
                error_id="answer-on-phone",
                agent=agent,
                station=self.acd.agent_station(agent),
            )
        self._gates.setdefault((agent, call_id), trio.Event()).set()

    def hold(self, agent: str) -> None:
        self._feed(m.Hold(agent))

    def unhold(self, agent: str) -> None:
        self._feed(m.Unhold(agent))

    def hangup(self, agent: str) -> None:
        """End the agent's call (or outbound call); in a conference, leave the caller with the
        consulted agent."""
        if self.dialler.hang_up(agent):
            return
        call_id = self._agent_calls.get(agent)
        conference = self._conferences.get(call_id or "")
        if conference is not None and conference[0] == agent:
            self._conferences.pop(call_id or "", None)
            self._feed(m.ConsultTransfer(agent))
            return
        self._feed(m.AgentHangup(agent))

    def transfer(self, agent: str, target: str, mode: str = "blind") -> str:
        """Transfer the agent's caller.

        blind: to a queue (the caller waits there, as a new arrival) or to a ready agent.
        consult: the first call rings `target` (an agent) while the caller holds; once they
        answered, the second call hands the caller over. Returns what happened: 'queued',
        'ringing', 'consulting' or 'transferred'.
        """
        if mode == "blind":
            if target in self.acd.queue_names():
                self._feed(m.TransferToQueue(agent, target))
                return "queued"
            self._feed(m.TransferToAgent(agent, target))
            return "ringing"
        if mode != "consult":
            raise ClientError("mode must be 'blind' or 'consult'", error_id="bad-params")
        try:
            self._feed(m.ConsultTransfer(agent))
            return "transferred"
        except BadAgentTransition as exc:
            if exc.details.get("request") != "consult_transfer":
                raise
        self._feed(m.ConsultStart(agent, target))
        return "consulting"

    def consult_end(self, agent: str) -> None:
        """Hang up the consultation; the caller stays on hold with the agent."""
        self._feed(m.ConsultEnd(agent))

    async def conference(self, agent: str) -> str:
        """Join the caller, the agent and the consulted agent (who must have answered)."""
        call_id = self._agent_calls.get(agent)
        state, _ = self.acd.agent_state(agent)
        consulted = self._consulted_agent(agent, call_id)
        if call_id is None or state not in ON_A_CALL or consulted is None:
            raise BadAgentTransition(
                f"agent {agent} has no answered consultation to join",
                agent=agent,
                state=state.value,
                request="conference",
            )
        caller = self._callers[call_id]
        target_leg = self._agent_legs[consulted]
        if state is S.ON_HOLD:
            self._feed(m.Unhold(agent))
        self._conferences[call_id] = (agent, consulted)
        await caller.leg.unhold()
        await caller.channel.bridge(target_leg.channel)
        self.call_log.event(call_id, "conference", agent=agent, consulted=consulted)
        return consulted

    def _consulted_agent(self, agent: str, call_id: str | None) -> str | None:
        if call_id is None:
            return None
        for other, other_call in self._agent_calls.items():
            if (
                other != agent
                and other_call == call_id
                and self.acd.agent_state(other)[0] is S.TALKING
                and other in self._agent_legs
                and self.acd.call_agent(call_id) == agent
            ):
                return other
        return None

    def wrap_up(
        self, agent: str, code: str, note: str = "", finish: bool = False, by: str | None = None
    ) -> str | None:
        """Record the disposition of the agent's current or last call; `finish` ends wrap-up
        now (ready). Returns the call's id (None: the agent has had no call)."""
        call_id = self._agent_calls.get(agent) or self._last_call.get(agent)
        self.acd.agent_state(agent)  # no-such-agent
        if call_id is not None:
            self.call_log.update(call_id, wrap_code=code, note=note)
            self.call_log.event(call_id, "wrap_up", agent=agent, code=code, note=note)
        if finish and self.acd.agent_state(agent)[0] is S.WRAP_UP:
            self._feed(m.AgentReady(agent, by=by))
        return call_id

    def force_state(self, agent: str, state: str, reason: str, by: str) -> None:
        """A team lead sets an agent's state: ready, not_ready (with reason) or logged_out."""
        if state == "ready":
            self._feed(m.AgentReady(agent, by=by))
        elif state == "not_ready":
            self._feed(m.AgentNotReady(agent, reason or "supervisor", by=by))
        elif state == "logged_out":
            self.logout(agent, by=by)
        else:
            raise ClientError(
                "state must be ready, not_ready or logged_out", error_id="bad-params", state=state
            )

    def agent_state(self, agent: str) -> dict[str, Any]:
        """The agent's live state, for their console (see `views.agent_view`)."""
        try:
            self.acd.agent_state(agent)
        except NoSuchAgent:
            self._ensure_agent(agent)  # an agent added since start
        return views.agent_view(self, agent)

    # ------------------------------------------------------------ outbound calls, team leads

    def dial(self, agent: str, number: str, by: str | None = None) -> str:
        """Ring the agent's station, then `number` (see `Dialler.dial`); returns the call's id."""
        return self.dialler.dial(agent, number, by)

    async def spy(self, lead: str, agent: str, mode: str, uri: str) -> dict[str, Any]:
        """Join team lead `lead`'s phone at `uri` to `agent`'s call (see `Supervision.spy`)."""
        return await self.supervision.spy(lead, agent, mode, uri)

    async def stop_spy(self, lead: str) -> bool:
        """End the lead's listening (hang up their phone); False if they were not listening."""
        return await self.supervision.stop(lead)

    # ------------------------------------------------------------ what telephony knows

    @property
    def nursery(self) -> trio.Nursery:
        """Where the runtime's own tasks run (raises `acd-not-running` before `run`)."""
        if self._nursery is None:
            raise CcdError("the ACD is not running", error_id="acd-not-running")
        return self._nursery

    def call_of(self, agent: str) -> str | None:
        """The call the agent is offered, handling or wrapping up (None: none)."""
        return self._agent_calls.get(agent)

    def caller_channel(self, call_id: str) -> Channel | None:
        caller = self._callers.get(call_id)
        return caller.channel if caller else None

    def agent_channel(self, agent: str) -> Channel | None:
        leg = self._agent_legs.get(agent)
        return leg.channel if leg else None

    # ------------------------------------------------------------ live numbers

    def queue_status(self, queue: str) -> dict[str, Any] | None:
        """One queue's load for the IVR's `queue_load` branch (None: no such queue)."""
        return views.queue_status(self, queue)

    def snapshot(self) -> dict[str, Any]:
        """Queues, agents and listening team leads, live (see `views.snapshot`)."""
        return views.snapshot(self)

    def conference_of(self, call_id: str) -> tuple[str, str] | None:
        """(agent, consulted agent) of a three-way call (None: not one)."""
        return self._conferences.get(call_id)

    def last_call(self, agent: str) -> str | None:
        return self._last_call.get(agent)

    def answer_mode(self, agent: str) -> str:
        return self._answer_mode.get(agent, "phone")

    def caller_number(self, call_id: str) -> str | None:
        caller = self._callers.get(call_id)
        return caller.number if caller else None


class _Sink:
    """The service's RecordSink: the runtime's `store_records`."""

    def __init__(self, store: Callable[[Sequence[m.AcdRecord]], None]) -> None:
        self.store = store


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80] or "call"


# ---------------------------------------------------------------- wiring


def build_runtime(
    config: Any,
    db: sqlite_utils.Database,
    driver: Driver | None,
    *,
    broker: Publisher | None = None,
    settings: AcdSettings | None = None,
) -> AcdRuntime:
    """An AcdRuntime for a loaded `ccd.config.Config` (paths, language and `[acd]`)."""
    settings = settings or acd_settings.from_config(config)
    prompts_dir = config.path(config.paths.prompts)
    return AcdRuntime(
        db,
        settings,
        driver,
        broker=broker,
        recordings_dir=config.path(config.paths.recordings),
        prompts=PromptStore(prompts_dir),
        music_dir=prompts_dir,
        language=config.site.language,
    )


async def start_acd(
    daemon: Any,
    driver: Driver | None = None,
    *,
    task_status: trio.TaskStatus[AcdRuntime | None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The ACD as a daemon service: `runtime = await nursery.start(start_acd, daemon, driver)`.

    Sets `daemon.acd` (what the API's agent and supervisor methods use), adds 'acd' to
    `daemon.status_sources` and a reload hook; undoes them when cancelled. With
    `acd.enabled = false` it starts nothing and reports None (the IVR then gets 'unavailable').
    """
    settings = acd_settings.from_config(daemon.config)
    if not settings.enabled:
        log.info("the ACD is off (acd.enabled = false)")
        task_status.started(None)
        return
    runtime = build_runtime(daemon.config, daemon.db, driver, broker=daemon.broker,
                            settings=settings)
    daemon.acd = runtime
    daemon.status_sources["acd"] = runtime.status
    daemon.reload_hooks.append(runtime.reload)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(runtime.run)
            task_status.started(runtime)
    finally:
        daemon.acd = None
        daemon.status_sources.pop("acd", None)
        if runtime.reload in daemon.reload_hooks:
            daemon.reload_hooks.remove(runtime.reload)
