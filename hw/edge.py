"""The SIP edge: Kamailio started and supervised by the daemon, in front of the media workers.

`KamailioEdge.run` writes the config (hw/kamailio.py) from what it is given at each start, starts
`kamailio -DD -E` in the foreground as a child that dies with the daemon (PR_SET_PDEATHSIG),
waits until it answers on its JSON-RPC socket, reports started, and restarts it with back-off
whenever it exits. Kamailio's log goes to `<run_dir>/kamailio.log`.

`end_dialogs(call_ids)` asks Kamailio to end the dialogs of calls whose worker died: the dialog
module sends a BYE to the caller (and to the dead worker, which nobody answers).
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import trio

from hw.base import DriverFault
from hw.kamailio import KamailioConfig, WorkerAddress, write

log = logging.getLogger("hw.edge")

PR_SET_PDEATHSIG = 1
STABLE_UPTIME = 30.0  # an edge that ran this long resets the restart back-off
UNIX_PATH_MAX = 100  # sun_path is 108 bytes; keep a margin


class EdgeFault(DriverFault):
    """The edge could not be started or did not answer."""

    error_id = "sip-edge-fault"


def kamailio_path() -> str | None:
    """Debian's kamailio binary, or None when it is not installed."""
    return shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if os.access("/usr/sbin/kamailio", os.X_OK) else None)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def socket_path(directory: Path, name: str) -> Path:
    """`directory/name`, or a short path under the temp folder when that is too long for a
    Unix socket (pytest's folders can be)."""
    path = directory / name
    if len(str(path)) <= UNIX_PATH_MAX:
        return path
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"ccd-{digest}-{name}"


