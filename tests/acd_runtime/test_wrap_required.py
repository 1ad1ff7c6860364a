"""The required wrap-up code in the running ACD and in its tables, and the logout rows written at
start-up for agents a stopped daemon left logged in. Real SQLite files; the wrap-up runs on trio's
virtual clock with a fake telephony driver (agents' phones answer after 2 s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import db as database
from ccd.acd import model as m
from ccd.acd import tables
from ccd.acd.errors import WrapUpRequired
from ccd.acd.runtime import AcdRuntime
from ccd.acd.settings import AcdSettings, QueueSettings
from ccd.api.broker import Broker
from tests.acd_runtime.conftest import AcdServices, rows, start_runtime, wait_until
from tests.ivr.fakes import FakeChannel, FakeDriver

S = m.AgentState


# ---------------------------------------------------------------- the queues table


def test_the_queue_setting_round_trips_through_the_database(services: AcdServices) -> None:
    db = services.db
    defaults = AcdSettings(wrap_up_required=True)
    tables.add_queue(db, "complaints", QueueSettings(skills={"water": 1}, wrap_up_required=False),
                     defaults)
    tables.add_queue(db, "meters", QueueSettings(skills={"water": 1}, wrap_up_required=True),
                     AcdSettings())
    stored = {r["name"]: r["wrap_up_required"]
              for r in rows(db, "SELECT name, wrap_up_required FROM queues")}
    assert stored == {"complaints": 0, "meters": 1, "water": None, "billing": None}
    queues = tables.db_queues(db)
    assert (queues["complaints"].wrap_up_required, queues["meters"].wrap_up_required,
            queues["water"].wrap_up_required) == (False, True, None)
    # Unset takes [acd]'s default; set wins over it either way.
    for default in (False, True):
        configs = {q.name: q for q in tables.queue_configs(db, AcdSettings(wrap_up_required=default))}
        assert configs["water"].wrap_up_required is default
        assert configs["complaints"].wrap_up_required is False
        assert configs["meters"].wrap_up_required is True
    tables.set_queue(db, "meters", {"wrap_up_required": False}, AcdSettings())
    tables.set_queue(db, "water", {"wrap_up_s": 45}, AcdSettings())  # other fields keep it unset
    assert tables.db_queues(db)["meters"].wrap_up_required is False
    assert tables.db_queues(db)["water"].wrap_up_required is None
    listed = {q["name"]: q["wrap_up_required"] for q in tables.queue_rows(db, defaults)}
    assert listed == {"complaints": False, "meters": False, "water": True, "billing": True}
    # A row written by another tool, before the column existed in its mind: NULL, the default.
    db.execute("INSERT INTO queues (name) VALUES ('legacy')")
    assert {q.name: q.wrap_up_required
            for q in tables.queue_configs(db, defaults)}["legacy"] is True


def test_the_column_refuses_anything_but_0_1_and_null(services: AcdServices) -> None:
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        services.db.execute("INSERT INTO queues (name, wrap_up_required) VALUES ('x', 2)")


def test_acd_settings_take_the_default_and_the_queue_override() -> None:
    from ccd.acd.settings import parse

    settings = parse({"wrap_up_required": True,
                      "queues": {"a": {}, "b": {"wrap_up_required": False}}})
    configs = {q: tables.queue_config(q, settings.queues[q], settings) for q in ("a", "b")}
    assert configs["a"].wrap_up_required is True and configs["b"].wrap_up_required is False
    assert tables.queue_config("c", QueueSettings(), AcdSettings()).wrap_up_required is False


# ---------------------------------------------------------------- the running ACD


async def queue_caller(runtime: AcdRuntime, number: str, outcomes: list[Any]) -> None:
    channel = FakeChannel(caller=number)
    await channel.answer()
    outcomes.append(await runtime.queue_channel(channel, "water"))


async def wait_state(services: AcdServices, runtime: AcdRuntime, agent: str,
                     state: m.AgentState) -> None:
    await wait_until(services.broker, lambda: runtime.acd.agent_state(agent)[0] is state)


async def test_required_wrap_up_counts_down_refuses_ready_goes_overdue_and_ends_when_coded(
    services: AcdServices, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    db = services.db
    tables.set_queue(db, "water", {"wrap_up_s": 30, "wrap_up_required": True}, AcdSettings())
    settings = AcdSettings(announce_every_s=0, record_calls=False)
    outcomes: list[Any] = []
    async with trio.open_nursery() as nursery:
        runtime = await start_runtime(nursery, services, settings, FakeDriver(),
                                      tmp_path=tmp_path)
        runtime.login("agent1001", "seat01", ready=True)
        nursery.start_soon(queue_caller, runtime, "13900000001", outcomes)
        await wait_state(services, runtime, "agent1001", S.TALKING)
        view = runtime.agent_state("agent1001")
        assert (view["wrap_required"], view["wrap_coded"], view["wrap_left_s"]) == (
            True, False, None)  # known while talking: the console can say so
        await trio.sleep(10)
        runtime.hangup("agent1001")
        t1 = trio.current_time()
        first = runtime.call_of("agent1001")
        view = runtime.agent_state("agent1001")
        assert view["state"] == "wrap_up"
        assert (view["wrap_required"], view["wrap_coded"], view["wrap_left_s"]) == (
            True, False, 30.0)
        await trio.sleep(12)
        assert runtime.agent_state("agent1001")["wrap_left_s"] == 18.0
        with pytest.raises(WrapUpRequired) as refused:
            runtime.ready("agent1001", by="agent1001")
        assert refused.value.details["call_id"] == first
        with pytest.raises(WrapUpRequired):
            runtime.not_ready("agent1001", "meal", by="agent1001")
        nursery.start_soon(queue_caller, runtime, "13900000002", outcomes)
        await trio.sleep_until(t1 + 40)
        view = runtime.agent_state("agent1001")
        assert (view["state"], view["wrap_left_s"]) == ("wrap_up", -10.0)  # overdue, waiting
        assert runtime.acd.statistics(trio.current_time()).queues[-1].waiting == 1
        await runtime.store.flush()
        (overdue,) = rows(db, "SELECT call_id, agent, queue, data FROM queue_events"
                              " WHERE event = 'wrap_up_overdue'")
        assert (overdue["call_id"], overdue["agent"], overdue["queue"]) == (
            first, "agent1001", "water")
        assert json.loads(overdue["data"])["wrap_up_s"] == 30

        # Coding it ends the wrap-up at once, and the waiting caller rings this agent.
        assert runtime.wrap_up("agent1001", "W01", "水表读数", by="agent1001") == first
        assert runtime.agent_state("agent1001")["state"] == "ringing"
        await wait_state(services, runtime, "agent1001", S.TALKING)
        second = runtime.call_of("agent1001")
        assert second != first
        runtime.hangup("agent1001")
        assert runtime.agent_state("agent1001")["wrap_coded"] is False  # a new wrap-up
        # A team lead's forced change overrides the uncoded wrap-up.
        runtime.force_state("agent1001", "ready", "", by="lead1")
        assert runtime.acd.agent_state("agent1001") == (S.READY, None)
        await runtime.store.flush()
        ends = rows(db, "SELECT call_id, data FROM queue_events WHERE event = 'wrap_up_end'"
                        " ORDER BY id")
        assert [(e["call_id"], json.loads(e["data"])["ended"], json.loads(e["data"])["coded"],
                 json.loads(e["data"])["by"]) for e in ends] == [
            (first, "coded", True, "agent1001"), (second, "ready", False, "lead1")]
        (call,) = rows(db, "SELECT wrap_code, note, wrap_s FROM calls WHERE id = ?", [first])
        assert call == {"wrap_code": "W01", "note": "水表读数", "wrap_s": 40.0}
        await trio.testing.wait_all_tasks_blocked()  # the second caller's task sees its end
        nursery.cancel_scope.cancel()
    assert [o.outcome for o in outcomes] == ["completed", "completed"]


def test_the_refusal_reads_in_both_languages() -> None:
    import ccd.api.methods  # noqa: F401  (registers the ACD's messages)
    from ccd.api import catalogue

    details = {"agent": "agent1001", "call_id": "c-7", "queue": "water", "request": "ready"}
    zh = catalogue.render("wrap-up-required", "zh", details, "fallback")
    en = catalogue.render("wrap-up-required", "en", details, "fallback")
    assert "话后处理代码" in zh and "c-7" in zh and "water" in zh
    assert en == "queue 'water' requires a wrap-up code for call c-7 before the next call"


# ---------------------------------------------------------------- start-up


def state_rows(db: Any) -> list[tuple[str, str, str, str | None]]:
    return [(r["agent"], r["state"], r["reason"], r["station"])
            for r in rows(db, "SELECT agent, state, reason, station FROM agent_state_log"
                              " ORDER BY id")]


async def run_once(db: Any, broker: Broker | None = None, **actions: Any) -> None:
    """Start a runtime on `db`, do what `actions` say, and stop it without logging anyone out
    (as a daemon that is killed does)."""
    async with trio.open_nursery() as nursery:
        runtime = AcdRuntime(db, AcdSettings(), None, broker=broker)
        await nursery.start(runtime.run)
        for agent, (station, ready) in actions.get("login", {}).items():
            runtime.login(agent, station, ready=ready)
        for agent in actions.get("logout", ()):
            runtime.logout(agent)
        await runtime.store.flush()
        nursery.cancel_scope.cancel()


async def test_start_up_logs_out_agents_the_last_run_left_logged_in(
    services: AcdServices,
) -> None:
    path = services.config.database_path
    await run_once(services.db, login={"agent1001": ("seat01", True),
                                       "agent1002": ("seat02", False),
                                       "agent1003": ("seat03", True)},
                   logout=["agent1003"])
    services.db.close()
    before = state_rows(database.open_database(path))
    assert before == [
        ("agent1001", "ready", "", "seat01"),
        ("agent1002", "not_ready", "login", "seat02"),
        ("agent1003", "ready", "", "seat03"),
        ("agent1003", "logged_out", "", "seat03"),
    ]

    # "Restart": a new connection to the same file, as a new daemon process would open it.
    db = database.open_database(path)
    broker = Broker()
    watch = broker.subscribe(["acd.agent"])
    await run_once(db, broker)
    after = state_rows(db)
    assert after[:4] == before
    assert after[4:] == [("agent1001", "logged_out", "restart", "seat01"),
                         ("agent1002", "logged_out", "restart", "seat02")]
    pushed = [json.loads(line)["data"] for line in watch.take_all()]
    assert [(p["agent"], p["details"]["from"], p["details"]["to"]) for p in pushed] == [
        ("agent1001", "ready", "logged_out"), ("agent1002", "not_ready", "logged_out")]
    (by,) = {r["by_user"] for r in rows(db, "SELECT by_user FROM agent_state_log WHERE id > 4")}
    assert by is None  # the ACD, not a person

    # Everyone is logged out now: a further start writes nothing; a new login is kept as is.
    await run_once(db, login={"agent1002": ("seat02", True)})
    await run_once(db)
    assert state_rows(db)[6:] == [("agent1002", "ready", "", "seat02"),
                                  ("agent1002", "logged_out", "restart", "seat02")]
    db.close()
