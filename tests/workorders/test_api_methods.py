"""The work-order, knowledge and history methods through the real API server on a real socket.

The methods are registered on a copy of the registry, so this file does not change what the
foundation's authorization matrix (tests/api) sees.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from ccd import api_methods_wo
from ccd.api.protocol import ErrorReply, Reply
from ccd.api.registry import REGISTRY, ROLES, Registry
from ccd.api.server import ApiServer, serve_api
from ccd.config import Config
from ccd.kb import articles
from ccd.workorders import queries
from tests.api.conftest import PASSWORD, LocalServices, TrioClient, add_user, make_config

_serial = itertools.count()
HOTLINE = {"agent", "teamlead", "admin"}
STAFF = HOTLINE | {"backoffice"}
EXPECTED_ROLES = {
    "wo.create": HOTLINE, "wo.get": set(ROLES), "wo.list": set(ROLES), "wo.overdue": set(ROLES),
    "wo.departments": set(ROLES), "wo.dispatch": HOTLINE, "wo.accept": STAFF,
    "wo.feedback": STAFF, "wo.pause": STAFF, "wo.resume": STAFF,
    "wo.request_close": STAFF, "wo.close": HOTLINE, "wo.send_back": STAFF,
    "wo.cancel": HOTLINE, "kb.search": set(ROLES), "kb.get": set(ROLES),
    "customer.history": set(ROLES),
}


@pytest.fixture
def registry() -> Registry:
    # ccd.api.methods registers the work-order methods on the daemon's REGISTRY
    assert "wo.create" in {spec.name for spec in REGISTRY}
    return REGISTRY


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def services(config: Config) -> Iterator[LocalServices]:
    s = LocalServices(config)
    articles.save(s.db, slug="pressure", lang="zh", title="水压低的排查", body="先检查阀门。",
                  actor="t", status="published")
    articles.save(s.db, slug="secret", lang="zh", title="水压草稿", body="未发布", actor="t")
    yield s
    s.db.close()


@pytest.fixture
async def server(nursery: trio.Nursery, config: Config, services: LocalServices,
                 registry: Registry) -> ApiServer:
    return await nursery.start(lambda task_status: serve_api(
        config, services, registry=registry, task_status=task_status))


async def login(config: Config, services: LocalServices, roles: list[str],
                department: str | None = None) -> tuple[TrioClient, str]:
    name = f"{'-'.join(roles)}-{next(_serial)}"
    add_user(services.db, name, roles)
    if department:
        queries.add_member(services.db, department, name)
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username=name, password=PASSWORD)
    return client, name


def test_declared_roles(registry: Registry) -> None:
    declared = {s.name: set(s.roles) for s in registry if s.name in api_methods_wo.HANDLERS}
    assert declared == EXPECTED_ROLES


def _params(method: str, number: str) -> dict[str, Any]:
    if method == "wo.create":
        return {"type": "enquiry", "description": "问水价"}
    if method == "wo.dispatch":
        return {"number": number, "department": "billing"}
    if method in ("wo.get",):
        return {"number": number}
    if method.startswith("wo.") and method not in ("wo.list", "wo.overdue", "wo.departments"):
        return {"number": number, "note": "说明"}
    if method == "kb.search":
        return {"query": "水压"}
    if method == "kb.get":
        return {"slug": "pressure"}
    if method == "customer.history":
        return {"phone": "13800000001"}
    return {}


async def test_every_method_by_every_role(server: ApiServer, config: Config,
                                          services: LocalServices) -> None:
    for method, roles in sorted(EXPECTED_ROLES.items()):
        for role in ROLES:
            client, _ = await login(config, services, [role])
            admin, _ = await login(config, services, ["admin"])
            number = (await admin.call("wo.create", type="enquiry"))["number"]
            reply = await client.request(method, **_params(method, number))
            cell = f"{method} as {role}: {reply}"
            if role in roles:
                # Allowed: it ran (a domain refusal such as an illegal transition is fine here;
                # what matters is that it was not refused for the role).
                assert isinstance(reply, Reply) or reply.error.code not in (
                    "forbidden", "login-required", "bad-params"), cell
            else:
                assert isinstance(reply, ErrorReply) and reply.error.code == "forbidden", cell
            await client.aclose()
            await admin.aclose()


async def test_the_loop_over_the_socket_with_department_members(
        server: ApiServer, config: Config, services: LocalServices) -> None:
    agent, agent_name = await login(config, services, ["agent"])
    crew, crew_name = await login(config, services, ["agent"], department="repair")
    outsider, _ = await login(config, services, ["agent"], department="billing")
    lead, lead_name = await login(config, services, ["teamlead"])
    wo = await agent.call("wo.create", type="repair", priority="high", phone="13800000001",
                          description="楼道水管漏水", department="repair")
    number = wo["number"]
    assert wo["status"] == "dispatched" and wo["created_by"] == agent_name
    # Neither the hotline agent nor another department's member may accept for the crew.
    assert await agent.error("wo.accept", number=number) == "wo-not-your-department"
    assert await outsider.error("wo.accept", number=number) == "wo-not-your-department"
    assert (await crew.call("wo.accept", number=number))["owner"] == crew_name
    assert await crew.error("wo.request_close", number=number, note="") == "wo-note-required"
    await crew.call("wo.request_close", number=number, note="已更换管段")
    # Closing is the hotline's: any agent; an illegal step is a clear error with its id.
    assert await crew.error("wo.accept", number=number) == "wo-illegal-transition"
    closed = await agent.call("wo.close", number=number, note="已修复，客户确认")
    assert closed["status"] == "closed"
    assert [(e["kind"], e["actor"]) for e in closed["events"]] == [
        ("create", agent_name), ("dispatch", agent_name), ("accept", crew_name),
        ("request_close", crew_name), ("close", agent_name), ("notify", "system")]
    # A team lead may act for any department.
    other = (await agent.call("wo.create", type="repair", department="repair"))["number"]
    assert (await lead.call("wo.accept", number=other))["owner"] == lead_name
    listed = await lead.call("wo.list", open_only=True)
    assert [w["number"] for w in listed] == [other]
    assert await agent.error("wo.get", number="WO-20000101-0001") == "no-such-work-order"
    for c in (agent, crew, outsider, lead):
        await c.aclose()


async def test_kb_and_history_over_the_socket(server: ApiServer, config: Config,
                                              services: LocalServices) -> None:
    agent, _ = await login(config, services, ["agent"])
    lead, _ = await login(config, services, ["teamlead"])
    hits = await agent.call("kb.search", query="水压", include_drafts=True)
    assert [h["slug"] for h in hits] == ["pressure"]  # an agent never sees drafts
    assert hits[0]["title_marked"] == "**水压**低的排查"
    hits = await lead.call("kb.search", query="水压", include_drafts=True)
    assert sorted(h["slug"] for h in hits) == ["pressure", "secret"]
    assert await agent.error("kb.get", slug="secret") == "kb-no-such-article"
    assert (await agent.call("kb.get", slug="pressure"))["translations"] == {"zh": 1}
    wo = await agent.call("wo.create", type="enquiry", phone="13800000001")
    history = await agent.call("customer.history", phone="+86 138 0000 0001")
    assert [(h["kind"], h["ref"]) for h in history] == [("work_order", wo["number"])]
    assert await agent.error("customer.history") == "bad-params"
    assert await agent.error("wo.create", type="enquiry", colour="red") == "bad-params"
    await agent.aclose()
    await lead.aclose()
