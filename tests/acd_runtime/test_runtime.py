"""The runtime without telephony: loading from the database and `[acd]`, settings errors, the
store's rows and events, `start_acd` on a real Daemon object, and the waiting caller's prompts."""

from __future__ import annotations

import json
import time
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest
import trio
import trio.testing

from ccd.acd import model as m
from ccd.acd import tables
from ccd.acd.adapters import Announcer, write_default_music
from ccd.acd.runtime import start_acd
from ccd.acd.settings import AcdSettings, OverflowSettings, QueueSettings, parse
from ccd.acd.store import AcdStore
from ccd.api.broker import Broker
from ccd.calls import CallLog
from ccd.config import Config
from ccd.daemon import Daemon
from ccd.errors import ConfigError
from ccd.ivr import say
from tests.acd_runtime.conftest import AcdServices, rows

R = m.RecordKind


def test_queues_come_from_the_database_and_the_config_file_wins(services: AcdServices) -> None:
    settings = AcdSettings(
        wrap_up_s=12,
        queues={
            "water": QueueSettings(skills={"water": 3}, strategy="ring_all"),
            "vip": QueueSettings(skills={"water": 7},
                                 overflow=[OverflowSettings(after_s=20, to_queue="water")]),
        },
        stations={"seat99": "sip:desk99@10.0.0.99"},
    )
    # A row written by another tool (the demo data): its columns are its settings.
    services.db.execute("INSERT INTO queues (name, wrap_up_s) VALUES ('legacy', 45)")
    configs = {q.name: q for q in tables.queue_configs(services.db, settings)}
    assert set(configs) == {"water", "billing", "vip", "legacy"}
    assert configs["water"].skills == {"water": 3}  # from the file, not the database's level 1
    assert configs["water"].strategy is m.Strategy.RING_ALL
    assert configs["vip"].wrap_up_s == 12  # the [acd] default
    assert configs["billing"].wrap_up_s == 12  # added without a wrap-up: the [acd] default too
    assert configs["legacy"].wrap_up_s == 45 and configs["legacy"].max_wait_s == 600
    assert configs["vip"].overflow == (m.OverflowRule(20, to_queue="water"),)
    directory = tables.StationDirectory(services.db, settings)
    assert directory.get("seat99").uri == "sip:desk99@10.0.0.99"
    assert directory.get("seat01").source == "db"
    assert set(directory.all()) == {"seat01", "seat02", "seat03", "seat99"}
    agents = {a.agent: a for a in tables.agent_configs(services.db)}
    assert set(agents) == {"agent1001", "agent1002", "agent1003"}  # not lead1, not admin1
    assert agents["agent1002"].skills == {"water": 7, "english": 6}


def test_settings_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as bad:
        parse({"queues": {"water": {"stratgy": "x"}}})
    assert "stratgy" in bad.value.message
    with pytest.raises(ConfigError) as bad:
        parse({"queues": {"water": {"strategy": "random"}}})
    assert "acd.queues.water.strategy" in bad.value.message
    with pytest.raises(ConfigError) as bad:
        parse({"queues": {"vip": {"overflow": [{"after_s": 5, "to_queue": "nope"}]}}})
    assert "acd.queues.vip.overflow[0].to_queue" in bad.value.message
    with pytest.raises(ConfigError) as bad:
        parse({"queues": {"q": {"skills": {"water": 11}}}})
    assert "1 to 10" in bad.value.message
    with pytest.raises(ConfigError) as bad:
        parse({"outbound_uri": "sip:gateway"})
    assert "{number}" in bad.value.message
    with pytest.raises(ConfigError):
        parse({"stations": {"seat1": "tel:123"}})
    ok = parse({"ring_timeout_s": 25, "queues": {"water": {"skills": {"water": 2}}}})
    assert ok.ring_timeout_s == 25 and ok.queues["water"].skills == {"water": 2}


def test_caller_flags_vip_repeat_and_outage(services: AcdServices) -> None:
    db = services.db
    settings = AcdSettings()
    assert tables.caller_flags(db, "13900000009", "c2", settings) == {
        "vip": False, "repeat_caller": False, "outage_area": False}
    CallLog(db).start("c1", src="13900000009", dst="95598")
    assert tables.caller_flags(db, "13900000009", "c2", settings)["repeat_caller"] is True
    assert tables.caller_flags(db, "13900000009", "c1", settings)["repeat_caller"] is False


