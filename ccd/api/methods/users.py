"""User administration and the audit log: users.list/add/passwd/disable/set_roles, audit.list.

Each change and its audit entry are committed in one transaction before the reply goes out.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import msgspec
import trio

from ccd.api import auth
from ccd.api.registry import ANY_ROLE, Context, Params, Role, method
from ccd.errors import CcdError, Forbidden
from db import users

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Password = Annotated[str, msgspec.Meta(max_length=auth.MAX_PASSWORD_LENGTH)]
ADMIN = {"admin"}


async def _hash(password: str) -> str:
    auth.check_password_policy(password)
    # scrypt takes tens of milliseconds of CPU: keep it off the event loop.
    return await trio.to_thread.run_sync(auth.hash_password, password)


class ListParams(Params):
    include_disabled: bool = True


@method("users.list", roles=ADMIN, params=ListParams)
async def list_users(ctx: Context, params: ListParams) -> list[users.User]:
    """Every user with roles (never password hashes)."""
    return users.list_users(ctx.services.db, include_disabled=params.include_disabled)


class AddParams(Params):
    username: Username
    password: Password | None = None
    roles: list[Role] = []
    display_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    agent_number: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z-]{1,32}$")] | None = None
    language: Literal["zh", "en"] = "zh"


@method("users.add", roles=ADMIN, params=AddParams)
async def add(ctx: Context, params: AddParams) -> users.User:
    """Create a user; without a password it cannot log in until `users.passwd` sets one."""
    password_hash = await _hash(params.password) if params.password is not None else ""
    db = ctx.services.db
    with users.transaction(db):
        user = users.add_user(
            db,
            params.username,
            password_hash=password_hash,
            roles=params.roles,
            display_name=params.display_name,
            agent_number=params.agent_number,
            language=params.language,
        )
        users.audit(
            db,
            ctx.session.actor,
            "users.add",
            target=user.username,
            details={"roles": user.roles, "agent_number": user.agent_number},
        )
    return user


class PasswdParams(Params):
    password: Password
    username: Username | None = None
    old_password: Password | None = None


@method("users.passwd", roles=ANY_ROLE, params=PasswdParams)
async def passwd(ctx: Context, params: PasswdParams) -> dict[str, bool]:
    """Set a password: an admin for anyone; any user for their own, given the old one."""
    session = ctx.session
    db = ctx.services.db
    target = params.username or session.username
    if "admin" not in session.roles:
        if target != session.username or session.via != "password":
            raise Forbidden(
                "only an admin may set another user's password",
                method="users.passwd",
                target=target,
                required=["admin"],
                roles=sorted(session.roles),
            )
        record = users.login_record(db, target)
        user, _ = await trio.to_thread.run_sync(
            users.check_login, record, params.old_password or ""
        )
        if user is None:
            users.audit(
                db,
                session.actor,
                "users.passwd",
                target=target,
                outcome="failed",
                details={"reason": "wrong-password"},
            )
            raise CcdError("the old password is wrong", error_id="wrong-password")
    users.get_user(db, target)  # `no-such-user` before spending time on the hash
    password_hash = await _hash(params.password)
    with users.transaction(db):
        users.set_password(db, target, password_hash)
        users.audit(db, session.actor, "users.passwd", target=target)
    return {"changed": True}


class DisableParams(Params):
    username: Username
    disabled: bool = True


@method("users.disable", roles=ADMIN, params=DisableParams)
async def disable(ctx: Context, params: DisableParams) -> users.User:
    """Disable a user (or re-enable with disabled=false); their open connections are closed."""
    if params.disabled and params.username == ctx.session.username:
        raise CcdError("you cannot disable yourself", error_id="cannot-disable-self")
    db = ctx.services.db
    with users.transaction(db):
        users.disable(db, params.username, params.disabled)
        users.audit(
            db,
            ctx.session.actor,
            "users.disable",
            target=params.username,
            details={"disabled": params.disabled},
        )
    if params.disabled:
        for conn in list(ctx.server.connections):
            if conn.session.via == "password" and conn.session.username == params.username:
                conn.close("user-disabled", username=params.username)
    return users.get_user(db, params.username)


class RolesParams(Params):
    username: Username
    roles: list[Role]


@method("users.set_roles", roles=ADMIN, params=RolesParams)
async def set_roles(ctx: Context, params: RolesParams) -> users.User:
    """Replace a user's roles; their open sessions get the new roles at once (none: closed)."""
    db = ctx.services.db
    with users.transaction(db):
        user = users.set_roles(db, params.username, params.roles)
        users.audit(
            db,
            ctx.session.actor,
            "users.set_roles",
            target=params.username,
            details={"roles": user.roles},
        )
    for conn in list(ctx.server.connections):
        if conn.session.via == "password" and conn.session.username == params.username:
            if user.roles:
                conn.session = dataclasses.replace(conn.session, roles=frozenset(user.roles))
            else:
                conn.close("no-roles", username=params.username)
    return user


# '2026-11-23T08:00:00.000Z' and shorter prefixes of it ('2026-11-23', '2026-11-23T08:00').
ISO_UTC = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?)?$"


class AuditParams(Params):
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    before_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    target: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    since: Annotated[str, msgspec.Meta(pattern=ISO_UTC)] | None = None
    until: Annotated[str, msgspec.Meta(pattern=ISO_UTC)] | None = None


@method("audit.list", roles=ADMIN, params=AuditParams)
async def audit_list(ctx: Context, params: AuditParams) -> list[users.AuditEntry]:
    """Audit entries, newest first; filter by actor, action, outcome, target and time (UTC,
    since inclusive, until exclusive); page with before_id."""
    return users.list_audit(
        ctx.services.db,
        limit=params.limit,
        before_id=params.before_id,
        actor=params.actor,
        action=params.action,
        outcome=params.outcome,
        target=params.target,
        since=params.since,
        until=params.until,
    )

