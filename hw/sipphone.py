"""A scripted softphone: one media worker in phone mode, driven from trio.

Tests use it as the "real SIP phone" in its own process, and `ccd phone` can build on it. Calls
are `SipChannel`s, so a phone does everything a daemon leg does: `send_dtmf(digits, method)`
('rfc4733' or 'info'), `start_play([wav], loop=True)` while connected, `start_record(path)` /
`stop_record()` to keep what it hears, `hangup()`.

    async with open_phone(rtp_port=32000) as phone:
        call = await phone.dial("sip:95598@127.0.0.1:5060")
        await call.send_dtmf("1")
        await call.hangup()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from hw.sip import SipChannel, SipDriver


class SipPhone:
    """A softphone process. `driver` is its one-worker SipDriver in phone mode."""

    def __init__(self, driver: SipDriver) -> None:
        self.driver = driver

    @property
    def uri(self) -> str:
        """Where to reach this phone, e.g. 'sip:phone@127.0.0.1:40123'."""
        return self.driver.uri

    async def dial(
        self,
        uri: str,
        caller_id: str = "",
        timeout: float = 10.0,  # noqa: ASYNC109 - the far end's ring time, sent to the worker
    ) -> SipChannel:
        """Call `uri` from `caller_id` (user part of From); returns once answered.

        Raises hw.sip.LegGone with the SIP status when the far end refuses (403, 486, 503...).
        """
        return await self.driver.originate(uri, caller_id=caller_id, timeout=timeout)

    async def incoming(self) -> SipChannel:
        """The next call to this phone (already answered if the phone auto-answers; possibly
        already over, if the caller gave up first)."""
        return await self.driver.incoming(include_ended=True)

    async def stats(self) -> dict[str, object]:
        reply = await self.driver.worker_stats(0, objects=True)
        return {f: getattr(reply, f) for f in reply.__struct_fields__}


@asynccontextmanager
async def open_phone(
    *,
    listen: str = "127.0.0.1",
    sip_port: int = 0,
    rtp_port: int = 40000,
    rtp_span: int = 200,
    auto_answer: bool = False,
    user: str = "phone",
    max_calls: int = 8,
    log_level: str = "warning",
    log_dir: Path | None = None,
) -> AsyncIterator[SipPhone]:
    """Start a phone on `listen`:`sip_port` (0: any free port) with RTP ports
    [rtp_port, rtp_port + rtp_span); `auto_answer` answers incoming calls at once."""
    driver = SipDriver(
        name=f"phone-{user}",
        mode="phone",
        listen=listen,
        sip_port=sip_port,
        rtp_port=rtp_port,
        rtp_span=rtp_span,
        max_calls=max_calls,
        max_cps=8.0,
        extra_legs=0,
        auto_answer=auto_answer,
        user=user,
        log_level=log_level,
        log_dir=log_dir,
        restart_delay=0.2,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(driver.run)
        try:
            yield SipPhone(driver)
        finally:
            nursery.cancel_scope.cancel()
