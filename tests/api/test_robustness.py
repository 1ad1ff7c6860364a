"""Hypothesis-generated garbage, half lines and oversize lines against a running server.

The property, for every example: each line the server sends is a well-formed reply, error or
event with a code from the catalogue (never `internal`: that would be a handler bug), and the
connection either answers a final valid request or was closed with a connection-level error as
its last line. Afterwards a valid client still gets answers.

`hammer(path, max_line_bytes)` only needs a socket path, so the daemon's own tests can run the
same property against the real daemon subprocess.
"""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec import inspect as mi

import ccd.api.server  # noqa: F401  (registers the methods)
from ccd.api import catalogue
from ccd.api.client import SyncClient
from ccd.api.protocol import (
    CLOSING_CODES,
    ErrorReply,
    Event,
    LineBuffer,
    Reply,
    Request,
    TooLong,
    decode_server_message,
    encode,
)
from ccd.api.registry import REGISTRY
from ccd.errors import CcdError
from tests.api.conftest import LocalServices, ThreadedServer, make_config

MAX_LINE = 2048
FIELDS = sorted({name for spec in REGISTRY for name in spec.params.__struct_fields__})

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["agent", "admin", "zh", "", "a" * 70, 2**63, -(2**63) - 1, 2**70, 1e308, -1])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
request_ids = st.integers() | st.text(max_size=10) | st.none() | st.booleans() | json_values
near_valid = st.fixed_dictionaries(
    {
        "id": request_ids,
        "method": st.sampled_from([s.name for s in REGISTRY]) | st.text(max_size=20),
        "params": st.dictionaries(
            st.sampled_from(FIELDS) | st.text(max_size=8), json_scalars, max_size=5
        )
        | st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5)
        | json_values,
    },
    optional={"extra": json_values},
).map(lambda d: json.dumps(d).encode())
garbage_line = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    near_valid,
    near_valid.map(lambda b: b[: len(b) // 2]),  # truncated
    st.integers(MAX_LINE + 1, 4 * MAX_LINE).map(lambda n: b'{"id": 1, "method": "' + b"x" * n),
)


def _exchange(path: Path, lines: list[bytes], *, as_admin: bool, half_line: bool) -> None:
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(20)
    sock.connect(str(path))
    try:
        payload = b""
        if as_admin:
            payload += encode(Request("login", "login_peer", {}))
        payload += b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines)
        if half_line:  # a half line and the client goes away: nothing to check but survival
            sock.sendall(payload + b'{"id": 1, "meth')
            return
        payload += encode(Request(sentinel, "hello", {}))
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us (oversize line): the reason is still to be read
        messages = _read(sock, sentinel)
    finally:
        sock.close()
    for message in messages:
        if isinstance(message, ErrorReply):
            assert message.error.code in catalogue.MESSAGES, message
            assert message.error.code != "internal", message
            assert message.error.message
        else:
            assert isinstance(message, (Reply, Event))
    last = messages[-1]
    if isinstance(last, Reply) and last.id == sentinel:
        assert last.result["server"] == "ccd"
    else:
        assert isinstance(last, ErrorReply) and last.id is None, messages
        assert last.error.code in CLOSING_CODES, messages


def _read(sock: socket.socket, sentinel: str) -> list[Any]:
    framer = LineBuffer(1 << 24)
    messages: list[Any] = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            return messages
        for line in framer.feed(data):
            assert not isinstance(line, TooLong)
            message = decode_server_message(line)
            messages.append(message)
            if isinstance(message, Reply) and message.id == sentinel:
                return messages


def hammer(path: Path, *, max_examples: int = 300) -> None:
    """Run the garbage property against whatever listens on `path` (max line MAX_LINE)."""

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(garbage_line, min_size=1, max_size=8), st.booleans(), st.booleans())
    def run(lines: list[bytes], as_admin: bool, half_line: bool) -> None:
        _exchange(path, lines, as_admin=as_admin, half_line=half_line)

    run()


