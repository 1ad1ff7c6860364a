"""What SIGHUP can apply, and what needs a restart: the daemon says which, key by key.

`changes(old, new)` lists the dotted keys whose values differ; `split(old, new)` sorts them into
keys the running daemon takes at once (read per request or connection, or handed to a service's
reload hook) and keys only a restart applies (sockets, SIP workers, paths, the database...). The
daemon logs both lists, so "config reloaded" never claims what did not happen.
"""

from __future__ import annotations

from typing import Any

import msgspec

# Keys (exact, or a prefix ending in '.') that a reload applies.
APPLIED: tuple[str, ...] = (
    "log.level",
    "ivr.flow",  # telephony's reload hook: new calls get the new flow (a bad one is refused)
    "wallboard.",  # the wallboard publisher's reload hook recounts
    "console.",  # read by the agent-console methods on every request
    "site.name",  # read per request
    "site.language",  # read per request (the default language of messages)
    # read for every new connection (ccd/api/server.py)
    "api.max_connections", "api.max_line_bytes", "api.requests_per_second", "api.burst",
    "api.idle_timeout_s", "api.login_timeout_s", "api.peer_credentials",
    "api.max_connections_per_uid", "api.max_sessions_per_user", "api.login_free_failures",
    "api.login_backoff_max_s",
    # the ACD's reload hook: defaults, caller id, stations and *new* queues
    "acd.",
)


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{prefix}{k}.", out)
    else:
        out[prefix.rstrip(".")] = value


def changes(old: Any, new: Any) -> list[str]:
    """Dotted keys whose values differ between two Configs."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten({k: v for k, v in msgspec.to_builtins(old).items() if k != "source"}, "", a)
    _flatten({k: v for k, v in msgspec.to_builtins(new).items() if k != "source"}, "", b)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def _applied(key: str, old: Any) -> bool:
    if key.startswith("acd.queues."):  # a queue that runs keeps its settings until restart
        name = key.split(".")[2]
        return name not in getattr(old.acd, "queues", {})
    if key == "acd.enabled":
        return False
    return any(key == p or (p.endswith(".") and key.startswith(p)) for p in APPLIED)


def split(old: Any, new: Any) -> tuple[list[str], list[str]]:
    """(keys applied now, keys that need a restart)."""
    keys = changes(old, new)
    applied = [k for k in keys if _applied(k, old)]
    return applied, [k for k in keys if k not in applied]
