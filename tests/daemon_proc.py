"""The real daemon as a subprocess, for end-to-end tests: start, wait for ready, stop."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

READY_MARK = "ready"


class DaemonProcess:
    def __init__(self, config: Path, *overrides: str, env: dict[str, str] | None = None) -> None:
        args = [sys.executable, "-m", "ccd", "--config", str(config)]
        for o in overrides:
            args += ["--set", o]
        args.append("run")
        self.args = args
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen[str] | None = None
        self.stderr_lines: list[str] = []

    def start(self, timeout: float = 30.0) -> DaemonProcess:
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=self.env,
        )
        self.wait_for_line(READY_MARK, timeout)
        return self

    def wait_for_line(self, needle: str, timeout: float) -> str:
        """Read the daemon's stderr until a line contains `needle` (or it exits, or time runs out)."""
        assert self.proc is not None and self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stderr, selectors.EVENT_READ)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {needle!r} from the daemon in {timeout}s:\n{self.output}")
                if not sel.select(left):
                    continue
                line = self.proc.stderr.readline()
                if not line:
                    raise RuntimeError(f"daemon exited ({self.proc.wait()}) before {needle!r}:\n{self.output}")
                self.stderr_lines.append(line)
                if needle in line:
                    return line
        finally:
            sel.close()

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
        if self.proc is not None and self.proc.stderr is not None and self.proc.poll() is not None:
            self.stderr_lines.append(self.proc.stderr.read())
