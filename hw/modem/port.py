"""The serial port of a modem line, opened with pyserial and used from trio without threads.

pyserial configures the tty (speed, 8N1, RTS/CTS); reading and writing then go through the file
descriptor in non-blocking mode, waiting with trio for readability and writability. With RTS/CTS
set, the kernel stops sending while the modem holds CTS low, and our writes wait: that is how the
modem's flow control reaches the audio pacing.
"""

from __future__ import annotations

import os
import termios

import serial
import trio


class PortLost(Exception):
    """The device went away (unplugged, closed, I/O error) or read end of file."""


class SerialPort:
    def __init__(self, path: str, baud: int) -> None:
        self.path = path
        try:
            self._serial = serial.Serial(
                path, baud, bytesize=8, parity="N", stopbits=1, rtscts=True, timeout=0,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as e:
            raise PortLost(f"cannot open {path}: {e}") from None
        self.fd = self._serial.fileno()
        # pyserial leaves VMIN = VTIME = 0, where a read with nothing to read returns b"" (the
        # same as end of file); VMIN = 1 makes it EAGAIN in non-blocking mode.
        attrs = termios.tcgetattr(self.fd)
        attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        os.set_blocking(self.fd, False)
        self._closed = False
        self.bytes_written = 0

    async def read(self, size: int = 4096) -> bytes:
        while True:
            if self._closed:
                raise PortLost(f"{self.path} is closed")
            try:
                data = os.read(self.fd, size)
            except BlockingIOError:
                try:
                    await trio.lowlevel.wait_readable(self.fd)
                except trio.ClosedResourceError:
                    raise PortLost(f"{self.path} was closed") from None
                continue
            except OSError as e:  # EIO when the other side of a pty or a USB modem went away
                raise PortLost(f"{self.path}: {e.strerror or e}") from None
            if not data:
                raise PortLost(f"{self.path}: end of file")
            return data

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._closed:
                raise PortLost(f"{self.path} is closed")
            try:
                sent = os.write(self.fd, view)
            except BlockingIOError:  # the tty buffer is full: CTS low, or the modem is slow
                try:
                    await trio.lowlevel.wait_writable(self.fd)
                except trio.ClosedResourceError:
                    raise PortLost(f"{self.path} was closed") from None
                continue
            except OSError as e:
                raise PortLost(f"{self.path}: {e.strerror or e}") from None
            self.bytes_written += sent
            view = view[sent:]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        trio.lowlevel.notify_closing(self.fd)
        try:
            self._serial.close()
        except (OSError, serial.SerialException):
            pass
