"""The SIP driver: pjsua2 media worker processes, supervised from trio, and their legs as Channels.

`SipDriver` starts `workers` processes (`python -m hw.sipworker`), each on its own SIP port (UDP
and TCP) and RTP port range, and restarts any that dies - even by SIGKILL. A dead worker's live
legs end with `Hangup(500, 'worker-lost')` on their event streams, and `on_leg_lost` is called for
each, so the call's owner records the call as failed; the driver and the other workers carry on.

All legs of one call must live in one worker (audio is bridged inside a process), so
`originate(..., near=channel)` places the new leg in `channel`'s worker, and a worker admits an
inbound call only while it has room for that call's follow-up legs (`extra_legs`).

    async with open_sip_driver(workers=2, sip_port=5080, rtp_port=30000) as driver:
        channel = await driver.incoming()
        await channel.answer()
        await channel.play([Path("prompts/zh/welcome.wav")])

or, in a service tree, `await nursery.start(driver.run)`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec
import trio

from hw.base import Channel, Driver, DriverFault, HangupCause, LegInfo
from hw.sipworker import protocol as p
from hw.sipworker.channel import LOST_REASON, LegGone, SipChannel, WorkerFault
from hw.sipworker.link import CommandFailed, WorkerLink, WorkerLost, WorkerStartFailed
from hw.sipworker.options import SipRegistration, WorkerPorts, plan_ports, worker_args
from hw.sipworker.protocol import PASSWORD_ENV
from hw.sipworker.uri import user_of

__all__ = [
    "LegGone",
    "SipChannel",
    "SipDriver",
    "SipRegistration",
    "WorkerFault",
    "WorkerPorts",
    "open_sip_driver",
    "plan_ports",
]

log = logging.getLogger("hw.sip")

STABLE_UPTIME = 30.0  # a worker that ran this long resets the restart back-off


@dataclass(eq=False)
class _Slot:
    """One worker position: its ports survive restarts, its process and legs do not."""

    index: int
    ports: WorkerPorts
    link: WorkerLink | None = None
    generation: int = 0
    ready: p.Ready | None = None
    legs: dict[int, SipChannel] = field(default_factory=dict)
    restarts: int = 0
    refused: int = 0
    registration: p.Registration | None = None
    last_error: str = ""
    started_at: float = 0.0


class SipDriver(Driver):
    """Media workers and their legs.

    Arguments (all keyword):
    - `name`: driver name in LegInfo and statistics; `workers`: how many processes.
    - `listen`: bind address; `public_address`: address in Contact/SDP (default `listen`).
    - `media_address`: RTP bind and SDP address when SIP sits behind the edge on loopback
      (then `public_address`, if set, goes only into SDP).
    - `sip_port`: first SIP port (worker i uses +i; 0 = any free port); `tcp`: also listen on TCP.
    - `rtp_port`, `rtp_span`: worker i uses RTP ports [rtp_port + i*span, + span).
    - `max_calls`, `max_cps`: per-worker caps on legs and new legs a second (clamped to the
      socket-pool rule maxCalls <= (64 - cps) / 2 and the build's own cap).
    - `extra_legs`: legs kept free for each inbound call's follow-ups (agent, team lead);
      `followup_pool`: legs kept free per worker for them instead (see admission.py);
      `overflow_room`: of those, legs that take callers beyond capacity for a busy
      announcement (their LegInfo.extra has 'overflow').
    - `allowed_peers`: IPs / CIDRs allowed to call in (empty: anyone); others get 403.
    - `registration`: a provider account to REGISTER (SipRegistration) or None.
    - `mode`: 'server' (the daemon) or 'phone' (scripted softphone; no peer filter);
      `auto_answer` (phone mode): answer incoming calls at once; `user`: user part of the URI.
    - `log_level`: worker log level; `log_dir`: worker logs go to log_dir/sipworker-N.log
      (None: inherit stderr).
    - `on_leg_lost`: called with each SipChannel lost with a dead worker; then
      `on_worker_lost` with the worker's index (before it is restarted); `on_worker_ready`
      with its index each time it is (re)started and ready.
    - `restart_delay`, `max_restart_delay`: back-off between restarts; `heartbeat`: seconds
      between liveness checks (a worker that does not answer one in time is killed).
    - `incoming_backlog`: offered calls waiting for `incoming()`; beyond it callers get 503.
    """

    def __init__(
        self,
        *,
        name: str = "sip",
        workers: int = 1,
        listen: str = "127.0.0.1",
        public_address: str = "",
        media_address: str = "",
        sip_port: int = 5060,
        tcp: bool = True,
        rtp_port: int = 20000,
        rtp_span: int = 1000,
        max_calls: int = 28,
        max_cps: float = 8.0,
        extra_legs: int = 2,
        followup_pool: int = 0,
        overflow_room: int = 0,
        allowed_peers: Sequence[str] = (),
        registration: SipRegistration | None = None,
        mode: str = "server",
        auto_answer: bool = False,
        user: str = "ccd",
        log_level: str = "warning",
        log_dir: Path | None = None,
        on_leg_lost: Callable[[SipChannel], None] | None = None,
        on_worker_lost: Callable[[int], None] | None = None,
        on_worker_ready: Callable[[int], None] | None = None,
        restart_delay: float = 0.5,
        max_restart_delay: float = 10.0,
        heartbeat: float = 5.0,
        incoming_backlog: int = 64,
        python: str = sys.executable,
    ) -> None:
        if mode not in ("server", "phone"):
            raise ValueError(f"mode must be 'server' or 'phone', not {mode!r}")
        self.name = name
        self.listen = listen
        self.public_address = public_address
        self.media_address = media_address
        self.tcp = tcp
        self.max_calls = max_calls
        self.max_cps = max_cps
        self.extra_legs = extra_legs
        self.followup_pool = followup_pool
        self.overflow_room = overflow_room
        self.allowed_peers = list(allowed_peers)
        self.registration = registration
        self.mode = mode
        self.auto_answer = auto_answer
        self.user = user
        self.log_level = log_level
        self.log_dir = log_dir
        self.on_leg_lost = on_leg_lost
        self.on_worker_lost = on_worker_lost
        self.on_worker_ready = on_worker_ready
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay
        self.heartbeat = heartbeat
        self.python = python
        self._slots = [
            _Slot(i, ports)
            for i, ports in enumerate(plan_ports(workers, sip_port, rtp_port, rtp_span))
        ]
        self._incoming_send, self._incoming = trio.open_memory_channel[SipChannel](incoming_backlog)
        self._changed = trio.Event()
        self._logs: dict[int, IO[Any]] = {}  # slot index -> its worker's log file

    # --- public API --------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        """SIP URI of the first worker (what a phone dials in tests and the demo)."""
        ready = self._slots[0].ready
        if ready is None:
            raise DriverFault("the SIP driver has not started")
        return ready.uri

    def worker_uri(self, index: int, user: str | None = None) -> str:
        ready = self._slots[index].ready
        if ready is None:
            raise DriverFault(f"worker {index} is not running")
        if user is None:
            return ready.uri
        return f"sip:{user}@{ready.sip_address}:{ready.sip_port}"

    async def incoming(self, include_ended: bool = False) -> SipChannel:
        """The next inbound call, ringing (180 sent), not yet answered. Calls whose caller
        already gave up are skipped unless `include_ended` (a phone's missed calls)."""
        while True:
            channel = await self._incoming.receive()
            if channel.ended is None or include_ended:
                return channel

    async def wait_idle(self) -> None:
        """Wait until no worker holds a leg (draining before a stop, tests)."""
        while any(slot.legs for slot in self._slots):
            await self._changed.wait()

    async def originate(
        self,
        uri: str,
        caller_id: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - hw.base.Driver's signature
        near: Channel | None = None,
    ) -> SipChannel:
        """Call `uri` and wait until answered; raises LegGone (a ChannelGone) with the SIP cause
        (486 busy, 480 no answer, 503 no room...) otherwise. `near`: place the leg in that
        leg's worker (required for legs that will be bridged with it)."""
        slot = self._slot_for(near)
        link = slot.link
        if link is None or not link.alive:
            raise LegGone(HangupCause.UNAVAILABLE, LOST_REASON)
        near_leg = near.leg if isinstance(near, SipChannel) else 0
        created: list[SipChannel] = []
        abandoned = False

        def register(reply: p.Msg) -> None:
            assert isinstance(reply, p.Done)
            channel = SipChannel(
                link, reply.leg, self._info(slot, reply.leg, uri, caller_id), slot.index
            )
            slot.legs[reply.leg] = channel
            created.append(channel)
            if abandoned:  # our caller was cancelled before the worker answered
                channel.hangup_nowait()

        command = p.Originate(
            id=link.next_id(), uri=uri, caller_id=caller_id, timeout=timeout, near=near_leg
        )
        for attempt in range(5):
            try:
                await link.request(command, on_reply=register)
                break
            except trio.Cancelled:
                abandoned = True  # a leg the worker creates now is hung up on arrival
                for channel in created:
                    channel.hangup_nowait()
                raise
            except CommandFailed as exc:
                if exc.code == "over-rate" and attempt < 4:
                    await trio.sleep(0.25)  # the rate window is one second
                    command = msgspec.structs.replace(command, id=link.next_id())
                    continue
                if exc.code in ("over-capacity", "over-rate"):
                    raise LegGone(HangupCause.UNAVAILABLE, exc.code) from None
                if exc.code == "no-such-leg":
                    raise LegGone(HangupCause.FAILED, "near-leg-gone") from None
                if exc.code in ("pj-error", "internal"):
                    raise WorkerFault(exc) from None
                raise
            except WorkerLost:
                raise LegGone(HangupCause.FAILED, LOST_REASON) from None
        channel = created[0]
        answered = False
        try:
            # The worker cancels the INVITE at `timeout`; this is only a backstop.
            with trio.move_on_after(timeout + 5.0):
                await channel.wait_answered()
                answered = True
            if not answered:
                raise LegGone(HangupCause.NO_ANSWER, "timeout")
        finally:
            if not answered:
                channel.hangup_nowait()
        return channel

    def statistics(self) -> dict[str, object]:
        """Per worker: pid, port, calls, capacity, limits, restarts, registration state."""
        workers: list[dict[str, Any]] = []
        for slot in self._slots:
            ready, link = slot.ready, slot.link
            alive = link is not None and link.alive
            reg = slot.registration
            workers.append(
                {
                    "index": slot.index,
                    "alive": alive,
                    "pid": ready.pid if ready and alive else None,
                    "uri": ready.uri if ready else "",
                    "sip_port": ready.sip_port if ready else slot.ports.sip_port,
                    "rtp_ports": [
                        slot.ports.rtp_port,
                        slot.ports.rtp_port + slot.ports.rtp_range - 1,
                    ],
                    "calls": len(slot.legs),
                    "callers": sum(c.info.direction == "in" for c in slot.legs.values()),
                    "capacity": ready.limits.caller_capacity if ready and alive else 0,
                    "legs_capacity": ready.limits.max_calls if ready and alive else 0,
                    "limits": msgspec.structs.asdict(ready.limits) if ready else {},
                    "restarts": slot.restarts,
                    "refused": slot.refused,
                    "registration": (
                        {
                            "state": reg.state,
                            "code": reg.code,
                            "reason": reg.reason,
                            "expires": reg.expires,
                        }
                        if reg
                        else ({"state": "pending"} if self.registration else None)
                    ),
                    "last_error": slot.last_error,
                }
            )
        return {
            "driver": self.name,
            "calls": sum(w["calls"] for w in workers),
            "callers": sum(w["callers"] for w in workers),
            "capacity": sum(w["capacity"] for w in workers),
            "legs_capacity": sum(w["legs_capacity"] for w in workers),
            "workers": workers,
        }

    async def worker_stats(
        self, index: int = 0, objects: bool = False, media: bool = False
    ) -> p.StatsReply:
        """Live counts inside worker `index` (legs, pjsua2 calls, players, recorders; with
        `objects`, live pjsua2 Python objects - for leak checks; with `media`, RTP counters
        of every leg)."""
        link = self._slots[index].link
        if link is None or not link.alive:
            raise WorkerLost(f"worker {index} is not running")
        reply = await link.request(p.Stats(id=link.next_id(), objects=objects, media=media))
        assert isinstance(reply, p.StatsReply)
        return reply

    async def set_admission(
        self, extra_legs: int, allowed_peers: Sequence[str], max_cps: float = 0.0
    ) -> None:
        """Change admission settings on every running worker (and for restarts)."""
        self.extra_legs, self.allowed_peers = extra_legs, list(allowed_peers)
        if max_cps > 0:
            self.max_cps = max_cps
        for slot in self._slots:
            if slot.link is not None and slot.link.alive:
                await slot.link.request(
                    p.Admission(
                        id=slot.link.next_id(),
                        extra_legs=extra_legs,
                        allowed_peers=list(allowed_peers),
                        max_cps=max_cps,
                    )
                )

    async def wait_worker_ready(self, index: int, restarts: int = 0) -> p.Ready:
        """Wait until worker `index` runs and has been restarted at least `restarts` times."""
        slot = self._slots[index]
        while not (slot.link is not None and slot.link.alive and slot.restarts >= restarts):
            await self._changed.wait()
        assert slot.ready is not None
        return slot.ready

    async def wait_registration(
        self, index: int = 0, states: Sequence[str] = ("registered",)
    ) -> p.Registration:
        """Wait until worker `index` reports a registration state in `states`."""
        slot = self._slots[index]
        while slot.registration is None or slot.registration.state not in states:
            await self._changed.wait()
        return slot.registration

    def kill_worker(self, index: int, sig: int = 9) -> None:
        """Send `sig` to worker `index` (tests and `ccd` maintenance)."""
        link = self._slots[index].link
        if link is not None:
            link.kill(sig)

    # --- service -----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start every worker (concurrently), report started, supervise until cancelled.

        Raises WorkerStartFailed if a worker cannot start the first time (bad port, bad
        install): that is a configuration error, not something a restart fixes."""
        try:
            async with trio.open_nursery() as nursery:
                async with trio.open_nursery() as starters:
                    for slot in self._slots:
                        starters.start_soon(nursery.start, self._supervise, slot)
                task_status.started()
        except Exception as exc:  # a group of Exceptions; Cancelled groups are not caught here
            failed = [e for e in _leaves(exc) if isinstance(e, WorkerStartFailed)]
            if failed:
                raise failed[0] from None
            raise
        finally:
            for handle in self._logs.values():
                handle.close()
            self._logs.clear()

    def _new_link(self, slot: _Slot) -> WorkerLink:
        link_holder: list[WorkerLink] = []

        def on_event(event: p.Msg) -> None:
            self._on_event(slot, link_holder[0], event)

        env = {PASSWORD_ENV: self.registration.password} if self.registration else None
        stderr = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            stderr = self._logs.get(slot.index)
            if stderr is None:  # one handle per slot, kept across restarts
                stderr = open(self.log_dir / f"sipworker-{slot.index}.log", "a")  # noqa: SIM115
                self._logs[slot.index] = stderr
        link = WorkerLink(
            self._worker_args(slot),
            on_event,
            name=f"{self.name}-worker-{slot.index}",
            env=env,
            stderr=stderr,
            python=self.python,
        )
        link_holder.append(link)
        return link

    def _worker_args(self, slot: _Slot) -> list[str]:
        ready = slot.ready
        sip_port = ready.sip_port if ready is not None else slot.ports.sip_port
        return worker_args(
            slot.ports,
            sip_port,
            mode=self.mode,
            listen=self.listen,
            public_address=self.public_address,
            media_address=self.media_address,
            tcp=self.tcp,
            max_calls=self.max_calls,
            max_cps=self.max_cps,
            extra_legs=self.extra_legs,
            followup_pool=self.followup_pool,
            overflow_room=self.overflow_room,
            allowed_peers=self.allowed_peers,
            auto_answer=self.auto_answer,
            user=self.user,
            log_level=self.log_level,
            registration=self.registration,
        )

    async def _supervise(self, slot: _Slot, *, task_status: trio.TaskStatus[None]) -> None:
        """Keep worker `slot` running. A worker that dies is restarted with back-off; what
        it held is failed (`_lose_legs`). Nothing a worker does escapes this loop except a
        failure to start the very first time."""
        delay = self.restart_delay
        first = True
        while True:
            link = self._new_link(slot)
            slot.link = link
            slot.generation += 1
            slot.registration = None  # before start: the worker may report it at once
            start_failed: WorkerStartFailed | None = None
            try:
                async with trio.open_nursery() as nursery:
                    ready = await nursery.start(self._run_link, link, nursery.cancel_scope)
                    slot.ready = ready
                    slot.started_at = trio.current_time()
                    log.info(
                        "%s worker %d ready: pid %d, %s",
                        self.name,
                        slot.index,
                        ready.pid,
                        ready.uri,
                    )
                    self._notify()
                    if self.on_worker_ready is not None:
                        self.on_worker_ready(slot.index)
                    if first:
                        first = False
                        task_status.started()
                    nursery.start_soon(self._heartbeat, link)
            except Exception as exc:
                # Contained (a supervisor boundary; `except Exception` lets Cancelled through,
                # also inside groups): a worker that crashes, sends garbage or hangs must never
                # take the driver (and the daemon) down. Its legs are failed below; it restarts.
                leaves = _leaves(exc)
                failed = [e for e in leaves if isinstance(e, WorkerStartFailed)]
                if failed:
                    start_failed = failed[0]
                else:
                    log.error("%s worker %d failed: %r", self.name, slot.index, leaves)
                    slot.last_error = repr(leaves[0])
            finally:
                self._lose_legs(slot)
                if self.on_worker_lost is not None:
                    try:
                        self.on_worker_lost(slot.index)
                    except Exception:  # noqa: BLE001 - the owner's hook must not stop supervision
                        log.exception("on_worker_lost hook failed for worker %d", slot.index)
            if start_failed is not None:
                slot.last_error = str(start_failed)
                if first:
                    raise start_failed
            else:
                log.warning(
                    "%s worker %d (pid %s) exited with %s",
                    self.name,
                    slot.index,
                    link.pid,
                    link.exit_code,
                )
                slot.last_error = slot.last_error or f"exited with {link.exit_code}"
            if trio.current_time() - slot.started_at > STABLE_UPTIME:
                delay = self.restart_delay
            await trio.sleep(delay)
            delay = min(delay * 2, self.max_restart_delay)
            slot.restarts += 1

    @staticmethod
    async def _run_link(
        link: WorkerLink, scope: trio.CancelScope, *, task_status: trio.TaskStatus[p.Ready]
    ) -> None:
        """Run the worker; once it has gone, end its sibling tasks (the heartbeat)."""
        await link.run(task_status=task_status)
        scope.cancel()

    async def _heartbeat(self, link: WorkerLink) -> None:
        """Ask for stats every `heartbeat` s; a worker that does not answer in time is killed
        (by `request`), which ends its link and gets it restarted."""
        while True:
            await trio.sleep(self.heartbeat)
            try:
                await link.request(p.Stats(id=link.next_id()), stuck_after=self.heartbeat)
            except DriverFault:
                return

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _lose_legs(self, slot: _Slot) -> None:
        legs, slot.legs = slot.legs, {}
        for channel in legs.values():
            channel.lose()
            if self.on_leg_lost is not None:
                try:
                    self.on_leg_lost(channel)
                except Exception:  # noqa: BLE001 - the owner's hook must not stop supervision
                    log.exception("on_leg_lost hook failed for %s", channel)
        self._notify()

    # --- events ------------------------------------------------------------------------------

    def _on_event(self, slot: _Slot, link: WorkerLink, event: p.Msg) -> None:
        if slot.link is not link:
            return
        if isinstance(event, p.Incoming):
            info = LegInfo(
                leg_id=f"{self.name}/{slot.index}.{slot.generation}/{event.leg}",
                caller=event.caller,
                called=event.called,
                direction="in",
                driver=self.name,
                extra={
                    "source": event.source,
                    "caller_uri": event.caller_uri,
                    "called_uri": event.called_uri,
                    "call_id": event.call_id,
                    "worker": str(slot.index),
                    **({"overflow": "1"} if event.overflow else {}),
                },
            )
            channel = SipChannel(link, event.leg, info, slot.index)
            slot.legs[event.leg] = channel
            try:
                self._incoming_send.send_nowait(channel)
            except trio.WouldBlock:
                log.warning("%s: incoming backlog full; refusing %s", self.name, event.caller)
                channel.hangup_nowait(HangupCause.UNAVAILABLE)
        elif isinstance(event, p.Refused):
            slot.refused += 1
        elif isinstance(event, p.Registration):
            if slot.registration is None or slot.registration.state != event.state:
                log.info("%s worker %d registration %s (%d %s)", self.name, slot.index,
                         event.state, event.code, event.reason)
            slot.registration = event
            self._notify()
        else:
            leg = getattr(event, "leg", None)
            known = slot.legs.get(leg) if leg is not None else None
            if known is not None:
                known.deliver(event)
                if isinstance(event, p.Hangup):
                    del slot.legs[known.leg]
                    self._notify()

    # --- helpers -----------------------------------------------------------------------------

    def _slot_for(self, near: Channel | None) -> _Slot:
        if near is not None:
            if not isinstance(near, SipChannel):
                raise TypeError(f"near= must be a SIP leg, not {type(near).__name__}")
            if near.ended is not None:
                raise LegGone(near.ended.cause, near.ended.reason)
            slot = self._slots[near.worker_index]
            if slot.link is not near.link:
                raise LegGone(HangupCause.FAILED, LOST_REASON)
            return slot
        live = [s for s in self._slots if s.link is not None and s.link.alive and s.ready]
        if not live:
            raise LegGone(HangupCause.UNAVAILABLE, "no-worker")
        return max(live, key=lambda s: s.ready.limits.max_calls - len(s.legs))  # type: ignore[union-attr]

    def _info(self, slot: _Slot, leg: int, uri: str, caller_id: str) -> LegInfo:
        return LegInfo(
            leg_id=f"{self.name}/{slot.index}.{slot.generation}/{leg}",
            caller=caller_id,
            called=user_of(uri) or uri,
            direction="out",
            driver=self.name,
            extra={"called_uri": uri, "worker": str(slot.index)},
        )


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (possibly nested) exception groups, or [exc]."""
    inner = getattr(exc, "exceptions", None)
    if inner is None:
        return [exc]
    return [leaf for e in inner for leaf in _leaves(e)]


@asynccontextmanager
async def open_sip_driver(**kwargs: Any) -> AsyncIterator[SipDriver]:
    """Start a SipDriver (arguments as for SipDriver), yield it, stop its workers on exit."""
    driver = SipDriver(**kwargs)
    started = False
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(driver.run)
            started = True
            try:
                yield driver
            finally:
                nursery.cancel_scope.cancel()
    except Exception as exc:
        leaves = _leaves(exc)
        if not started and len(leaves) == 1 and isinstance(leaves[0], WorkerStartFailed):
            raise leaves[0] from None  # a plain configuration error, not a group
        raise
