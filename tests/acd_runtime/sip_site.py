"""A small call centre on loopback for the SIP end-to-end tests: the SIP driver, the ACD runtime
on a real SQLite site, and pjsua2 phones (each its own media-worker process) as caller, agents'
desk phones and team lead. Time is real here; waits are bounded by `fail_after`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from ccd.acd.model import AgentState
from ccd.acd.runtime import AcdRuntime
from ccd.acd.service import QueueOutcome
from ccd.acd.settings import AcdSettings
from ccd.calls import CallLog, new_call_id
from hw.sip import SipChannel, SipDriver, open_sip_driver
from hw.sipphone import SipPhone, open_phone
from tests.acd_runtime.conftest import AcdServices, start_runtime, wait_until
from tests.sip.audio import record_legs, tone_levels, write_tone
from tests.sip.conftest import driver_kwargs, free_rtp_block


def make_tones(folder: Path) -> dict[int, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {f: write_tone(folder / f"tone{f}.wav", f, 2.0) for f in (500, 700, 1000, 1100,
                                                                       1700, 2000)}


@dataclass
class Call:
    """One inbound call: the daemon's leg, the caller phone's leg, its call id and outcome."""

    leg: SipChannel
    phone: SipChannel
    call_id: str
    outcome: QueueOutcome | None = None
    done: trio.Event = field(default_factory=trio.Event)


@dataclass
class SipSite:
    driver: SipDriver
    runtime: AcdRuntime
    services: AcdServices
    nursery: trio.Nursery
    tones: dict[int, Path]
    phones: dict[str, SipPhone]
    tmp: Path

    @property
    def db(self) -> Any:
        return self.services.db

    async def call(self, queue: str, caller: str = "13800000001", **kwargs: Any) -> Call:
        """A caller phones in; the harness answers, opens the call record and queues them."""
        phone = self.phones["caller"]
        dialled: list[SipChannel] = []

        async def dial() -> None:
            dialled.append(await phone.dial(self.driver.worker_uri(0, "95598"), caller_id=caller))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(dial)
                leg = await self.driver.incoming()
                await leg.answer()
        call = Call(leg, dialled[0], new_call_id())
        log = CallLog(self.db)
        log.start(call.call_id, src=leg.caller, dst=leg.called, channel=leg.info.leg_id)

        async def serve() -> None:
            try:
                call.outcome = await self.runtime.queue_channel(
                    leg, queue, call_id=call.call_id, **kwargs
                )
            finally:
                if leg.is_up:
                    await leg.hangup()
                log.end(call.call_id, hangup_by=call.outcome.outcome if call.outcome else "")
                call.done.set()

        self.nursery.start_soon(serve)
        return call

    async def until(self, check: Callable[[], bool], seconds: float = 10.0) -> None:
        await wait_until(self.services.broker, check, seconds)

    def state(self, agent: str) -> tuple[AgentState, str | None]:
        return self.runtime.acd.agent_state(agent)

    def set_station(self, name: str, uri: str) -> None:
        self.db.execute("UPDATE stations SET uri = ? WHERE name = ?", [uri, name])

    async def record(self, legs: dict[str, SipChannel], seconds: float = 1.6) -> dict[str, Path]:
        """Record what each phone hears for `seconds`; returns the files by name."""
        return await record_legs(self.tmp, legs, seconds)


def levels(path: Path, *freqs: int, skip: float = 0.3) -> dict[float, float]:
    return tone_levels(path, [float(f) for f in freqs], skip)


@asynccontextmanager
async def sip_site(
    services: AcdServices,
    tmp: Path,
    settings: AcdSettings,
    phones: dict[str, bool],
    **runtime_kwargs: Any,
) -> AsyncIterator[SipSite]:
    """The driver, one phone per entry of `phones` (name -> auto-answer) and the runtime."""
    tones = make_tones(tmp / "tones")
    async with AsyncExitStack() as stack:
        driver = await stack.enter_async_context(open_sip_driver(**driver_kwargs()))
        opened: dict[str, SipPhone] = {}
        for name, auto in phones.items():
            opened[name] = await stack.enter_async_context(
                open_phone(rtp_port=free_rtp_block(), user=name, auto_answer=auto)
            )
        nursery = await stack.enter_async_context(trio.open_nursery())
        if settings.music == "":
            settings.music = str(tones[500])
        runtime = await start_runtime(nursery, services, settings, driver, tmp, **runtime_kwargs)
        try:
            yield SipSite(driver, runtime, services, nursery, tones, opened, tmp)
        finally:
            nursery.cancel_scope.cancel()
