"""Users, their roles, and the audit log: the queries behind `users.*`, `audit.*` and logging in.

Every function takes the daemon's `sqlite_utils.Database` (autocommit connection, see
db.connect). A change that takes several statements runs inside `transaction(db)`; calls nest, so
a caller can put a change and its audit entry in one transaction: both are committed, or
neither, before the API acknowledges anything.

Passwords are never handled here in clear except by `verify_login`; the rest stores hashes made
by `ccd.api.auth.hash_password`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import sqlite_utils

from ccd.api import auth
from ccd.errors import CcdError, NotFound
from ccd.timefmt import iso
from db.writer import immediate, running_writer

ROLES = ("agent", "teamlead", "qa", "admin", "backoffice")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class User(msgspec.Struct, frozen=True, kw_only=True):
    """A user as the API shows it (never with the password hash)."""

    id: int
    username: str
    display_name: str
    agent_number: str | None
    disabled: bool
    language: str
    roles: list[str]
    has_password: bool
    created_at: str
    updated_at: str


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    details: dict[str, Any]


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); inside an open transaction, just joins it."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    with immediate(conn):  # DatabaseBusy when another process holds the lock
        yield


def _no_such_user(username: str) -> NotFound:
    return NotFound(f"no user {username!r}", error_id="no-such-user", username=username)


def _check_roles(roles: Iterable[str]) -> list[str]:
    wanted = sorted(set(roles))
    for role in wanted:
        if role not in ROLES:
            raise CcdError(
                f"unknown role {role!r} (known: {', '.join(ROLES)})",
                error_id="unknown-role",
                role=role,
                known=list(ROLES),
            )
    return wanted


_SELECT_USERS = """
SELECT u.id, u.username, u.display_name, u.agent_number, u.disabled, u.language,
       u.password_hash != '' AS has_password, u.created_at, u.updated_at,
       (SELECT group_concat(role, ',') FROM
           (SELECT role FROM user_roles r WHERE r.user_id = u.id ORDER BY role)) AS roles
