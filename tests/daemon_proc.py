"""The real daemon as a subprocess, for end-to-end tests: start, wait for ready, stop."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

READY_MARK = "ccd.daemon: ready"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free on 127.0.0.1 for both UDP and TCP (SIP listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue


def sip_overrides() -> list[str]:
    """--set options giving a daemon its own SIP port and RTP range, so tests never collide."""
    while True:
        port = free_port()
        rtp = 20000 + (port % 200) * 200
        if not rtp <= port < rtp + 200 * 4:  # the workers' RTP ranges must not hold it
            return [f"sip.listen=127.0.0.1:{port}", f"sip.rtp_port_start={rtp}"]


class DaemonProcess:
    def __init__(self, config: Path, *overrides: str, env: dict[str, str] | None = None) -> None:
        args = [sys.executable, "-m", "ccd", "--config", str(config)]
        for o in [*sip_overrides(), *overrides]:
            args += ["--set", o]
        args.append("run")
        self.args = args
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen[str] | None = None
        self.stderr_lines: list[str] = []
        self._partial = b""
        self._checked = 0  # lines of stderr_lines already searched by wait_for_line

    def start(self, timeout: float = 30.0) -> DaemonProcess:
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=self.env,
        )
        try:
            self.wait_for_line(READY_MARK, timeout)
        except BaseException:
            self.proc.kill()  # never leave a half-started daemon behind a failed test
            self.proc.wait()
            raise
        return self

    def wait_for_line(self, needle: str, timeout: float) -> str:
        """Read the daemon's stderr until a line contains `needle` (or it exits, or time runs out).

        Reads the raw pipe with os.read: a buffered readline would keep lines in Python's buffer
        where select() cannot see them.
        """
        assert self.proc is not None and self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        deadline = time.monotonic() + timeout
        while True:
            while self._checked < len(self.stderr_lines):
                line = self.stderr_lines[self._checked]
                self._checked += 1
                if needle in line:
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {needle!r} from the daemon in {timeout}s:\n{self.output}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(
                    f"daemon exited ({self.proc.wait()}) before {needle!r}:\n{self.output}"
                )
            self._partial += chunk
            self._split_lines()

    def _split_lines(self) -> None:
        *complete, self._partial = self._partial.split(b"\n")
        self.stderr_lines.extend(c.decode(errors="replace") + "\n" for c in complete)

    @property
    def output(self) -> str:
        return "".join(self.stderr_lines)

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.drain()
        return code

    def drain(self) -> None:
        """After exit: keep the rest of stderr for `output`."""
        if self.proc is not None and self.proc.stderr is not None and self.proc.poll() is not None:
            fd = self.proc.stderr.fileno()
            while chunk := os.read(fd, 65536):
                self._partial += chunk
            self._split_lines()
            if self._partial:
                self.stderr_lines.append(self._partial.decode(errors="replace"))
                self._partial = b""
