"""A V.253 voice modem on a pseudo-terminal, speaking the bytes of hardware-protocols.md.

The driver under test opens `emulator.path` (a symlink to the pty's slave, like a
/dev/serial/by-id/ link) exactly as it would open a modem. The emulator answers AT commands,
rings with caller ID (formatted lines with or without spaces, or raw MDMF hex), takes audio after
`AT+VTX` with DLE doubling and plays it out at 8000 bytes a second (reporting `DLE u` when the
driver falls behind), streams audio after `AT+VRX` until `DLE !`, and reports keys (`DLE 1`, or
bracketed `DLE / DLE 1 DLE ~`), loop-current break (`DLE l`) and busy tone. After `AT+VTR` (full duplex) it streams its speech and keeps
what the driver sends (`heard`) until `DLE ^`. It can stop reading
(CTS low: the pty fills and the driver's writes wait), stop answering, send garbage, or vanish.
"""

from __future__ import annotations

import os
import tty
from collections.abc import Callable
from pathlib import Path

import trio

DLE, ETX, CAN = 0x10, 0x03, 0x18
FORMATS = ['0,"SIGNED PCM",8,0,(8000),(0),(0)', '1,"UNSIGNED PCM",8,0,(8000),(0),(0)',
           '4,"ULAW",8,0,(8000),(0),(0)', '5,"ALAW",8,0,(8000),(0),(0)',
           '128,"8-BIT LINEAR",8,0,(8000),(0),(0)', '130,"16-BIT LINEAR",16,0,(8000),(0),(0)']


class Session:
    """One AT+VTX session: what the driver sent (DLE shielding removed) and how it ended."""

    def __init__(self) -> None:
        self.audio = bytearray()
        self.ended = ""  # 'etx', 'abort'


