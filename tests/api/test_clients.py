"""The two client transports against a real server (in its own thread and trio run):
SyncClient for the CLI, AsyncioClient for the TUIs (run with asyncio.run in plain tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ccd.api.client import NotRunning, SyncClient
from ccd.api.protocol import ConnectionClosed, Event
from ccd.errors import ClientError, Forbidden, NotFound
from tests.api.conftest import PASSWORD, LocalServices, ThreadedServer, add_user, make_config
from tui.client import AsyncioClient


def test_sync_client_not_running(tmp_path: Path) -> None:
    with pytest.raises(NotRunning, match="is it running") as caught:
        SyncClient.connect(tmp_path / "nothing.sock")
    assert caught.value.error_id == "not-running"


def test_sync_client_calls_errors_and_events(
    threaded_server: ThreadedServer, services: LocalServices
) -> None:
    add_user(services.db, "ann", ["agent"])
    path = threaded_server.config.socket_path
    with SyncClient.connect(path) as client:
        assert client.call("hello")["server"] == "ccd"
        session = client.login("ann", PASSWORD)
        assert session["roles"] == ["agent"]
        with pytest.raises(Forbidden) as forbidden:
            client.call("users.list")
        assert forbidden.value.error_id == "forbidden"
        assert forbidden.value.details["required"] == ["admin"]
        with pytest.raises(ClientError) as bad:
            client.call("status", verbose=True)
        assert bad.value.error_id == "bad-params"
        assert client.subscribe("agent.ann") == ["agent.ann"]
        threaded_server.run_sync(services.broker.publish, "agent.ann", {"agent": "ann"})
        assert client.next_event(timeout=5) == Event("agent.ann", {"agent": "ann"})
        assert client.next_event(timeout=0.05) is None  # nothing else was published
        assert client.call("status")["connections"] == 1
    with SyncClient.connect(path) as admin:
        admin.login_peer()
        with pytest.raises(NotFound) as missing:
            admin.call("users.disable", username="ghost")
        assert missing.value.error_id == "no-such-user"
        assert admin.request("users.add", {"username": "bob", "roles": ["qa"]})["roles"] == ["qa"]


def test_sync_client_reports_why_the_daemon_closed(tmp_path: Path) -> None:
    config = make_config(tmp_path, login_timeout_s=0.2)
    services = LocalServices(config)
    server = ThreadedServer(config, services).start()
    try:
        with SyncClient.connect(config.socket_path, timeout=10) as client:
            with pytest.raises(ConnectionClosed) as caught:
                client.next_event()  # returns only when the daemon hangs up
        assert caught.value.error_id == "login-timeout"
        assert caught.value.details == {"seconds": 0.2}
        with pytest.raises(ConnectionClosed):
            client.call("hello")  # and the client stays closed
    finally:
        server.stop()
        services.db.close()


def test_asyncio_client_calls_events_disconnect_and_reconnect(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    services = LocalServices(config)
    add_user(services.db, "ann", ["teamlead"])
    first = ThreadedServer(config, services).start()
    servers = [first]

    async def scenario() -> None:
        client = await AsyncioClient.connect(config.socket_path)
        assert client.server_info["server"] == "ccd"
        lost: list[str] = []
        client.on_disconnect.append(lambda error: lost.append(error.error_id))
        assert (await client.login("ann", PASSWORD))["username"] == "ann"
        with pytest.raises(Forbidden):
            await client.call("users.list")
        assert await client.subscribe("wallboard") == ["wallboard"]
        calls = [client.call("status") for _ in range(20)]  # concurrent, matched by id
        assert all(s["connections"] == 1 for s in await asyncio.gather(*calls))

        events = client.events()
        await asyncio.to_thread(first.run_sync, services.broker.publish, "wallboard", {"n": 1})
        assert await anext(events) == Event("wallboard", {"n": 1})

        await asyncio.to_thread(first.stop)  # the daemon goes away
        assert [e async for e in events] == []  # the event stream ends
        assert lost == ["connection-closed"] and not client.connected
        with pytest.raises(ConnectionClosed):
            await client.call("status")

        second = await asyncio.to_thread(lambda: ThreadedServer(config, services).start())
        servers.append(second)
        await client.reconnect()  # logs in and subscribes again
        assert (await client.call("whoami"))["username"] == "ann"
        await asyncio.to_thread(second.run_sync, services.broker.publish, "wallboard", {"n": 2})
        assert await anext(client.events()) == Event("wallboard", {"n": 2})
        await client.close()
        assert lost == ["connection-closed", "connection-closed"]

    try:
        asyncio.run(scenario())
    finally:
        for server in servers:
            server.stop()
        services.db.close()


def test_asyncio_client_keeps_a_quiet_connection_alive(tmp_path: Path) -> None:
    config = make_config(tmp_path, idle_timeout_s=0.6)
    services = LocalServices(config)
    server = ThreadedServer(config, services).start()

    async def scenario() -> None:
        client = await AsyncioClient.connect(config.socket_path)
        await client.login_peer()
        await asyncio.sleep(1.5)  # over twice the idle time-out, with nothing but pings
        assert client.connected
        assert (await client.call("whoami"))["via"] == "peer"
        await client.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
        services.db.close()