def test_repeat_callers_are_known_across_number_formats_and_by_customer(
        services: AcdServices) -> None:
    """Repeat-caller priority uses the identity number lookups use: the customer first, then
    the normalised number (not the raw caller-ID string)."""
    db = services.db
    settings = AcdSettings()
    log = CallLog(db)
    # An unknown number, first in international form, then national: one caller.
    log.start("u1", src="+8613955556666", dst="95598")
    assert tables.caller_flags(db, "13955556666", "u2", settings)["repeat_caller"] is True
    assert tables.caller_flags(db, "sip:013955556666@10.0.0.9", "u2", settings)["repeat_caller"]
    assert tables.caller_flags(db, "13955556667", "u2", settings)["repeat_caller"] is False
    # A customer with two numbers: a call from either makes the other a repeat caller.
    stamp = "2026-11-23T00:00:00.000Z"
    db.execute("INSERT INTO customers (id, name, created_at, updated_at) VALUES (77, '王五', ?, ?)",
               [stamp, stamp])
    db.execute("INSERT INTO customer_phones (customer_id, phone) VALUES (77, '13811112222'), "
               "(77, '057188000007')")
    db.conn.commit()
    assert tables.caller_flags(db, "13811112222", "k1", settings)["repeat_caller"] is False
    log.start("k1", src="0571-88000007", dst="95598")
    assert tables.caller_flags(db, "+86 138 1111 2222", "k2", settings)["repeat_caller"] is True
    # ...and a call recorded for the customer counts, whatever number it came from.
    log.start("k3", src="02112345678", dst="95598")
    db.execute("UPDATE calls SET customer_id = 77 WHERE id = 'k3'")
    db.execute("DELETE FROM calls WHERE id = 'k1'")
    db.conn.commit()
    assert tables.caller_flags(db, "13811112222", "k2", settings)["repeat_caller"] is True
    # Outside the window, nobody is a repeat caller.
    later = time.time() + 25 * 3600
    assert tables.caller_flags(db, "13811112222", "k2", settings, now=later)["repeat_caller"] \
        is False


async def test_store_writes_rows_updates_the_call_and_publishes_after_commit(
    services: AcdServices,
) -> None:
    db = services.db
    CallLog(db).start("c1", src="138", dst="95598")
    broker = Broker()
    sub = broker.subscribe(["acd.queue", "acd.agent", "agent.agent1001"])
    store = AcdStore(db, broker, wall_time=lambda at: 1_800_000_000 + at,
                     station_of=lambda agent: "seat01")
    records = [
        m.AcdRecord(0.0, R.AGENT_STATE, None, None, "agent1001", "agent1001",
                    {"from": "logged_out", "to": "ready", "reason": None, "input": "login"}),
        m.AcdRecord(1.0, R.ENTER_QUEUE, "c1", "water", by="caller", details={"position": 1}),
        m.AcdRecord(1.0, R.OFFERED, "c1", "water", "agent1001", details={"station": "seat01"}),
        m.AcdRecord(4.5, R.ANSWERED, "c1", "water", "agent1001", details={"wait_s": 3.5}),
        m.AcdRecord(64.5, R.COMPLETED, "c1", "water", "agent1001", "caller",
                    {"talk_s": 60.0, "hold_s": 5.25}),
        m.AcdRecord(94.5, R.WRAP_UP_END, "c1", "water", "agent1001", details={"wrap_up_s": 30.0}),
    ]
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        store.store(records)
        assert sub.take_all() == []  # nothing is published before it is committed
        with trio.fail_after(5):
            await store.flush()
        nursery.cancel_scope.cancel()
    (call,) = rows(db, "SELECT queue, agent, station, wait_s, talk_s, hold_s, wrap_s FROM calls")
    assert call == {"queue": "water", "agent": "agent1001", "station": "seat01", "wait_s": 3.5,
                    "talk_s": 60.0, "hold_s": 5.25, "wrap_s": 30.0}
    events = rows(db, "SELECT at, queue, event, data FROM queue_events ORDER BY id")
    assert [e["event"] for e in events] == ["enter_queue", "offered", "answered", "completed",
                                            "wrap_up_end"]
    assert events[0]["at"] == "2027-01-15T08:00:01.000Z"
    assert json.loads(events[3]["data"]) == {"talk_s": 60.0, "hold_s": 5.25, "by": "caller"}
    (state,) = rows(db, "SELECT agent, state, station, by_user FROM agent_state_log")
    assert state == {"agent": "agent1001", "state": "ready", "station": "seat01",
                     "by_user": "agent1001"}
    pushed = [json.loads(line) for line in sub.take_all()]
    topics = [p["event"] for p in pushed]
    assert topics.count("acd.queue") == 5 and topics.count("acd.agent") == 1
    assert topics.count("agent.agent1001") == 5  # every record that names the agent
    assert store.transactions == 1 and store.rows_written == 6


