"""The ACD in the daemon: the core and its service, fed from the database, the config and the API.

    runtime = await nursery.start(start_acd, daemon, driver)   # also sets daemon.acd

`AcdRuntime` owns the core (`Acd`), the trio service (`AcdService`), the store of its records, the
station directory and the telephony adapters. Its methods come in three parts by role:

- `ccd.acd.queueing`: callers come in through `queue_channel` (or `enqueue`, shaped like the IVR's
  `Services.enqueue`);
- `ccd.acd.agent_control`: agents and team leads act through `login`, `ready`, `hangup`,
  `transfer`, `wrap_up`, `force_state`..., which the socket API calls with the acting user's name
  as `by`; they take effect at once and raise the core's client errors;
- this module: building and starting the runtime, reloading, the store's feed, live numbers.

At start-up (`run`), agents whose last stored state is not 'logged_out' get a 'logged_out' row
(reason 'restart'): the new core starts with everyone logged out, and stored reports must agree.

Beyond the core, the runtime keeps what only telephony knows: which channel carries each call
and each agent, three-way conferences, team leads' listening legs, and agents' outbound calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils
import trio

from ccd.acd import model as m
from ccd.acd import settings as acd_settings
from ccd.acd import tables, views
from ccd.acd.adapters import Announcer, DriverStations, write_default_music
from ccd.acd.agent_control import AgentControl
from ccd.acd.consoles import ConsoleWatch
from ccd.acd.core import Acd
from ccd.acd.dialout import Dialler
from ccd.acd.errors import NoSuchAgent
from ccd.acd.queueing import CallbackHandler, CallerQueueing, QueuedCaller
from ccd.acd.service import AcdService
from ccd.acd.settings import AcdSettings
from ccd.acd.store import AcdStore, Publisher
from ccd.acd.supervision import Supervision
from ccd.calls import CallLog
from ccd.errors import CcdError
from ccd.ivr.prompts import PromptStore
from hw.base import Driver

log = logging.getLogger("ccd.acd")

R = m.RecordKind
RESTART_REASON = "restart"  # reason of the logout rows written at start-up


class AcdRuntime(AgentControl, CallerQueueing):
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
        self._callers: dict[str, QueuedCaller] = {}
        self._agent_legs = {}
        self._agent_calls = {}
        self._last_call = {}
        self._answer_mode = {}
        self._gates = {}
        self._conferences = {}
        self.supervision = Supervision(self)
        self.dialler = Dialler(self)
        self._default_music: Path | None = None
        self._nursery: trio.Nursery | None = None
        self.consoles = ConsoleWatch(self._state_name, self._console_lost)

    def share_log(self, call_log: CallLog) -> None:
        """Write call records and ACD rows through the daemon's one write queue (telephony's
        CallLog), so a call's rows keep their order and wait together for a locked database."""
        self.call_log = call_log
        self.store.writer = call_log.writer

    # ------------------------------------------------------------ running

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Log out agents left logged in by the last run (rows only), then run the store's
        writer and the service until cancelled."""
        stale = self.store.log_out_stale_agents(RESTART_REASON)
        if stale:
            log.info("logged out %d agents left logged in by the last run: %s",
                     len(stale), ", ".join(stale))
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

    @property
    def nursery(self) -> trio.Nursery:
        """Where the runtime's own tasks run (raises `acd-not-running` before `run`)."""
        if self._nursery is None:
            raise CcdError("the ACD is not running", error_id="acd-not-running")
        return self._nursery

    def _state_name(self, agent: str) -> str:
        try:
            return str(self.acd.agent_state(agent)[0].value)
        except NoSuchAgent:
            return "logged_out"

    def _console_lost(self, agent: str) -> None:
        """The agent's last console closed (see ccd.acd.consoles): log them out."""
        try:
            self.logout(agent)
        except CcdError as exc:
            log.warning("agent %s: console closed, not logged out: %s", agent, exc.message)
            return
        log.info("agent %s logged out: their console closed", agent)

    def store_records(self, records: Sequence[m.AcdRecord]) -> None:
        """The service's RecordSink: note what telephony needs, then hand on to the store."""
        for r in records:
            if r.kind is R.AGENT_STATE and r.agent is not None:
                to = str(r.details.get("to"))
                if r.details.get("from") == "logged_out" or to == "logged_out":
                    log.info("agent %s %s at %s", r.agent,
                             "logged out" if to == "logged_out" else "logged in",
                             r.details.get("station") or self.acd.agent_station(r.agent) or "-")
                if self.consoles.state_changed(r.agent, to) and self._nursery is not None:
                    self._nursery.start_soon(_later, self._console_lost, r.agent)
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

    async def reload(self, config: object) -> None:
        """New config (SIGHUP): new stations, new queues and changed queues apply at once (the
        callers waiting in a changed queue keep their place under its new settings)."""
        try:
            new = acd_settings.from_config(config)
        except CcdError as exc:
            log.error("[acd] not reloaded: %s", exc.message)
            return
        self.settings = new
        self.directory.settings = new
        self.stations.caller_id = new.caller_id
        self.apply_queue_changes()
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

    def apply_queue_changes(self) -> list[str]:
        """Bring the running queues to the database and config: new ones are added, changed
        ones take their new settings now (`ccd queues set`, a reload); returns the names of
        the queues added or changed. (A removed queue stays until the next start: its callers
        have nowhere else to wait.)"""
        changed = self.add_new_queues()
        running = set(self.acd.queue_names())
        for config in tables.queue_configs(self.db, self.settings):
            if (config.name in running and config.name not in changed
                    and self.acd.queue_config(config.name) != config):
                self._feed(m.QueueChanged(config))
                changed.append(config.name)
        if changed:
            log.info("queues applied: %s", ", ".join(changed))
        return changed

    # ------------------------------------------------------------ live numbers

    def status(self) -> dict[str, Any]:
        """What `ccd status` shows under 'acd'."""
        return views.status(self)

    def queue_status(self, queue: str) -> dict[str, Any] | None:
        """One queue's load for the IVR's `queue_load` branch (None: no such queue)."""
        return views.queue_status(self, queue)

    def snapshot(self) -> dict[str, Any]:
        """Queues, agents and listening team leads, live (see `views.snapshot`)."""
        return views.snapshot(self)


async def _later(fn: Callable[[str], None], agent: str) -> None:
    """Run `fn(agent)` in its own task: never from inside the ACD's feed."""
    fn(agent)


class _Sink:
    """The service's RecordSink: the runtime's `store_records`."""

    def __init__(self, store: Callable[[Sequence[m.AcdRecord]], None]) -> None:
        self.store = store


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
    if getattr(daemon, "call_log", None) is not None:
        runtime.share_log(daemon.call_log)
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