def test_garbage_never_takes_the_server_down(tmp_path: Path) -> None:
    config = make_config(tmp_path, max_line_bytes=MAX_LINE)
    services = LocalServices(config)
    server = ThreadedServer(config, services).start()
    try:
        hammer(config.socket_path)
        with SyncClient.connect(config.socket_path) as client:
            assert client.call("hello")["server"] == "ccd"
            client.login_peer()
            status = client.call("status")
            assert status["connections"] == 1  # every fuzzing connection was cleaned up
            assert status["api"]["accepted"] > 300
    finally:
        server.stop()
        services.db.close()


# Values aimed at each params field: right-ish types with edge values, and wrong types.
edge_values = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**70, 10**30]),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.text(max_size=80),
    st.sampled_from(
        ["", "a" * 65, "x" * 2000, "unix:root", "admin", "\u0000", "新用户", "-lead", "agent"]
    ),
    st.lists(st.sampled_from(["agent", "teamlead", "qa", "admin", "boss", ""]), max_size=5),
    st.lists(st.text(max_size=10), max_size=5),
    json_values,
)


def _typed(t: Any) -> st.SearchStrategy[Any]:
    """Values of msgspec type `t`, including its bounds and just past them."""
    if isinstance(t, mi.IntType):
        bounds = [b for b in (t.ge, t.le, t.gt, t.lt) if b is not None]
        return st.integers() | st.sampled_from(
            [
                0,
                -1,
                2**63 - 1,
                2**63,
                -(2**63) - 1,
                2**70,
                *bounds,
                *[b + 1 for b in bounds],
                *[b - 1 for b in bounds],
            ]
        )
    if isinstance(t, mi.StrType):
        lengths = [n for n in (t.min_length, t.max_length) if n is not None]
        return st.text(max_size=40) | st.sampled_from(
            [
                "",
                "新用户",
                "unix:root",
                "\u0000",
                "a.b-c@d",
                *["a" * n for n in lengths],
                *["b" * (n + 1) for n in lengths],
            ]
        )
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(list(t.values)) | st.text(max_size=8)
    if isinstance(t, mi.UnionType):
        return st.one_of([_typed(m) for m in t.types])
    if isinstance(t, mi.ListType):
        return st.lists(_typed(t.item_type), max_size=(t.max_length or 4) + 1)
    return json_values


def _params_for(spec: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Params for `spec`: mostly well-typed (so handlers run), sometimes one field garbage."""
    info = mi.type_info(spec.params)
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in info.fields:
        value = _typed(field.type) | edge_values if field.required else _typed(field.type)
        parts[field.name] = value
    required = {f.name: parts[f.name] for f in info.fields if f.required}
    optional = {f.name: parts[f.name] for f in info.fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)


FUZZED = [s for s in REGISTRY if s.name not in ("logout", "login", "login_peer")]


def _fuzz(client: SyncClient, method: str, params: st.SearchStrategy[dict[str, Any]]) -> None:
    @settings(max_examples=150, deadline=None, database=None)
    @given(params)
    def call(params: dict[str, Any]) -> None:
        try:
            client.request(method, params)
        except CcdError as exc:
            assert exc.error_id != "internal", (method, params, exc.details)
            assert exc.error_id in catalogue.MESSAGES, (method, params, exc.error_id)

    call()


def test_fuzzed_params_never_cause_internal_errors(tmp_path: Path) -> None:
    config = make_config(tmp_path, requests_per_second=1e6, burst=10**6)
    services = LocalServices(config)
    server = ThreadedServer(config, services).start()
    try:
        with SyncClient.connect(config.socket_path) as client:
            client.login_peer()

            for spec in FUZZED:  # each method gets its own examples
                _fuzz(client, spec.name, _params_for(spec))
            assert client.call("whoami")["username"] == "unix:root"
    finally:
        server.stop()
        services.db.close()