class ModemEmulator:
    def __init__(self, path: Path, *, rate: int = 8000, vcon: bool = True) -> None:
        self.path = path
        self.rate = rate
        self.vcon = vcon
        self.commands: list[str] = []
        self.sessions: list[Session] = []
        self.offhook = False
        self.mode = "command"
        self.refuse: set[str] = set()  # commands answered ERROR
        self.mute: set[str] = set()  # commands never answered (a hung modem)
        self.garble: set[str] = set()  # commands answered with line noise instead of a result
        self.speech = b""  # what the caller says after AT+VRX (modem format), then silence
        self.silence_byte = 0x80
        self.dial_result = "VCON"
        self.dialled: list[str] = []
        self.heard = bytearray()  # what the driver sent during AT+VTR (full duplex)
        self.underruns = 0
        self.reading = True  # False: CTS low
        self.gone = False
        self._changed = trio.Event()
        self._write_lock = trio.Lock()
        self._master = -1
        self._slave = -1
        self._line = bytearray()
        self._held_dle = False
        self._session: Session | None = None
        self._received = 0
        self._vtx_start = 0.0
        self._etx = False
        self._vrx_stop = False
        self._nursery: trio.Nursery | None = None
        self._open_pty()

    # --- the device -----------------------------------------------------------------------

    def _open_pty(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        if self.path.is_symlink() or self.path.exists():
            self.path.unlink()
        self.path.symlink_to(os.ttyname(self._slave))
        self.gone = False

    def vanish(self) -> None:
        """The modem is unplugged: the driver's next read fails."""
        self.gone = True
        trio.lowlevel.notify_closing(self._master)
        os.close(self._master)
        os.close(self._slave)
        self.path.unlink()
        self._poke()

    def reappear(self) -> None:
        """Plugged in again (a new tty behind the same link)."""
        self._open_pty()
        self.offhook, self.mode = False, "command"
        self._nursery_start(self._reader)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._reader)
            nursery.start_soon(trio.sleep_forever)  # stays open for a reappearing modem
            task_status.started()

    def _nursery_start(self, fn: Callable, *args: object) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(fn, *args)

    async def _reader(self) -> None:
        fd = self._master
        while not self.gone and fd == self._master:
            if not self.reading:
                await trio.sleep(0.01)
                continue
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                try:
                    await trio.lowlevel.wait_readable(fd)
                except (trio.ClosedResourceError, OSError):
                    return
                continue
            except OSError:  # EIO: the driver closed the port and nobody holds the slave
                await trio.sleep(0.01)
                continue
            self._feed(data)

    async def send(self, data: bytes) -> None:
        async with self._write_lock:  # events and streamed audio share the one tty
            view = memoryview(data)
            while view and not self.gone:
                try:
                    view = view[os.write(self._master, view):]
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(self._master)

    def _send_soon(self, data: bytes) -> None:
        self._nursery_start(self.send, data)

    def _poke(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, condition: Callable[[], bool], limit: float = 30.0) -> None:
        with trio.fail_after(limit):
            while not condition():
                await self._changed.wait()

    # --- what the driver sends ------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        if self._held_dle:
            data, self._held_dle = b"\x10" + data, False
        i = 0
        while i < len(data):
            b = data[i]
            if b == DLE:
                if i + 1 >= len(data):
                    self._held_dle = True
                    break
                self._dle(data[i + 1])
                i += 2
                continue
            if self.mode == "vtx":
                assert self._session is not None
                self._session.audio.append(b)
                self._received += 1
            elif self.mode == "vtr":
                self.heard.append(b)
            elif self.mode == "command":
                if b in (0x0D, 0x0A):
                    if self._line:
                        self._command(self._line.decode("ascii", "replace").strip())
                    self._line.clear()
                else:
                    self._line.append(b)
            i += 1
        self._poke()

    def _dle(self, code: int) -> None:
        if self.mode == "vtx":
            assert self._session is not None
            if code == DLE:
                self._session.audio.append(DLE)
                self._received += 1
            elif code == CAN:
                self._session.ended = "abort"
            elif code == ETX:
                self._session.ended = self._session.ended or "etx"
                self._etx = True
        elif self.mode == "vrx" and code == ord("!"):
            self._vrx_stop = True
        elif self.mode == "vtr":
            if code == DLE:
                self.heard.append(DLE)
            elif code == ord("^"):
                self._vrx_stop = True

    def _command(self, text: str) -> None:
        self.commands.append(text)
        if text in self.mute:
            return
        if text in self.garble:
            self._send_soon(b"\r\n\xff\x00G\x9a#~\x13\x11\x10\r\n+++\r\n")
            return
        if text in self.refuse:
            self._send_soon(b"\r\nERROR\r\n")
            return
        up = text.upper()
        if up == "AT+VSM=?":
            self._send_soon(("".join(f"\r\n{f}" for f in FORMATS) + "\r\nOK\r\n").encode())
        elif up == "AT+VLS=?":
            self._send_soon(b'\r\n0,"",00000000,00000000,00000000\r\n1,"T",00000000,00000000,'
                            b'00000000\r\nOK\r\n')
        elif up.startswith("AT+VLS=") and up != "AT+VLS=0":
            self.offhook = True
            self._send_soon(b"\r\nVCON\r\n" if self.vcon else b"\r\nOK\r\n")
        elif up == "AT+VTX":
            self.mode = "vtx"
            self._session = Session()
            self.sessions.append(self._session)
            self._received, self._etx = 0, False
            self._send_soon(b"\r\nCONNECT\r\n")
            self._nursery_start(self._play_out, self._session)
        elif up in ("AT+VRX", "AT+VTR"):
            self.mode = "vrx" if up == "AT+VRX" else "vtr"
            self._vrx_stop = False
            self._nursery_start(self._stream_speech)
        elif up.startswith("ATH"):
            self.offhook = False
            self._send_soon(b"\r\nOK\r\n")
        elif up.startswith("ATD"):
            self.dialled.append(text[4:].rstrip(";") if up.startswith("ATDT") else text[3:])
            self._nursery_start(self._dial_outcome)
        else:
            self._send_soon(b"\r\nOK\r\n")

    async def _dial_outcome(self) -> None:
        await self.send(b"\x10r")
        await trio.sleep(0.3)
        await self.send(f"\r\n{self.dial_result}\r\n".encode())

    async def _play_out(self, session: Session) -> None:
        """Play what arrives at `rate` bytes a second; OK once DLE ETX came and all is played."""
        tick = 0.02
        # playing starts with the first byte, as a modem's does
        await self.wait_for(lambda: bool(self._received or session.ended or self.gone), 3600)
        start = trio.current_time()
        played = 0
        while True:
            await trio.sleep(tick)
            if self.gone:
                return
            if session.ended == "abort":
                break
            target = int((trio.current_time() - start) * self.rate)
            if target > self._received and not self._etx:
                self.underruns += 1  # nothing left to play: the line goes silent
                await self.send(b"\x10u")
                start = trio.current_time() - self._received / self.rate
                target = self._received
            played = min(target, self._received)
            if self._etx and played >= self._received:
                break
        self.mode = "command"
        self._poke()
        await self.send(b"\r\nOK\r\n")

    async def _stream_speech(self) -> None:
        await self.send(b"\r\nCONNECT\r\n")
        chunk = self.rate // 50
        sent = 0
        start = trio.current_time()
        while not self._vrx_stop and not self.gone:
            piece = self.speech[sent : sent + chunk]
            if len(piece) < chunk:
                piece += bytes([self.silence_byte]) * (chunk - len(piece))
            sent += chunk
            await self.send(piece.replace(b"\x10", b"\x10\x10"))
            await trio.sleep_until(start + sent / self.rate)
        self.mode = "command"
        await self.send(b"\x10\x03\r\nOK\r\n")

    # --- what the caller does -------------------------------------------------------------

    async def ring(self, number: str = "", *, name: str = "", spaces: bool = True,
                   raw: str = "", times: int = 6, gap: float = 0.3) -> None:
        """Ring with caller ID between the first and second RING until answered."""
        eq = " = " if spaces else "="
        for i in range(times):
            if self.offhook or self.gone:
                return
            await self.send(b"\r\nRING\r\n")
            if i == 0:
                if raw:
                    await self.send(f"\r\nMESG{eq}{raw}\r\n".encode())
                elif number or name:
                    lines = [f"DATE{eq}1205", f"TIME{eq}0935", f"NMBR{eq}{number}"]
                    if name:
                        lines.append(f"NAME{eq}{name}")
                    await self.send(("".join(f"\r\n{x}" for x in lines) + "\r\n").encode())
            with trio.move_on_after(gap):
                await self.wait_for(lambda: self.offhook, limit=gap + 1)

    async def press(self, digits: str, *, bracket: bool = False) -> None:
        for d in digits:
            if bracket:
                await self.send(b"\x10/\x10" + d.encode() + b"\x10~")
            else:
                await self.send(b"\x10" + d.encode())

    async def hang_up(self) -> None:
        """The caller puts the receiver down: loop-current break."""
        await self.send(b"\x10l")

    async def wait_session(self, index: int, limit: float = 30.0) -> Session:
        await self.wait_for(lambda: len(self.sessions) > index, limit)
        return self.sessions[index]

    async def wait_command(self, prefix: str, after: int = 0, limit: float = 30.0) -> int:
        """Index of the first command from `after` on that starts with `prefix`."""
        def found() -> bool:
            return any(c.startswith(prefix) for c in self.commands[after:])
        await self.wait_for(found, limit)
        return next(i for i, c in enumerate(self.commands) if i >= after and c.startswith(prefix))
