"""The server's socket file, its methods end to end, and containment of handler bugs."""

from __future__ import annotations

import grp
import logging
import os
import socket
import stat
from pathlib import Path

import pytest
import trio
import trio.testing

from ccd.api.protocol import ErrorReply
from ccd.api.registry import ANY_ROLE, REGISTRY, NoParams
from ccd.api.server import ApiServer, serve_api
from ccd.config import Config
from ccd.errors import CcdError
from db import connect, users
from tests.api.conftest import (
    PASSWORD,
    LocalServices,
    TrioClient,
    add_user,
    make_config,
    read_until_closed,
)

# -- the socket file -------------------------------------------------------------------------


async def test_socket_is_created_with_mode_and_group_and_removed_on_exit(
    tmp_path: Path,
) -> None:
    group = grp.getgrgid(os.getegid() if os.geteuid() else 1).gr_name  # 'daemon' as root
    config = make_config(tmp_path / "site", socket_mode=0o640, group=group)
    services = LocalServices(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_api, config, services)
        info = config.socket_path.stat()
        assert stat.S_ISSOCK(info.st_mode)
        assert stat.S_IMODE(info.st_mode) == 0o640
        assert info.st_gid == grp.getgrnam(group).gr_gid
        assert config.run_dir.is_dir()  # created
        nursery.cancel_scope.cancel()
    assert not config.socket_path.exists()


async def test_missing_group_is_skipped(tmp_path: Path) -> None:
    config = make_config(tmp_path, group="no-such-group-ccd-test")
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_api, config, LocalServices(config))
        assert stat.S_IMODE(config.socket_path.stat().st_mode) == 0o660
        nursery.cancel_scope.cancel()


async def test_stale_socket_is_replaced_but_a_live_one_or_a_file_is_not(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    config.run_dir.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(config.socket_path))
    stale.close()  # the file stays behind, as after a crash
    assert config.socket_path.exists()
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_api, config, LocalServices(config))
        client = await TrioClient.connect(config.socket_path)
        assert (await client.call("hello"))["server"] == "ccd"
        with pytest.raises(CcdError) as live:
            await nursery.start(serve_api, config, LocalServices(config))
        assert live.value.error_id == "socket-in-use"
        assert "another ccd daemon" in live.value.message
        await client.aclose()
        nursery.cancel_scope.cancel()
    config.socket_path.write_text("not a socket")
    with pytest.raises(CcdError, match="is not a socket") as caught:
        await serve_api(config, LocalServices(config))
    assert caught.value.error_id == "socket-in-use"
    assert config.socket_path.read_text() == "not a socket"


async def test_too_long_socket_path_gets_a_clear_error(tmp_path: Path) -> None:
    config = make_config(tmp_path / ("d" * 120))
    with pytest.raises(CcdError, match="limited to 107 bytes") as caught:
        await serve_api(config, LocalServices(config))
    assert caught.value.error_id == "socket-bind"


# -- methods end to end ----------------------------------------------------------------------


