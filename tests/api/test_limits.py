"""Limits against a real server on a real socket: time-outs (virtual time), rate, size,
connections, slow subscribers. The server and the clients share one trio run, so
MockClock(autojump_threshold=0) drives both and durations are asserted exactly."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import trio
import trio.testing

from ccd.api.broker import Broker
from ccd.api.protocol import ErrorReply, Reply, decode_server_message
from ccd.api.server import ApiServer, serve_api
from ccd.config import Config
from tests.api.conftest import (
    LocalServices,
    TrioClient,
    make_config,
    read_until_closed,
)


def _codes(messages: list) -> list[str]:
    return [m.error.code if isinstance(m, ErrorReply) else "ok" for m in messages]


async def _start(
    nursery: trio.Nursery, tmp_path: Path, **api: object
) -> tuple[Config, LocalServices]:
    config = make_config(tmp_path, **api)
    services = LocalServices(config)
    await nursery.start(serve_api, config, services)
    return config, services


async def test_login_timeout_closes_after_exactly_the_configured_time(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    config, _ = await _start(nursery, tmp_path, login_timeout_s=7.5)
    client = await TrioClient.connect(config.socket_path)
    t0 = trio.current_time()
    for _ in range(5):  # public calls do not extend the login time
        assert (await client.call("ping")) == {"pong": True}
        await trio.sleep(1)
    messages = await read_until_closed(client.stream)
    assert trio.current_time() - t0 == 7.5
    assert _codes(messages) == ["login-timeout"]
    assert messages[0].id is None and messages[0].error.details == {"seconds": 7.5}


async def test_idle_timeout_counts_from_the_last_request(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    config, _ = await _start(nursery, tmp_path, idle_timeout_s=300.0)
    client = await TrioClient.connect(config.socket_path)
    await client.call("login_peer")
    await trio.sleep(299)
    await client.call("status")  # activity: the idle clock starts again
    t0 = trio.current_time()
    messages = await read_until_closed(client.stream)
    assert trio.current_time() - t0 == 300
    assert _codes(messages) == ["idle-timeout"]


async def test_half_line_does_not_keep_a_connection_alive(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    config, _ = await _start(nursery, tmp_path, idle_timeout_s=60.0)
    client = await TrioClient.connect(config.socket_path)
    await client.call("login_peer")
    t0 = trio.current_time()
    for _ in range(10):  # a byte every 10 s, never a whole line (slowloris)
        await trio.sleep(10)
        try:
            await client.stream.send_all(b"{")
        except trio.BrokenResourceError:
            break
    messages = await read_until_closed(client.stream)
    assert _codes(messages) == ["idle-timeout"]
    assert trio.current_time() - t0 >= 60


async def test_rate_limit_refuses_the_excess_then_refills_at_the_configured_rate(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    config, _ = await _start(nursery, tmp_path, requests_per_second=10.0, burst=5)
    stream = await trio.open_unix_socket(str(config.socket_path))
    lines = b"".join(f'{{"id": {i}, "method": "ping"}}\n'.encode() for i in range(8))
    await stream.send_all(lines)
    replies = await _read_n(stream, 8)
    assert [r.id for r in replies] == list(range(8))
    assert _codes(replies) == ["ok"] * 5 + ["rate-limited"] * 3
    assert replies[5].error.details == {"rate": 10.0, "burst": 5}
    await trio.sleep(0.3)  # 3 tokens back
    await stream.send_all(lines[: lines.index(b"\n") + 1] * 4)
    assert _codes(await _read_n(stream, 4)) == ["ok"] * 3 + ["rate-limited"]
    await stream.aclose()


async def test_sustained_flood_closes_the_connection(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    config, _ = await _start(nursery, tmp_path, requests_per_second=10.0, burst=5)
    stream = await trio.open_unix_socket(str(config.socket_path))
    await stream.send_all(b'{"id": 1, "method": "ping"}\n' * 100)
    messages = await read_until_closed(stream)
    # 5 answered, 5 refused (a burst slightly over is forgiven), the 6th refusal in a row closes.
    assert _codes(messages) == ["ok"] * 5 + ["rate-limited"] * 5 + ["flood"]


async def _read_n(stream: trio.SocketStream, n: int) -> list:
    buffer = b""
    while buffer.count(b"\n") < n:
        data = await stream.receive_some(65536)
        assert data, "closed early"
        buffer += data
    return [decode_server_message(line) for line in buffer.splitlines()]


@pytest.mark.parametrize("newline", [True, False])
async def test_oversize_line_gets_an_error_then_a_closed_connection(
    nursery: trio.Nursery, tmp_path: Path, newline: bool
) -> None:
    config, _ = await _start(nursery, tmp_path, max_line_bytes=1024)
    stream = await trio.open_unix_socket(str(config.socket_path))
    line = b'{"id": 1, "method": "ping", "params": {"pad": "' + b"x" * 1000 + b'"}}'
    assert len(line) > 1024
    await stream.send_all(line + (b"\n" if newline else b""))
    messages = await read_until_closed(stream)
    assert _codes(messages) == ["line-too-long"]
    assert messages[0].error.details == {"limit": 1024}
    # A line of exactly the limit is fine, and the server still answers others.
    client = await TrioClient.connect(config.socket_path)
    exact = b'{"id": 9, "method": "ping", "params": {}}'
    exact = exact[:-2] + b" " * (1024 - len(exact)) + b"}}"
    assert len(exact) == 1024
    await client.stream.send_all(exact + b"\n")
    reply = await _read_n(client.stream, 1)
    assert _codes(reply) == ["ok"]
    await client.aclose()


async def test_max_connections_refuses_extra_ones_with_one_line(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    config, _ = await _start(nursery, tmp_path, max_connections=3)
    held = [await TrioClient.connect(config.socket_path) for _ in range(3)]
    for client in held:
        await client.call("hello")
    extra = await trio.open_unix_socket(str(config.socket_path))
    messages = await read_until_closed(extra)
    assert _codes(messages) == ["too-many-connections"]
    assert messages[0].error.details == {"limit": 3}
    await held.pop().aclose()
    await trio.testing.wait_all_tasks_blocked()
    again = await TrioClient.connect(config.socket_path)
    assert (await again.call("hello"))["server"] == "ccd"
    for client in [*held, again]:
        await client.aclose()


async def test_slow_subscriber_is_dropped_and_others_miss_nothing(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    services = LocalServices(config)
    services.broker = Broker(buffer=4)
    server: ApiServer = await nursery.start(serve_api, config, services)
    slow = await TrioClient.connect(config.socket_path)
    fast = await TrioClient.connect(config.socket_path)
    for client in (slow, fast):
        await client.call("login_peer")
        await client.call("subscribe", topics=["wallboard"])
    received: list[int] = []

    async def read_fast() -> None:
        async for data in fast.stream:
            received.extend(m.data["n"] for m in fast.protocol.receive_data(data))

    # `publish` is a plain function: it cannot wait for anyone.
    assert not inspect.iscoroutinefunction(services.broker.publish)
    payload = "座" * 20000
    async with trio.open_nursery() as readers:
        readers.start_soon(read_fast)
        for n in range(200):
            assert services.broker.publish("wallboard", {"n": n, "pad": payload}) in (1, 2)
            await trio.testing.wait_all_tasks_blocked()  # the fast reader keeps up
        readers.cancel_scope.cancel()
    stats = services.broker.statistics()
    assert stats.dropped_subscribers == 1 and stats.subscribers == 1
    assert received == list(range(200))  # the fast reader missed nothing
    assert server.statistics().connections == 1  # the slow one is gone
    # The slow client finds what the kernel buffered (the first events, in order; how many
    # depends on the socket buffer size), then the end of the connection.
    got = await read_until_closed(slow.stream)
    assert 1 <= len(got) < 200
    assert [m.data["n"] for m in got] == list(range(len(got)))
    await slow.stream.aclose()
    await fast.aclose()


async def test_garbage_and_unknown_methods_get_errors_and_the_connection_carries_on(
    server: ApiServer, config: Config
) -> None:
    stream = await trio.open_unix_socket(str(config.socket_path))
    await stream.send_all(
        b"\xff\xfe garbage\n"
        b'{"id": "u", "method": "st\xe9tus"}\n'
        b"\n"
        b'{"id": "a", "method": "no.such"}\n'
        b'{"id": "b", "method": "stats"}\n'
        b'{"id": "c", "method": "login", "params": {"username": 5}}\n'
        b'{"id": 4}\n'
        b'{"id": 5, "method": "hello"}\n'
    )
    messages = await _read_n(stream, 7)
    assert [(m.id, c) for m, c in zip(messages, _codes(messages), strict=True)] == [
        (None, "bad-request"),
        (None, "bad-request"),
        ("a", "unknown-method"),
        ("b", "unknown-method"),
        ("c", "bad-params"),
        (4, "bad-request"),
        (5, "ok"),
    ]
    # Bad UTF-8 is named as such, whether the bytes sit outside or inside a JSON string.
    assert [m.error.details["reason"] for m in messages[:2]] == ["not valid UTF-8"] * 2
    assert messages[3].error.details["did_you_mean"] == ["status"]
    assert isinstance(messages[6], Reply)
    await stream.aclose()
