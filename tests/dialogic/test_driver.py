"""The Dialogic driver against a fake R4 runtime compiled in the test run (tests/dialogic/
fake_r4.c, built with the system's cc into libsrl.so and libdxxx.so in a temporary folder)."""

from __future__ import annotations

import ctypes
import math
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import pytest
import trio

from hw.base import ChannelGone
from hw.dialogic import r4
from hw.dialogic.driver import DialogicDriver
from hw.dialogic.settings import DialogicSettings

SOURCE = Path(__file__).with_name("fake_r4.c")


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory) -> Path:
    cc = shutil.which("cc")
    if cc is None:
        pytest.fail("the system C compiler (cc) is needed to build the fake R4 runtime")
    out = tmp_path_factory.mktemp("r4")
    subprocess.run([cc, "-shared", "-fPIC", "-Wall", "-Werror", "-DFAKE_SRL", "-o",
                    str(out / "libsrl.so"), str(SOURCE), "-lpthread"], check=True)
    subprocess.run([cc, "-shared", "-fPIC", "-Wall", "-Werror", "-DFAKE_DXXX", "-o",
                    str(out / "libdxxx.so"), str(SOURCE), f"-L{out}", "-lsrl", "-lpthread",
                    "-Wl,-rpath,$ORIGIN"], check=True)
    return out


class Lines:
    """The test's hands on the fake board (the same loaded library as the driver's)."""

    def __init__(self, directory: Path) -> None:
        self.lib = ctypes.CDLL(str(directory / "libdxxx.so"))
        self.lib.fake_played.restype = ctypes.c_long
        self.lib.fake_listening.restype = ctypes.c_long

    def ring(self, name: str, number: str, rings: int = 2) -> None:
        assert self.lib.fake_ring(name.encode(), number.encode(), rings) == 0

    def press(self, name: str, digits: str) -> None:
        self.lib.fake_press(name.encode(), digits.encode())

    def hang_up(self, name: str) -> None:
        self.lib.fake_hangup(name.encode())

    def speak(self, name: str, pcm: bytes) -> None:
        self.lib.fake_set_speech(name.encode(), pcm, ctypes.c_size_t(len(pcm)))

    def played(self, name: str) -> bytes:
        n = self.lib.fake_played(name.encode(), None, ctypes.c_size_t(0))
        buf = ctypes.create_string_buffer(max(n, 1))
        self.lib.fake_played(name.encode(), buf, ctypes.c_size_t(n))
        return buf.raw[:n]

    def hook(self, name: str) -> int:
        return int(self.lib.fake_hook(name.encode()))

    def listening(self, name: str) -> int:
        return int(self.lib.fake_listening(name.encode()))


def tone(path: Path, seconds: float, freq: float = 700.0) -> bytes:
    pcm = b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * freq * i / 8000)))
                   for i in range(int(8000 * seconds)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm)
    return pcm


async def start(nursery, runtime_dir: Path, *names: str) -> DialogicDriver:
    settings = [DialogicSettings(name=n, library_dir=str(runtime_dir)) for n in names]
    driver = DialogicDriver("dialogic", settings)
    await nursery.start(driver.run)
    return driver


async def wait_state(driver: DialogicDriver, name: str, state: str) -> None:
    with trio.fail_after(5):
        await driver.wait_state(name, state)


def test_without_the_runtime_the_message_names_the_library(tmp_path):
    with pytest.raises(r4.RuntimeMissing) as e:
        r4.load(str(tmp_path))
    assert "libsrl.so" in str(e.value) and str(tmp_path) in str(e.value)


async def test_driver_without_runtime_marks_channels_down(tmp_path):
    async with trio.open_nursery() as nursery:
        driver = await start(nursery, tmp_path, "dxxxB1C1")
        stats = driver.statistics()
        assert stats["runtime"] == "missing"
        line = stats["lines"][0]  # type: ignore[index]
        assert line["state"] == "down" and "libsrl.so was not found" in line["last_error"]
        nursery.cancel_scope.cancel()


