"""The command/event protocol: round trips, framing over arbitrary chunking, bad input."""

from __future__ import annotations

import struct

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.sipworker import protocol as p

COMMANDS = [
    p.Answer(id=1, leg=2),
    p.HangupLeg(id=2, leg=3, cause=486),
    p.Play(id=3, leg=1, files=["/a.wav", "/b.wav"], barge_in=True),
    p.StopPlay(id=4, leg=1),
    p.Record(id=5, leg=1, path="/r.wav", max_seconds=60, silence_seconds=5, stop_digits="#"),
    p.StopRecord(id=6, leg=1),
    p.SendDtmf(id=7, leg=1, digits="12#", method="info"),
    p.Bridge(id=8, a=1, b=2),
    p.Unbridge(id=9, a=1, b=2),
    p.Spy(id=10, caller=1, agent=2, supervisor=3, mode="whisper"),
    p.Unspy(id=11, supervisor=3),
    p.Hold(id=12, leg=1, music="/moh.wav"),
    p.Unhold(id=13, leg=1),
    p.Originate(id=14, uri="sip:1001@10.0.0.5", caller_id="95598", timeout=20, near=1),
    p.Admission(id=15, extra_legs=1, allowed_peers=["10.0.0.0/8"], max_cps=4),
    p.Stats(id=16, objects=True),
    p.Shutdown(id=17),
]

EVENTS = [
    p.Ready(
        pid=42,
        mode="server",
        sip_address="127.0.0.1",
        sip_port=5060,
        rtp_port=20000,
        rtp_range=1000,
        uri="sip:ccd@127.0.0.1:5060",
        pj_version="2.10",
        limits=p.Limits(
            pj_max_calls=28,
            conf_ports=254,
            max_calls=27,
            max_cps=8,
            extra_legs=2,
            max_players=32,
            max_recorders=32,
            ioqueue_handles=64,
        ),
    ),
    p.Done(id=1, leg=2),
    p.Failed(id=2, code="bad-wav", message="x.wav: no such file"),
    p.StatsReply(
        id=3,
        legs=1,
        pj_calls=1,
        conf_ports_active=2,
        players=1,
        recorders=0,
        routes=2,
        arrivals_last_second=1,
        accepted=5,
        refused=1,
        python_threads=1,
        gc_enabled=False,
        gc_frozen=20000,
        uptime=1.5,
        objects={"Call": 1},
    ),
    p.Incoming(
        leg=1,
        caller="138",
        called="95598",
        caller_uri="<sip:138@h>",
        called_uri="sip:95598@h",
        source="127.0.0.1:5062",
        call_id="abc",
    ),
    p.Refused(source="10.1.1.1:5060", code=403, reason="forbidden-peer"),
    p.Progress(leg=1, code=180),
    p.Answered(leg=1),
    p.Digit(leg=1, digit="5", method="info"),
    p.PlayDone(leg=1, id=3, reason="digit", digit="5"),
    p.RecordDone(leg=1, id=5, path="/r.wav", seconds=3.5, reason="silence"),
    p.Hangup(leg=1, cause=200, reason="remote"),
    p.Registration(state="registered", code=200, reason="OK", expires=300),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_every_command_round_trips(command: p.Msg) -> None:
    frame = p.encode(command)
    (length,) = struct.unpack(">I", frame[:4])
    assert length == len(frame) - 4
    assert p.decode_command(frame[4:]) == command


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_round_trips(event: p.Msg) -> None:
    assert p.decode_event(p.encode(event)[4:]) == event


def test_commands_and_events_have_distinct_tags_within_each_side() -> None:
    for union in (p.Command, p.Event):
        tags = [cls.__struct_config__.tag for cls in union.__args__]  # type: ignore[attr-defined]
        assert len(tags) == len(set(tags))


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=50))
def test_frames_survive_any_chunking(cuts: list[int]) -> None:
    stream = b"".join(p.encode(e) for e in EVENTS)
    reader = p.FrameReader()
    got: list[p.Msg] = []
    pos, i = 0, 0
    while pos < len(stream):
        size = cuts[i % len(cuts)]
        got += [p.decode_event(b) for b in reader.feed(stream[pos : pos + size])]
        pos += size
        i += 1
    assert got == EVENTS
    assert reader.pending == 0


def test_oversized_and_garbage_frames_are_protocol_errors() -> None:
    with pytest.raises(p.ProtocolError):
        p.FrameReader().feed(struct.pack(">I", p.MAX_FRAME + 1))
    reader = p.FrameReader()
    good = p.encode(p.Answered(leg=1))
    assert reader.feed(good + struct.pack(">I", p.MAX_FRAME + 1)) == [good[4:]]
    assert reader.broken is not None  # what came before the fault was still delivered
    with pytest.raises(p.ProtocolError):
        reader.feed(good)
    with pytest.raises(p.ProtocolError):
        p.decode_event(b"\xc1\x00garbage")
    with pytest.raises(p.ProtocolError):
        p.decode_command(msgspec.msgpack.encode({"t": "format_disk", "id": 1}))
    with pytest.raises(p.ProtocolError):
        p.decode_command(msgspec.msgpack.encode({"t": "answer", "id": "one", "leg": 1}))
