"""The V.253 core and its codecs, fed bytes and time: no I/O."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.modem import audio as au
from hw.modem import core as c
from hw.modem.callerid import CallerId, add_line
from hw.modem.dle import DleDecoder, DleEvent, EndOfData, escape


@given(st.binary(), st.integers(min_value=1, max_value=7))
def test_escaped_audio_decodes_back_in_any_split(audio, step):
    wire = escape(audio) + b"\x10\x03"
    decoder = DleDecoder()
    items = []
    for i in range(0, len(wire), step):
        items += decoder.feed(wire[i : i + step])
    assert b"".join(x for x in items if isinstance(x, bytes)) == audio
    assert items[-1] == EndOfData()


def test_dle_sub_is_two_dles_and_other_codes_are_events():
    assert DleDecoder().feed(b"a\x10\x1ab\x10lc\x10\x03") == [
        b"a\x10\x10b", DleEvent("l"), b"c", EndOfData()]


def test_command_reply_with_lines_and_echo():
    core = c.ModemCore()
    assert core.command("AT+VSM=?") == b"AT+VSM=?\r"
    events = core.receive(b'AT+VSM=?\r\r\n128,"8-BIT LINEAR",8,0,(8000)\r\n4,"ULAW"', 0)
    assert events == []
    (reply,) = core.receive(b"\r\nOK\r\n", 0)
    assert reply == c.Reply("AT+VSM=?", "OK", ['128,"8-BIT LINEAR",8,0,(8000)', '4,"ULAW"'])
    assert au.parse_vsm_list(reply.lines) == {128: "8-BIT LINEAR", 4: "ULAW"}


@pytest.mark.parametrize("eq", [" = ", "="])
def test_ring_with_caller_id_between_first_and_second(eq):
    core = c.ModemCore()
    assert core.receive(b"\r\nRING\r\n", 10.0) == [c.Ringing(1, None)]
    data = f"\r\nDATE{eq}1205\r\nTIME{eq}0935\r\nNMBR{eq}13800000004\r\nNAME{eq}LI SI\r\n"
    assert core.receive(data.encode(), 10.5) == []
    (ring,) = core.receive(b"\r\nRING\r\n", 14.0)
    assert ring.count == 2 and ring.callerid is not None
    assert (ring.callerid.number, ring.callerid.name, ring.callerid.date,
            ring.callerid.time) == ("13800000004", "LI SI", "1205", "0935")
    assert core.tick(21.9) == [] and core.next_deadline() == 22.0
    assert core.tick(22.0) == [c.RingStopped(2)]


def test_withheld_number():
    cid = CallerId()
    add_line(cid, "NMBR = P")
    assert cid.number == "" and cid.withheld == "private"


def test_sdmf_raw_caller_id():
    body = b"12050935" + b"13800000004"
    cid = CallerId()
    add_line(cid, (bytes([0x04, len(body)]) + body).hex())
    assert (cid.number, cid.date, cid.time) == ("13800000004", "1205", "0935")


def test_record_session_audio_events_and_end():
    core = c.ModemCore()
    core.answered()
    core.command("AT+VRX")
    events = core.receive(b"\r\nCONNECT\r\n\x80\x10\x10\x81\x105\x82", 0)
    assert events == [c.Reply("AT+VRX", "CONNECT"), c.Audio(b"\x80\x10\x81"), c.Tone("5"),
                      c.Audio(b"\x82")]
    assert core.stop_receive() == b"\x10!"
    assert core.receive(b"\x83\x10\x03\r\nOK\r\n", 0) == [
        c.Audio(b"\x83"), c.DataEnded(), c.Reply(c.END_OF_DATA, "OK")]


def test_transmit_session_events_and_end():
    core = c.ModemCore()
    core.answered()
    core.command("AT+VTX")
    assert core.receive(b"\r\nCONNECT\r\n", 0) == [c.Reply("AT+VTX", "CONNECT")]
    assert core.receive(b"\x10u\x10/\x101\x10~\x10l", 0) == [
        c.Tone("u"), c.Tone("/"), c.Tone("1"), c.Tone("~"), c.Tone("l")]
    assert core.end_transmit(abort=True) == b"\x10\x18\x10\x03"
    assert core.receive(b"\r\nOK\r\n", 0) == [c.Reply(c.END_OF_DATA, "OK")]


def test_command_while_another_waits_is_our_bug():
    core = c.ModemCore()
    core.command("ATH0")
    with pytest.raises(c.ModemMisuse):
        core.command("ATH0")


@pytest.mark.parametrize("name", ["8-BIT LINEAR", "ULAW", "ALAW", "LINEAR"])
def test_formats_round_trip_close(name):
    fmt = au.format_named(name)
    pcm = array("h", range(-32000, 32000, 977))
    back = fmt.decode(fmt.encode(pcm))
    tolerance = {"linear16": 0, "linear8": 256}.get(fmt.key)
    for a, b in zip(pcm, back, strict=True):
        limit = tolerance if tolerance is not None else max(64, abs(a) // 10)
        assert abs(a - b) <= limit


def test_format_chosen_by_name_not_id():
    ident, fmt = au.choose_format({0: "SIGNED PCM", 4: "ULAW", 130: "16-BIT LINEAR"}, "ulaw")
    assert ident == 4 and fmt.width == 1
    with pytest.raises(au.AudioFormatError, match="offers no 'ALAW'"):
        au.choose_format({4: "ULAW"}, "ALAW")
