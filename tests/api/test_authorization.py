"""Authorization matrix: every API method × every role, through a real server on a real socket.

Two checks: the declared roles are the intended ones (EXPECTED, kept by hand, so a change to a
declaration shows up in review), and the running server enforces exactly the declarations:
allowed calls succeed, refused ones get `forbidden` (or `login-required` before login), land in
the audit log, committed, and change nothing else.

Adding API methods: add each to EXPECTED and PARAMS (both tests below fail until you do). If an
allowed call may fail for a domain reason with the given params (say `no-such-work-order`), list
the acceptable codes in ALLOWED_MAY_FAIL; refused calls are checked strictly either way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from ccd.api.protocol import ErrorReply, Reply
from ccd.api.registry import ANY_ROLE, PUBLIC, REGISTRY, ROLES
from ccd.api.server import ApiServer
from ccd.config import Config
from db import connect, users
from tests.api.conftest import PASSWORD, LocalServices, TrioClient, add_user

ADMIN = frozenset({"admin"})
HOTLINE = frozenset({"agent", "teamlead", "admin"})
EXPECTED: dict[str, frozenset[str]] = {
    "hello": frozenset({PUBLIC}),
    "ping": frozenset({PUBLIC}),
    "login": frozenset({PUBLIC}),
    "login_peer": frozenset({PUBLIC}),
    "logout": ANY_ROLE,
    "whoami": ANY_ROLE,
    "status": ANY_ROLE,
    "subscribe": ANY_ROLE,
    "unsubscribe": ANY_ROLE,
    "users.passwd": ANY_ROLE,
    "users.list": ADMIN,
    "users.add": ADMIN,
    "users.disable": ADMIN,
    "users.set_roles": ADMIN,
    "audit.list": ADMIN,
    # call records and telephony (ccd/api/methods/calls.py)
    "calls.list": frozenset({"teamlead", "qa", "admin"}),
    "calls.show": frozenset({"teamlead", "qa", "admin"}),
    "telephony.stats": ADMIN,
    "flows.reload": ADMIN,
    # work orders, knowledge base and customer history (ccd/api_methods_wo.py)
    **{m: ANY_ROLE for m in ("wo.get", "wo.list", "wo.overdue", "wo.departments", "kb.search",
                             "kb.get", "customer.history")},
    **{m: HOTLINE for m in ("wo.create", "wo.dispatch", "wo.close", "wo.cancel")},
    # department steps: back-office staff too (the handler checks the department)
    **{m: HOTLINE | {"backoffice"} for m in ("wo.accept", "wo.feedback", "wo.pause",
                                             "wo.resume", "wo.request_close", "wo.send_back")},
    # wallboard and help requests (ccd/api/methods/wallboard.py, help.py)
    "wallboard.snapshot": frozenset({"teamlead", "admin", "qa"}),
    "wallboard.call": frozenset({"teamlead", "admin", "qa"}),
    "agent.help": frozenset({"agent"}),
    "agent.help_cancel": frozenset({"agent"}),
    "supervisor.answer_help": frozenset({"teamlead", "admin"}),
    # the ACD: agents, team leads, queues and stations (ccd/api/methods/agent.py,
    # supervisor.py, queues.py)
    **{m: frozenset({"agent"}) for m in (
        "agent.login", "agent.logout", "agent.ready", "agent.not_ready", "agent.state",
        "agent.answer", "agent.hangup", "agent.hold", "agent.unhold", "agent.transfer",
        "agent.consult_end", "agent.conference", "agent.dial", "agent.wrap_up", "agent.note")},
    # caller lists: blocked, VIP, restricted numbers (ccd/api/methods/callers.py)
    **{m: frozenset({"teamlead", "admin"}) for m in (
        "callers.set", "callers.clear", "callers.list")},
    **{m: frozenset({"teamlead", "admin"}) for m in (
        "acd.snapshot", "supervisor.listen", "supervisor.whisper", "supervisor.barge",
        "supervisor.stop", "supervisor.force_state", "queues.list")},
    **{m: ADMIN for m in ("queues.add", "queues.set", "queues.remove", "stations.add",
                          "stations.remove")},
    "stations.list": frozenset({"agent", "teamlead", "admin"}),
    # the agent console's lookups (ccd/api/methods/customers.py)
    "customer.screen_pop": ANY_ROLE,
    "customer.search": ANY_ROLE,
    "agent.tasks": HOTLINE,
    # the console's pick lists and the task list (ccd/api/methods/agent.py, tasks.py)
    "agent.options": HOTLINE,
    **{m: HOTLINE for m in ("task.survey", "task.survey_save", "task.callback_done")},
}

_serial = itertools.count()


def _target(services: LocalServices, caller: str) -> str:
    name = f"target-{next(_serial)}"
    add_user(services.db, name, ["agent"])
    return name


def _fresh_login(services: LocalServices, caller: str) -> dict[str, Any]:
    name = f"fresh-{next(_serial)}"
    add_user(services.db, name, ["qa"])
    return {"username": name, "password": PASSWORD}


def _work_order(services: LocalServices, caller: str) -> str:
    from ccd.workorders.service import WorkOrders

    return str(WorkOrders(services.db).create(type="enquiry", created_by="test")["number"])


def _wo_note(services: LocalServices, caller: str) -> dict[str, Any]:
    return {"number": _work_order(services, caller), "note": "说明"}


def _call(services: LocalServices, caller: str) -> str:
    call_id = f"call-{next(_serial)}"
    services.db.execute("INSERT INTO calls (id, start) VALUES (?, '2026-01-01T00:00:00.000Z')",
                        [call_id])
    return call_id


def _queue(services: LocalServices) -> str:
    from ccd.acd import tables
    from ccd.acd.settings import AcdSettings, QueueSettings

    name = f"q{next(_serial)}"
    tables.add_queue(services.db, name, QueueSettings(skills={"water": 1}), AcdSettings())
    return name


def _station(services: LocalServices) -> str:
    from ccd.acd import tables

    name = f"seat{next(_serial)}"
    tables.add_station(services.db, name, "sip:desk@10.0.0.1")
    return name


def _help_request(services: LocalServices, agent: str) -> int:
    cursor = services.db.execute(
        "INSERT INTO help_requests (agent, raised_at) VALUES (?, '2026-01-01T00:00:00.000Z')",
        [agent],
    )
    return int(cursor.lastrowid or 0)


def _survey(services: LocalServices) -> int:
    cursor = services.db.execute(
        "INSERT INTO surveys (phone, created_at) VALUES ('13800000001', '2026-01-01T00:00:00.000Z')"
    )
    return int(cursor.lastrowid or 0)


def _callback(services: LocalServices) -> int:
    cursor = services.db.execute(
        "INSERT INTO callbacks (phone, due_at, created_at, updated_at) VALUES "
        "('13800000001', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', "
        "'2026-01-01T00:00:00.000Z')"
    )
    return int(cursor.lastrowid or 0)


# Valid params for each method, given the services and the caller's user name ("" anonymous).
PARAMS: dict[str, Callable[[LocalServices, str], dict[str, Any]]] = {
    "hello": lambda s, caller: {},
    "ping": lambda s, caller: {},
    "login": _fresh_login,
    "login_peer": lambda s, caller: {},
    "logout": lambda s, caller: {},
    "whoami": lambda s, caller: {},
    "status": lambda s, caller: {},
    "subscribe": lambda s, caller: {"topics": ["wo.timer"]},
    "unsubscribe": lambda s, caller: {"topics": ["wo.timer"]},
    "users.passwd": lambda s, caller: {
        "username": caller,
        "password": "new password 1",
        "old_password": PASSWORD,
    },
    "users.list": lambda s, caller: {},
    "users.add": lambda s, caller: {
        "username": f"new-{next(_serial)}",
        "password": "password123",
        "roles": ["agent"],
    },
    "users.disable": lambda s, caller: {"username": _target(s, caller)},
    "users.set_roles": lambda s, caller: {"username": _target(s, caller), "roles": ["qa"]},
    "audit.list": lambda s, caller: {"limit": 5},
    "calls.list": lambda s, caller: {"limit": 5},
    "calls.show": lambda s, caller: {"id": _call(s, caller)},
    "telephony.stats": lambda s, caller: {},
    "flows.reload": lambda s, caller: {},
    "wo.create": lambda s, caller: {"type": "enquiry", "description": "水压低"},
    "wo.get": lambda s, caller: {"number": _work_order(s, caller)},
    "wo.list": lambda s, caller: {},
    "wo.overdue": lambda s, caller: {},
    "wo.departments": lambda s, caller: {},
    "wo.dispatch": lambda s, caller: {
        "number": _work_order(s, caller), "department": "billing", "note": ""},
    **{m: _wo_note for m in ("wo.accept", "wo.feedback", "wo.pause", "wo.resume",
                             "wo.request_close", "wo.close", "wo.send_back", "wo.cancel")},
    "kb.search": lambda s, caller: {"query": "停水"},
    "kb.get": lambda s, caller: {"id": 1},
    "customer.history": lambda s, caller: {"phone": "13800000001"},
    "wallboard.snapshot": lambda s, caller: {},
    "wallboard.call": lambda s, caller: {"call_id": _call(s, caller)},
    "agent.help": lambda s, caller: {"message": "客户要求赔偿，怎么答复？"},
    "agent.help_cancel": lambda s, caller: _help_request(s, caller or "nobody") and {},
    "supervisor.answer_help": lambda s, caller: {"id": _help_request(s, "agent-x"), "answer": "来了"},
    "agent.login": lambda s, caller: {"station": "seat01"},
    **{m: lambda s, caller: {} for m in (
        "agent.logout", "agent.ready", "agent.state", "agent.answer", "agent.hangup",
        "agent.hold", "agent.unhold", "agent.consult_end", "agent.conference", "acd.snapshot",
        "supervisor.stop", "queues.list", "stations.list")},
    "agent.not_ready": lambda s, caller: {"reason": "meal"},
    "agent.transfer": lambda s, caller: {"target": "billing"},
    "agent.dial": lambda s, caller: {"number": "95598"},
    "agent.wrap_up": lambda s, caller: {"code": "enquiry", "note": "已答复"},
    "agent.note": lambda s, caller: {"note": "已答复"},
    "callers.set": lambda s, caller: {"phone": f"1390000{next(_serial):04d}", "list": "blocked"},
    "callers.clear": lambda s, caller: {"phone": "13955550000"},
    "callers.list": lambda s, caller: {},
    **{m: lambda s, caller: {"agent": "agent1001", "uri": "sip:lead@127.0.0.1"} for m in (
        "supervisor.listen", "supervisor.whisper", "supervisor.barge")},
    "supervisor.force_state": lambda s, caller: {"agent": "agent1001", "state": "ready"},
    "queues.add": lambda s, caller: {"name": f"q{next(_serial)}", "skills": {"water": 1}},
    "queues.set": lambda s, caller: {"name": _queue(s), "wrap_up_s": 10},
    "queues.remove": lambda s, caller: {"name": _queue(s)},
    "stations.add": lambda s, caller: {"name": f"seat{next(_serial)}", "uri": "sip:d@10.0.0.1"},
    "stations.remove": lambda s, caller: {"name": _station(s)},
    "customer.screen_pop": lambda s, caller: {"phone": "13800000001"},
    "customer.search": lambda s, caller: {"text": "1380000"},
    "agent.tasks": lambda s, caller: {},
    "agent.options": lambda s, caller: {},
    "task.survey": lambda s, caller: {"id": _survey(s)},
    "task.survey_save": lambda s, caller: {"id": _survey(s), "status": "no_answer"},
    "task.callback_done": lambda s, caller: {"id": _callback(s), "result": "done"},
}
# Allowed, but refused for another reason when the connection is already logged in.
LOGGED_IN_REFUSALS = {"login": "already-logged-in", "login_peer": "already-logged-in"}
# Allowed calls that may end in one of these domain errors with the PARAMS above.
ALLOWED_MAY_FAIL: dict[str, set[str]] = {
    "telephony.stats": {"telephony-off"},  # the test services run no SIP driver
    "flows.reload": {"reload-unsupported"},
    **{m: {"wo-illegal-transition", "wo-not-your-department", "wo-note-required",
           "wo-department-required", "wo-hotline-only"}
       for m in ("wo.accept", "wo.feedback", "wo.pause", "wo.resume", "wo.request_close",
                 "wo.close", "wo.send_back", "wo.cancel")},
    "kb.get": {"kb-no-such-article"},
    "callers.clear": {"not-listed"},  # the matrix's number is on no list
    # LocalServices runs no ACD: its live methods answer `acd-not-running` (tests/acd_runtime
    # checks them with one).
    **{m: {"acd-not-running"} for m in (
        "agent.login", "agent.logout", "agent.ready", "agent.not_ready", "agent.state",
        "agent.answer", "agent.hangup", "agent.hold", "agent.unhold", "agent.transfer",
        "agent.consult_end", "agent.conference", "agent.dial", "agent.wrap_up", "acd.snapshot",
        "agent.note",
        "supervisor.listen", "supervisor.whisper", "supervisor.barge", "supervisor.stop",
        "supervisor.force_state")},
}


def test_declared_roles_are_the_intended_ones() -> None:
    declared = {spec.name: spec.roles for spec in REGISTRY}
    assert declared == EXPECTED


def test_every_method_has_matrix_params() -> None:
    assert set(PARAMS) == {spec.name for spec in REGISTRY}


def _snapshot(config: Config) -> list[users.User]:
    other = connect(config.database_path)
    try:
        return users.list_users(other)
    finally:
        other.close()


def _forbidden_rows(config: Config, actor: str, method: str) -> list[users.AuditEntry]:
    """Read through a second connection: proves the audit entry was committed."""
    other = connect(config.database_path)
    try:
        return users.list_audit(other, actor=actor, action=method, outcome="forbidden")
    finally:
        other.close()


@pytest.mark.parametrize("method", sorted(EXPECTED))
async def test_matrix(
    method: str, server: ApiServer, config: Config, services: LocalServices
) -> None:
    spec = REGISTRY.get(method)
    assert spec is not None
    for role in (None, *ROLES):
        caller = ""
        client = await TrioClient.connect(config.socket_path)
        if role is not None:
            caller = f"{role}-{next(_serial)}"
            add_user(services.db, caller, [role])
            await client.call("login", username=caller, password=PASSWORD)
        params = PARAMS[method](services, caller)
        before = _snapshot(config)
        reply = await client.request(method, **params)
        allowed = spec.public or role in spec.roles
        cell = f"{method} as {role or 'anonymous'}: {reply}"
        if allowed and role is not None and method in LOGGED_IN_REFUSALS:
            assert isinstance(reply, ErrorReply), cell
            assert reply.error.code == LOGGED_IN_REFUSALS[method], cell
        elif allowed:
            ok = isinstance(reply, Reply) or reply.error.code in ALLOWED_MAY_FAIL.get(method, ())
            assert ok, cell
        else:
            assert isinstance(reply, ErrorReply), cell
            assert _snapshot(config) == before, f"{cell}: a refused call changed users"
            if role is None:
                assert reply.error.code == "login-required", cell
            else:
                assert reply.error.code == "forbidden", cell
                assert reply.error.details["required"] == sorted(spec.roles)
                (row,) = _forbidden_rows(config, caller, method)
                assert row.details["roles"] == [role]
        await client.aclose()
    # Anonymous refusals are not audited (no one to blame, and cheap to flood); role refusals are.
    assert _forbidden_rows(config, "anonymous", method) == []


async def test_changing_someone_elses_password_is_forbidden_and_audited(
    server: ApiServer, config: Config, services: LocalServices
) -> None:
    add_user(services.db, "ann", ["agent"])
    add_user(services.db, "bob", ["agent"])
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username="ann", password=PASSWORD)
    assert (
        await client.error(
            "users.passwd", username="bob", password="hijacked!", old_password=PASSWORD
        )
        == "forbidden"
    )
    (row,) = _forbidden_rows(config, "ann", "users.passwd")
    assert row.target == "bob"
    assert (
        await client.error("users.passwd", password="new password", old_password="wrong password")
        == "wrong-password"
    )
    assert users.verify_login(services.db, "ann", PASSWORD) is not None
    assert users.verify_login(services.db, "bob", PASSWORD) is not None
    await client.aclose()


async def test_peer_login_is_admin_and_named_after_the_unix_user(
    server: ApiServer, config: Config
) -> None:
    client = await TrioClient.connect(config.socket_path)
    session = await client.call("login_peer")
    assert session["via"] == "peer" and session["roles"] == ["admin"]
    assert session["username"] == "unix:root"
    assert "users.add" in session["methods"]
    assert isinstance(await client.call("users.list"), list)
    await client.aclose()


async def test_role_changes_apply_to_open_sessions(
    server: ApiServer, config: Config, services: LocalServices
) -> None:
    add_user(services.db, "ann", ["agent"])
    ann = await TrioClient.connect(config.socket_path)
    await ann.call("login", username="ann", password=PASSWORD)
    admin = await TrioClient.connect(config.socket_path)
    await admin.call("login_peer")
    assert await ann.error("users.list") == "forbidden"
    await admin.call("users.set_roles", username="ann", roles=["admin"])
    assert await ann.call("users.list")
    await admin.call("users.set_roles", username="ann", roles=["qa"])
    assert await ann.error("users.list") == "forbidden"
    await ann.aclose()
    await admin.aclose()