async def test_user_administration_through_the_socket(
    server: ApiServer, config: Config, services: LocalServices
) -> None:
    admin = await TrioClient.connect(config.socket_path)
    await admin.call("login_peer")
    added = await admin.call(
        "users.add",
        username="wang.wu",
        password="first password",
        roles=["agent", "teamlead"],
        display_name="王五",
        agent_number="2001",
    )
    assert added["roles"] == ["agent", "teamlead"] and added["has_password"] is True
    assert "password_hash" not in added
    assert await admin.error("users.add", username="wang.wu") == "user-exists"
    assert await admin.error("users.add", username="zhao", password="short") == "weak-password"
    assert await admin.error("users.add", username="zhao", roles=["boss"]) == "bad-params"
    # Committed before acknowledged: another connection to the file sees it at once.
    other = connect(config.database_path)
    assert users.verify_login(other, "wang.wu", "first password") is not None

    wang = await TrioClient.connect(config.socket_path)
    session = await wang.call("login", username="wang.wu", password="first password")
    assert session["roles"] == ["agent", "teamlead"] and session["display_name"] == "王五"
    assert await wang.call("whoami") == session
    assert await wang.call(
        "users.passwd", password="second password", old_password="first password"
    ) == {"changed": True}
    assert users.verify_login(other, "wang.wu", "second password") is not None

    assert (await admin.call("users.set_roles", username="wang.wu", roles=["qa"]))["roles"] == [
        "qa"
    ]
    listed = await admin.call("users.list")
    assert [u["username"] for u in listed] == ["wang.wu"]
    assert await admin.call("users.disable", username="wang.wu")
    # The disabled user's open connection is closed with a reason.
    messages = await read_until_closed(wang.stream)
    assert [m.error.code for m in messages] == ["user-disabled"]
    assert await admin.call("users.list", include_disabled=False) == []
    assert await admin.error("users.disable", username="ghost") == "no-such-user"

    actions = [
        (e["actor"], e["action"], e["target"], e["outcome"])
        for e in await admin.call("audit.list", limit=20)
    ]
    assert actions[:6] == [
        ("unix:root", "users.disable", "wang.wu", "ok"),
        ("unix:root", "users.set_roles", "wang.wu", "ok"),
        ("wang.wu", "users.passwd", "wang.wu", "ok"),
        ("wang.wu", "login", "wang.wu", "ok"),
        ("unix:root", "users.add", "wang.wu", "ok"),
        ("unix:root", "login_peer", "unix:root", "ok"),
    ]
    assert users.list_audit(other, action="users.add")[0].details == {
        "roles": ["agent", "teamlead"],
        "agent_number": "2001",
    }
    other.close()
    await admin.aclose()


async def test_admin_cannot_disable_itself(
    server: ApiServer, config: Config, services: LocalServices
) -> None:
    add_user(services.db, "boss", ["admin"])
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username="boss", password=PASSWORD)
    assert await client.error("users.disable", username="boss") == "cannot-disable-self"
    assert not users.get_user(services.db, "boss").disabled
    await client.aclose()


async def test_failed_logins_are_audited_and_three_close_the_connection(
    server: ApiServer, config: Config, services: LocalServices
) -> None:
    add_user(services.db, "ann", ["agent"])
    add_user(services.db, "nobody", [])
    client = await TrioClient.connect(config.socket_path)
    assert await client.error("login", username="ann", password="wrong!") == "login-failed"
    assert await client.error("login", username="ghost", password="x") == "login-failed"
    assert await client.error("login", username="nobody", password=PASSWORD) == "login-failed"
    messages = await read_until_closed(client.stream)
    assert [m.error.code for m in messages] == ["too-many-failures"]
    reasons = [
        (e.target, e.details["reason"])
        for e in users.list_audit(services.db, action="login", outcome="failed")
    ]
    assert reasons == [("nobody", "no-roles"), ("ghost", "unknown-user"), ("ann", "bad-password")]


async def test_login_states(server: ApiServer, config: Config, services: LocalServices) -> None:
    add_user(services.db, "ann", ["agent"], language="en")
    client = await TrioClient.connect(config.socket_path)
    assert await client.error("whoami") == "login-required"
    reply = await client.request("status")
    assert isinstance(reply, ErrorReply) and reply.error.message.startswith("请先登录")
    await client.call("login", username="ann", password=PASSWORD)
    assert await client.error("login_peer") == "already-logged-in"
    reply = await client.request("users.list")  # messages now in the user's language
    assert isinstance(reply, ErrorReply)
    assert reply.error.message == (
        "not allowed to call 'users.list': it needs one of the roles admin, you have agent"
    )
    assert await client.call("logout") == {"logged_out": True}
    assert await client.error("whoami") == "login-required"
    assert (await client.call("login_peer"))["via"] == "peer"  # may log in again
    await client.aclose()


async def test_status_reports_the_daemon_and_api_numbers(
    server: ApiServer, config: Config, services: LocalServices
) -> None:
    clients = [await TrioClient.connect(config.socket_path) for _ in range(3)]
    await clients[0].call("login_peer")
    status = await clients[0].call("status")
    assert status["pid"] == os.getpid()
    assert status["connections"] == 3 == server.connection_count()
    assert status["api"]["logged_in"] == 1
    assert status["database_bytes"] == sum(
        p.stat().st_size for p in config.database_path.parent.glob("ccd.sqlite3*")
    )
    assert status["version"]
    for client in clients:
        await client.aclose()


