"""Who may place a leg in this worker, and how many: pure logic, `now` passed in, no pjsua2.

Three rules, in this order, for an inbound INVITE:
1. the source address must be an allowed peer (empty list: everyone) -> else 403;
2. fewer than `max_cps` new legs in the last second -> else 503 (the 2.10 wheel aborts when its
   64-handle media socket pool runs dry, and a freed socket is reusable only ~500 ms later);
3. room for the call *and* its follow-up legs (agent, supervisor): legs in use + legs reserved for
   earlier calls' follow-ups + 1 + `extra_legs` + `followup_pool` <= `max_calls` -> else 503.

Two shapes of keeping room for follow-ups, combinable: `extra_legs` per inbound call (every
caller in the IVR holds its agent and team-lead legs: 3 legs a caller), or `followup_pool` legs
per worker (new callers stop while fewer than that are free; agent legs may use them). Callers
in the IVR never need a second leg, only those who reach an agent do, so the pool lets a worker
hold max_calls - pool callers instead of max_calls / 3; each agent conversation in the worker
then admits one caller fewer until it ends.

`overflow_room` of the pool's legs may take callers beyond that as *overflow* calls: they are
admitted (`overflowing(leg)` is true) only to hear a short busy announcement and be hung up,
so that at capacity a caller hears why instead of a bare 503.

An outbound leg placed `near` an inbound call uses that call's reservation; any other outbound leg
must leave every reservation intact. Every new leg (admitted or not) counts against the rate,
because pjsua2 creates the media sockets before the application sees the call.
"""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

IOQUEUE_HANDLES = 64
"""PJ_IOQUEUE_MAX_HANDLES of the pinned wheel's select() media ioqueue."""

SOCKETS_PER_CALL = 2  # RTP and RTCP, rtcp-mux or not
RATE_WINDOW = 1.0


