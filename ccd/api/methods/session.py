"""Connection and session methods: hello, ping, login, login_peer, logout, whoami, subscribe."""

from __future__ import annotations

import math
from typing import Annotated, Any

import msgspec
import trio

from ccd import __version__
from ccd.api import auth
from ccd.api import topics as topic_policy
from ccd.api.protocol import PROTOCOL_VERSION
from ccd.api.registry import ANY_ROLE, PUBLIC, Context, NoParams, Params, Session, method
from ccd.errors import CcdError
from db import users

Topic = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
MAX_TOPICS = 64


def _whoami(ctx: Context, session: Session) -> dict[str, Any]:
    registry = ctx.server.registry
    peer = session.peer
    return {
        "username": session.username,
        "display_name": session.display_name,
        "roles": sorted(session.roles),
        "via": session.via,
        "language": session.language or ctx.services.config.site.language,
        "peer": {"pid": peer.pid, "uid": peer.uid, "gid": peer.gid} if peer else None,
        "methods": [spec.name for spec in registry if spec.allows(session)],
    }


def _peer_details(session: Session) -> dict[str, Any]:
    peer = session.peer
    return {"peer_pid": peer.pid, "peer_uid": peer.uid} if peer else {}


def _refuse_if_logged_in(session: Session) -> None:
    if session.logged_in:
        raise CcdError(
            f"already logged in as {session.username!r}",
            error_id="already-logged-in",
            username=session.username,
        )


@method("hello", roles={PUBLIC})
async def hello(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Who the server is and its limits; callable before logging in."""
    api = ctx.connection.api
    return {
        "server": "ccd",
        "version": __version__,
        "protocol": PROTOCOL_VERSION,
        "site": ctx.services.config.site.name,
        "language": ctx.services.config.site.language,
        "timezone": ctx.services.config.site.timezone,  # every time a client shows is in it
        "login": ["password", "peer"] if api.peer_credentials else ["password"],
        "limits": {
            "max_line_bytes": api.max_line_bytes,
            "requests_per_second": api.requests_per_second,
            "burst": api.burst,
            "idle_timeout_s": api.idle_timeout_s,
            "login_timeout_s": api.login_timeout_s,
        },
    }


@method("ping", roles={PUBLIC})
async def ping(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Keep an otherwise quiet connection (a wallboard) from the idle time-out."""
    return {"pong": True}


class LoginParams(Params):
    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=auth.MAX_PASSWORD_LENGTH)]


@method("login", roles={PUBLIC}, params=LoginParams)
async def login(ctx: Context, params: LoginParams) -> dict[str, Any]:
    """Log in with user name and password; returns what `whoami` returns."""
    _refuse_if_logged_in(ctx.session)
    db = ctx.services.db
    gate = ctx.server.gate
    keys = gate.login_keys(params.username, ctx.session.peer)
    wait = gate.throttle.check(keys, trio.current_time())
    if wait > 0:
        # Refused without looking at the password: guessing costs the guesser time.
        seconds = math.ceil(wait)
        gate.audit_refusal(ctx.services, ctx.session.peer, "anonymous", "login",
                           target=params.username,
                           details={"via": "password", "reason": "throttled", "wait_s": seconds})
        ctx.connection.login_failed()
        raise CcdError(f"too many failed logins: try again in {seconds} s",
                       error_id="login-throttled", retry_after_s=seconds)
    record = users.login_record(db, params.username)
    # scrypt takes tens of milliseconds of CPU: keep it off the event loop.
    user, reason = await trio.to_thread.run_sync(users.check_login, record, params.password)
    if user is not None and not user.roles:
        user, reason = None, "no-roles"
    if user is None:
        gate.throttle.failed(keys, trio.current_time())
        gate.audit_refusal(ctx.services, ctx.session.peer, "anonymous", "login",
                           target=params.username, outcome="failed",
                           details={"via": "password", "reason": reason})
        ctx.connection.login_failed()
        raise CcdError("wrong user name or password", error_id="login-failed")
    gate.throttle.succeeded(keys)
    limit = ctx.connection.api.max_sessions_per_user
    sessions = sum(1 for c in ctx.server.connections
                   if c.session.via == "password" and c.session.username == user.username)
    if sessions >= limit:
        gate.refused_sessions += 1
        gate.audit_refusal(ctx.services, ctx.session.peer, user.username, "login",
                           target=user.username, outcome="refused",
                           details={"via": "password", "reason": "too-many-sessions",
                                    "limit": limit})
        raise CcdError(f"{user.username} already has {sessions} sessions open (at most {limit})",
                       error_id="too-many-sessions", limit=limit)
    session = Session(
        username=user.username,
        roles=frozenset(user.roles),
        via="password",
        user_id=user.id,
        display_name=user.display_name,
        language=user.language,
        peer=ctx.session.peer,
    )
    _audit(
        ctx,
        user.username,
        "login",
        target=user.username,
        details={"via": "password", **_peer_details(session)},
    )
    ctx.connection.log_in(session)
    return _whoami(ctx, session)


