"""The wallboard's and help requests' API methods on a real socket (no publisher running)."""

from __future__ import annotations

import pytest

from ccd.api.server import ApiServer
from db import users
from tests.api.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    LocalServices,
    TrioClient,
    add_user,
    config,
    server,
    services,
)


async def logged_in(config, name: str) -> TrioClient:  # noqa: F811
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username=name, password=PASSWORD)
    return client


async def test_snapshot_without_publisher_or_acd_is_all_zeros(
    server: ApiServer, config, services: LocalServices  # noqa: F811
) -> None:
    assert getattr(services, "acd", None) is None and getattr(services, "wallboard", None) is None
    add_user(services.db, "lead", ["teamlead"])
    lead = await logged_in(config, "lead")
    board = await lead.call("wallboard.snapshot")
    assert board["kind"] == "snapshot" and board["live"] is False and board["seq"] == 0
    assert board["headline"]["today"]["offered"] == 0
    assert board["headline"]["today"]["service_level"] is None
    assert board["agents"] == [] and board["alerts"] == [] and board["trend"] == []
    assert board["thresholds"]["service_level_goal"] == 0.8
    assert await lead.error("wallboard.call", call_id="nope") == "no-such-call"
    await lead.aclose()


async def test_help_request_lifecycle(
    server: ApiServer, config, services: LocalServices  # noqa: F811
) -> None:
    add_user(services.db, "ann", ["agent"])
    add_user(services.db, "lead", ["teamlead"])
    ann = await logged_in(config, "ann")
    lead = await logged_in(config, "lead")
    await ann.call("subscribe", topics=["agent.ann"])
    await lead.call("subscribe", topics=["help"])

    first = await ann.call("agent.help", message="系统查不到户号")
    again = await ann.call("agent.help", message="系统查不到户号，客户很急", call_id="c-1")
    assert again["id"] == first["id"]  # one open request per agent: the message is updated
    assert (again["message"], again["call_id"], again["status"]) == (
        "系统查不到户号，客户很急", "c-1", "open")
    board = await lead.call("wallboard.snapshot")
    (alert,) = board["alerts"]
    assert (alert["kind"], alert["ref"], alert["subject"]) == ("help", first["id"], "ann")

    answered = await lead.call("supervisor.answer_help", id=first["id"], answer="请转营业厅")
    assert answered["status"] == "answered" and answered["answered_by"] == "lead"
    assert await lead.error("supervisor.answer_help", id=first["id"]) == "help-not-open"
    assert await lead.error("supervisor.answer_help", id=9999) == "no-such-help-request"
    assert (await lead.call("wallboard.snapshot"))["alerts"] == []
    # The agent was told on their own topic; everyone watching 'help' saw each change.
    await ann.call("ping")
    told = [e.data for e in ann.events if e.event == "agent.ann"]
    assert [t["kind"] for t in told] == ["help_answered"] and told[0]["answer"] == "请转营业厅"
    await lead.call("ping")
    assert [e.data["kind"] for e in lead.events if e.event == "help"] == [
        "raised", "raised", "answered"]

    assert await ann.error("agent.help_cancel") == "no-open-help"
    await ann.call("agent.help", message="再求助")
    cancelled = await ann.call("agent.help_cancel")
    assert cancelled["status"] == "cancelled"
    actions = [e.action for e in users.list_audit(services.db, limit=20)]
    for action in ("agent.help", "supervisor.answer_help", "agent.help_cancel"):
        assert action in actions
    await ann.aclose()
    await lead.aclose()


@pytest.mark.parametrize("language, text", [("zh", "没有编号为 9999 的求助"),
                                            ("en", "no help request 9999")])
async def test_help_errors_speak_the_users_language(
    server: ApiServer, config, services: LocalServices, language: str, text: str  # noqa: F811
) -> None:
    add_user(services.db, f"lead-{language}", ["teamlead"], language=language)
    lead = await logged_in(config, f"lead-{language}")
    reply = await lead.request("supervisor.answer_help", id=9999)
    assert reply.error.message == text
    await lead.aclose()
