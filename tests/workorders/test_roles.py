"""Work-order actions × roles: hotline staff, department staff of the order's department and of
another department, an agent who also works in the order's department, a team lead.

Every action is tried in a status where the state machine allows it, by every kind of caller,
through a real server on a real socket. The expected table is written out by hand: the hotline
(agents, team leads, admins) creates, dispatches, closes, cancels and sends a close request back
(驳回); the order's department (back-office staff, 'backoffice') accepts, reports, pauses,
resumes, asks to close and sends a wrongly dispatched order back (退单); nobody acts for another
department; a team lead may act for any side.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import trio

from ccd.api.protocol import ErrorReply
from ccd.api.registry import REGISTRY
from ccd.api.server import serve_api
from ccd.config import Config
from ccd.workorders import queries
from ccd.workorders.service import WorkOrders
from tests.api.conftest import PASSWORD, LocalServices, TrioClient, add_user, make_config

_serial = itertools.count()

# caller kind → (roles, department membership)
CALLERS: dict[str, tuple[list[str], str | None]] = {
    "hotline": (["agent"], None),
    "crew": (["backoffice"], "repair"),  # the order's department
    "billing": (["backoffice"], "billing"),  # another department
    "agent+crew": (["agent", "backoffice"], "repair"),  # hotline agent who also works in repair
    "lead": (["teamlead", "agent"], None),
}
OK, HOTLINE_ONLY, NOT_DEPT, FORBIDDEN = "ok", "wo-hotline-only", "wo-not-your-department", \
    "forbidden"
# action (and the status it is tried in) → outcome per caller, in CALLERS order.
EXPECTED: dict[str, tuple[str, ...]] = {
    #                          hotline       crew          billing       agent+crew    lead
    "create":                 (OK,           FORBIDDEN,    FORBIDDEN,    OK,           OK),
    "dispatch@new":           (OK,           FORBIDDEN,    FORBIDDEN,    OK,           OK),
    "accept@dispatched":      (NOT_DEPT,     OK,           NOT_DEPT,     OK,           OK),
    "send_back@dispatched":   (NOT_DEPT,     OK,           NOT_DEPT,     OK,           OK),
    "feedback@accepted":      (NOT_DEPT,     OK,           NOT_DEPT,     OK,           OK),
    "pause@accepted":         (NOT_DEPT,     OK,           NOT_DEPT,     OK,           OK),
    "resume@paused":          (NOT_DEPT,     OK,           NOT_DEPT,     OK,           OK),
    "request_close@accepted": (NOT_DEPT,     OK,           NOT_DEPT,     OK,           OK),
    "close@close_requested":  (OK,           FORBIDDEN,    FORBIDDEN,    HOTLINE_ONLY, OK),
    "send_back@close_requested": (OK,        HOTLINE_ONLY, HOTLINE_ONLY, HOTLINE_ONLY, OK),
    "cancel@dispatched":      (OK,           FORBIDDEN,    FORBIDDEN,    HOTLINE_ONLY, OK),
    "cancel@new":             (OK,           FORBIDDEN,    FORBIDDEN,    OK,           OK),
    "close@new":              (OK,           FORBIDDEN,    FORBIDDEN,    OK,           OK),
}
# The steps that bring a new order (dispatched to repair where needed) to each status.
PATH = {
    "new": [],
    "dispatched": ["dispatch"],
    "accepted": ["dispatch", "accept"],
    "paused": ["dispatch", "accept", "pause"],
    "close_requested": ["dispatch", "accept", "request_close"],
}


@pytest.fixture
async def site(nursery: trio.Nursery, tmp_path: Path) -> tuple[Config, LocalServices]:
    config = make_config(tmp_path)
    services = LocalServices(config)
    await nursery.start(lambda task_status: serve_api(
        config, services, registry=REGISTRY, task_status=task_status))
    return config, services


def _order_in(services: LocalServices, status: str) -> str:
    svc = WorkOrders(services.db)
    number = str(svc.create(type="repair", created_by="setup", description="漏水")["number"])
    for step in PATH[status]:
        svc.act(number, step, actor="setup", note="setup",
                department="repair" if step == "dispatch" else None)
    assert svc.state(number).status == status
    return number


async def _caller(config: Config, services: LocalServices, kind: str) -> TrioClient:
    roles, department = CALLERS[kind]
    name = f"{kind.replace('+', '-')}-{next(_serial)}"
    add_user(services.db, name, roles)
    if department:
        queries.add_member(services.db, department, name)
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username=name, password=PASSWORD)
    return client


@pytest.mark.parametrize("case", list(EXPECTED))
async def test_action_by_every_kind_of_caller(site, case: str) -> None:
    config, services = site
    action, _, status = case.partition("@")
    got = []
    for kind in CALLERS:
        client = await _caller(config, services, kind)
        params: dict[str, Any]
        if action == "create":
            params = {"type": "repair", "description": "漏水"}
        else:
            params = {"number": _order_in(services, status), "note": "说明"}
            if action == "dispatch":
                params = {"number": params["number"], "department": "repair"}
        reply = await client.request(f"wo.{action}", **params)
        got.append(reply.error.code if isinstance(reply, ErrorReply) else OK)
        if got[-1] != OK and action != "create":  # a refused step changed nothing
            assert WorkOrders(services.db).state(params["number"]).status == status
        await client.aclose()
    assert tuple(got) == EXPECTED[case], dict(zip(CALLERS, got, strict=True))


async def test_the_issue_s_crew1_can_neither_close_its_own_order_nor_cancel_billing_s(site):
    config, services = site
    crew = await _caller(config, services, "crew")
    own = _order_in(services, "close_requested")
    billing = WorkOrders(services.db).create(type="billing", created_by="setup",
                                             department="billing")["number"]
    assert await crew.error("wo.close", number=own, note="done") == "forbidden"
    assert await crew.error("wo.cancel", number=billing, note="dup") == "forbidden"
    svc = WorkOrders(services.db)
    assert svc.state(own).status == "close_requested"
    assert svc.state(billing).status == "dispatched"


def test_existing_department_members_become_back_office(tmp_path: Path) -> None:
    """The migration: a department member with only 'agent' and no agent number gets
    'backoffice' instead; one who also takes calls keeps 'agent' and gains 'backoffice'."""
    from db import connect, migrate, users
    from db.migrations import MIGRATIONS

    db = connect(tmp_path / "site.sqlite3")  # an existing site: every step before this issue's
    MIGRATIONS.apply(db, stop_before="0006_backoffice_role")
    users.add_user(db, "crew1", password_hash="x", roles=["agent"])
    users.add_user(db, "both", password_hash="x", roles=["agent"], agent_number="1099")
    users.add_user(db, "lead9", password_hash="x", roles=["teamlead", "agent"])
    users.add_user(db, "plain", password_hash="x", roles=["agent"])
    for name in ("crew1", "both", "lead9"):
        queries.add_member(db, "repair", name)
    migrate(db)
    roles = {u.username: sorted(u.roles) for u in users.list_users(db)}
    assert roles == {
        "crew1": ["backoffice"],
        "both": ["agent", "backoffice"],
        "lead9": ["agent", "backoffice", "teamlead"],
        "plain": ["agent"],
    }
