"""`ccd run`: the daemon, one trio program.

Start-up order: take the database lock (one daemon per database), open and migrate the database,
start each service with `nursery.start` (the socket API last, so a client that connects finds
everything ready), then tell systemd READY=1 and print the banner. SIGINT and SIGTERM cancel the
nursery (every service cleans up in its own `finally`); SIGHUP re-reads the config and hands the
new one to the services that can take it without a restart.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
import trio

import ccd
import db as database
from ccd import config as configuration
from ccd import config_reload, secrets
from ccd.calls import CallLog
from ccd.filemodes import restrict_umask, secure_site
from ccd.lock import DatabaseLock
from ccd.sdnotify import Notifier
from db import seal
from db.writer import Writer

log = logging.getLogger("ccd.daemon")

ReloadHook = Callable[[configuration.Config], Awaitable[None] | None]


@dataclass
class Daemon:
    """What the services share: the config, the database, the event broker and live numbers."""

    config: configuration.Config
    db: sqlite_utils.Database
    overrides: Sequence[str] = ()
    started_at: float = field(default_factory=time.time)
    broker: Any = None
    writer: Any = None  # db.writer.Writer: the ordered, retrying write queue
    sealer: Any = None  # db.seal.Sealer: seals each ended call record
    reload_hooks: list[ReloadHook] = field(default_factory=list)
    # Set by the services as they start (None until then, or when a service is disabled).
    call_log: Any = None
    workorders: Any = None
    telephony: Any = None
    sip: Any = None
    acd: Any = None
    wallboard: Any = None
    status_sources: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)
    version: str = ccd.__version__
    connection_count: Callable[[], int] = lambda: 0
    last_reload: dict[str, list[str]] = field(default_factory=dict)

    def status(self) -> dict[str, Any]:
        """The numbers `ccd status` shows; each service adds its own under its name."""
        db_path = self.config.database_path
        size = sum(
            p.stat().st_size
            for p in (db_path, db_path.with_name(db_path.name + "-wal"))
            if p.exists()
        )
        out: dict[str, Any] = {
            "name": self.config.site.name,
            "version": self.version,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started_at, 3),
            "connections": self.connection_count(),
            "database": str(db_path),
            "database_bytes": size,
            "socket": str(self.config.socket_path),
        }
        if self.last_reload:
            out["config_reload"] = self.last_reload
        if self.writer is not None:
            out["database_writes"] = dataclasses.asdict(self.writer.statistics())
        for name, source in self.status_sources.items():
            out[name] = source()
        return out

    async def reload(self) -> None:
        """SIGHUP: re-read the config; a bad file is logged and the running config is kept."""
        try:
            new = configuration.load(self.config.source, self.overrides)
        except ccd.errors.CcdError as e:
            log.error("reload refused, keeping the running config: %s", e)
            return
        applied, restart = config_reload.split(self.config, new)
        self.config = new
        logging.getLogger().setLevel(new.log.level.upper())
        secrets.install_log_filter(new)
        for hook in self.reload_hooks:
            result = hook(new)
            if result is not None:
                await result
        self.last_reload = {"applied": applied, "needs_restart": restart}
        log.info("config reloaded from %s: applied %s", new.source,
                 ", ".join(applied) if applied else "nothing (no setting changed)")
        if restart:
            log.warning("config: these changed settings need a restart to apply (the running "
                        "values stay until then): %s", ", ".join(restart))


def banner(config: configuration.Config) -> str:
    sip_host = config.sip.public_address or config.sip.listen
    return "\n".join(
        [
            f"ccd {ccd.__version__} — {config.site.name}",
            f"  socket:    {config.socket_path}",
            f"  database:  {config.database_path}",
            f"  SIP:       sip:hotline@{sip_host}  (try it: ccd --config {config.source} phone)"
            if config.sip.enabled else "  SIP:       off (sip.enabled = false)",
            f"  consoles:  ccd --config {config.source} agent | wallboard | status",
            "  stop:      Ctrl-C",
        ]
    )


async def _signals(daemon: Daemon, cancel: trio.CancelScope, notifier: Notifier) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async for signum in signals:
            if signum == signal.SIGHUP:
                notifier.notify("RELOADING=1")
                await daemon.reload()
                notifier.notify("READY=1")
                continue
            log.info("%s: stopping", signal.Signals(signum).name)
            notifier.notify("STOPPING=1")
            cancel.cancel()
            return


async def _watchdog(notifier: Notifier, interval: float) -> None:
    while True:
        notifier.notify("WATCHDOG=1")
        await trio.sleep(interval)


async def serve(
    config: configuration.Config,
    overrides: Sequence[str] = (),
    *,
    on_ready: Callable[[Daemon], None] | None = None,
) -> None:
    """Run the daemon until SIGINT/SIGTERM. Raises `AlreadyRunning` if the database is taken."""
    from ccd.api.broker import Broker
    from ccd.api.server import serve_api

    notifier = Notifier()
    restrict_umask()
    secure_site(config)
    with DatabaseLock(config.database_path):
        settings = config.database
        db = database.open_database(config.database_path, synchronous=settings.synchronous)
        # Migrations above may wait 5 s for the lock; from here on a statement waits briefly
        # and the write queue retries without freezing the event loop (db/writer.py).
        db.conn.execute(f"PRAGMA busy_timeout = {settings.busy_timeout_ms}")
        writer = Writer(db, max_backlog=settings.max_write_backlog)
        try:
            sealer, made = seal.open_sealer(db, config.path(settings.seal_key_file))
        except BaseException:
            db.conn.close()
            raise
        if made:
            log.warning("made a new seal key for call records: %s (back it up apart from the "
                        "database)", config.path(settings.seal_key_file))
        daemon = Daemon(
            config=config, db=db, overrides=overrides, broker=Broker(), writer=writer,
            sealer=sealer,
        )
        try:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    await nursery.start(writer.run)
                    # Calls a crash or kill cut short get their end before any new call starts.
                    closed = CallLog(db, writer, sealer).fail_open(reason="daemon-restart")
                    if closed:
                        log.warning("closed %d calls left open by the last run", closed)
                    nursery.start_soon(_signals, daemon, scope, notifier)
                    for start in _extra_services(config):
                        await nursery.start(start, daemon)
                    server = await nursery.start(serve_api, config, daemon)
                    daemon.connection_count = getattr(server, "connection_count", lambda: 0)
                    interval = notifier.watchdog_interval()
                    if interval:
                        nursery.start_soon(_watchdog, notifier, interval)
                    notifier.notify("READY=1", f"STATUS=serving on {config.socket_path}")
                    log.info("ready")
                    if on_ready is not None:
                        on_ready(daemon)
        finally:
            notifier.notify("STOPPING=1")
            notifier.close()
            db.conn.close()
            log.info("stopped")


def _extra_services(config: configuration.Config) -> list[Callable[..., Awaitable[None]]]:
    """The domain services, in start order; each is `start(daemon, *, task_status)`."""
    from ccd.reports import publisher as wallboard
    from ccd.workorders import daemon as workorders

    services: list[Callable[..., Awaitable[None]]] = [workorders.serve, wallboard.serve]
    if config.sip.enabled or config.modem or config.dialogic:
        from ccd.telephony import service as telephony

        services.append(telephony.serve)
    return services
