"""The wire format without sockets: framing, decoding garbage, ClientProtocol bookkeeping."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccd.api import catalogue
from ccd.api.protocol import (
    BadRequest,
    ClientProtocol,
    ConnectionClosed,
    ErrorBody,
    ErrorReply,
    Event,
    LineBuffer,
    ProtocolViolation,
    Reply,
    Request,
    ServerError,
    TooLong,
    decode_request,
    decode_server_message,
    encode,
    encode_error,
)
from ccd.errors import ClientError, Forbidden, NotFound

# -- framing -------------------------------------------------------------------------------


def test_lines_split_across_chunks_are_joined() -> None:
    framer = LineBuffer(100)
    assert framer.feed(b'{"id":1,') == []
    assert framer.partial_bytes == 8
    assert framer.feed(b'"method":"x"}\n{"id"') == [b'{"id":1,"method":"x"}']
    assert framer.feed(b":2}\r\n\n") == [b'{"id":2}', b""]
    assert framer.partial_bytes == 0


def test_line_of_exactly_the_limit_passes_and_one_more_byte_does_not() -> None:
    framer = LineBuffer(10)
    assert framer.feed(b"a" * 10 + b"\n") == [b"a" * 10]
    assert framer.feed(b"b" * 11 + b"\n") == [TooLong(10, 11)]
    assert framer.feed(b"ok\n") == [b"ok"]


def test_oversize_line_is_reported_once_before_its_newline_and_the_rest_discarded() -> None:
    framer = LineBuffer(8)
    assert framer.feed(b"12345") == []
    assert framer.feed(b"6789") == [TooLong(8, 9)]  # reported as soon as the limit is passed
    assert framer.feed(b"more junk without newline" * 100) == []
    assert framer.partial_bytes == 0  # nothing of it is kept in memory
    assert framer.feed(b"tail\nnext\n") == [b"next"]  # back in sync after the newline


def test_oversize_complete_line_in_the_middle_of_a_chunk() -> None:
    framer = LineBuffer(4)
    assert framer.feed(b"ab\n123456\ncd\n") == [b"ab", TooLong(4, 6), b"cd"]


@given(
    st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), max_size=20),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=10),
)
def test_framing_does_not_depend_on_how_bytes_are_chunked(
    lines: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    framer = LineBuffer(30)
    got: list[bytes | TooLong] = []
    position = 0
    for cut in cuts * (len(stream) // max(sum(cuts), 1) + 1):
        got += framer.feed(stream[position : position + cut])
        position += cut
        if position >= len(stream):
            break
    expected = [TooLong(30, 0) if len(line) > 30 else line.removesuffix(b"\r") for line in lines]
    # TooLong carries how much was seen when noticed, which depends on chunking: compare kinds.
    assert [type(g) for g in got] == [type(e) for e in expected]
    assert [g for g in got if isinstance(g, bytes)] == [e for e in expected if isinstance(e, bytes)]


# -- decoding requests ---------------------------------------------------------------------


def test_valid_request_decodes_with_default_params() -> None:
    assert decode_request(b'{"id": "a1", "method": "status"}') == Request("a1", "status", {})


@pytest.mark.parametrize(
    ("line", "reason", "request_id"),
    [
        (b"\xff\xfe{", "not valid UTF-8", None),
        (b'{"id":1,"method":"a\xff"}', "not valid UTF-8", None),
        (b'{"id":1,"method":"\xe4\xbd"}', "not valid UTF-8", None),
        (b'{"id":1,"method":"x","params":{"k":"\xc0\xaf"}}', "not valid UTF-8", None),
        (b"hello", "not valid JSON", None),
        (b'{"id": 1, "method": "x"', "not valid JSON", None),
        (b"[1, 2]", "Expected `object`, got `array`", None),
        (b'{"id": 3}', "missing required field `method`", 3),
        (b'{"id": true, "method": "x"}', "Expected `int | str`, got `bool` - at `$.id`", None),
        (b'{"id": 4, "method": 5}', "Expected `str`, got `int` - at `$.method`", 4),
        (b'{"id": "q", "method": "x", "params": []}', "got `array` - at `$.params`", "q"),
        (b'{"id": 5, "method": "x", "parms": {}}', "unknown field `parms`", 5),
        (b'{"id": 6, "method": ""}', "length >= 1", 6),
        (b'{"id": 1e999, "method": "x"}', "", None),
        (
            b'{"id": 7, "method": "x", "params": {"a":' + b"[" * 2000 + b"]" * 2000 + b"}}",
            "nested too deeply",
            None,
        ),
    ],
)
def test_garbage_becomes_a_bad_request_with_a_clear_reason(
    line: bytes, reason: str, request_id: object
) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_request(line)
    assert caught.value.error_id == "bad-request"
    assert reason in caught.value.details["reason"]
    assert caught.value.request_id == request_id


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_bad_request(line: bytes) -> None:
    try:
        request = decode_request(line)
    except BadRequest as exc:
        assert exc.details["reason"]
    else:
        assert isinstance(request.method, str) and isinstance(request.params, dict)


# -- encoding ------------------------------------------------------------------------------


def test_messages_are_single_lines_even_with_newlines_in_values() -> None:
    line = encode(Reply(1, {"text": "两行\n文本\u2028"}))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"id": 1, "result": {"text": "两行\n文本\u2028"}}


def test_error_details_json_cannot_carry_are_dropped_not_fatal() -> None:
    line = encode_error(9, "internal", "oops", {"bad": object()})
    assert json.loads(line) == {
        "id": 9,
        "error": {"code": "internal", "message": "oops", "details": {}},
    }


def test_unencodable_result_raises_for_the_server_to_answer_internal() -> None:
    with pytest.raises(TypeError):
        encode(Reply(1, object()))


# -- server messages and ClientProtocol ------------------------------------------------------


def test_server_messages_are_told_apart() -> None:
    assert decode_server_message(b'{"id": 1, "result": null}') == Reply(1, None)
    assert decode_server_message(b'{"event": "t", "data": [1]}') == Event("t", [1])
    assert decode_server_message(
        b'{"id": null, "error": {"code": "idle-timeout", "message": "m"}}'
    ) == ErrorReply(None, ErrorBody("idle-timeout", "m", {}))
    for bad in (b"{}", b'{"id": 1}', b"nonsense", b'{"error": {"code": 1}}'):
        with pytest.raises(ProtocolViolation):
            decode_server_message(bad)


def test_client_protocol_matches_replies_to_fresh_ids_and_routes_events() -> None:
    client = ClientProtocol()
    first, line1 = client.request("status")
    second, line2 = client.request("users.add", {"username": "wang"})
    assert first != second
    assert msgspec.json.decode(line2) == {
        "id": second,
        "method": "users.add",
        "params": {"username": "wang"},
    }
    assert client.pending == {first: "status", second: "users.add"}
    chunk = (
        b'{"event": "queue.waiting", "data": {"n": 3}}\n'
        + f'{{"id": {second}, "error": {{"code": "forbidden", "message": "no"}}}}\n'.encode()
        + f'{{"id": {first}, "res'.encode()
    )
    messages = client.receive_data(chunk)
    assert messages[0] == Event("queue.waiting", {"n": 3})
    assert isinstance(messages[1], ErrorReply) and messages[1].id == second
    with pytest.raises(Forbidden) as caught:
        client.result(messages[1])
    assert caught.value.error_id == "forbidden"
    assert client.pending == {first: "status"}
    (reply,) = client.receive_data(b'ult": {"up": 1}}\n')
    assert client.result(reply) == {"up": 1}
    assert client.pending == {}


def test_client_protocol_refuses_replies_nobody_asked_for() -> None:
    client = ClientProtocol()
    with pytest.raises(ProtocolViolation):
        client.receive_data(b'{"id": 42, "result": 1}\n')


def test_connection_level_error_becomes_the_error_for_pending_requests() -> None:
    client = ClientProtocol()
    client.request("status")
    client.receive_data(
        b'{"id": null, "error": {"code": "idle-timeout", "message": "bye",'
        b' "details": {"seconds": 900}}}\n'
    )
    error = client.connection_lost()
    assert isinstance(error, ConnectionClosed)
    assert error.error_id == "idle-timeout" and error.details == {"seconds": 900}
    assert client.pending == {}
    assert ClientProtocol().connection_lost().error_id == "connection-closed"


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("forbidden", Forbidden),
        ("no-such-user", NotFound),
        ("internal", ServerError),
        ("rate-limited", ClientError),
        ("user-exists", ClientError),
        ("too-many-connections", ConnectionClosed),
    ],
)
def test_error_codes_map_to_exception_classes(code: str, cls: type) -> None:
    with pytest.raises(cls) as caught:
        ClientProtocol.result(ErrorReply(1, ErrorBody(code, "m", {"k": 1})))
    assert caught.value.error_id == code
    assert caught.value.details == {"k": 1}


# -- catalogue -----------------------------------------------------------------------------


def test_catalogue_renders_both_languages_and_keeps_missing_placeholders() -> None:
    details = {"method": "users.add", "required": ["admin"], "roles": ["agent", "qa"]}
    assert catalogue.render("forbidden", "zh", details, "") == (
        "无权调用“users.add”：需要角色 admin，当前角色 agent, qa"
    )
    assert "needs one of the roles admin" in catalogue.render("forbidden", "en", details, "")
    assert catalogue.render("forbidden", "xx", {}, "").startswith("无权调用“{method}”")
    assert catalogue.render("no-such-code", "zh", {}, "fallback") == "fallback"
    assert catalogue.render(
        "unknown-method", "en", {"method": "statsu", "did_you_mean": ["status"]}, ""
    ) == ("no method named 'statsu'; did you mean 'status'?")


def test_every_catalogue_entry_has_both_languages() -> None:
    for code, entry in catalogue.MESSAGES.items():
        assert set(entry) == {"zh", "en"}, code