def test_structures_have_the_64_bit_layout():
    assert ctypes.sizeof(ctypes.c_long) == 8
    assert ctypes.sizeof(r4.DX_IOTT) == 48 and r4.DX_IOTT.io_length.offset == 24
    assert ctypes.sizeof(r4.DV_TPT) == 24 and ctypes.sizeof(r4.DX_XPB) == 24


async def test_answer_play_digits_record_and_hang_up(runtime_dir, tmp_path):
    board = Lines(runtime_dir)
    async with trio.open_nursery() as nursery:
        driver = await start(nursery, runtime_dir, "dxxxB1C1")
        board.ring("dxxxB1C1", "13800000004")
        with trio.fail_after(5):
            channel = await driver.incoming()
        assert channel.caller == "13800000004"
        await channel.answer()
        assert board.hook("dxxxB1C1") == 1
        # a whole prompt: the bytes the board played are the WAV's samples
        welcome = tone(tmp_path / "welcome.wav", 0.5)
        menu = tone(tmp_path / "menu.wav", 0.25, 900.0)
        assert await channel.play([tmp_path / "welcome.wav", tmp_path / "menu.wav"]) is None
        assert board.played("dxxxB1C1") == welcome + menu
        # a key stops a long prompt and is the first of the digits collected next
        long = tone(tmp_path / "long.wav", 4.0)
        async with trio.open_nursery() as keys:
            async def press() -> None:
                await trio.sleep(0.5)
                board.press("dxxxB1C1", "5")
            keys.start_soon(press)
            assert await channel.play([tmp_path / "long.wav"]) == "5"
        partial = board.played("dxxxB1C1")[len(welcome + menu):]
        assert 0 < len(partial) < len(long) and long.startswith(partial)
        board.press("dxxxB1C1", "12#")
        assert await channel.collect(6, 5.0, 2.0, "#") == "512"
        # a recording: what the caller said, then silence ends it
        speech = tone(tmp_path / "speech.wav", 1.0, 1000.0)
        board.speak("dxxxB1C1", speech)
        done = await channel.record(tmp_path / "rec.wav", 10.0, 0.5, "#")
        assert done.ended_by == "silence" and 1.4 <= done.seconds <= 2.0
        with wave.open(str(done.path)) as w:
            assert w.readframes(8000) == speech
        await channel.hangup()
        assert board.hook("dxxxB1C1") == 0
        await wait_state(driver, "dxxxB1C1", "idle")
        nursery.cancel_scope.cancel()


async def test_loop_current_drop_mid_prompt_ends_the_call(runtime_dir, tmp_path):
    board = Lines(runtime_dir)
    tone(tmp_path / "long.wav", 4.0)
    async with trio.open_nursery() as nursery:
        driver = await start(nursery, runtime_dir, "dxxxB1C2")
        board.ring("dxxxB1C2", "13800000005")
        channel = await driver.incoming()
        await channel.answer()

        async def drop() -> None:
            await trio.sleep(0.3)
            board.hang_up("dxxxB1C2")
        nursery.start_soon(drop)
        with pytest.raises(ChannelGone):
            await channel.play([tmp_path / "long.wav"])
        assert channel.ended is not None and channel.ended.reason == "loop-current"
        await wait_state(driver, "dxxxB1C2", "idle")
        assert board.hook("dxxxB1C2") == 0
        nursery.cancel_scope.cancel()


async def test_two_channels_bridged_on_the_ct_bus(runtime_dir):
    board = Lines(runtime_dir)
    async with trio.open_nursery() as nursery:
        driver = await start(nursery, runtime_dir, "dxxxB2C1", "dxxxB2C2")
        board.ring("dxxxB2C1", "13800000001")
        one = await driver.incoming()
        board.ring("dxxxB2C2", "13800000002")
        two = await driver.incoming()
        await one.answer()
        await two.answer()
        await one.bridge(two)
        assert board.listening("dxxxB2C1") == 100 + two.dev  # each hears the other's slot
        assert board.listening("dxxxB2C2") == 100 + one.dev
        await one.unbridge(two)
        assert board.listening("dxxxB2C1") == -1 and board.listening("dxxxB2C2") == -1
        await one.hangup()
        await two.hangup()
        nursery.cancel_scope.cancel()
