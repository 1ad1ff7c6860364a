"""Who gets in and what they hear: subscribe topics × roles, login throttling, connection caps,
and the audit of every refusal (rate-limited). A real server on a real socket; MockClock drives
the back-off, so waits are asserted exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing

from ccd.api.guard import AuditLimiter, LoginThrottle
from ccd.api.protocol import ErrorReply
from ccd.api.server import serve_api
from ccd.config import Config
from tests.api.conftest import PASSWORD, LocalServices, TrioClient, add_user, make_config

ROLES = {"ann": ["agent"], "lee": ["teamlead", "agent"], "quinn": ["qa"], "ada": ["admin"]}
OK, NO, UNKNOWN = "ok", "forbidden-topic", "unknown-topic"
# Written out by hand (not derived from ccd/api/topics.py), so a change of policy fails here.
EXPECTED = {
    #               ann (agent)  lee (lead)  quinn (qa)  ada (admin)
    "wallboard":    (NO,         OK,         OK,         OK),
    "acd.queue":    (NO,         OK,         NO,         OK),
    "acd.agent":    (NO,         OK,         NO,         OK),
    "help":         (NO,         OK,         NO,         OK),
    "tasks":        (OK,         OK,         NO,         OK),
    "wo.timer":     (OK,         OK,         OK,         OK),
    "agent.ann":    (OK,         OK,         NO,         OK),
    "agent.bob":    (NO,         OK,         NO,         OK),
    "calls.new":    (UNKNOWN,    UNKNOWN,    UNKNOWN,    UNKNOWN),
}


async def _start(nursery: trio.Nursery, tmp_path: Path, **api: object
                 ) -> tuple[Config, LocalServices]:
    config = make_config(tmp_path, **api)
    services = LocalServices(config)
    for name, roles in ROLES.items():
        add_user(services.db, name, roles)
    await nursery.start(serve_api, config, services)
    return config, services


def _audit(services: LocalServices, action: str | None = None) -> list[tuple]:
    sql = "SELECT actor, action, target, outcome, details FROM audit_log"
    rows = services.db.execute(sql + (" WHERE action = ?" if action else "") + " ORDER BY id",
                               [action] if action else []).fetchall()
    return [(a, b, c, d, json.loads(e)) for a, b, c, d, e in rows]


async def _outcome(client: TrioClient, topic: str) -> str:
    reply = await client.request("subscribe", topics=[topic])
    return reply.error.code if isinstance(reply, ErrorReply) else OK


@pytest.mark.parametrize("topic", list(EXPECTED))
async def test_every_topic_for_every_role(nursery: trio.Nursery, tmp_path: Path, topic: str):
    config, services = await _start(nursery, tmp_path)
    got = []
    for user in ROLES:
        client = await TrioClient.connect(config.socket_path)
        await client.call("login", username=user, password=PASSWORD)
        got.append(await _outcome(client, topic))
        if got[-1] == OK:  # and the subscription really carries events
            services.broker.publish(topic, {"x": 1})
            await client.call("ping")
            assert [e.event for e in client.events] == [topic]
        else:
            assert client.events == []
        await client.aclose()
    assert tuple(got) == EXPECTED[topic]
    refused = [r for r in _audit(services, "subscribe")]
    assert [(r[0], r[2], r[3]) for r in refused] == [
        (user, topic, "forbidden") for user, outcome in zip(ROLES, got, strict=True)
        if outcome == NO
    ]


async def test_one_refused_topic_refuses_the_whole_request(nursery: trio.Nursery, tmp_path: Path):
    config, services = await _start(nursery, tmp_path)
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username="ann", password=PASSWORD)
    assert await client.error("subscribe", topics=["agent.ann", "wallboard"]) == NO
    assert await client.call("subscribe", topics=["agent.ann"]) == {"topics": ["agent.ann"]}
    services.broker.publish("wallboard", {"x": 1})
    await client.call("ping")
    assert client.events == []


async def _try_login(config: Config, user: str, password: str) -> str:
    client = await TrioClient.connect(config.socket_path)
    try:
        reply = await client.request("login", username=user, password=password)
    finally:
        await client.aclose()
    return reply.error.code if isinstance(reply, ErrorReply) else OK


async def test_wrong_passwords_back_off_per_user(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
):
    config, services = await _start(nursery, tmp_path)
    t0 = trio.current_time()
    for _ in range(3):  # free
        assert await _try_login(config, "ann", "guess") == "login-failed"
    assert await _try_login(config, "ann", "guess") == "login-failed"  # 4th: 1 s wait from now
    # Even the right password is not looked at during the wait.
    assert await _try_login(config, "ann", PASSWORD) == "login-throttled"
    await trio.sleep_until(t0 + 1)
    assert await _try_login(config, "ann", "guess") == "login-failed"  # 5th: now 2 s
    await trio.sleep_until(t0 + 2.5)
    assert await _try_login(config, "ann", "guess") == "login-throttled"
    await trio.sleep_until(t0 + 3)
    assert await _try_login(config, "ann", PASSWORD) == OK  # and success clears the count
    assert await _try_login(config, "ann", "guess") == "login-failed"
    assert await _try_login(config, "ann", PASSWORD) == OK
    logins = _audit(services, "login")
    outcomes = [(r[3], r[4].get("reason")) for r in logins]
    assert outcomes == [
        ("failed", "bad-password"), ("failed", "bad-password"), ("failed", "bad-password"),
        ("failed", "bad-password"), ("refused", "throttled"), ("failed", "bad-password"),
        ("refused", "throttled"), ("ok", None), ("failed", "bad-password"), ("ok", None),
    ]
    assert all("peer_uid" in r[4] for r in logins)


async def test_guessing_many_user_names_from_one_peer_backs_off_too(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
):
    config, _ = await _start(nursery, tmp_path)
    codes = [await _try_login(config, f"user{i}", "guess") for i in range(5)]
    assert codes == ["login-failed"] * 4 + ["login-throttled"]
    # the peer (this uid) waits, whatever the name
    assert await _try_login(config, "lee", PASSWORD) == "login-throttled"
    await trio.sleep(1)
    assert await _try_login(config, "lee", PASSWORD) == OK


async def test_one_uid_cannot_take_every_connection(nursery: trio.Nursery, tmp_path: Path):
    config, services = await _start(nursery, tmp_path, max_connections_per_uid=3)
    clients = [await TrioClient.connect(config.socket_path) for _ in range(3)]
    for c in clients:
        assert await c.call("ping") == {"pong": True}
    extra = await TrioClient.connect(config.socket_path)
    data = await extra.stream.receive_some(65536)
    assert b'"too-many-connections"' in data and b'"limit":3' in data
    refused = _audit(services, "connect")
    assert [(r[0], r[3], r[4]["per"], r[4]["limit"]) for r in refused] == [
        ("anonymous", "refused", "uid", 3)]
    await clients[0].aclose()
    await trio.sleep(0.1)
    again = await TrioClient.connect(config.socket_path)
    assert await again.call("ping") == {"pong": True}


async def test_one_user_has_at_most_max_sessions(nursery: trio.Nursery, tmp_path: Path):
    config, services = await _start(nursery, tmp_path, max_sessions_per_user=2)
    sessions = []
    for _ in range(2):
        c = await TrioClient.connect(config.socket_path)
        await c.call("login", username="ann", password=PASSWORD)
        sessions.append(c)
    third = await TrioClient.connect(config.socket_path)
    assert await third.error("login", username="ann", password=PASSWORD) == "too-many-sessions"
    assert await third.call("login", username="lee", password=PASSWORD)  # others still may
    refused = [r for r in _audit(services, "login") if r[3] == "refused"]
    assert [(r[0], r[4]["reason"]) for r in refused] == [("ann", "too-many-sessions")]


async def test_refusals_before_login_are_audited_but_cannot_flood_the_log(
    nursery: trio.Nursery, tmp_path: Path
):
    config, services = await _start(nursery, tmp_path, requests_per_second=10_000.0,
                                    burst=10_000)
    client = await TrioClient.connect(config.socket_path)
    for _ in range(300):
        assert await client.error("users.list") == "login-required"
    rows = _audit(services, "users.list")
    assert 0 < len(rows) <= 20  # the per-peer burst
    assert all(r[0] == "anonymous" and r[3] == "refused" for r in rows)


def test_audit_limiter_counts_what_it_leaves_out():
    limiter = AuditLimiter(per_key_rate=1.0, per_key_burst=2, global_rate=100, global_burst=100)
    assert [limiter.admit("uid:1", 0.0) for _ in range(5)] == [0, 0, None, None, None]
    assert limiter.admit("uid:2", 0.0) == 0  # another peer has its own budget
    assert limiter.admit("uid:1", 1.0) == 3  # the next entry says 3 were left out
    assert limiter.suppressed_total == 3


def test_login_throttle_doubles_up_to_the_cap():
    throttle = LoginThrottle(free_failures=2, base_delay_s=1.0, max_delay_s=8.0)
    keys = ("user:ann", "uid:5")
    waits = [throttle.failed(keys, float(t * 100)) for t in range(8)]
    assert waits == [0, 0, 1, 2, 4, 8, 8, 8]
    assert throttle.check(keys, 700.0 + 7.9) > 0 and throttle.check(keys, 708.0) == 0
    throttle.succeeded(keys)
    assert throttle.failures("user:ann", 709.0) == 0
