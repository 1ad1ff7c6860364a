"""How the daemon starts workers: ports per worker and the command line (plain data, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SipRegistration:
    """A provider account to REGISTER with (digest auth), re-registering every `expires` s."""

    registrar: str  # 'sip:sip.provider.example:5060'
    user: str
    password: str
    realm: str = "*"
    expires: int = 300


@dataclass(frozen=True)
class WorkerPorts:
    sip_port: int  # 0: chosen by the OS at first start, then kept across restarts
    rtp_port: int
    rtp_range: int


def plan_ports(workers: int, sip_port: int, rtp_port: int, rtp_span: int) -> list[WorkerPorts]:
    """Ports for `workers` workers: SIP ports `sip_port`+i, RTP ranges that never overlap
    (pitfall 9: two pjsua2 processes sharing an RTP range fail with 'bind() in use')."""
    if workers < 1:
        raise ValueError("at least one worker")
    if rtp_span < 8 or rtp_span % 2:
        raise ValueError("rtp_span must be an even number of at least 8 ports")
    if not 1024 <= rtp_port or rtp_port + workers * rtp_span > 65536:
        raise ValueError(f"RTP ports {rtp_port}..{rtp_port + workers * rtp_span - 1} out of range")
    plan = [
        WorkerPorts(sip_port + i if sip_port else 0, rtp_port + i * rtp_span, rtp_span)
        for i in range(workers)
    ]
    for ports in plan:
        for other in plan:
            if (
                other.sip_port
                and other.rtp_port <= other.sip_port < other.rtp_port + other.rtp_range
            ):
                raise ValueError(f"SIP port {other.sip_port} lies in an RTP range")
            if ports is not other and (
                ports.rtp_port < other.rtp_port + other.rtp_range
                and other.rtp_port < ports.rtp_port + ports.rtp_range
            ):
                raise ValueError("RTP ranges overlap")
    return plan


def worker_args(
    ports: WorkerPorts,
    sip_port: int,
    *,
    mode: str,
    listen: str,
    public_address: str,
    tcp: bool,
    media_address: str = "",
    max_calls: int,
    max_cps: float,
    extra_legs: int,
    allowed_peers: Sequence[str],
    auto_answer: bool,
    user: str,
    log_level: str,
    registration: SipRegistration | None,
    followup_pool: int = 0,
    overflow_room: int = 0,
) -> list[str]:
    """Options of `python -m hw.sipworker` (without --fd) for one worker; `sip_port` is the
    port it must bind (the one it had before a restart, once known). The registration
    password is not here: it travels in the environment (protocol.PASSWORD_ENV)."""
    args = [
        "--mode", mode,
        "--listen", listen,
        "--sip-port", str(sip_port),
        "--rtp-port", str(ports.rtp_port),
        "--rtp-range", str(ports.rtp_range),
        "--max-calls", str(max_calls),
        "--max-cps", str(max_cps),
        "--extra-legs", str(extra_legs),
        "--followup-pool", str(followup_pool),
        "--overflow-room", str(overflow_room),
        "--user", user,
        "--log-level", log_level,
    ]  # fmt: skip
    if public_address:
        args += ["--public-address", public_address]
    if media_address:
        args += ["--media-address", media_address]
    if not tcp:
        args.append("--no-tcp")
    if auto_answer:
        args.append("--auto-answer")
    for peer in allowed_peers:
        args += ["--allow", peer]
    if registration is not None:
        args += [
            "--registrar", registration.registrar,
            "--reg-user", registration.user,
            "--reg-realm", registration.realm,
            "--reg-expires", str(registration.expires),
        ]  # fmt: skip
    return args
