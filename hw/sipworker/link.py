"""One worker process and its socketpair, seen from trio (the daemon or a scripted phone).

`WorkerLink.run` starts `python -m hw.sipworker --fd N ...`, reports the worker's `Ready` through
`task_status`, then reads events until the worker goes away (exit, crash, SIGKILL: all look the
same, the socket reaches EOF). Nothing here blocks trio: the socket is trio's, the process is
trio's, and every event is handed to a plain callback in the reader task.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

import trio

from hw.base import DriverFault
from hw.sipworker import protocol as p

log = logging.getLogger("hw.sip")

SHUTDOWN_GRACE = 6.0  # the worker hangs up calls (<= 3 s) then libDestroy (~1 s)


class WorkerLost(DriverFault):
    """The worker process went away (crash, abort, kill) before answering."""

    error_id = "sip-worker-lost"


class WorkerStartFailed(DriverFault):
    """The worker exited before it was ready (bad option, port in use, broken install)."""

    error_id = "sip-worker-start-failed"


class WorkerTimeout(DriverFault):
    """The worker did not answer a command in time: it is stuck and will be killed."""

    error_id = "sip-worker-timeout"


class CommandFailed(Exception):
    """The worker refused a command. `code` is machine-readable (protocol.ERROR_CODES)."""

    def __init__(self, failed: p.Failed) -> None:
        super().__init__(f"{failed.code}: {failed.message}")
        self.error_id = failed.code
        self.code = failed.code
        self.message = failed.message
        self.status = failed.status
        self.details = {"status": failed.status} if failed.status else {}


class _Pending:
    __slots__ = ("done", "reply", "on_reply")

    def __init__(self, on_reply: Callable[[p.Msg], None] | None) -> None:
        self.done = trio.Event()
        self.reply: p.Msg | None = None
        self.on_reply = on_reply


def worker_command(args: Sequence[str], fd: int, python: str = sys.executable) -> list[str]:
    return [python, "-m", "hw.sipworker", "--fd", str(fd), *args]


class WorkerLink:
    """A worker process started with `args` (options of `python -m hw.sipworker`, no --fd).

    `on_event`: called in the reader task with every event that is not a command reply; it must
    not block and should not raise (an exception is logged and the link carries on).
    `env`: extra environment variables; `stderr`: where the worker's log goes (None: inherit).
    """

    def __init__(
        self,
        args: Sequence[str],
        on_event: Callable[[p.Msg], None],
        *,
        name: str = "sipworker",
        env: dict[str, str] | None = None,
        stderr: IO[Any] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.args = list(args)
        self.on_event = on_event
        self.name = name
        self.env = env
        self.stderr = stderr
        self.python = python
        self.ready: p.Ready | None = None
        self.process: trio.Process | None = None
        self.closed = False
        self.exit_code: int | None = None
        self.start_error = ""  # why the worker could not start, as it said
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._send, self._outbox = trio.open_memory_channel[p.Msg](math.inf)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.ready is not None and not self.closed

    def next_id(self) -> int:
        return next(self._ids)

    # --- commands ----------------------------------------------------------------------------

    def send_nowait(self, command: p.Msg) -> bool:
        """Queue a command without waiting for its reply; False if the worker is gone."""
        if self.closed:
            return False
        self._send.send_nowait(command)
        return True

    async def request(
        self,
        command: p.Msg,
        stuck_after: float = 10.0,
        on_reply: Callable[[p.Msg], None] | None = None,
    ) -> p.Msg:
        """Send a command (its `id` from `next_id()`) and wait for its reply.

        `on_reply` runs in the reader task the moment the reply arrives, before any later event
        is dispatched (register a new leg there). Raises `CommandFailed` when the worker refuses,
        `WorkerLost` when it goes away. A worker that does not answer within `stuck_after`
        seconds is stuck: it is killed (and restarted by its supervisor), `WorkerTimeout`.
        """
        cmd_id = command.id  # type: ignore[attr-defined]
        if self.closed:
            raise WorkerLost(f"{self.name} is not running")
        pending = self._pending[cmd_id] = _Pending(on_reply)
        self._send.send_nowait(command)
        replied = False
        try:
            with trio.move_on_after(stuck_after):
                await pending.done.wait()
            replied = True
        finally:
            # A caller cancelled while waiting still gets `on_reply` run when the reply comes
            # (a leg created by a cancelled originate must be registered, to be hung up).
            if replied or on_reply is None:
                self._pending.pop(cmd_id, None)
        reply = pending.reply
        if reply is None:
            if self.closed:
                raise WorkerLost(f"{self.name} went away during {type(command).__name__}")
            log.error("%s: no reply to %s in %.1f s; killing it", self.name, command, stuck_after)
            self.kill()
            raise WorkerTimeout(f"{self.name} did not answer {type(command).__name__}")
        if isinstance(reply, p.Failed):
            raise CommandFailed(reply)
        return reply

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.returncode is None:
            try:
                self.process.send_signal(sig)
            except ProcessLookupError:
                pass

    # --- the process -------------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[p.Ready] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Start the worker, report Ready, serve until it goes away; then clean up.

        Raises `WorkerStartFailed` if it exits before Ready. Returns normally once a running
        worker has gone, whatever the reason. When cancelled, asks the worker to shut down in
        order and waits for it (shielded, bounded), killing it if it does not stop.
        """
        parent, child = socket.socketpair()
        try:
            env = {**os.environ, **self.env} if self.env else None
            self.process = await trio.lowlevel.open_process(
                worker_command(self.args, child.fileno(), self.python),
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self.stderr,
                stderr=self.stderr,
                env=env,
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(parent))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write_loop, stream)
                await self._read_loop(stream, task_status)
                nursery.cancel_scope.cancel()
        finally:
            self._close()
            with trio.CancelScope(shield=True):
                await self._stop_process(stream)
        if self.ready is None:
            why = f": {self.start_error}" if self.start_error else ""
            raise WorkerStartFailed(
                f"{self.name} exited with {self.exit_code} before it was ready{why}"
            )

    async def _stop_process(self, stream: trio.SocketStream) -> None:
        proc = self.process
        assert proc is not None
        if proc.returncode is None:
            try:
                await stream.send_all(p.encode(p.Shutdown(id=0)))
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
            with trio.move_on_after(SHUTDOWN_GRACE):
                await proc.wait()
            if proc.returncode is None:
                log.warning("%s (pid %d) did not stop; killing it", self.name, proc.pid)
                self.kill()
        await proc.wait()
        self.exit_code = proc.returncode
        await stream.aclose()

    async def _write_loop(self, stream: trio.SocketStream) -> None:
        try:
            async for command in self._outbox:
                batch = [p.encode(command)]
                while True:
                    try:
                        batch.append(p.encode(self._outbox.receive_nowait()))
                    except trio.WouldBlock:
                        break
                await stream.send_all(b"".join(batch))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            log.info("%s: send failed: %s", self.name, exc)

    async def _read_loop(
        self, stream: trio.SocketStream, task_status: trio.TaskStatus[p.Ready]
    ) -> None:
        reader = p.FrameReader()
        while True:
            try:
                data = await stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                log.info("%s: receive failed: %s", self.name, exc)
                return
            if not data:
                return
            try:
                for body in reader.feed(data):
                    self._dispatch(p.decode_event(body), task_status)
                if reader.broken is not None:
                    raise reader.broken
            except p.ProtocolError as exc:
                log.error("%s sent garbage (%s); killing it", self.name, exc)
                self.kill()
                return

    def _dispatch(self, event: p.Msg, task_status: trio.TaskStatus[p.Ready]) -> None:
        if isinstance(event, p.Ready):
            if self.ready is None:
                self.ready = event
                task_status.started(event)
            return
        if isinstance(event, (p.Done, p.Failed, p.StatsReply)) and event.id:
            pending = self._pending.pop(event.id, None)
            if pending is not None:
                pending.reply = event
                pending.done.set()
                if pending.on_reply is not None and not isinstance(event, p.Failed):
                    self._safely(pending.on_reply, event)
                return
            if isinstance(event, p.Failed):
                log.warning("%s: command %d failed: %s", self.name, event.id, event.message)
            return
        if isinstance(event, p.Failed):
            log.error("%s: %s: %s", self.name, event.code, event.message)
            if event.code == "start-failed":
                self.start_error = event.message
        self._safely(self.on_event, event)

    def _safely(self, fn: Callable[[p.Msg], None], event: p.Msg) -> None:
        try:
            fn(event)
        except Exception:  # noqa: BLE001 - a faulty handler must not kill the link
            log.exception("%s: handler failed on %s", self.name, event)

    def _close(self) -> None:
        """The worker is gone: nothing more will be answered."""
        self.closed = True
        self._send.close()
        for pending in self._pending.values():
            pending.done.set()
