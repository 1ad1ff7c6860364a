"""The worker process: one pjsua2 endpoint driven from one thread, commands in, events out.

The process's main thread is the pj thread: it calls `libCreate()` and is the only thread that
ever exists in the process, so no pjsua2 object can be touched, created or destroyed anywhere
else (pitfalls 1 and 3). Its loop: `libHandleEvents(0)` (2.10 holds the GIL inside the poll, so
never poll with a timeout), read and execute commands, run timers, send events, then sleep a few
milliseconds in `select()` on the daemon's socket so a command wakes it at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from hw.sipworker import pjutil
from hw.sipworker import protocol as p
from hw.sipworker.admission import Admission, Refusal, derive_caps
from hw.sipworker.dtmf import DTMF_DIGITS, dtmf_tick
from hw.sipworker.endpoint import (
    MAX_PLAYERS,
    MAX_RECORDERS,
    AccountBook,
    SipAccount,
    WorkerOptions,
    start_endpoint,
)
from hw.sipworker.legs import DtmfJob, Leg, SipCall, request_uri, user_of
from hw.sipworker.media import CommandError, Media
from hw.sipworker.pjutil import GcPolicy, PjFailure, count_pj_objects, pj_call
from hw.sipworker.wav import BadWav
from hw.sipworker.wire import DaemonSocket

log = logging.getLogger("hw.sipworker")

SHUTDOWN_GRACE = 3.0  # seconds to let calls end before libDestroy


IDLE_POLL_S = 0.1  # the poll interval of a server worker with no leg

class Worker:
    """One media worker. `opts`: its options; `sock`: its end of the daemon's socketpair."""

    def __init__(self, opts: WorkerOptions, sock: socket.socket) -> None:
        self.opts = opts
        self.wire = DaemonSocket(sock, self._execute, self._lose_peer)
        self.stopping = ""
        self.stop_deadline = 0.0
        self.legs: dict[int, Leg] = {}
        self.media = Media(self.legs, self.emit, opts.silence_level)
        self.next_leg = 1
        self.gc = GcPolicy()
        self.started = time.monotonic()
        self.caps = derive_caps(opts.max_calls, opts.max_cps)
        extra = opts.extra_legs if opts.mode == "server" else 0
        peers = opts.allowed_peers if opts.mode == "server" else []
        pool = opts.followup_pool if opts.mode == "server" else 0
        self.admission = Admission(self.caps.max_calls, opts.max_cps, extra, peers, pool,
                                   opts.overflow_room if opts.mode == "server" else 0)
        self.ep: Any = None
        self.pjlib: Any = None
        self.sip_port = opts.sip_port
        self.accounts: AccountBook | None = None
        self.handlers: dict[type, Callable[[Any], p.Msg | None]] = {
            p.Answer: self.cmd_answer,
            p.HangupLeg: self.cmd_hangup,
            p.Play: self.cmd_play,
            p.StopPlay: self.cmd_stop_play,
            p.Record: self.cmd_record,
            p.StopRecord: self.cmd_stop_record,
            p.SendDtmf: self.cmd_send_dtmf,
            p.Bridge: self.cmd_bridge,
            p.Unbridge: self.cmd_unbridge,
            p.Spy: self.cmd_spy,
            p.Unspy: self.cmd_unspy,
            p.Hold: self.cmd_hold,
            p.Unhold: self.cmd_unhold,
            p.Originate: self.cmd_originate,
            p.Admission: self.cmd_admission,
            p.Stats: self.cmd_stats,
            p.Shutdown: self.cmd_shutdown,
        }

    # --- life cycle ---------------------------------------------------------------------------

    def run(self) -> int:
        """Start pjsua2, serve until told to stop (or the daemon goes), tear down; exit code."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon decides when workers stop
        signal.signal(signal.SIGTERM, lambda *_: self.begin_shutdown("sigterm"))
        try:
            started = start_endpoint(self.opts, self.caps.pj_max_calls)
            self.ep, self.pjlib, self.sip_port = started.ep, started.pjlib, started.sip_port
            if started.pj_max_calls < self.caps.pj_max_calls:
                log.warning("this pjsua2 build allows only %d calls", started.pj_max_calls)
                self.caps = derive_caps(
                    self.opts.max_calls, self.opts.max_cps, started.pj_max_calls
                )
                self.admission.max_calls = self.caps.max_calls
            self.accounts = AccountBook(
                self.opts, self.sip_port, self.on_incoming, self.on_reg_state
            )
            self.accounts.create()
        except Exception as exc:  # noqa: BLE001 - tell the daemon why, then leave at once
            if isinstance(exc, pj.Error):
                message = f"{exc.title}: {exc.reason} (status {exc.status})"
            else:
                message = f"{type(exc).__name__}: {exc}"
            log.error("cannot start: %s", message)
            self.emit(p.Failed(id=0, code="start-failed", message=message))
            self.wire.flush(block=True)
            # Nothing is live yet; skip interpreter teardown of half-made pjsua2 objects.
            os._exit(2)
        pjutil.callback_error_hook = self._callback_failed
        self.gc.start(time.monotonic())
        limits = p.Limits(
            pj_max_calls=started.pj_max_calls,
            conf_ports=started.conf_ports,
            max_calls=self.caps.max_calls,
            max_cps=self.caps.max_cps,
            extra_legs=self.admission.extra_legs,
            followup_pool=self.admission.followup_pool,
            caller_capacity=self.admission.caller_capacity,
            max_players=MAX_PLAYERS,
            max_recorders=MAX_RECORDERS,
            ioqueue_handles=64,
        )
        log.info("ready: %s", limits)
        self.emit(
            p.Ready(
                pid=os.getpid(),
                mode=self.opts.mode,
                sip_address=self.opts.contact_host,
                sip_port=self.sip_port,
                rtp_port=self.opts.rtp_port,
                rtp_range=self.opts.rtp_range,
                uri=f"sip:{self.opts.user}@{self.opts.contact_host}:{self.sip_port}",
                limits=limits,
                pj_version=str(self.ep.libVersion().full),
            )
        )
        self._loop()
        self._teardown()
        return 0

    def _loop(self) -> None:
        busy_poll = self.opts.poll_ms / 1000.0
        # With no call up a server worker polls 10 times a second instead of 200: an idle
        # worker cost ~1.1% of a core, 32 of them a third of one. A command still wakes the
        # wait at once; an INVITE waits at most IDLE_POLL_S.
        idle_poll = max(busy_poll, IDLE_POLL_S) if self.opts.mode == "server" else busy_poll
        while True:
            poll = busy_poll if self.legs or self.stopping else idle_poll
            self.ep.libHandleEvents(0)
            self.wire.receive()
            now = time.monotonic()
            self._tick(now)
            self.wire.flush()
            if self.stopping and self._shutdown_progress(now):
                return
            self.wire.wait(poll)  # the short sleep; a command wakes it at once

    def begin_shutdown(self, reason: str) -> None:
        if not self.stopping:
            log.info("shutting down: %s", reason)
            self.stopping = reason
            self.stop_deadline = 0.0

    def _shutdown_progress(self, now: float) -> bool:
        """Hang everything up, then wait (bounded) until pjsua2 has let go of every call."""
        if self.stop_deadline == 0.0:
            self.stop_deadline = now + SHUTDOWN_GRACE
            for leg in list(self.legs.values()):
                try:
                    self._hangup(leg, "shutdown", 503)
                except PjFailure as exc:  # already on its way out
                    log.info("shutdown hangup of leg %d: %s", leg.id, exc)
        calls_left = any(leg.call is not None for leg in self.legs.values())
        return not calls_left or now >= self.stop_deadline

    def _teardown(self) -> None:
        """Pitfall 6: drop every pjsua2 object, collect, and only then `libDestroy()`."""
        import gc

        self.media.drop_all()
        for leg in self.legs.values():
            leg.call = None
        self.legs.clear()
        if self.accounts is not None:
            self.accounts.shutdown_all()
        pjutil.callback_error_hook = None
        gc.collect()
        self.wire.flush()
        # Calls are over; only an un-REGISTER may still need the network. Without it, skip
        # pjsua's wait for network clean-up (1.5 s -> 0.5 s per worker).
        flags = 0 if self.opts.registrar else pj.PJSUA_DESTROY_NO_NETWORK
        self.ep.libDestroy(flags)
        self.ep = None
        gc.collect()
        self.wire.flush(block=True)

    # --- socket ------------------------------------------------------------------------------

    def emit(self, message: p.Msg) -> None:
        self.wire.emit(message)

    def _lose_peer(self, why: str) -> None:
        self.begin_shutdown(why)

    # --- commands ----------------------------------------------------------------------------

    def _execute(self, cmd: p.Msg) -> None:
        handler = self.handlers[type(cmd)]
        cmd_id = getattr(cmd, "id", 0)
        try:
            reply = handler(cmd)
        except CommandError as exc:
            self.emit(p.Failed(id=cmd_id, code=exc.code, message=exc.message))
        except BadWav as exc:
            self.emit(p.Failed(id=cmd_id, code="bad-wav", message=str(exc)))
        except PjFailure as exc:
            self.emit(p.Failed(id=cmd_id, code="pj-error", message=str(exc), status=exc.status))
        except Exception as exc:  # noqa: BLE001 - one bad command must not stop the worker
            log.exception("command %s failed", type(cmd).__name__)
            self.emit(p.Failed(id=cmd_id, code="internal", message=f"{type(exc).__name__}: {exc}"))
        else:
            if reply is not None:
                self.emit(reply)

    def _leg(self, leg_id: int) -> Leg:
        leg = self.legs.get(leg_id)
        if leg is None or leg.call is None or leg.state == "gone":
            raise CommandError("no-such-leg", f"no leg {leg_id}")
        return leg

    def cmd_answer(self, cmd: p.Answer) -> p.Msg:
        leg = self._leg(cmd.leg)
        if leg.direction != "in" or leg.state not in ("new", "ringing"):
            raise CommandError("bad-state", f"leg {leg.id} is {leg.state}, not ringing")
        op = pj.CallOpParam()
        op.statusCode = cmd.code
        pj_call(leg.call.answer, op)  # type: ignore[union-attr]
        if cmd.code == 200:
            leg.state = "answering"
        return p.Done(id=cmd.id, leg=leg.id)

    def cmd_hangup(self, cmd: p.HangupLeg) -> p.Msg:
        leg = self.legs.get(cmd.leg)
        if leg is not None and leg.call is not None and leg.state != "gone":
            try:
                self._hangup(leg, "local", cmd.cause)
            except PjFailure as exc:  # already disconnecting: the leg is going anyway
                log.info("hangup of leg %d: %s", leg.id, exc)
        return p.Done(id=cmd.id, leg=cmd.leg)

    def _hangup(self, leg: Leg, reason: str, cause: int) -> None:
        if leg.local_reason or leg.call is None:
            return
        leg.local_reason, leg.local_cause = reason, cause
        op = pj.CallOpParam()
        if leg.direction == "in" and leg.state in ("new", "ringing"):
            op.statusCode = cause if 300 <= cause < 700 else 603
        if leg.state == "new":
            # Inside onIncomingCall a hangup is deferred until the media transport is ready
            # and then sent with the wrong code (seen: 100); a final answer works.
            pj_call(leg.call.answer, op)
        else:
            pj_call(leg.call.hangup, op)

    def cmd_play(self, cmd: p.Play) -> p.Msg:
        leg = self._leg(cmd.leg)
        self.media.play(leg, cmd, time.monotonic())
        return p.Done(id=cmd.id, leg=leg.id)

    def cmd_stop_play(self, cmd: p.StopPlay) -> p.Msg:
        leg = self.legs.get(cmd.leg)
        if leg is not None:
            self.media.finish_play(leg, "stopped")
        return p.Done(id=cmd.id, leg=cmd.leg)

    def cmd_record(self, cmd: p.Record) -> p.Msg:
        leg = self._leg(cmd.leg)
        self.media.record(leg, cmd, time.monotonic())
        return p.Done(id=cmd.id, leg=leg.id)

    def cmd_stop_record(self, cmd: p.StopRecord) -> p.Msg:
        leg = self.legs.get(cmd.leg)
        if leg is not None:
            self.media.finish_record(leg, "stopped", time.monotonic())
        return p.Done(id=cmd.id, leg=cmd.leg)

    def cmd_send_dtmf(self, cmd: p.SendDtmf) -> None:
        leg = self._leg(cmd.leg)
        if not cmd.digits or set(cmd.digits) - DTMF_DIGITS:
            raise CommandError("bad-argument", f"bad DTMF digits {cmd.digits!r}")
        if cmd.method not in ("rfc4733", "info"):
            raise CommandError("bad-argument", f"unknown DTMF method {cmd.method!r}")
        if leg.state != "up":
            raise CommandError("bad-state", f"leg {leg.id} is {leg.state}, not up")
        leg.dtmf_queue.append(DtmfJob(cmd.id, cmd.digits.upper(), cmd.method))
        return None  # Done is sent once the digits have gone out (see _dtmf_tick)

    def cmd_bridge(self, cmd: p.Bridge) -> p.Msg:
        a, b = self._leg(cmd.a), self._leg(cmd.b)
        if a is b:
            raise CommandError("bad-argument", "cannot bridge a leg with itself")
        self.media.add_edges([(a.id, b.id), (b.id, a.id)])
        return p.Done(id=cmd.id, leg=a.id)

    def cmd_unbridge(self, cmd: p.Unbridge) -> p.Msg:
        self.media.remove_edges([(cmd.a, cmd.b), (cmd.b, cmd.a)])
        return p.Done(id=cmd.id, leg=cmd.a)

    def cmd_spy(self, cmd: p.Spy) -> p.Msg:
        for leg_id in (cmd.caller, cmd.agent, cmd.supervisor):
            self._leg(leg_id)
        self.media.spy(cmd.caller, cmd.agent, cmd.supervisor, cmd.mode)
        return p.Done(id=cmd.id, leg=cmd.supervisor)

    def cmd_unspy(self, cmd: p.Unspy) -> p.Msg:
        self.media.unspy(cmd.supervisor)
        return p.Done(id=cmd.id, leg=cmd.supervisor)

    def cmd_hold(self, cmd: p.Hold) -> p.Msg:
        self.media.hold(self._leg(cmd.leg), cmd.music)
        return p.Done(id=cmd.id, leg=cmd.leg)

    def cmd_unhold(self, cmd: p.Unhold) -> p.Msg:
        self.media.unhold(self._leg(cmd.leg))
        return p.Done(id=cmd.id, leg=cmd.leg)

    def cmd_originate(self, cmd: p.Originate) -> None:
        if self.stopping:
            raise CommandError("over-capacity", "worker is shutting down")
        if self.ep.utilVerifySipUri(cmd.uri) != 0:
            raise CommandError("bad-argument", f"not a SIP URI: {cmd.uri!r}")
        if cmd.near and cmd.near not in self.legs:
            raise CommandError("no-such-leg", f"no leg {cmd.near} to place the new leg near")
        leg_id = self._new_leg_id()
        refused = self.admission.outbound(time.monotonic(), leg_id, cmd.near)
        if refused is not None:
            raise CommandError(refused, f"no room for an outbound leg ({refused})")
        assert self.accounts is not None
        in_use = {leg.account_key for leg in self.legs.values()}
        key, account = self.accounts.for_caller_id(cmd.caller_id, in_use)
        leg = Leg(leg_id, "out", SipCall(self, leg_id, account), account_key=key, state="calling")
        leg.answer_deadline = time.monotonic() + max(cmd.timeout, 0.5)
        self.legs[leg_id] = leg
        # Done goes out before the INVITE so that every event about the leg follows it.
        self.emit(p.Done(id=cmd.id, leg=leg_id))
        op = pj.CallOpParam(True)
        if cmd.caller_id:
            header = pj.SipHeader()
            header.hName = "P-Asserted-Identity"
            header.hValue = f"<sip:{cmd.caller_id}@{self.opts.contact_host}>"
            op.txOption.headers.append(header)
        try:
            pj_call(leg.call.makeCall, cmd.uri, op)  # type: ignore[union-attr]
        except PjFailure as exc:
            if leg_id in self.legs:
                self.legs.pop(leg_id)
                self.admission.release(leg_id)
                leg.state = "gone"
                leg.call = None
                self.emit(p.Hangup(leg=leg_id, cause=500, reason=f"failed: {exc}"))
        return None

    def cmd_admission(self, cmd: p.Admission) -> p.Msg:
        if cmd.max_cps > 0:
            caps = derive_caps(self.opts.max_calls, cmd.max_cps, self.caps.pj_max_calls)
            self.admission.max_cps = caps.max_cps
            self.admission.max_calls = min(self.admission.max_calls, caps.max_calls)
        if self.opts.mode == "server":
            from hw.sipworker.admission import PeerFilter

            try:
                self.admission.peers = PeerFilter(cmd.allowed_peers)
            except ValueError as exc:
                raise CommandError("bad-argument", str(exc)) from None
            self.admission.extra_legs = max(0, cmd.extra_legs)
        return p.Done(id=cmd.id)

    def cmd_stats(self, cmd: p.Stats) -> p.Msg:
        import gc

        now = time.monotonic()
        return p.StatsReply(
            id=cmd.id,
            legs=len(self.legs),
            pj_calls=self.pjlib.call_count(),
            conf_ports_active=self.pjlib.conf_active_ports(),
            players=self.media.players(),
            recorders=self.media.recorders(),
            routes=len(self.media.edges),
            arrivals_last_second=self.admission.arrivals(now),
            accepted=self.admission.accepted,
            refused=self.admission.refused,
            python_threads=threading.active_count(),
            gc_enabled=gc.isenabled(),
            gc_frozen=gc.get_freeze_count(),
            uptime=round(now - self.started, 3),
            objects=count_pj_objects() if cmd.objects else {},
            media=self._media_counters() if cmd.media else [],
        )

    def _media_counters(self) -> list[p.LegMedia]:
        counters = []
        for leg in self.legs.values():
            if leg.call is None or leg.audio is None or leg.audio_index < 0:
                continue
            try:
                stat = pj_call(leg.call.getStreamStat, leg.audio_index)
            except PjFailure:
                continue
            rtcp = stat.rtcp
            counters.append(
                p.LegMedia(
                    leg=leg.id,
                    rx_packets=int(rtcp.rxStat.pkt),
                    tx_packets=int(rtcp.txStat.pkt),
                    rx_lost=int(rtcp.rxStat.loss),
                    rx_jitter_ms=round(float(rtcp.rxStat.jitterUsec.mean) / 1000.0, 2),
                )
            )
            del rtcp, stat
        return counters

    def cmd_shutdown(self, cmd: p.Shutdown) -> p.Msg:
        self.begin_shutdown("shutdown command")
        return p.Done(id=cmd.id)

    # --- accounts ----------------------------------------------------------------------------

    # --- pjsua2 callbacks (all run on this thread, each guarded by its caller) ----------------

    def _new_leg_id(self) -> int:
        leg_id, self.next_leg = self.next_leg, self.next_leg + 1
        return leg_id

    def on_incoming(self, account: SipAccount, prm: Any) -> None:
        leg_id = self._new_leg_id()
        rdata = prm.rdata
        source, message = str(rdata.srcAddress), str(rdata.wholeMsg)
        del rdata
        # Pitfall 5: the Call's reference is kept (in the leg table) even when refusing.
        leg = Leg(leg_id, "in", SipCall(self, leg_id, account, prm.callId), account.key)
        self.legs[leg_id] = leg
        refusal: Refusal | None
        if self.stopping:
            refusal = Refusal(503, "shutting-down")
        else:
            refusal = self.admission.inbound(time.monotonic(), leg_id, source)
        if refusal is not None:
            leg.refused = True
            log.info("refused call from %s: %d %s", source, refusal.code, refusal.reason)
            self.emit(p.Refused(source=source, code=refusal.code, reason=refusal.reason))
            self._hangup(leg, "refused", refusal.code)
            return
        ci = leg.call.getInfo()  # type: ignore[union-attr]
        caller_uri, to_uri, call_id = str(ci.remoteUri), str(ci.localUri), str(ci.callIdString)
        del ci
        called_uri = request_uri(message) or to_uri
        self.emit(
            p.Incoming(
                leg=leg_id,
                caller=user_of(caller_uri),
                called=user_of(called_uri) or user_of(to_uri),
                caller_uri=caller_uri,
                called_uri=called_uri,
                source=source,
                call_id=call_id,
                overflow=self.admission.overflowing(leg_id),
            )
        )
        op = pj.CallOpParam()
        op.statusCode = 200 if self.opts.auto_answer else 180
        pj_call(leg.call.answer, op)  # type: ignore[union-attr]
        leg.state = "answering" if self.opts.auto_answer else "ringing"

    def on_reg_state(self, account: SipAccount, prm: Any) -> None:
        code, expires, reason = int(prm.code), int(prm.expiration), str(prm.reason)
        if 200 <= code < 300:
            state = "registered" if expires > 0 else "unregistered"
        else:
            state = "failed"
        log.info("registration %s: %d %s (expires %d)", state, code, reason, expires)
        self.emit(p.Registration(state=state, code=code, reason=reason, expires=expires))

    def on_call_state(self, call: SipCall) -> None:
        leg = self.legs.get(call.leg_id)
        if leg is None or leg.call is not call:
            return
        ci = call.getInfo()
        state, code = ci.state, int(ci.lastStatusCode)
        del ci
        if state == pj.PJSIP_INV_STATE_EARLY and leg.direction == "out":
            self.emit(p.Progress(leg=leg.id, code=code))
        elif state == pj.PJSIP_INV_STATE_CONFIRMED:
            leg.state = "up"
            leg.answer_deadline = None
            self.emit(p.Answered(leg=leg.id))
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self._end_leg(leg, code)

    def _end_leg(self, leg: Leg, code: int) -> None:
        previous, leg.state = leg.state, "gone"
        now = time.monotonic()
        self.media.detach(leg, now)
        self.admission.release(leg.id)
        self.legs.pop(leg.id, None)
        jobs = ([leg.dtmf_current] if leg.dtmf_current else []) + list(leg.dtmf_queue)
        for job in jobs:
            self.emit(p.Failed(id=job.cmd_id, code="no-such-leg", message="the leg hung up"))
        leg.dtmf_queue.clear()
        leg.dtmf_current = None
        if not leg.refused and not leg.reported_gone:
            cause, reason = self._hangup_cause(leg, previous, code)
            self.emit(p.Hangup(leg=leg.id, cause=cause, reason=reason))
        # Pitfall 4: the Call's last reference goes now, inside onCallState(DISCONNECTED).
        leg.call = None

    @staticmethod
    def _hangup_cause(leg: Leg, previous: str, code: int) -> tuple[int, str]:
        if leg.local_reason:
            return (leg.local_cause or code or 200), leg.local_reason
        if previous == "up":
            return 200, "remote"
        if leg.direction == "in":
            return (code if code >= 300 else 487), "cancelled"
        return (code if code >= 300 else 500), "rejected"

    def on_call_media_state(self, call: SipCall) -> None:
        leg = self.legs.get(call.leg_id)
        if leg is None or leg.call is not call:
            return
        ci = call.getInfo()
        media = ci.media  # pitfall 8: walk the media of a CallInfo we keep alive
        index, port = -1, -1
        for i in range(len(media)):
            info = media[i]
            if info.type == pj.PJMEDIA_TYPE_AUDIO and info.status in (
                pj.PJSUA_CALL_MEDIA_ACTIVE,
                pj.PJSUA_CALL_MEDIA_REMOTE_HOLD,
            ):
                index, port = i, int(info.audioConfSlot)
                break
        del media, ci
        if index < 0:
            if leg.audio is not None:
                leg.audio, leg.audio_port, leg.audio_index = None, -1, -1
            return
        if port == leg.audio_port and leg.audio is not None:
            return
        leg.audio = pj_call(call.getAudioMedia, index)
        leg.audio_port, leg.audio_index = port, index
        self.media.attach(leg, time.monotonic())

    def on_dtmf(self, leg_id: int, digit: str, method: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is None:
            return
        self.emit(p.Digit(leg=leg_id, digit=digit, method=method))
        if leg.playback is not None and leg.playback.barge_in:
            self.media.finish_play(leg, "digit", digit)
        if leg.recording is not None and digit in leg.recording.stop_digits:
            self.media.finish_record(leg, "digit", time.monotonic(), digit)

    def _callback_failed(self, message: str) -> None:
        self.emit(p.Failed(id=0, code="internal", message=message))

    # --- timers ------------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        for leg in list(self.legs.values()):
            try:
                self._tick_leg(leg, now)
            except Exception as exc:  # noqa: BLE001 - one leg's fault must not stop the loop
                log.exception("timer of leg %d failed", leg.id)
                self.emit(p.Failed(id=0, code="internal", message=f"leg {leg.id}: {exc}"))
                exc.__traceback__ = None
        self.gc.tick(now)

    def _tick_leg(self, leg: Leg, now: float) -> None:
        playback = leg.playback
        if playback is not None and playback.ends_at is not None and now >= playback.ends_at:
            self.media.finish_play(leg, "eof")
        rec = leg.recording
        if rec is not None:
            if rec.max_until is not None and now >= rec.max_until:
                self.media.finish_record(leg, "max", now)
            elif self.media.check_silence(leg, now):
                self.media.finish_record(leg, "silence", now)
        if (
            leg.state == "calling"
            and leg.answer_deadline is not None
            and now >= leg.answer_deadline
        ):
            leg.answer_deadline = None
            self._hangup(leg, "timeout", 480)
            if leg.state == "calling" and not leg.reported_gone:
                # With no provisional reply yet, SIP forbids a CANCEL: pjsua2 keeps the INVITE
                # until its transaction times out (32 s). The daemon learns the outcome now;
                # the slot stays counted until pjsua2 lets go of the call.
                leg.reported_gone = True
                self.emit(p.Hangup(leg=leg.id, cause=480, reason="timeout"))
        if leg.dtmf_current is not None or leg.dtmf_queue:
            dtmf_tick(leg, now, self.emit)