FROM users u
"""


def _user(row: sqlite3.Row | tuple[Any, ...]) -> User:
    (
        uid,
        username,
        display_name,
        agent_number,
        disabled,
        language,
        has_password,
        created,
        updated,
        roles,
    ) = row
    return User(
        id=uid,
        username=username,
        display_name=display_name,
        agent_number=agent_number,
        disabled=bool(disabled),
        language=language,
        roles=roles.split(",") if roles else [],
        has_password=bool(has_password),
        created_at=created,
        updated_at=updated,
    )


def get_user(db: sqlite_utils.Database, username: str) -> User:
    """The user called `username`; raises NotFound (`no-such-user`)."""
    row = db.execute(_SELECT_USERS + " WHERE u.username = ?", [username]).fetchone()
    if row is None:
        raise _no_such_user(username)
    return _user(row)


def list_users(db: sqlite_utils.Database, *, include_disabled: bool = True) -> list[User]:
    """All users by name; include_disabled: False leaves disabled users out."""
    where = "" if include_disabled else " WHERE u.disabled = 0"
    return [_user(r) for r in db.execute(_SELECT_USERS + where + " ORDER BY u.username")]


def add_user(
    db: sqlite_utils.Database,
    username: str,
    *,
    password_hash: str = "",
    roles: Iterable[str] = (),
    display_name: str = "",
    agent_number: str | None = None,
    language: str = "zh",
) -> User:
    """Create a user and give it `roles`.

    username: login name (letters, digits, `_ . @ -`, at most 64). password_hash: from
    auth.hash_password; empty means no password login until one is set. agent_number: the
    agent's 工号, unique. Raises `user-exists`, `agent-number-taken`, `unknown-role`.
    """
    if not USERNAME.match(username):
        raise CcdError(
            f"bad user name {username!r}: use letters, digits and _ . @ -, at most 64",
            error_id="bad-username",
            username=username,
        )
    wanted = _check_roles(roles)
    now = iso()
    with transaction(db):
        if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise CcdError(
                f"user {username!r} already exists", error_id="user-exists", username=username
            )
        if (
            agent_number is not None
            and db.execute("SELECT 1 FROM users WHERE agent_number = ?", [agent_number]).fetchone()
        ):
            raise CcdError(
                f"agent number {agent_number!r} is already taken",
                error_id="agent-number-taken",
                agent_number=agent_number,
            )
        cursor = db.execute(
            "INSERT INTO users (username, display_name, agent_number, password_hash, language,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [username, display_name, agent_number, password_hash, language, now, now],
        )
        user_id = cursor.lastrowid
        for role in wanted:
            db.execute("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [user_id, role])
    return get_user(db, username)


def _update(db: sqlite_utils.Database, username: str, sql: str, values: list[Any]) -> None:
    cursor = db.execute(
        f"UPDATE users SET {sql}, updated_at = ? WHERE username = ?", [*values, iso(), username]
    )
    if cursor.rowcount == 0:
        raise _no_such_user(username)


def set_password(db: sqlite_utils.Database, username: str, password_hash: str) -> None:
    """Store a new hash (from auth.hash_password) for `username`; raises `no-such-user`."""
    _update(db, username, "password_hash = ?", [password_hash])


def disable(db: sqlite_utils.Database, username: str, disabled: bool = True) -> None:
    """Disable (or with disabled=False re-enable) `username`; a disabled user cannot log in."""
    _update(db, username, "disabled = ?", [int(disabled)])


def set_roles(db: sqlite_utils.Database, username: str, roles: Iterable[str]) -> User:
    """Replace the roles of `username` with `roles`; returns the updated user."""
    wanted = _check_roles(roles)
    with transaction(db):
        user = get_user(db, username)
        db.execute("DELETE FROM user_roles WHERE user_id = ?", [user.id])
        for role in wanted:
            db.execute("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [user.id, role])
        _update(db, username, "id = id", [])
    return get_user(db, username)


def login_record(db: sqlite_utils.Database, username: str) -> tuple[User, str] | None:
    """The user and stored password hash for a login attempt; None for an unknown name."""
    row = db.execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchone()
    if row is None:
        return None
    return get_user(db, username), row[0]


def check_login(record: tuple[User, str] | None, password: str) -> tuple[User | None, str]:
    """Verify `password` against a `login_record`: (user or None, reason). CPU-heavy (scrypt).

    reason is '' on success, else 'unknown-user', 'disabled', 'no-password' or 'bad-password'
    (for the audit log only: the caller must not tell the client which).
    """
    if record is None:
        auth.dummy_verify(password)
        return None, "unknown-user"
    user, password_hash = record
    if not password_hash:
        auth.dummy_verify(password)
        return None, "no-password"
    ok = auth.verify_password(password, password_hash)
    if user.disabled:
        return None, "disabled"
    return (user, "") if ok else (None, "bad-password")


def verify_login(db: sqlite_utils.Database, username: str, password: str) -> User | None:
    """The enabled user `username` if `password` is theirs, else None (for offline tools; the
    server splits this into login_record + check_login to hash outside the event loop)."""
    return check_login(login_record(db, username), password)[0]


def audit(
    db: sqlite_utils.Database,
    actor: str,
    action: str,
    target: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> int:
    """Append to the audit log; returns the entry's id. Inside `transaction(db)` it commits with
    the rest (a change and its entry together). Alone: committed on return, or, in the daemon
    (a write queue runs on `db`), queued there and committed in order (returns 0).

    actor: who (user name, `unix:<name>` for a peer login, `anonymous`). action: what (the API
    method, e.g. 'users.add'). target: what it was done to. outcome: 'ok', 'forbidden',
    'failed'. details: anything else, as JSON (never a password).
    """
    row = _audit_row(actor, action, target, outcome, details)
    writer = None if db.conn.in_transaction else running_writer(db)
    if writer is not None:
        # Alone, in the daemon: the entry follows an action already done (a spy started, a
        # state forced), so it must neither fail on another process's lock (the API would run
        # the action again) nor be lost: the write queue commits it, in order. Returns 0.
        writer.submit(lambda db: db.execute(AUDIT_INSERT, row), label=f"audit {action}")
        return 0
    with transaction(db):  # its own BEGIN IMMEDIATE
        cursor = db.execute(AUDIT_INSERT, row)
    assert cursor.lastrowid is not None
    return cursor.lastrowid


AUDIT_INSERT = (
    "INSERT INTO audit_log (at, actor, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?)"
)


def _audit_row(
    actor: str, action: str, target: str, outcome: str, details: dict[str, Any] | None
) -> list[Any]:
    return [iso(), actor, action, target, outcome,
            json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)]


def audit_soon(
    writer: Any,
    actor: str,
    action: str,
    target: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> None:
    """Append to the audit log through the daemon's write queue (db/writer.py): for entries
    that go with no change of their own (logins, logouts, refusals), so a locked database
    delays them but neither loses them nor refuses the login. The time is taken now."""
    row = _audit_row(actor, action, target, outcome, details)
    writer.submit(lambda db: db.execute(AUDIT_INSERT, row), label=f"audit {action}")


def list_audit(
    db: sqlite_utils.Database,
    *,
    limit: int = 100,
    before_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    target: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[AuditEntry]:
    """Audit entries, newest first. limit: at most this many. before_id: only entries older than
    this id (for paging). actor, action, outcome, target: exact filters. since, until: ISO 8601
    UTC times ('2026-11-23T08:00:00.000Z'), `since` inclusive, `until` exclusive."""
    clauses: list[str] = []
    values: list[Any] = []
    for column, value in (("actor", actor), ("action", action), ("outcome", outcome),
                          ("target", target)):
        if value is not None:
            clauses.append(f"{column} = ?")
            values.append(value)
    if since is not None:
        clauses.append("at >= ?")
        values.append(since)
    if until is not None:
        clauses.append("at < ?")
        values.append(until)
    if before_id is not None:
        clauses.append("id < ?")
        values.append(before_id)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.execute(
        "SELECT id, at, actor, action, target, outcome, details FROM audit_log"
        f"{where} ORDER BY id DESC LIMIT ?",
        [*values, limit],
    )
    return [
        AuditEntry(
            id=r[0],
            at=r[1],
            actor=r[2],
            action=r[3],
            target=r[4],
            outcome=r[5],
            details=json.loads(r[6]),
        )
        for r in rows
    ]