async def test_start_acd_sets_daemon_acd_status_and_reload(
    config: Config, services: AcdServices
) -> None:
    daemon = Daemon(config=config, db=services.db, broker=Broker())
    async with trio.open_nursery() as nursery:
        runtime = await nursery.start(start_acd, daemon, None)
        assert daemon.acd is runtime
        runtime.login("agent1001", "seat01", ready=True)
        await runtime.store.flush()
        assert daemon.status()["acd"]["agents_ready"] == 1
        # SIGHUP with a new station and a new queue in [acd]
        new = SimpleNamespace(acd=AcdSettings(stations={"seat77": "sip:desk77@10.0.0.77"},
                                              queues={"gas": QueueSettings(skills={"gas": 1})}))
        await runtime.reload(new)
        assert runtime.directory.get("seat77").uri == "sip:desk77@10.0.0.77"
        assert "gas" in runtime.acd.queue_names()
        # SIGHUP again with the queue changed: the running queue takes it now, not at a restart
        again = SimpleNamespace(acd=AcdSettings(queues={"gas": QueueSettings(
            skills={"gas": 2}, wrap_up_s=45)}))
        await runtime.reload(again)
        gas = runtime.acd.queue_config("gas")
        assert gas is not None and gas.skills == {"gas": 2} and gas.wrap_up_s == 45
        nursery.cancel_scope.cancel()
    assert daemon.acd is None and "acd" not in daemon.status_sources
    assert daemon.reload_hooks == []


async def test_wrap_up_and_missed_under_mockclock_with_exact_durations(
    services: AcdServices, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """No telephony: every ring fails at once. An agent who goes not ready after a missed call
    and a queue's maximum wait, timed on trio's virtual clock."""
    from tests.acd_runtime.conftest import start_runtime
    from tests.ivr.fakes import FakeChannel

    settings = AcdSettings(announce_every_s=0, max_wait_s=90, wrap_up_s=0)
    async with trio.open_nursery() as nursery:
        runtime = await start_runtime(nursery, services, settings, tmp_path=tmp_path)
        runtime.login("agent1001", "seat01", ready=True)
        t0 = trio.current_time()
        outcome = await runtime.queue_channel(FakeChannel(caller="13900000001"), "water")
        assert outcome.outcome == "max_wait"
        assert trio.current_time() - t0 == 90
        assert runtime.acd.agent_state("agent1001") == (m.AgentState.NOT_READY, "missed")
        await runtime.store.flush()
        (row,) = rows(services.db, "SELECT * FROM calls")
        assert (row["queue"], row["wait_s"], row["disposition"]) == ("water", 90.0, "NO ANSWER")
        nursery.cancel_scope.cancel()


def test_announcement_prompt_names_in_both_languages() -> None:
    zh = Announcer.position_names(3, 130, "zh")  # 2 min 10 s is said as about 3 minutes
    assert zh == ["acd/position_before", *say.number(3, "zh"), "acd/position_after",
                  "acd/wait_before", *say.count(3, "zh"), "acd/wait_after", "acd/options"]
    assert Announcer.position_names(1, 20, "en")[-2:] == ["acd/wait_under_minute", "acd/options"]
    # Never 'under a minute' for a wait close to one: 50 s is 'about one minute'.
    assert Announcer.position_names(1, 50, "en")[-2:] == ["acd/wait_one_minute", "acd/options"]
    assert Announcer.position_names(12, None, "en") == [
        "acd/position_before", "num/12", "acd/position_after", "acd/options"]
    from ccd.ivr.prompts import load_catalogue

    catalogue = load_catalogue()
    for lang in ("zh", "en"):
        for name in Announcer.position_names(25, 600, lang):
            assert catalogue.has(name, lang), (name, lang)
        for name in ("acd/wait_one_minute", "acd/wait_under_minute"):
            assert catalogue.has(name, lang), (name, lang)


def test_default_music_is_an_8khz_mono_wav(tmp_path: Path) -> None:
    path = write_default_music(tmp_path / "music" / "default.wav", seconds=4.0)
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() == 4 * 8000
