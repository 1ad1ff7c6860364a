"""Helpers of the console's SIP end-to-end tests: prompts, the hotline's address, desk phones,
consoles driven from trio, and recording what phones hear.

The phones (pjsua2, `hw.sipphone`) run on trio, the console (Textual) on asyncio. A
`ConsoleDriver` runs one console in a worker thread on its own asyncio loop under Pilot and lets
the trio test drive it step by step, so a scenario with several consoles and phones reads as one
script:

    async with open_console(socket, answer="console") as a:
        await a.log_in("agent1001", "seat01")
        await a.press("f2")
        await a.until(lambda app: app.state.get("state") == "ready", "ready")
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import outcome
import pytest
import trio

from hw.sip import SipChannel
from hw.sipphone import SipPhone, open_phone
from tests.agent_console.conftest import console, log_in, query, screen_text, type_text, until
from tests.conftest import shared_prompts
from tests.daemon_proc import DaemonProcess
from tests.sip.audio import PRESENT, record_legs, tone_levels, write_tone
from tests.sip.conftest import free_rtp_block
from tui.agent.app import AgentConsoleApp

T = TypeVar("T")
Step = Callable[[Any, AgentConsoleApp], Awaitable[T]]


@pytest.fixture(scope="session", name="prompts")
def prompts_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The IVR's prompts, built once per run (import `prompts_fixture` to use the fixture).

    Imported into several test modules, pytest keeps one fixture per module even at session
    scope; the folder in the run's base temp directory is what makes the build happen once."""
    return shared_prompts(tmp_path_factory)


def hotline_uri(daemon: DaemonProcess) -> str:
    line = next(x for x in daemon.stderr_lines if "answering SIP calls at" in x)
    return line.rsplit(" ", 1)[-1].strip().replace("sip:ccd@", "sip:hotline@")


async def wait_call_event(db: Path, caller: str, kind: str, node: str) -> None:
    """Wait until the call from `caller` has a `kind` call event at IVR node `node`."""
    with trio.fail_after(30):
        while True:
            rows = query(db, "SELECT e.data FROM call_events e JOIN calls c ON c.id = e.call_id "
                         "WHERE c.src = ? AND e.kind = ?", (caller, kind))
            if any(json.loads(d).get("node") == node for (d,) in rows):
                return
            await trio.sleep(0.05)


