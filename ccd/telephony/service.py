"""The telephony service: SIP media workers answer the hotline, each call runs the IVR in its own task.

Per call: a `calls` row is written before the caller hears anything, every IVR step becomes a
`call_events` row as it happens, and the row is closed with the path, digits and disposition
when the call ends — however it ends. A media worker that dies takes its calls with it; those
are closed as FAILED with `hangup_by = 'worker-lost'`. One call's failure (a bug, a bad prompt)
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
from ccd.ivr.prompts import PromptStore
from ccd.telephony import surge
from ccd.telephony.edge import LostCalls, make_edge, uses_edge, worker_layout
from ccd.telephony.ivr_services import DaemonIvrServices
from ccd.telephony.trunks import Trunks
from hw.base import Channel
from hw.sip import SipChannel, SipDriver, SipRegistration
from hw.sipworker.channel import LOST_REASON

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


class Telephony:
    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.config: Config = daemon.config
        self.log = CallLog(daemon.db)
        daemon.call_log = self.log
        self.flow = load_flow(self.config)
        self.driver = make_driver(self.config, on_leg_lost=self._leg_lost)
        self.edge = make_edge(self.config, self.driver) if uses_edge(self.config) else None
        self.lost_calls = LostCalls(self.edge, self.driver) if self.edge is not None else None
        if self.lost_calls is not None:
            self.driver.on_worker_lost = self.lost_calls.worker_lost
            self.driver.on_worker_ready = self.lost_calls.worker_ready
        self.engine = self._engine(self.flow)
        # Callers beyond capacity (sip.overflow_legs_per_worker) hear the busy announcement.
        self.overflow_engine = self._engine(load_flow(self.config, self.config.ivr.overflow_flow))
        self.trunks = Trunks(self.config, daemon) if uses_edge(self.config) else None
        self._did_engines: dict[str, Engine] = {}  # flow file -> engine, for [[sip.trunks]] dids
        self.calls: dict[str, str] = {}  # leg id → call id, for calls in progress
        self.handled = 0

    def _engine(self, flow: Any) -> Engine:
        return Engine(
            flow,
            PromptStore(self.config.path(self.config.paths.prompts)),
            BaseServices(),  # every call runs with its own DaemonIvrServices (its call id)
            recordings_dir=self.config.path(self.config.paths.recordings),
            driver=self.driver,
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
        stats = dict(self.driver.statistics())
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

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.log.fail_open(reason="daemon-restart")
        async with trio.open_nursery() as nursery:
            await nursery.start(self.driver.run)
            address = self.driver.uri
            if self.edge is not None and self.lost_calls is not None:
                await nursery.start(self.edge.run)
                nursery.start_soon(self.lost_calls.run)
            if self.trunks is not None:
                await nursery.start(self.trunks.run)
                address = f"sip:ccd@{self.config.sip.listen}"
            acd = await nursery.start(start_acd, self.daemon, self.driver)
            if acd is not None:
                acd.callback_handler = self._callback
            surge_mode = surge.attach(self.daemon, acd, self.config.ivr.surge)
            await nursery.start(surge_mode.run)
            self.engine.surge_on = lambda: surge_mode.on
            self.daemon.status_sources["sip"] = self.statistics
            self.daemon.reload_hooks.append(self.reload)
            self.daemon.sip = self.driver
            log.info("answering SIP calls at %s", address)
            task_status.started()
            while True:
                channel = await self.driver.incoming()
                nursery.start_soon(self.handle_call, channel)

    async def handle_call(self, channel: Channel) -> None:
        call_id = new_call_id()
        info = channel.info
        self.calls[info.leg_id] = call_id
        self.log.start(
            call_id, src=info.caller, dst=info.called, direction="in",
            channel=info.leg_id,
        )

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
                channel, call_id=call_id, on_event=on_event, lang=self.config.site.language,
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
        lost = ended is not None and ended.reason == LOST_REASON
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
        disposition: str | None
        if lost or summary is None:
            disposition, by = FAILED, ("worker-lost" if lost else "error")
        else:
            disposition = DISPOSITIONS.get(summary.disposition)
            if disposition is None:
                row = self.daemon.db.execute(
                    "SELECT answer FROM calls WHERE id = ?", [call_id]
                ).fetchone()
                disposition = ANSWERED if row and row[0] else None
            by = summary.ended_by or ""
        if channel.is_up:
            try:
                await channel.hangup()
            except Exception:
                log.debug("hangup of %s after the call failed", call_id, exc_info=True)
        cause = ended.cause if ended is not None else None
        self.log.end(call_id, disposition=disposition, cause=cause, hangup_by=by, **fields)


async def serve(daemon: Any, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Start telephony for `daemon` (for `nursery.start`)."""
    telephony = Telephony(daemon)
    daemon.telephony = telephony
    await telephony.run(task_status=task_status)