def socket_safe_calls(max_cps: float, handles: int = IOQUEUE_HANDLES) -> int:
    """The most concurrent calls the media socket pool survives at `max_cps` new calls a second.

    Measured rule (notes/pjsua2.md): maxCalls <= (64 - new calls per second) / 2.
    """
    return max(0, (handles - math.ceil(max_cps)) // SOCKETS_PER_CALL)


@dataclass(frozen=True)
class Caps:
    """The limits a worker runs with, derived from what was asked and what the build allows.

    `pj_max_calls` is what pjsua2 itself is configured for; admission keeps one slot of it
    spare so that a call over the cap is refused by us with 503 instead of by pjsua2 with 486.
    """

    max_calls: int
    pj_max_calls: int
    max_cps: float


def derive_caps(requested_calls: int, max_cps: float, build_max_calls: int | None = None) -> Caps:
    """Clamp the requested call cap to the socket rule and (once known) the build's own cap.

    `requested_calls`: the operator's cap; `max_cps`: new legs a second; `build_max_calls`: what
    `pjsua_call_get_max_count()` reported, or None before pjsua2 is initialised.
    """
    if requested_calls < 1:
        raise ValueError("max_calls must be at least 1")
    if max_cps <= 0:
        raise ValueError("max_cps must be positive")
    hard = socket_safe_calls(max_cps)
    if build_max_calls is not None:
        hard = min(hard, build_max_calls)
    if hard < 2:
        raise ValueError(f"max_cps {max_cps} leaves no room for calls in the socket pool")
    return Caps(max_calls=min(requested_calls, hard - 1), pj_max_calls=hard, max_cps=max_cps)


class PeerFilter:
    """Allowed source addresses: single IPs or CIDR networks; empty means everyone."""

    def __init__(self, peers: Iterable[str] = ()) -> None:
        self.networks = [ipaddress.ip_network(p.strip(), strict=False) for p in peers if p.strip()]

    def allows(self, address: str) -> bool:
        """`address` is an IP, optionally with ':port' (IPv4) or '[ip]:port' (IPv6)."""
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(host_of(address))
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


def host_of(address: str) -> str:
    """'1.2.3.4:5060' -> '1.2.3.4'; '[::1]:5060' -> '::1'; a bare address is returned as is."""
    address = address.strip()
    if address.startswith("["):
        return address[1 : address.index("]")]
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    return address


@dataclass(frozen=True)
class Refusal:
    code: int  # SIP status to answer with
    reason: str  # 'forbidden-peer' | 'over-rate' | 'over-capacity'


@dataclass
class _Group:
    extra: int
    followups: set[int] = field(default_factory=set)

    @property
    def reserved(self) -> int:
        return max(0, self.extra - len(self.followups))


class Admission:
    """Counts legs, reservations and arrivals for one worker.

    `max_calls`: legs the worker may hold; `max_cps`: new legs per second; `extra_legs`: legs
    reserved for each inbound call's follow-ups; `allowed_peers`: IPs/CIDRs (empty: all).
    """

    def __init__(
        self,
        max_calls: int,
        max_cps: float,
        extra_legs: int = 2,
        allowed_peers: Iterable[str] = (),
        followup_pool: int = 0,
        overflow_room: int = 0,
    ) -> None:
        self.max_calls = max_calls
        self.max_cps = max_cps
        self.extra_legs = extra_legs
        self.followup_pool = followup_pool
        self.overflow_room = min(overflow_room, followup_pool)
        self._overflow: set[int] = set()
        self.peers = PeerFilter(allowed_peers)
        self._arrivals: deque[float] = deque()
        self._legs: set[int] = set()
        self._groups: dict[int, _Group] = {}
        self._group_of: dict[int, int] = {}
        self.accepted = 0
        self.refused = 0

    # --- numbers ---
    @property
    def legs(self) -> int:
        return len(self._legs)

    @property
    def reserved(self) -> int:
        return sum(g.reserved for g in self._groups.values())

    def arrivals(self, now: float) -> int:
        """New legs seen in the last second."""
        self._prune(now)
        return len(self._arrivals)

    def room_for_inbound(self) -> bool:
        return (self.legs + self.reserved + 1 + self.extra_legs + self.followup_pool
                <= self.max_calls)

    @property
    def caller_capacity(self) -> int:
        """Callers an idle worker takes (each with its follow-up room)."""
        return max(0, (self.max_calls - self.followup_pool) // (1 + self.extra_legs))

    # --- decisions ---
    def inbound(self, now: float, leg: int, source: str) -> Refusal | None:
        """Decide on an inbound INVITE from `source`; on None the leg is counted as live."""
        over_rate = self.arrivals(now) + 1 > self.max_cps
        self._arrivals.append(now)
        refusal = None
        if not self.peers.allows(source):
            refusal = Refusal(403, "forbidden-peer")
        elif over_rate:
            refusal = Refusal(503, "over-rate")
        elif not self.room_for_inbound():
            if self._room_for_overflow():
                self._overflow.add(leg)
            else:
                refusal = Refusal(503, "over-capacity")
        if refusal is not None:
            self.refused += 1
            return refusal
        self.accepted += 1
        self._legs.add(leg)
        self._groups[leg] = _Group(self.extra_legs)
        return None

    def overflowing(self, leg: int) -> bool:
        """Whether inbound `leg` was admitted only for the busy announcement."""
        return leg in self._overflow

    def _room_for_overflow(self) -> bool:
        kept = self.followup_pool - self.overflow_room
        return (len(self._overflow) < self.overflow_room
                and self.legs + self.reserved + 1 + kept <= self.max_calls)

    def outbound(self, now: float, leg: int, near: int = 0) -> str | None:
        """Decide on an outbound leg; returns an error code or None (then the leg is live).

        `near`: a live leg of the call this one joins; its call's reservation is used first.
        """
        if self.arrivals(now) + 1 > self.max_cps:
            self.refused += 1
            return "over-rate"
        group_id = self._group_of.get(near, near) if near else 0
        group = self._groups.get(group_id)
        if group is not None and group.reserved > 0:
            fits = self.legs + 1 <= self.max_calls
        else:
            fits = self.legs + self.reserved + 1 <= self.max_calls
        if not fits:
            self.refused += 1
            return "over-capacity"
        self._arrivals.append(now)
        self.accepted += 1
        self._legs.add(leg)
        if group is not None:
            group.followups.add(leg)
            self._group_of[leg] = group_id
        return None

    def release(self, leg: int) -> None:
        """The leg is gone: free its slot (and, for an inbound call, its reservation)."""
        self._legs.discard(leg)
        self._overflow.discard(leg)
        group = self._groups.pop(leg, None)
        if group is not None:
            for followup in group.followups:
                self._group_of.pop(followup, None)
        group_id = self._group_of.pop(leg, None)
        if group_id is not None and group_id in self._groups:
            self._groups[group_id].followups.discard(leg)

    def _prune(self, now: float) -> None:
        while self._arrivals and self._arrivals[0] <= now - RATE_WINDOW:
            self._arrivals.popleft()
