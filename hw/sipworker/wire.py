"""The worker's end of the daemon's socketpair: frames in and out, never blocking the pj loop."""

from __future__ import annotations

import select
import socket
from collections.abc import Callable

from hw.sipworker import protocol as p

MAX_PENDING_BYTES = 64 << 20  # a daemon that leaves this much unread is gone


class DaemonSocket:
    """`sock`: the inherited socket; `on_command`: runs each decoded command (on the pj thread);
    `on_lost`: told once, with a reason, when the daemon is gone or misbehaves."""

    def __init__(
        self,
        sock: socket.socket,
        on_command: Callable[[p.Msg], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self.sock = sock
        sock.setblocking(False)
        self.on_command = on_command
        self.on_lost = on_lost
        self.reader = p.FrameReader()
        self.out = bytearray()
        self.gone = False

    def emit(self, message: p.Msg) -> None:
        """Queue an event; it goes out at the next `flush`."""
        if not self.gone:
            self.out += p.encode(message)

    def receive(self) -> None:
        """Read what the daemon sent and run every complete command."""
        if self.gone:
            return
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._lose(f"recv: {exc}")
                return
            if not data:
                self._lose("daemon closed the socket")
                return
            try:
                for body in self.reader.feed(data):
                    self.on_command(p.decode_command(body))
                if self.reader.broken is not None:
                    raise self.reader.broken
            except p.ProtocolError as exc:
                self._lose(f"protocol error: {exc}")
                return

    def flush(self, block: bool = False) -> None:
        """Send queued events; `block` (at exit only) waits up to 2 s for the socket."""
        if self.gone or not self.out:
            return
        if block:
            self.sock.settimeout(2.0)
        try:
            while self.out:
                sent = self.sock.send(self.out)
                del self.out[:sent]
        except (BlockingIOError, InterruptedError):
            if len(self.out) > MAX_PENDING_BYTES:
                self._lose("daemon stopped reading")
        except OSError as exc:
            self._lose(f"send: {exc}")

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking as soon as a command arrives (or output can drain)."""
        readable = [] if self.gone else [self.sock]
        writable = [self.sock] if self.out and not self.gone else []
        select.select(readable, writable, [], seconds)

    def _lose(self, why: str) -> None:
        if not self.gone:
            self.gone = True
            self.out.clear()
            self.on_lost(why)
