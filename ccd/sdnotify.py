"""systemd's notify protocol (sd_notify), without libsystemd: one datagram per state change."""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends READY=1, WATCHDOG=1, STOPPING=1 … when started by systemd with Type=notify."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._sock: socket.socket | None = None
        if self.address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def watchdog_interval(self) -> float | None:
        """Half of WATCHDOG_USEC in seconds, as systemd recommends, or None without a watchdog."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and int(pid) != os.getpid()):
            return None
        return int(usec) / 2_000_000

    def notify(self, *states: str) -> None:
        if self._sock is None:
            return
        addr = self.address
        if addr.startswith("@"):  # abstract namespace
            addr = "\0" + addr[1:]
        try:
            self._sock.sendto("\n".join(states).encode(), addr)
        except OSError:
            pass  # systemd went away or is restarting us: nothing to report to

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
