"""The telephony service: every driver answers the hotline, each call runs the IVR in its own task.

Drivers run side by side (SIP media workers, analog lines on voice modems); the IVR and the ACD
get them as one `DriverSet`, which places each outbound leg with the driver of its URI's scheme.

Per call: a `calls` row is written before the caller hears anything, every IVR step becomes a
`call_events` row as it happens, and the row is closed with the path, digits and disposition
when the call ends — however it ends. A media worker that dies takes its calls with it; those
are closed as FAILED with `hangup_by = 'worker-lost'` (a modem that vanishes: 'line-lost'). One call's failure (a bug, a bad prompt)
is contained in that call's task and never reaches the daemon.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import trio

from ccd.acd.runtime import start_acd
from ccd.calls import ANSWERED, BUSY, FAILED, CallLog, new_call_id
from ccd.config import Config
from ccd.ivr.catalogue import load_catalogue
from ccd.ivr.engine import BaseServices, Engine
from ccd.ivr.flow import validate_flow
from ccd.ivr.prompts import PromptsMissing, PromptStore
from ccd.telephony import surge
from ccd.telephony.edge import LostCalls, make_edge, uses_edge, worker_layout
from ccd.telephony.ivr_services import DaemonIvrServices, caller_identity, caller_language
from ccd.telephony.prompts import prepare_prompts
from ccd.telephony.trunks import Trunks
from hw.base import Channel, Driver, HangupCause
from hw.dialogic.driver import DialogicDriver
from hw.drivers import DriverSet
from hw.modem.channel import LOST_REASON as LINE_LOST
from hw.modem.driver import ModemDriver
from hw.sip import SipChannel, SipDriver, SipRegistration
from hw.sipworker.channel import LOST_REASON

# Why a leg ended when its driver lost it (the call is then FAILED, hung up by that reason).
LOST_REASONS = (LOST_REASON, LINE_LOST)

log = logging.getLogger("ccd.telephony")

SHIPPED_FLOWS = Path(__file__).resolve().parent.parent / "ivr" / "flows"

# What the walker's disposition becomes in the CDR-style `calls.disposition`.
DISPOSITIONS = {"failed": FAILED, "busy": BUSY}


def flow_path(config: Config, name: str = "") -> Path:
    """The configured flow file; the shipped copy when the site has none of that name."""
    name = name or config.ivr.flow
    site = config.path(config.paths.flows) / name
    return site if site.exists() else SHIPPED_FLOWS / name


def load_flow(config: Config, name: str = ""):  # -> Flow
    return validate_flow(flow_path(config, name), load_catalogue())


def make_driver(config: Config, on_leg_lost: Any = None) -> SipDriver:
    return SipDriver(
        name="sip",
        workers=config.sip.workers,
        **worker_layout(config),
        rtp_port=config.sip.rtp_port_start,
        rtp_span=config.sip.rtp_ports_per_worker,
        max_calls=config.sip.max_calls_per_worker,
        max_cps=config.sip.max_new_calls_per_second,
        extra_legs=config.sip.legs_reserved_per_call,
        followup_pool=config.sip.followup_legs_per_worker,
        overflow_room=config.sip.overflow_legs_per_worker,
        registration=None if uses_edge(config) else SipRegistration(  # edge: ccd/telephony/trunks
            registrar=config.sip.registrar,
            user=config.sip.username,
            password=config.sip.password,
            realm=config.sip.realm,
            expires=config.sip.register_expires_s,
        ) if config.sip.registrar else None,
        log_level=config.log.level,
        log_dir=config.run_dir,
        on_leg_lost=on_leg_lost,
    )


async def _prepare_prompts(config: Config, flow: Any) -> None:
    made = await trio.to_thread.run_sync(prepare_prompts, config, flow)
    if made:
        log.info("made %d missing prompt(s) with espeak-ng: %s", len(made),
                 ", ".join(made[:8]) + (" ..." if len(made) > 8 else ""))


class Telephony:
    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.config: Config = daemon.config
        self.log = CallLog(daemon.db, getattr(daemon, "writer", None),
                           getattr(daemon, "sealer", None))
        daemon.call_log = self.log
        self.flow = load_flow(self.config)
        # The SIP driver (None when sip.enabled is false) and every driver by URI scheme.
        self.driver: SipDriver | None = None
        self.edge = None
        self.lost_calls: LostCalls | None = None
        drivers: dict[str, Driver] = {}
        if self.config.sip.enabled:
            self.driver = drivers["sip"] = make_driver(self.config, on_leg_lost=self._leg_lost)
            self.edge = make_edge(self.config, self.driver) if uses_edge(self.config) else None
            if self.edge is not None:
                self.lost_calls = LostCalls(self.edge, self.driver)
                self.driver.on_worker_lost = self.lost_calls.worker_lost
                self.driver.on_worker_ready = self.lost_calls.worker_ready
        if self.config.modem:
            drivers["modem"] = ModemDriver("modem", self.config.modem)
        if self.config.dialogic:
            drivers["dialogic"] = DialogicDriver("dialogic", self.config.dialogic)
        self.drivers = DriverSet(drivers)
        self.engine = self._engine(self.flow)
        # Callers beyond capacity (sip.overflow_legs_per_worker) hear the busy announcement.
        self.overflow_engine = self._engine(load_flow(self.config, self.config.ivr.overflow_flow))
        self.trunks = Trunks(self.config, daemon) if self.edge is not None else None
        self._did_engines: dict[str, Engine] = {}  # flow file -> engine, for [[sip.trunks]] dids
        self.calls: dict[str, str] = {}  # leg id → call id, for calls in progress
        self.handled = 0

    def _engine(self, flow: Any) -> Engine:
        return Engine(
            flow,
            PromptStore(self.config.path(self.config.paths.prompts)),
            BaseServices(),  # every call runs with its own DaemonIvrServices (its call id)
            recordings_dir=self.config.path(self.config.paths.recordings),
            driver=self.drivers,
            agent_uri=self.config.ivr.agent_uri,
        )

    def _engine_for(self, called: str) -> Engine:
        """The engine of the flow a trunk's DID names ([[sip.trunks]] dids), else the default."""
        name = self.trunks.flow_for(called) if self.trunks is not None else ""
        if not name:
            return self.engine
        if name not in self._did_engines:
            engine = self._engine(load_flow(self.config, name))
            engine.surge_on = self.engine.surge_on
            self._did_engines[name] = engine
        return self._did_engines[name]

    def statistics(self) -> dict[str, Any]:
        stats = dict(self.driver.statistics()) if self.driver is not None else {}
        stats["calls_in_progress"] = len(self.calls)
        stats["calls_handled"] = self.handled
        stats["flow"] = str(flow_path(self.config))
        stats["edge"] = self.edge.statistics() if self.edge is not None else {"kind": "none"}
        stats["trunks"] = self.trunks.statistics() if self.trunks is not None else []
        return stats

    async def reload(self, config: Config) -> None:
        """SIGHUP: a new flow for new calls; a flow with faults is refused and the old one kept.
        Trunks take their new settings (a fixed password registers at once)."""
        if self.trunks is not None:
            self.trunks.reload(config)
        try:
            flow = load_flow(config)
        except Exception as e:  # a FlowError names file, node and fault
            log.error("flow reload refused, keeping the running flow: %s", e)
            return
        try:
            await _prepare_prompts(config, flow)
        except PromptsMissing as e:
            log.error("flow reload refused, keeping the running flow: %s", e.message)
            return
        self.flow = flow
        self.engine.replace_flow(flow)
        self._did_engines.clear()
        log.info("flow reloaded from %s", flow_path(config))

    async def _callback(self, caller: str, number: str, queue: str, call_id: str) -> None:
        """A caller waiting in a queue asked to be called back instead."""
        await DaemonIvrServices(self.daemon, call_id).request_callback(caller, number, "", queue)

    def _leg_lost(self, channel: SipChannel) -> None:
        call_id = self.calls.get(channel.info.leg_id)
        if call_id:
            log.warning("call %s lost with its media worker", call_id)
        if self.lost_calls is not None:
            self.lost_calls.lost(channel)

    def line_statistics(self) -> dict[str, Any]:
        """Every analog line and board channel with its state, for `ccd status`."""
        lines: list[dict[str, Any]] = []
        for name in ("modem", "dialogic"):
            driver = self.drivers.drivers.get(name)
            if driver is not None:
                stats = driver.statistics()
                lines += [{"driver": name, **line} for line in stats.get("lines", [])]  # type: ignore[attr-defined]
        return {"lines": lines, "up": sum(1 for ln in lines if ln["state"] != "down")}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # PromptsMissing: no calls taken at all, rather than every call failing.
        await _prepare_prompts(self.config, self.flow)
        await _prepare_prompts(self.config, self.overflow_engine.flow)
        try:
            await self._serve(task_status)
        finally:
            log.info("SIP telephony stopped: %d calls handled, %d in progress",
                     self.handled, len(self.calls))

    async def _serve(self, task_status: trio.TaskStatus[None]) -> None:
        async with trio.open_nursery() as nursery:
            for driver in self.drivers.drivers.values():
                await nursery.start(driver.run)  # type: ignore[attr-defined]
            if self.edge is not None and self.lost_calls is not None:
                await nursery.start(self.edge.run)
                nursery.start_soon(self.lost_calls.run)
            if self.trunks is not None:
                await nursery.start(self.trunks.run)
            acd = await nursery.start(start_acd, self.daemon, self.drivers)
            if acd is not None:
                acd.callback_handler = self._callback
            surge_mode = surge.attach(self.daemon, acd, self.config.ivr.surge)
            await nursery.start(surge_mode.run)
            self.engine.surge_on = lambda: surge_mode.on
            self.daemon.status_sources["sip"] = self.statistics
            if {"modem", "dialogic"} & set(self.drivers.drivers):
                self.daemon.status_sources["lines"] = self.line_statistics
            self.daemon.reload_hooks.append(self.reload)
            self.daemon.sip = self.driver
            if self.driver is not None:
                address = (f"sip:ccd@{self.config.sip.listen}" if self.edge is not None
                           else self.driver.uri)
                log.info("answering SIP calls at %s", address)
            for name, driver in self.drivers.drivers.items():
                if name != "sip":
                    log.info("answering %s calls on %d line(s)", name,
                             len(getattr(driver, "lines", ())))
                nursery.start_soon(self._accept, driver)
            task_status.started()

    async def _accept(self, driver: Driver) -> None:
        async with trio.open_nursery() as nursery:
            while True:
                channel = await driver.incoming()
                nursery.start_soon(self.handle_call, channel)

    async def handle_call(self, channel: Channel) -> None:
        if self.log.writer.congested:
            # The database has been locked so long that call records pile up: refuse cleanly
            # (503, the caller's network may retry) rather than serve calls we cannot record.
            log.warning("call from %s refused: %d database writes wait", channel.info.caller,
                        self.log.writer.backlog)
            with trio.CancelScope(shield=True):
                await channel.hangup(HangupCause.UNAVAILABLE)
            return
        call_id = new_call_id()
        info = channel.info
        self.calls[info.leg_id] = call_id
        log.info("call %s from %s to %s started", call_id, info.caller or "-", info.called or "-")
        self.log.start(
            call_id, src=info.caller, dst=info.called, direction="in",
            channel=info.leg_id,
        )
        if "callerid_raw" in info.extra:  # an analog line: what the caller ID said, as sent
            self.log.event(call_id, "callerid", {
                k.removeprefix("callerid_"): v for k, v in info.extra.items()
                if k.startswith("callerid_")} | {"line": info.extra.get("line", "")})

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "answer":
                self.log.answered(call_id)
            else:
                self.log.event(call_id, kind, data)

        summary = None
        try:
            engine = self.overflow_engine if info.extra.get("overflow") else self._engine_for(
                info.called)
            summary = await engine.run(
                channel, call_id=call_id, on_event=on_event,
                lang=caller_language(self.daemon.db, info.caller, engine.flow.languages,
                                     self.config.site.language),
                services=DaemonIvrServices(self.daemon, call_id, self.config.site.language),
            )
        except Exception:
            # Contained: one call's failure (a bug in a flow step, a driver fault) must not end
            # the telephony service and every other call with it.
            log.exception("call %s failed", call_id)
        finally:
            with trio.CancelScope(shield=True):
                await self._close(channel, call_id, summary)

    async def _close(self, channel: Channel, call_id: str, summary: Any) -> None:
        self.calls.pop(channel.info.leg_id, None)
        self.handled += 1
        ended = getattr(channel, "ended", None)
        lost = ended is not None and ended.reason in LOST_REASONS
        fields: dict[str, Any] = {}
        if summary is not None:
            fields = dict(
                ivr_path=summary.path,
                digits=summary.digits,
                language=summary.lang,
                vip=int(bool(summary.vip)),
                customer_id=summary.customer_id,
                account_no=summary.account_no or None,
            )
            if summary.customer_id is None:  # the flow never looked the caller up by number
                fields.update(caller_identity(self.daemon.db, channel.info.caller))
        disposition: str | None
        if lost or summary is None:
            disposition, by = FAILED, (ended.reason if lost and ended else "error")
        else:
            disposition = DISPOSITIONS.get(summary.disposition)
            if disposition is None:
                disposition = ANSWERED if self.log.is_answered(call_id) else None
            by = summary.ended_by or ""
        if channel.is_up:
            try:
                await channel.hangup()
            except Exception:
                log.debug("hangup of %s after the call failed", call_id, exc_info=True)
        cause = ended.cause if ended is not None else None
        db = self.daemon.db
        self.log.end(call_id, disposition=disposition, cause=cause, hangup_by=by,
                     then=lambda: log_call_end(db, call_id), **fields)


def log_call_end(db: Any, call_id: str) -> None:
    """One INFO line per finished call: disposition, who hung up, length, queue and agent."""
    row = db.execute('SELECT disposition, hangup_by, duration, queue, agent FROM calls '
                     'WHERE id = ?', [call_id]).fetchone()
    if row is not None:
        disposition, by, duration, queue, agent = row
        log.info("call %s ended: %s, hung up by %s, %.1f s, queue %s, agent %s", call_id,
                 disposition, by or "-", duration or 0.0, queue or "-", agent or "-")


async def serve(daemon: Any, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Start telephony for `daemon` (for `nursery.start`)."""
    telephony = Telephony(daemon)
    daemon.telephony = telephony
    await telephony.run(task_status=task_status)