@method("login_peer", roles={PUBLIC})
async def login_peer(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Log in as admin without a password: for root, the daemon's own user and members of
    api.group on this machine (SO_PEERCRED), when api.peer_credentials is on."""
    _refuse_if_logged_in(ctx.session)
    api = ctx.connection.api
    peer = ctx.session.peer
    if not auth.peer_may_log_in(peer, enabled=api.peer_credentials, group=api.group):
        uid = peer.uid if peer else "?"
        ctx.server.gate.audit_refusal(
            ctx.services, peer, "anonymous", "login_peer", target=f"uid:{uid}",
            outcome="failed", details={"via": "peer", "enabled": api.peer_credentials},
        )
        ctx.connection.login_failed()
        raise CcdError(
            "this local user may not log in without a password",
            error_id="peer-refused",
            uid=uid,
            group=api.group,
        )
    assert peer is not None
    session = Session(
        username=f"unix:{auth.user_name(peer.uid)}",
        roles=frozenset({"admin"}),
        via="peer",
        peer=peer,
    )
    _audit(
        ctx,
        session.username,
        "login_peer",
        target=session.username,
        details={"via": "peer", **_peer_details(session)},
    )
    ctx.connection.log_in(session)
    return _whoami(ctx, session)


@method("logout", roles=ANY_ROLE)
async def logout(ctx: Context, params: NoParams) -> dict[str, Any]:
    """End the session; the connection stays open and may log in again."""
    _audit(ctx, ctx.session.actor, "logout", target=ctx.session.username)
    ctx.connection.log_out()
    return {"logged_out": True}


@method("whoami", roles=ANY_ROLE)
async def whoami(ctx: Context, params: NoParams) -> dict[str, Any]:
    """The session: user, roles, how it logged in, and the methods it may call."""
    return _whoami(ctx, ctx.session)


class TopicsParams(Params):
    topics: Annotated[list[Topic], msgspec.Meta(max_length=MAX_TOPICS)]


@method("subscribe", roles=ANY_ROLE, params=TopicsParams)
async def subscribe(ctx: Context, params: TopicsParams) -> dict[str, Any]:
    """Receive events on `topics` (exact names) as `{"event": topic, "data": ...}` lines.

    Each topic is checked against the caller's roles (ccd/api/topics.py); one refused topic
    refuses the whole request (audited), so a client never half-subscribes."""
    for topic in params.topics:
        topic_policy.check(topic, ctx.session)
    if len(ctx.connection.topics | set(params.topics)) > MAX_TOPICS:
        raise CcdError(
            f"at most {MAX_TOPICS} topics per connection",
            error_id="too-many-topics",
            limit=MAX_TOPICS,
        )
    return {"topics": ctx.connection.subscribe(params.topics)}


@method("unsubscribe", roles=ANY_ROLE, params=TopicsParams)
async def unsubscribe(ctx: Context, params: TopicsParams) -> dict[str, Any]:
    """Stop receiving events on `topics`."""
    return {"topics": ctx.connection.unsubscribe(params.topics)}


def _audit(ctx: Context, actor: str, action: str, target: str = "", outcome: str = "ok",
           details: dict[str, Any] | None = None) -> None:
    """Logins and logouts change nothing else: their entry goes through the write queue when
    the daemon has one (a locked database delays it, never refuses the login)."""
    writer = getattr(ctx.services, "writer", None)
    if writer is None:
        users.audit(ctx.services.db, actor, action, target, outcome, details)
    else:
        users.audit_soon(writer, actor, action, target, outcome, details)