async def test_events_follow_subscriptions(
    server: ApiServer, config: Config, services: LocalServices
) -> None:
    client = await TrioClient.connect(config.socket_path)
    await client.call("login_peer")
    assert await client.call("subscribe", topics=["wallboard", "acd.agent"]) == {
        "topics": ["acd.agent", "wallboard"]
    }
    assert await client.error("subscribe", topics=["Bad Topic"]) == "bad-params"
    assert services.broker.publish("wallboard", {"waiting": 3}) == 1
    assert services.broker.publish("calls.new", {"id": "x"}) == 0
    await client.call("unsubscribe", topics=["wallboard"])
    services.broker.publish("wallboard", {"waiting": 4})
    services.broker.publish("acd.agent", {"agent": "1001", "state": "ready"})
    await client.call("ping")  # events published before this reply arrive before it
    assert [(e.event, e.data) for e in client.events] == [
        ("wallboard", {"waiting": 3}),
        ("acd.agent", {"agent": "1001", "state": "ready"}),
    ]
    await client.call("logout")
    assert services.broker.statistics().subscribers == 0
    await client.aclose()


# -- handler bugs ----------------------------------------------------------------------------


async def test_handler_bugs_become_internal_errors_and_the_connection_carries_on(
    nursery: trio.Nursery, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = REGISTRY.copy()

    @registry.method("test.crash", roles=ANY_ROLE)
    async def crash(ctx: object, params: NoParams) -> None:
        """Divides by zero."""
        1 / 0  # noqa: B018

    @registry.method("test.unencodable", roles=ANY_ROLE)
    async def unencodable(ctx: object, params: NoParams) -> object:
        """Returns something JSON cannot carry."""
        return {"when": object()}

    config = make_config(tmp_path)
    await nursery.start(
        lambda task_status: serve_api(
            config, LocalServices(config), registry=registry, task_status=task_status
        )
    )
    client = await TrioClient.connect(config.socket_path)
    await client.call("login_peer")
    with caplog.at_level(logging.ERROR, logger="ccd.api"):
        crashed = await client.request("test.crash")
        odd = await client.request("test.unencodable")
    assert isinstance(crashed, ErrorReply) and crashed.error.code == "internal"
    assert isinstance(odd, ErrorReply) and odd.error.code == "internal"
    ref = crashed.error.details["ref"]
    assert ref in crashed.error.message
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert logged and logged[0].exc_info and logged[0].exc_info[0] is ZeroDivisionError
    assert (await client.call("whoami"))["username"] == "unix:root"  # still fine
    await client.aclose()


async def test_a_client_vanishing_mid_reply_harms_nobody(server: ApiServer, config: Config) -> None:
    for _ in range(20):
        stream = await trio.open_unix_socket(str(config.socket_path))
        await stream.send_all(b'{"id": 1, "method": "hello"}\n' * 50)
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        await stream.aclose()
    await trio.testing.wait_all_tasks_blocked()
    assert server.statistics().connections == 0
    client = await TrioClient.connect(config.socket_path)
    assert (await client.call("hello"))["protocol"] == 1
    await client.aclose()


async def test_a_failing_audit_write_is_an_internal_error_not_a_dead_connection(
    server: ApiServer, config: Config, services: LocalServices, caplog: pytest.LogCaptureFixture
) -> None:
    add_user(services.db, "ann", ["agent"])
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username="ann", password=PASSWORD)
    services.db.execute("ALTER TABLE audit_log RENAME TO audit_log_gone")
    with caplog.at_level(logging.ERROR, logger="ccd.api"):
        assert await client.error("users.list") == "internal"  # refused, but cannot be audited
    assert "no such table: audit_log" in caplog.text
    assert (await client.call("whoami"))["username"] == "ann"
    await client.aclose()
