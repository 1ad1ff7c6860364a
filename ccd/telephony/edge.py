"""The SIP edge of the telephony service (`[sip] edge`): how the workers and Kamailio are laid out.

With `edge = "kamailio"` the workers listen on loopback on ports the OS picks, send RTP from the
`sip.listen` host, and admit calls only from the edge; Kamailio answers on `sip.listen`. With
`edge = "none"` worker N answers on `sip.listen` port + N as before.

A worker that dies costs only its calls; `LostCalls` hands their SIP Call-IDs to the edge, which
ends their dialogs so the callers hear a BYE instead of dead air.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ccd.config import Config
from ccd.telephony.trunks import trunk_peers
from hw.edge import EdgeSettings, KamailioEdge
from hw.kamailio import WorkerAddress
from hw.sip import SipChannel, SipDriver
from hw.sipworker.admission import derive_caps

log = logging.getLogger("ccd.telephony")

EDGE_ADDRESS = "127.0.0.1"  # the edge talks to the workers over loopback
KAMAILIO_LOG_LEVELS = {"debug": 2, "info": 1, "warning": 0, "error": -1}


def uses_edge(config: Config) -> bool:
    return config.sip.edge == "kamailio"


def worker_layout(config: Config) -> dict[str, Any]:
    """SipDriver keyword arguments that depend on the edge: addresses, ports, peers."""
    host, _, port = config.sip.listen.rpartition(":")
    if not uses_edge(config):
        return dict(listen=host, public_address=config.sip.public_address, sip_port=int(port),
                    allowed_peers=config.sip.allowed_peers)
    return dict(listen=EDGE_ADDRESS, public_address=config.sip.public_address,
                media_address=host, sip_port=0, allowed_peers=[EDGE_ADDRESS])


def callers_per_worker(driver: SipDriver) -> int:
    """Callers one idle worker takes while keeping its follow-up legs: the dispatcher's
    maxload (the worker's own admission has the last word when agents talk there)."""
    legs = derive_caps(driver.max_calls, driver.max_cps).max_calls
    return max(1, (legs - driver.followup_pool) // (1 + driver.extra_legs))


def edge_load_per_worker(driver: SipDriver) -> int:
    """The dispatcher's maxload: the callers plus the overflow announcements a worker takes."""
    return callers_per_worker(driver) + driver.overflow_room


def make_edge(config: Config, driver: SipDriver) -> KamailioEdge:
    host, _, port = config.sip.listen.rpartition(":")

    def workers() -> list[WorkerAddress]:
        stats = driver.statistics()["workers"]
        assert isinstance(stats, list)
        return [WorkerAddress(EDGE_ADDRESS, int(w["sip_port"]), edge_load_per_worker(driver))
                for w in stats]

    settings = EdgeSettings(
        listen=host,
        port=int(port),
        allowed_peers=[*config.sip.allowed_peers, *trunk_peers(config)]
        if config.sip.allowed_peers else [],
        max_new_calls_per_second=config.sip.workers * config.sip.max_new_calls_per_second,
        retry_after_s=config.sip.edge_retry_after_s,
        pike_requests=2 * config.sip.edge_requests_per_source,
        log_level=KAMAILIO_LOG_LEVELS.get(config.log.level, 1),
        # One SIP process per socket: with two, a worker's 180 and 200 were now and then
        # forwarded out of order (each by its own process), which strict callers (SIPp) abort
        # on. One Kamailio process relays thousands of messages a second; a surge needs ~100.
        children=1,
    )
    return KamailioEdge(settings, workers, config.run_dir)


class LostCalls:
    """What a dead worker leaves behind, handled at the edge in one task: the worker is marked
    down (new calls go elsewhere at once, not after an INVITE time-out), then its callers'
    dialogs are ended (the edge sends them a BYE)."""

    def __init__(self, edge: KamailioEdge, driver: SipDriver) -> None:
        self.edge = edge
        self.driver = driver
        self._send, self._receive = trio.open_memory_channel[tuple[str, str]](4096)

    def lost(self, channel: SipChannel) -> None:
        """SipDriver's on_leg_lost: called for every leg of a worker that died."""
        call_id = channel.info.extra.get("call_id", "")
        if channel.info.direction == "in" and call_id:
            self._put(("call", call_id))

    def worker_lost(self, index: int) -> None:
        """SipDriver's on_worker_lost."""
        port = self.driver.statistics()["workers"][index]["sip_port"]  # type: ignore[index]
        self._put(("worker", f"sip:{EDGE_ADDRESS}:{port}"))

    def worker_ready(self, index: int) -> None:
        """SipDriver's on_worker_ready (only restarts matter: the first start precedes the
        edge)."""
        worker = self.driver.statistics()["workers"][index]  # type: ignore[index]
        if worker["restarts"]:
            self._put(("ready", f"sip:{EDGE_ADDRESS}:{worker['sip_port']}"))

    def _put(self, item: tuple[str, str]) -> None:
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            log.warning("edge: too much lost at once; %s %s not handled", *item)

    async def run(self) -> None:
        while True:
            batch = [await self._receive.receive()]
            while True:
                try:
                    batch.append(self._receive.receive_nowait())
                except trio.WouldBlock:
                    break
            for kind, uri in batch:
                if kind == "worker":
                    await self.edge.worker_down(uri)
                elif kind == "ready":
                    await self.edge.worker_up(uri)
            calls = [call_id for kind, call_id in batch if kind == "call"]
            if calls:
                ended = await self.edge.end_dialogs(calls)
                log.warning("edge: %d of %d calls lost with their worker were ended with a "
                            "BYE", ended, len(calls))
