"""db/users.py against a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from ccd.api import auth
from ccd.errors import CcdError, NotFound
from db import connect, open_database, users

CHEAP = {"n": 2**10}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    yield database
    database.close()


def test_add_and_list_users_with_sorted_roles(db: sqlite_utils.Database) -> None:
    users.add_user(
        db,
        "zhang.san",
        password_hash=auth.hash_password("password1", **CHEAP),
        roles=["teamlead", "agent"],
        display_name="张三",
        agent_number="1001",
    )
    users.add_user(db, "li-si", roles=["qa"], language="en")
    listed = users.list_users(db)
    assert [u.username for u in listed] == ["li-si", "zhang.san"]
    zhang = users.get_user(db, "zhang.san")
    assert zhang.roles == ["agent", "teamlead"]
    assert zhang.display_name == "张三" and zhang.agent_number == "1001"
    assert zhang.has_password and not zhang.disabled
    li = users.get_user(db, "li-si")
    assert not li.has_password and li.language == "en"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"username": "dup"}, "user-exists"),
        ({"username": "new", "agent_number": "7"}, "agent-number-taken"),
        ({"username": "has space"}, "bad-username"),
        ({"username": "-lead"}, "bad-username"),
        ({"username": "x" * 65}, "bad-username"),
        ({"username": "ok", "roles": ["agent", "boss"]}, "unknown-role"),
    ],
)
def test_add_user_refusals_leave_nothing_behind(
    db: sqlite_utils.Database, kwargs: dict, code: str
) -> None:
    users.add_user(db, "dup", agent_number="7")
    with pytest.raises(CcdError) as caught:
        users.add_user(db, **kwargs)
    assert caught.value.error_id == code
    assert [u.username for u in users.list_users(db)] == ["dup"]
    assert db.execute("SELECT count(*) FROM user_roles").fetchone()[0] == 0


def test_unknown_users_are_not_found(db: sqlite_utils.Database) -> None:
    for call in (
        lambda: users.get_user(db, "ghost"),
        lambda: users.set_password(db, "ghost", "h"),
        lambda: users.disable(db, "ghost"),
        lambda: users.set_roles(db, "ghost", ["qa"]),
    ):
        with pytest.raises(NotFound) as caught:
            call()
        assert caught.value.error_id == "no-such-user"
        assert caught.value.details == {"username": "ghost"}


def test_verify_login_checks_password_disabled_and_missing_password(
    db: sqlite_utils.Database,
) -> None:
    users.add_user(
        db, "ann", password_hash=auth.hash_password("password1", **CHEAP), roles=["agent"]
    )
    users.add_user(db, "nopass", roles=["agent"])
    ann = users.verify_login(db, "ann", "password1")
    assert ann is not None and ann.username == "ann"
    assert users.verify_login(db, "ann", "password2") is None
    assert users.check_login(users.login_record(db, "ann"), "x")[1] == "bad-password"
    assert users.check_login(users.login_record(db, "ghost"), "x") == (None, "unknown-user")
    assert users.check_login(users.login_record(db, "nopass"), "") == (None, "no-password")
    users.disable(db, "ann")
    assert users.check_login(users.login_record(db, "ann"), "password1") == (None, "disabled")
    users.disable(db, "ann", disabled=False)
    users.set_password(db, "ann", auth.hash_password("password3", **CHEAP))
    assert users.verify_login(db, "ann", "password1") is None
    assert users.verify_login(db, "ann", "password3") is not None


def test_set_roles_replaces_roles(db: sqlite_utils.Database) -> None:
    users.add_user(db, "ann", roles=["agent", "qa"])
    assert users.set_roles(db, "ann", ["admin", "admin"]).roles == ["admin"]
    assert users.set_roles(db, "ann", []).roles == []
    with pytest.raises(CcdError) as caught:
        users.set_roles(db, "ann", ["root"])
    assert caught.value.error_id == "unknown-role"


def test_changes_are_committed_for_other_connections(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    users.add_user(db, "ann", roles=["agent"])
    entry = users.audit(db, "admin", "users.add", "ann", details={"roles": ["agent"]})
    other = connect(tmp_path / "ccd.sqlite3")
    try:
        assert [u.username for u in users.list_users(other)] == ["ann"]
        (row,) = users.list_audit(other)
        assert (row.id, row.actor, row.action, row.target, row.outcome, row.details) == (
            entry,
            "admin",
            "users.add",
            "ann",
            "ok",
            {"roles": ["agent"]},
        )
    finally:
        other.close()


def test_transaction_rolls_back_the_change_and_its_audit_together(
    db: sqlite_utils.Database,
) -> None:
    with pytest.raises(RuntimeError):
        with users.transaction(db):
            users.add_user(db, "ann", roles=["agent"])  # nested transaction joins the outer
            users.audit(db, "admin", "users.add", "ann")
            raise RuntimeError("crash before commit")
    assert users.list_users(db) == []
    assert users.list_audit(db) == []
    assert not db.conn.in_transaction


def test_list_audit_filters_and_pages_newest_first(db: sqlite_utils.Database) -> None:
    ids = [
        users.audit(db, actor, action, outcome=outcome)
        for actor, action, outcome in [
            ("a", "login", "ok"),
            ("b", "users.add", "forbidden"),
            ("a", "users.add", "ok"),
            ("a", "login", "failed"),
        ]
    ]
    assert [e.id for e in users.list_audit(db)] == ids[::-1]
    assert [e.id for e in users.list_audit(db, actor="a")] == [ids[3], ids[2], ids[0]]
    assert [e.id for e in users.list_audit(db, action="users.add", outcome="ok")] == [ids[2]]
    assert [e.id for e in users.list_audit(db, limit=2)] == [ids[3], ids[2]]
    assert [e.id for e in users.list_audit(db, limit=2, before_id=ids[2])] == [ids[1], ids[0]]
