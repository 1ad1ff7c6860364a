"""The API server's doorkeeper: connection caps, login throttling and the audit of refusals.

One `Gate` per server. It decides (with the I/O-free `LoginThrottle` and `AuditLimiter` of
ccd/api/guard.py) and writes the audit entries: through the daemon's write queue when there is
one (a locked database delays them, never loses them), else directly. Every refusal is audited,
before login too, as outcome 'refused' (connection caps, throttled logins), 'failed' (wrong
password) or 'forbidden' (a method or topic the roles do not allow); per peer and overall the
entries are rate-limited, and the next entry written says how many were left out.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ccd.api.auth import PeerCred
from ccd.api.guard import AuditLimiter, LoginThrottle
from ccd.config import ApiConfig
from db import users

log = logging.getLogger("ccd.api")


def peer_key(peer: PeerCred | None) -> str:
    return f"uid:{peer.uid}" if peer is not None else "uid:?"


def peer_details(peer: PeerCred | None) -> dict[str, Any]:
    return {"peer_pid": peer.pid, "peer_uid": peer.uid} if peer is not None else {}


class Gate:
    def __init__(self, api: ApiConfig) -> None:
        self.throttle = LoginThrottle(
            free_failures=api.login_free_failures, max_delay_s=api.login_backoff_max_s
        )
        self.limiter = AuditLimiter()
        self.refused_connections_per_uid = 0
        self.refused_sessions = 0

    def reconfigure(self, api: ApiConfig) -> None:
        self.throttle.free_failures = api.login_free_failures
        self.throttle.max_delay_s = api.login_backoff_max_s

    @staticmethod
    def login_keys(username: str, peer: PeerCred | None) -> tuple[str, ...]:
        return (f"user:{username}", peer_key(peer))

    def audit_refusal(
        self,
        services: Any,
        peer: PeerCred | None,
        actor: str,
        action: str,
        *,
        target: str = "",
        outcome: str = "refused",
        details: dict[str, Any] | None = None,
    ) -> bool:
        """Audit one refusal unless the limiter says this peer (or everyone) wrote enough;
        returns whether it was written."""
        suppressed = self.limiter.admit(peer_key(peer), trio.current_time())
        if suppressed is None:
            return False
        entry = {**(details or {}), **peer_details(peer)}
        if suppressed:
            entry["suppressed"] = suppressed
        writer = getattr(services, "writer", None)
        if writer is not None:
            users.audit_soon(writer, actor, action, target, outcome, entry)
        else:
            users.audit(services.db, actor, action, target, outcome, entry)
        return True

    def statistics(self) -> dict[str, int]:
        return {
            "logins_throttled": self.throttle.refused,
            "refusals_not_audited": self.limiter.suppressed_total,
            "refused_connections_per_uid": self.refused_connections_per_uid,
            "refused_sessions": self.refused_sessions,
        }
