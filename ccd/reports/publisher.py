"""The wallboard publisher inside `ccd run`: coalesced pushes on topic 'wallboard'.

    for start in _extra_services(): await nursery.start(start, daemon)   # start = serve

It keeps a LiveBoard (`daemon.wallboard`, which `wallboard.snapshot` reads), wakes when the ACD
publishes on 'acd.queue' / 'acd.agent' (or a help request or work-order timer fires), reads the
rows written since its last look, and pushes what changed: at most `publish_per_second` times a
second however many events arrived (a burst paints once), and at least every `heartbeat_s` so
boards can tell a quiet centre from a dead link. Every `resync_s` it pushes a full snapshot
instead of a delta, so a board that missed a push catches up by itself.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import trio

from ccd.reports import board as wire
from ccd.reports.live import LiveBoard
from ccd.reports.settings import WallboardSettings, settings_of, validate

log = logging.getLogger("ccd.wallboard")

TOPIC = "wallboard"
# Topics that mean "something on the board may have changed".
WAKE_TOPICS = ("acd.queue", "acd.agent", "help", "wo.timer")
RESYNC_S = 30.0


class Publisher:
    """Drives a LiveBoard and pushes on the broker; see the module docstring.

    board: the live board (loaded); broker: the daemon's broker; settings: [wallboard];
    wall_clock: Unix time (tests pass a fake one; pacing uses trio's clock).
    """

    def __init__(
        self,
        board: LiveBoard,
        broker: Any,
        settings: WallboardSettings,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.board = board
        self.broker = broker
        self.settings = settings
        self.wall_clock = wall_clock
        self.seq = 0
        self.published = 0
        self.last: wire.Wallboard | None = None
        self.last_build_s = 0.0
        # The running ACD (its core), to correct what rows left open across a restart.
        self.acd: Callable[[], Any] | None = None
        self.reconciled = False
        self.started = wall_clock()
        self._last_full = -math.inf
        self._wake = trio.Event()

    def snapshot(self) -> wire.Wallboard:
        """The board now, for `wallboard.snapshot`: rows not yet pushed are read first; `seq`
        is the last push's, so the next delta applies on top."""
        self.board.poll(self.wall_clock())
        return self.board.snapshot(self.wall_clock(), self.seq)

    def poke(self) -> None:
        """Something changed outside the ACD topics (a help request): push soon."""
        self._wake.set()

    def help_changed(self) -> None:
        self.board.help_dirty = True
        self.poke()

    def publish_now(self) -> wire.Push:
        """Read new rows, build the board, push a delta (or a full snapshot when due)."""
        started = time.perf_counter()
        now = self.wall_clock()
        self.board.poll(now)
        if not self.reconciled and self.acd is not None:
            self.reconciled = reconcile(self.board, self.acd(), now, self.started)
        self.seq += 1
        snap = self.board.snapshot(now, self.seq)
        full = self.last is None or trio.current_time() - self._last_full >= RESYNC_S
        push: wire.Push = snap if full or self.last is None else wire.delta(self.last, snap)
        if full:
            self._last_full = trio.current_time()
        self.last = snap
        self.broker.publish(TOPIC, push)
        self.published += 1
        self.last_build_s = time.perf_counter() - started
        return push

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Push until cancelled."""
        subscription = self.broker.subscribe(WAKE_TOPICS)
        task_status.started()
        try:
            while True:
                gap = 1.0 / self.settings.publish_per_second
                if subscription.closed:  # dropped as too slow (cannot happen at sane rates)
                    subscription = self.broker.subscribe(WAKE_TOPICS)
                last = trio.current_time()
                self.publish_now()
                subscription.take_all()
                self._wake = trio.Event()
                # Sleep until the next push may go out, then until something happens (or the
                # heartbeat is due): everything that arrives meanwhile goes into one push.
                await trio.sleep_until(last + gap)
                with trio.move_on_at(last + self.settings.heartbeat_s):
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(_wait_then_cancel, subscription.wait, nursery)
                        nursery.start_soon(_wait_then_cancel, self._wake.wait, nursery)
        finally:
            subscription.close()

    def statistics(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "published": self.published,
            "events_read": self.board.events_read,
            "last_build_ms": round(self.last_build_s * 1000, 2),
        }


async def _wait_then_cancel(wait: Callable[[], Any], nursery: trio.Nursery) -> None:
    await wait()
    nursery.cancel_scope.cancel()


def reconcile(board: LiveBoard, core: Any, now: float, started: float) -> bool:
    """Once the ACD runs: agents and calls that rows from before this daemon `started` (Unix
    time) leave open, but the ACD does not know, are closed on the board. True when done."""
    if core is None or not hasattr(core, "agent_state"):
        return False
    from ccd.acd.errors import NoSuchAgent

    agg = board.aggregator
    out = []
    for agent in agg.open_agents(started):
        try:
            state, _ = core.agent_state(agent)
        except NoSuchAgent:
            out.append(agent)
            continue
        if state.value == "logged_out":
            out.append(agent)
    gone = [c for c in agg.open_calls(started) if core.call_phase(c).value == "ended"]
    agg.reconcile(out, gone, now)
    if out or gone:
        log.info("wallboard: %d agents and %d calls left open before a restart closed",
                 len(out), len(gone))
    return True


def acd_targets(daemon: Any) -> dict[str, float]:
    """queue -> answered-within target (s) of the running ACD, if the daemon has one: the `[acd]`
    config may override the `queues` table's `sl_target_s`."""
    core = getattr(getattr(daemon, "acd", None), "acd", None)
    if core is None or not hasattr(core, "queue_names"):
        return {}
    return {name: float(core.queue_config(name).service_level_s) for name in core.queue_names()}


async def serve(daemon: Any, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Run the wallboard publisher for `daemon` until cancelled (sets `daemon.wallboard`)."""
    settings = settings_of(daemon.config)
    validate(settings)
    board = LiveBoard(
        daemon.db, settings, daemon.config.site.timezone, queue_targets=lambda: acd_targets(daemon)
    )
    board.load(time.time())
    publisher = Publisher(board, daemon.broker, settings)
    publisher.acd = lambda: getattr(getattr(daemon, "acd", None), "acd", None)
    publisher.started = getattr(daemon, "started_at", publisher.started)
    daemon.wallboard = publisher
    if hasattr(daemon, "status_sources"):
        daemon.status_sources["wallboard"] = publisher.statistics

    async def reload(config: Any) -> None:
        new = settings_of(config)
        validate(new)
        publisher.settings = board.settings = new
        board.timezone = config.site.timezone
        board.load(time.time())  # interval or short-abandon changes: recount from the rows
        publisher.last = None
        publisher.poke()

    if hasattr(daemon, "reload_hooks"):
        daemon.reload_hooks.append(reload)
    log.info("wallboard publisher ready (%d events today)", board.events_read)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(publisher.run)
            task_status.started(publisher)
    finally:
        if getattr(daemon, "wallboard", None) is publisher:
            daemon.wallboard = None