@dataclass
class EdgeSettings:
    """What the edge is started with; see KamailioConfig for the meaning of each."""

    listen: str
    port: int
    allowed_peers: Sequence[str] = ()
    tcp: bool = True
    max_new_calls_per_second: int = 0
    retry_after_s: int = 10
    pike_requests: int = 400
    children: int = 2
    log_level: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class KamailioEdge:
    """Kamailio in front of the workers.

    `settings`: the public side; `workers`: called at every start for the workers' addresses
    (their ports are known once they run); `run_dir`: config, log and sockets;
    `restart_delay`/`max_restart_delay`: back-off between restarts; `executable`: kamailio.
    """

    def __init__(
        self,
        settings: EdgeSettings,
        workers: Callable[[], Sequence[WorkerAddress]],
        run_dir: Path,
        *,
        restart_delay: float = 0.5,
        max_restart_delay: float = 10.0,
        executable: str | None = None,
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.run_dir = run_dir
        self.config_dir = run_dir / "edge"
        self.rpc_socket = socket_path(run_dir, "edge-rpc.sock")
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay
        self.executable = executable or kamailio_path()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.started_at = 0.0
        self.last_exit: int | None = None
        self.dialogs_ended = 0
        self._log_offset = 0
        self._ids = itertools.count(1)
        self._rpc_lock = trio.Lock()
        self._changed = trio.Event()

    @property
    def uri(self) -> str:
        return f"sip:{self.settings.listen}:{self.settings.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def statistics(self) -> dict[str, Any]:
        return {
            "kind": "kamailio",
            "address": f"{self.settings.listen}:{self.settings.port}",
            "alive": self.alive,
            "pid": self.process.pid if self.alive and self.process else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "dialogs_ended": self.dialogs_ended,
            "config": str(self.config_dir / "kamailio.cfg"),
            "log": str(self.run_dir / "kamailio.log"),
        }

    def config(self) -> KamailioConfig:
        s = self.settings
        loopback = s.listen.startswith("127.")
        return KamailioConfig(
            workers=list(self.workers()),
            listen=s.listen,
            port=s.port,
            tcp=s.tcp,
            allowed_peers=list(s.allowed_peers),
            internal_listen="" if loopback else "127.0.0.1",
            children=s.children,
            max_new_calls_per_second=s.max_new_calls_per_second,
            retry_after_s=s.retry_after_s,
            pike_requests=s.pike_requests,
            rpc_socket=str(self.rpc_socket),
            log_level=s.log_level,
            **s.extra,
        )

    # --- service -----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start Kamailio, report started once it answers, restart it whenever it exits.

        Raises EdgeFault if it cannot start the first time (not installed, port taken, a config
        it refuses): a configuration error that a restart does not fix."""
        if self.executable is None:
            raise EdgeFault("sip.edge is 'kamailio' but kamailio is not installed "
                            "(apt-get install kamailio, or set sip.edge = \"none\")")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        delay = self.restart_delay
        first = True
        log_file = await trio.to_thread.run_sync(open, self.run_dir / "kamailio.log", "ab")
        try:
            while True:
                await self._run_once(log_file, task_status if first else None)
                if first:
                    first = False
                log.warning("SIP edge (kamailio) exited with %s; restarting in %.1f s",
                            self.last_exit, delay)
                if trio.current_time() - self.started_at > STABLE_UPTIME:
                    delay = self.restart_delay
                await trio.sleep(delay)
                delay = min(delay * 2, self.max_restart_delay)
                self.restarts += 1
        finally:
            log_file.close()

    async def _run_once(self, log_file: IO[bytes],
                        task_status: trio.TaskStatus[None] | None) -> None:
        cfg = write(self.config(), self.config_dir)
        self.rpc_socket.unlink(missing_ok=True)  # a stale one from a killed run
        assert self.executable is not None
        argv = [self.executable, "-DD", "-E", "-f", str(cfg), "-Y", str(self.config_dir),
                "-m", "64", "-M", "8"]
        log_file.flush()
        self._log_offset = log_file.tell()
        # Popen on this (trio's) thread: PR_SET_PDEATHSIG fires when the *thread* that forked
        # the child ends, and trio's open_process forks on a short-lived worker thread.
        process = subprocess.Popen(  # noqa: ASYNC220 - fork+exec only; waiting is below
            argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
            preexec_fn=_die_with_parent, process_group=0,
        )
        self.process = process
        self.started_at = trio.current_time()
        try:
            if task_status is not None:
                await self._wait_answering(process)
                log.info("SIP edge (kamailio, pid %d) answering at %s", process.pid, self.uri)
                task_status.started()
            else:
                with trio.move_on_after(10):
                    await self._wait_answering(process)
                log.info("SIP edge restarted (pid %d)", process.pid)
            self._notify()
            await trio.to_thread.run_sync(process.wait, abandon_on_cancel=True)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                with trio.CancelScope(shield=True):
                    with trio.move_on_after(5):
                        await trio.to_thread.run_sync(process.wait, abandon_on_cancel=True)
                if process.poll() is None:
                    process.kill()
                    process.wait()
            self.last_exit = process.returncode
            # Kamailio's own children outlive a main process killed with SIGKILL and keep the
            # ports; they share its process group.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._notify()

    async def _wait_answering(self, process: subprocess.Popen[bytes]) -> None:
        with trio.move_on_after(15):
            while process.poll() is None:
                try:
                    await self.rpc("core.uptime", timeout=0.5)
                    return
                except EdgeFault:
                    await trio.sleep(0.05)
        with open(self.run_dir / "kamailio.log", "rb") as handle:  # noqa: ASYNC230 - start-up
            handle.seek(self._log_offset)
            text = handle.read().decode(errors="replace")
        errors = [line.strip() for line in text.splitlines() if "ERROR" in line]
        why = "\n".join(errors[:5]) or text[-1500:]
        raise EdgeFault(f"kamailio did not start (exit {process.returncode}; log "
                        f"{self.run_dir / 'kamailio.log'}):\n{why}")

    async def wait_restarted(self, restarts: int) -> None:
        """Wait until the edge has been restarted `restarts` times and answers again."""
        while not (self.restarts >= restarts and self.alive):
            await self._changed.wait()
        while True:
            try:
                await self.rpc("core.uptime", timeout=0.5)
                return
            except EdgeFault:
                await trio.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to Kamailio's main process (tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # --- JSON-RPC ----------------------------------------------------------------------------

    async def rpc(self, method: str, *params: Any, timeout: float = 2.0) -> Any:  # noqa: ASYNC109
        """Call a Kamailio RPC command; returns its `result`. Raises EdgeFault on no answer or
        an error reply."""
        request = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params),
                              "id": next(self._ids)}).encode()
        async with self._rpc_lock:
            reply_path = socket_path(self.run_dir, f"edge-cli-{os.getpid()}.sock")
            sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_DGRAM)
            with sock:
                if reply_path.exists():
                    reply_path.unlink()
                await sock.bind(str(reply_path))
                data: bytes | None = None
                try:
                    with trio.move_on_after(timeout):
                        await sock.sendto(request, str(self.rpc_socket))
                        data = await sock.recv(1 << 20)
                except OSError as exc:
                    raise EdgeFault(f"kamailio RPC {method}: {exc}") from None
                finally:
                    reply_path.unlink(missing_ok=True)
        if data is None:
            raise EdgeFault(f"kamailio did not answer {method} in {timeout} s")
        reply = json.loads(data)
        if "error" in reply:
            raise EdgeFault(f"kamailio RPC {method}: {reply['error']}")
        return reply.get("result")

    async def end_dialogs(self, call_ids: Sequence[str]) -> int:
        """End the dialogs of these calls (BYE to both sides); returns how many were ended."""
        ended = 0
        for call_id in call_ids:
            try:
                found = await self.rpc("dlg.dlg_list", call_id)
            except EdgeFault as exc:
                log.warning("edge: cannot look up dialog %s: %s", call_id, exc)
                continue
            for dialog in _dialogs(found):
                try:
                    await self.rpc("dlg.end_dlg", dialog["h_entry"], dialog["h_id"])
                    ended += 1
                except (EdgeFault, KeyError) as exc:
                    log.warning("edge: cannot end dialog %s: %s", call_id, exc)
        self.dialogs_ended += ended
        return ended

    async def worker_down(self, uri: str) -> None:
        """Stop sending new calls to the worker at `uri` until an OPTIONS probe finds it up
        again (a dead worker would otherwise cost each new call the INVITE time-out)."""
        try:
            await self.rpc("dispatcher.set_state", "ip", 1, uri)
        except EdgeFault as exc:
            log.warning("edge: cannot mark %s down: %s", uri, exc)

    async def worker_up(self, uri: str) -> None:
        """The worker at `uri` was restarted: send it calls again without waiting for a probe."""
        try:
            await self.rpc("dispatcher.set_state", "a", 1, uri)
        except EdgeFault as exc:
            log.warning("edge: cannot mark %s up: %s", uri, exc)

    async def active_dialogs(self) -> int:
        result = await self.rpc("dlg.stats_active")
        return int(result.get("all", 0)) if isinstance(result, dict) else 0


def _dialogs(result: Any) -> list[dict[str, Any]]:
    """dlg.dlg_list's result: one dialog object, a list of them, or {} for none."""
    if isinstance(result, list):
        return [d for d in result if isinstance(d, dict) and "h_entry" in d]
    if isinstance(result, dict) and "h_entry" in result:
        return [result]
    return []
