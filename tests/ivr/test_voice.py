"""voiced_seconds: how much of a recording holds a voice (silence and hiss do not count)."""

from __future__ import annotations

import random
import struct
import wave
from pathlib import Path

from ccd.ivr.voice import voiced_seconds
from tests.ivr.fakes import write_tone


def test_silence_has_no_voice(tmp_path: Path) -> None:
    write_tone(tmp_path / "silent.wav", 5.0, amplitude=0)
    assert voiced_seconds(str(tmp_path / "silent.wav")) == 0.0


def test_line_hiss_has_no_voice(tmp_path: Path) -> None:
    rng = random.Random(3)
    path = tmp_path / "hiss.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", rng.randint(-200, 200)) for _ in range(40000)))
    assert voiced_seconds(str(path)) == 0.0


def test_a_voice_counts_for_its_length_only(tmp_path: Path) -> None:
    tone, silence = tmp_path / "tone.wav", tmp_path / "silence.wav"
    write_tone(tone, 2.0, amplitude=6000)
    write_tone(silence, 3.0, amplitude=0)
    joined = tmp_path / "joined.wav"
    with wave.open(str(joined), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        for part in (tone, silence):
            with wave.open(str(part), "rb") as w:
                out.writeframes(w.readframes(w.getnframes()))
    assert voiced_seconds(str(joined)) == 2.0


def test_an_unreadable_file_holds_no_voice(tmp_path: Path) -> None:
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    assert voiced_seconds(str(tmp_path / "junk.wav")) == 0.0
    assert voiced_seconds(str(tmp_path / "missing.wav")) == 0.0