def set_station(db: Path, station: str, uri: str) -> None:
    """Point `station` at a desk phone's URI (before the daemon starts)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("UPDATE stations SET uri = ? WHERE name = ?", [uri, station])
        conn.commit()
    finally:
        conn.close()


def make_tones(folder: Path, *freqs: int) -> dict[int, Path]:
    """2-second WAV loops of each frequency, for phones to play."""
    folder.mkdir(parents=True, exist_ok=True)
    return {f: write_tone(folder / f"tone{f}.wav", f, 2.0) for f in freqs}


async def record(folder: Path, legs: dict[str, SipChannel], seconds: float = 1.6
                 ) -> dict[str, Path]:
    """Record what each phone's leg hears for `seconds` (the measuring window); the files by
    name."""
    return await record_legs(folder, legs, seconds)


async def wait_hearing(folder: Path, leg: SipChannel, freq: int, level: float = PRESENT,
                       limit_s: float = 10.0) -> None:
    """Record short stretches until `leg` hears `freq` (a bridge the daemon makes after the
    event the test saw is in place), or fail after `limit_s` seconds."""
    with trio.fail_after(limit_s):
        while True:
            (path,) = (await record(folder, {f"wait{freq}": leg}, 0.4)).values()
            if tone_levels(path, [float(freq)], skip=0.1)[float(freq)] > level:
                return


class ConsoleDriver:
    """One console (Pilot) on asyncio in a worker thread, driven from trio.

    Each step is an `async def step(pilot, app)` run on the console's loop; `do` returns its
    result (or raises its exception) in the trio test. Steps run one at a time, in order.
    """

    def __init__(self, app: AgentConsoleApp, size: tuple[int, int] = (110, 40)) -> None:
        self.app = app
        self.size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._steps: asyncio.Queue[Any] | None = None
        self._current: asyncio.Task[Any] | None = None
        self._started = trio.Event()
        self._stopping = False

    def run_in_thread(self) -> None:
        """The worker thread: the app under Pilot until `stop` (started by trio.to_thread)."""
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._steps = asyncio.Queue()
        async with self.app.run_test(size=self.size) as pilot:
            trio.from_thread.run_sync(self._started.set)
            if self._stopping:
                return
            while (item := await self._steps.get()) is not None:
                step, done = item
                self._current = asyncio.ensure_future(outcome.acapture(step, pilot, self.app))
                try:
                    result = await self._current
                except asyncio.CancelledError:
                    result = outcome.Error(RuntimeError("the console was stopped"))
                self._current = None
                trio.from_thread.run_sync(done, result)

    async def wait_started(self) -> None:
        await self._started.wait()

    async def do(self, step: Step[T]) -> T:
        """Run `step(pilot, app)` on the console's loop and return its result."""
        assert self._loop is not None and self._steps is not None
        finished = trio.Event()
        box: list[outcome.Outcome] = []

        def done(result: outcome.Outcome) -> None:
            box.append(result)
            finished.set()

        self._loop.call_soon_threadsafe(self._steps.put_nowait, (step, done))
        await finished.wait()
        return box[0].unwrap()  # type: ignore[no-any-return]

    def stop(self) -> None:
        """End the console: cancel the step in progress, then leave Pilot (any thread)."""
        self._stopping = True
        if self._loop is None or self._steps is None:
            return

        def stop_now() -> None:
            if self._current is not None:
                self._current.cancel()
            assert self._steps is not None
            self._steps.put_nowait(None)

        self._loop.call_soon_threadsafe(stop_now)

    # ------------------------------------------------------------ steps the tests use

    async def log_in(self, agent: str, station: str) -> None:
        async def step(pilot: Any, app: AgentConsoleApp) -> None:
            await log_in(pilot, app, agent, station)
        await self.do(step)

    async def press(self, *keys: str) -> None:
        async def step(pilot: Any, app: AgentConsoleApp) -> None:
            await pilot.press(*keys)
        await self.do(step)

    async def type(self, text: str) -> None:
        async def step(pilot: Any, app: AgentConsoleApp) -> None:
            await type_text(pilot, text)
        await self.do(step)

    async def until(self, check: Callable[[AgentConsoleApp], object], what: str,
                    limit_s: float = 15.0) -> None:
        """Let the console run until `check(app)` holds (AssertionError after `limit_s`)."""
        async def step(pilot: Any, app: AgentConsoleApp) -> None:
            await until(pilot, lambda: check(app), what, limit_s)
        await self.do(step)

    async def until_state(self, state: str, limit_s: float = 15.0) -> None:
        """Until the console shows the agent in `state`."""
        await self.until(lambda app: app.state.get("state") == state, state, limit_s)

    async def read(self, get: Callable[[AgentConsoleApp], T]) -> T:
        """A value read from the app on its own loop (after letting it draw)."""
        async def step(pilot: Any, app: AgentConsoleApp) -> T:
            await pilot.pause()
            return get(app)
        return await self.do(step)

    async def screen(self) -> str:
        return await self.read(screen_text)


@asynccontextmanager
async def open_console(socket: Path, **options: Any) -> AsyncIterator[ConsoleDriver]:
    """A console on the daemon at `socket` (options as for `console`), running until the block
    ends."""
    driver = ConsoleDriver(console(socket, **options))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, driver.run_in_thread)
        try:
            with trio.fail_after(20):
                await driver.wait_started()
            yield driver
        finally:
            driver.stop()


# ---------------------------------------------------------------- phones and the daemon


@asynccontextmanager
async def open_phones(**auto_answer: bool) -> AsyncIterator[dict[str, SipPhone]]:
    """pjsua2 phones by name (the user part of their URI); True: the phone auto-answers."""
    async with AsyncExitStack() as stack:
        phones = {}
        for name, auto in auto_answer.items():
            phones[name] = await stack.enter_async_context(
                open_phone(rtp_port=free_rtp_block(), user=name, auto_answer=auto))
        yield phones


@asynccontextmanager
async def running_daemon(config: Path, *overrides: str) -> AsyncIterator[DaemonProcess]:
    """The real `ccd run` on `config` (its own SIP port and RTP range), stopped at the end; a
    daemon that does not stop cleanly fails the test."""
    daemon = DaemonProcess(config, *overrides)
    await trio.to_thread.run_sync(daemon.start)
    try:
        yield daemon
    except BaseException:
        await trio.to_thread.run_sync(daemon.stop)
        raise
    code = await trio.to_thread.run_sync(daemon.stop)
    assert code == 0, daemon.output
