"""Start-up of the one pjsua2 endpoint of a worker: config, transports, accounts, codecs.

Everything here runs on the pj thread (the worker process's main thread), which is the thread that
calls `libCreate()` and so becomes pjsua2's main thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from hw.sipworker.pjutil import PjFailure, PjLib, guarded, pj_call
from hw.sipworker.protocol import PASSWORD_ENV

log = logging.getLogger("hw.sipworker")

PJ_LOG_LEVELS = {"error": 1, "warning": 2, "info": 3, "debug": 5}

MAX_PLAYERS = 32  # PJSUA_MAX_PLAYERS / PJSUA_MAX_RECORDERS of the 2.10 wheel (33rd: PJ_ETOOMANY)
MAX_RECORDERS = 32
SND_AUTO_CLOSE_NEVER = -1  # MediaConfig.sndAutoCloseTime: keep the (null) sound device open


@dataclass
class WorkerOptions:
    """Everything a worker is started with (see `python -m hw.sipworker --help`)."""

    fd: int
    mode: str = "server"  # 'server' answers only when told; 'phone' is a scripted softphone
    listen: str = "127.0.0.1"
    sip_port: int = 5060  # 0: any free port (reported in `ready`)
    public_address: str = ""  # address put in Contact and SDP; default: `listen`
    media_address: str = ""  # RTP bind and SDP address when SIP sits behind the edge on loopback
    tcp: bool = True
    rtp_port: int = 20000
    rtp_range: int = 1000
    max_calls: int = 28
    max_cps: float = 8.0
    extra_legs: int = 2
    followup_pool: int = 0  # legs per worker kept free for follow-ups (agents, team leads)
    overflow_room: int = 0  # of those, legs that may take a caller for the busy announcement
    allowed_peers: list[str] = field(default_factory=list)
    auto_answer: bool = False
    user: str = "ccd"
    registrar: str = ""
    reg_user: str = ""
    reg_realm: str = "*"
    reg_expires: int = 300
    log_level: str = "warning"
    poll_ms: float = 5.0
    silence_level: int = 6  # conference rx level (0..255) at or below which a recording is quiet

    @property
    def reg_password(self) -> str:
        return os.environ.get(PASSWORD_ENV, "")

    @property
    def contact_host(self) -> str:
        # Behind the edge (media_address set) SIP stays on loopback; public_address is for SDP.
        if self.public_address and not self.media_address:
            return self.public_address
        return self.listen if self.listen not in ("", "0.0.0.0", "::") else "127.0.0.1"


class SipAccount(pj.Account):
    """An account whose callbacks are forwarded, guarded, to the worker."""

    def __init__(
        self,
        on_incoming: Callable[[SipAccount, Any], None],
        on_reg_state: Callable[[SipAccount, Any], None] | None = None,
    ) -> None:
        super().__init__()
        self._on_incoming = on_incoming
        self._on_reg_state = on_reg_state
        self.key = ""

    @guarded
    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 names
        self._on_incoming(self, prm)

    @guarded
    def onRegState(self, prm: Any) -> None:  # noqa: N802 - pjsua2 names
        if self._on_reg_state is not None:
            self._on_reg_state(self, prm)


@dataclass
class StartedEndpoint:
    ep: pj.Endpoint
    pjlib: PjLib
    sip_port: int
    pj_max_calls: int
    conf_ports: int


def start_endpoint(opts: WorkerOptions, pj_max_calls: int) -> StartedEndpoint:
    """Create, initialise and start the endpoint; `pj_max_calls` is what pjsua2 is asked for."""
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    ua = cfg.uaConfig
    ua.threadCnt = 0
    ua.mainThreadOnly = True
    ua.maxCalls = pj_max_calls
    ua.userAgent = f"ccd-sipworker/{opts.mode}"
    med = cfg.medConfig
    med.clockRate = 8000
    med.sndClockRate = 8000
    med.channelCount = 1
    med.ecTailLen = 0
    med.noVad = True
    # The null sound device is the conference bridge's clock: every stream sends RTP (audio and
    # RFC 4733 events) only while it runs. pjsua arms a 1 s idle timer when the device opens and
    # closes it then even if calls started meanwhile; a leg with nothing connected in the bridge
    # (a phone that only presses keys, a leg waiting in silence) went mute for good. Never close.
    med.sndAutoCloseTime = SND_AUTO_CLOSE_NEVER
    level = PJ_LOG_LEVELS.get(opts.log_level, 2)
    cfg.logConfig.level = level
    cfg.logConfig.consoleLevel = level
    cfg.logConfig.msgLogging = opts.log_level == "debug"
    ep.libInit(cfg)
    pjlib = PjLib()
    ep.audDevManager().setNullDev()

    transport = pj.TransportConfig()
    transport.port = opts.sip_port
    if opts.listen not in ("", "0.0.0.0", "::"):
        transport.boundAddress = opts.listen
    transport.publicAddress = opts.contact_host
    udp = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
    local = ep.transportGetInfo(udp).localName
    port = int(str(local).rsplit(":", 1)[1])
    if opts.tcp:
        transport.port = port
        ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, transport)
    ep.libStart()

    for codec in ep.codecEnum2():
        ep.codecSetPriority(codec.codecId, 0)
    for codec in ep.codecEnum2():
        if codec.codecId.startswith("PCMU/8000"):
            ep.codecSetPriority(codec.codecId, 255)
        elif codec.codecId.startswith("PCMA/8000"):
            ep.codecSetPriority(codec.codecId, 254)
    return StartedEndpoint(
        ep=ep,
        pjlib=pjlib,
        sip_port=port,
        pj_max_calls=pjlib.call_max_count(),
        conf_ports=pjlib.conf_max_ports(),
    )


def media_transport(opts: WorkerOptions) -> pj.TransportConfig:
    tc = pj.TransportConfig()
    tc.port = opts.rtp_port
    tc.portRange = opts.rtp_range
    bind = opts.media_address or opts.listen
    if bind not in ("", "0.0.0.0", "::"):
        tc.boundAddress = bind
    tc.publicAddress = opts.public_address or (
        opts.media_address if opts.media_address not in ("", "0.0.0.0", "::")
        else opts.contact_host)
    return tc


def local_account_config(opts: WorkerOptions, user: str, sip_port: int) -> pj.AccountConfig:
    """An account with no registrar: identity `user`@this worker."""
    cfg = pj.AccountConfig()
    cfg.idUri = f"sip:{user}@{opts.contact_host}:{sip_port}"
    cfg.regConfig.registrarUri = ""
    cfg.mediaConfig.transportConfig = media_transport(opts)
    return cfg


def registration_config(opts: WorkerOptions) -> pj.AccountConfig:
    """The provider account: REGISTER to `registrar` with digest credentials, re-registering."""
    host = opts.registrar.split(":", 1)[1] if ":" in opts.registrar else opts.registrar
    host = host.split(";", 1)[0]
    cfg = pj.AccountConfig()
    cfg.idUri = f"sip:{opts.reg_user}@{host}"
    cfg.regConfig.registrarUri = opts.registrar
    cfg.regConfig.timeoutSec = opts.reg_expires
    cfg.regConfig.retryIntervalSec = 30
    cfg.regConfig.firstRetryIntervalSec = 5
    cred = pj.AuthCredInfo("digest", opts.reg_realm or "*", opts.reg_user, 0, opts.reg_password)
    cfg.sipConfig.authCreds.append(cred)
    cfg.mediaConfig.transportConfig = media_transport(opts)
    return cfg


MAX_CALLER_ID_ACCOUNTS = 4  # pjsua allows 8 accounts; keep room for local and registration


class AccountBook:
    """The worker's accounts: '' (local, no registrar), 'reg' (the provider, if any) and a few
    'cid:<number>' accounts that give outbound legs their caller ID in From."""

    def __init__(
        self,
        opts: WorkerOptions,
        sip_port: int,
        on_incoming: Callable[[SipAccount, Any], None],
        on_reg_state: Callable[[SipAccount, Any], None],
    ) -> None:
        self.opts = opts
        self.sip_port = sip_port
        self.on_incoming = on_incoming
        self.on_reg_state = on_reg_state
        self.accounts: dict[str, SipAccount] = {}

    def create(self) -> None:
        local = SipAccount(self.on_incoming)
        pj_call(local.create, local_account_config(self.opts, self.opts.user, self.sip_port), True)
        self.accounts[""] = local
        if self.opts.registrar:
            reg = SipAccount(self.on_incoming, self.on_reg_state)
            reg.key = "reg"
            pj_call(reg.create, registration_config(self.opts))
            self.accounts["reg"] = reg

    def for_caller_id(self, caller_id: str, in_use: set[str]) -> tuple[str, SipAccount]:
        """The account an outbound leg from `caller_id` uses ('' = the default identity).
        `in_use`: keys of accounts live legs hold (those are never shut down)."""
        if not caller_id:
            key = "reg" if "reg" in self.accounts else ""
            return key, self.accounts[key]
        key = f"cid:{caller_id}"
        if key in self.accounts:
            account = self.accounts.pop(key)
            self.accounts[key] = account  # most recently used last
            return key, account
        cid_keys = [k for k in self.accounts if k.startswith("cid:")]
        if len(cid_keys) >= MAX_CALLER_ID_ACCOUNTS:
            idle = [k for k in cid_keys if k not in in_use]
            if not idle:
                return "", self.accounts[""]  # P-Asserted-Identity still carries the number
            old = self.accounts.pop(idle[0])
            pj_call(old.shutdown)
            del old
        account = SipAccount(self.on_incoming)
        account.key = key
        pj_call(account.create, local_account_config(self.opts, caller_id, self.sip_port))
        self.accounts[key] = account
        return key, account

    def shutdown_all(self) -> None:
        """Before libDestroy (pitfall 6): shut every account down and drop it."""
        for account in self.accounts.values():
            try:
                pj_call(account.shutdown)
            except PjFailure as exc:
                log.warning("account shutdown: %s", exc)
        self.accounts.clear()
