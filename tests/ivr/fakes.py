"""In-memory Channel, Driver and Services for unit tests of the IVR engine.

The fake channel keeps virtual time with trio (run the tests under MockClock): every prompt plays
for `durations.get(name, 1.0)` seconds, digits arrive when the test presses them, and a recording
"hears" a 1 kHz tone for as long as the caller is said to speak. The real SIP end-to-end tests
live with the SIP driver; these exercise the engine's logic against the Channel interface only.
"""

from __future__ import annotations

import itertools
import math
import struct
import wave
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import trio

from ccd.ivr.engine import BaseServices
from hw.base import (
    Channel,
    ChannelEvent,
    ChannelGone,
    Digit,
    Driver,
    Hangup,
    HangupCause,
    LegInfo,
    Recording,
    SpyMode,
)

_ids = itertools.count(1)


def write_tone(path: Path, seconds: float, freq: float = 1000.0, rate: int = 8000,
               amplitude: int = 8000) -> None:
    frames = int(seconds * rate)
    data = b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * freq * i / rate)))
                    for i in range(frames))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)


class FakeChannel(Channel):
    """One leg. prompts_root: the PromptStore root, to turn played paths back into names."""

    def __init__(self, caller: str = "13800138000", called: str = "96116", *,
                 prompts_root: Path | None = None, durations: Mapping[str, float] | None = None,
                 speak_seconds: float = 3.0, direction: str = "in", silent: bool = False
                 ) -> None:
        """silent: the caller says nothing when recorded (the recorder stops on silence)."""
        self.info = LegInfo(f"fake-{next(_ids)}", caller, called, direction, "fake")
        self.prompts_root = prompts_root
        self.durations = dict(durations or {})
        self.speak_seconds = speak_seconds
        self.silent = silent
        self.up = True
        self.answered = False
        self.hangup_cause: int | None = None
        self.hung_up_by: str = ""
        self.played: list[list[str]] = []
        self.collects: list[tuple[int, float, float, str]] = []
        self.recordings: list[Recording] = []
        self.bridged: list[Channel] = []
        self._digits: list[str] = []
        self._changed = trio.Event()
        self._subscribers: list[trio.MemorySendChannel[ChannelEvent]] = []

    # ------------------------------------------------------------ the test's side
    def press(self, digits: str) -> None:
        """The far end keys `digits` (all at once)."""
        self._digits.extend(digits)
        for d in digits:
            self._publish(Digit(d))
        self._poke()

    def far_end_hangs_up(self, cause: int = HangupCause.NORMAL) -> None:
        if not self.up:
            return
        self.up = False
        self.hangup_cause = cause
        self.hung_up_by = "far end"
        self._publish(Hangup(cause))
        self._close_subscribers()
        self._poke()

    async def heard(self, name: str, count: int = 1) -> None:
        """Wait until a play containing prompt `name` has started `count` times in all."""
        while sum(name in p for p in self.played) < count:
            await self._wait_change()

    def names(self) -> list[str]:
        return [n for p in self.played for n in p]

    # ------------------------------------------------------------ internals
    def _poke(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _wait_change(self) -> None:
        await self._changed.wait()

    def _check(self) -> None:
        if not self.up:
            raise ChannelGone("hangup")

    def _publish(self, event: ChannelEvent) -> None:
        for send in self._subscribers:
            try:
                send.send_nowait(event)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    def _close_subscribers(self) -> None:
        for send in self._subscribers:
            send.close()
        self._subscribers.clear()

    def _name(self, path: Path) -> str:
        if self.prompts_root is not None and path.is_relative_to(self.prompts_root):
            rel = path.relative_to(self.prompts_root)
            return "/".join(rel.with_suffix("").parts[1:])
        return path.name

    # ------------------------------------------------------------ Channel
    @property
    def is_up(self) -> bool:
        return self.up

    async def answer(self) -> None:
        self._check()
        self.answered = True

    async def hangup(self, cause: int = HangupCause.NORMAL) -> None:
        if not self.up:
            return
        self.up = False
        self.hangup_cause = cause
        self.hung_up_by = "us"
        self._close_subscribers()
        self._poke()

    async def play(self, prompts: Sequence[Path], barge_in: bool = True) -> str | None:
        self._check()
        names = [self._name(p) for p in prompts]
        self.played.append(names)
        self._poke()
        for name in names:
            if barge_in and self._digits:
                return self._digits[0]
            with trio.move_on_after(self.durations.get(name, 1.0)):
                while True:
                    await self._wait_change()
                    self._check()
                    if barge_in and self._digits:
                        return self._digits[0]
            self._check()
        return None

    async def collect(  # the Channel interface names the parameter timeout
        self, max_digits: int, timeout: float,  # noqa: ASYNC109
        inter_digit_timeout: float = 3.0, terminator: str = "#",
    ) -> str:
        self._check()
        self.collects.append((max_digits, timeout, inter_digit_timeout, terminator))
        got = ""
        while len(got) < max_digits:
            if not self._digits:
                with trio.move_on_after(inter_digit_timeout if got else timeout) as scope:
                    while not self._digits:
                        await self._wait_change()
                        self._check()
                if scope.cancelled_caught:
                    break
            digit = self._digits.pop(0)
            got += digit
            if terminator and digit == terminator:
                break
        self._check()
        return got

    async def record(self, path: Path, max_seconds: float, silence_seconds: float = 5.0,
                     stop_digits: str = "#") -> Recording:
        """The caller speaks (a 1 kHz tone) for `speak_seconds`, then presses '#'; a hang-up
        part way leaves the partial recording on disk and raises ChannelGone."""
        self._check()
        started = trio.current_time()
        with trio.move_on_after(min(self.speak_seconds, max_seconds)):
            while self.up:
                await self._wait_change()
        seconds = trio.current_time() - started
        write_tone(path, seconds, amplitude=0 if self.silent else 8000)
        self._check()
        ended_by, digit = ("digit", "#") if seconds < max_seconds else ("max", "")
        if self.silent and ended_by == "digit":
            ended_by, digit = "silence", ""
        done = Recording(path, seconds, ended_by, digit)
        self.recordings.append(done)
        return done

    async def send_dtmf(self, digits: str) -> None:
        self._check()

    async def bridge(self, other: Channel) -> None:
        self._check()
        self.bridged.append(other)

    async def unbridge(self, other: Channel) -> None:
        pass

    async def hold(self, music: Path | None = None) -> None:
        self._check()

    async def unhold(self) -> None:
        self._check()

    async def spy(self, supervisor: Channel, agent: Channel, mode: SpyMode) -> None:
        self._check()

    async def events(self) -> AsyncIterator[ChannelEvent]:  # type: ignore[override]
        if not self.up:
            return
        send, receive = trio.open_memory_channel[ChannelEvent](100)
        self._subscribers.append(send)
        async with receive:
            async for event in receive:
                yield event


class FakeDriver(Driver):
    """Places legs: each originate takes the next behaviour: ('answer', ring_seconds) gives an
    agent FakeChannel, ('busy', s) / ('no_answer', s) raise ChannelGone after s seconds."""

    name = "fake"

    def __init__(self, behaviours: Sequence[tuple[str, float]] = (("answer", 2.0),)) -> None:
        self.behaviours = list(behaviours)
        self.calls: list[dict[str, Any]] = []
        self.legs: list[FakeChannel] = []

    async def incoming(self) -> Channel:
        await trio.sleep_forever()
        raise AssertionError

    async def originate(  # the Driver interface names the parameter timeout
        self, uri: str, caller_id: str = "", timeout: float = 30.0,  # noqa: ASYNC109
        near: Channel | None = None,
    ) -> Channel:
        what, seconds = self.behaviours.pop(0) if self.behaviours else ("answer", 2.0)
        self.calls.append({"uri": uri, "caller_id": caller_id, "timeout": timeout, "near": near,
                           "what": what})
        await trio.sleep(min(seconds, timeout))
        if what == "answer" and seconds <= timeout:
            leg = FakeChannel(caller=caller_id, called=uri, direction="out")
            leg.answered = True
            self.legs.append(leg)
            return leg
        raise ChannelGone("busy" if what == "busy" else "no answer")


CUSTOMER = {"customer_id": 1, "name": "张三", "account_no": "10012345", "address": "和平路1号",
            "district_code": "0101", "district_name": "和平区", "meter_no": "M001", "vip": False,
            "blocked": False, "language": "zh", "balance_fen": 12345, "arrears_fen": 0}
OUTAGE = {"count": 1, "district_code": "0101", "area": "和平路一带", "cause": "管道抢修",
          "kind": "unplanned", "starts_at": "2026-06-01T00:00:00Z",
          "ends_at": "2026-06-01T10:00:00Z"}


class FakeServices(BaseServices):
    """Demo data in dicts; every lookup takes `lookup_seconds` of virtual time."""

    def __init__(self, lookup_seconds: float = 0.0) -> None:
        self.lookup_seconds = lookup_seconds
        self.customers_by_phone: dict[str, dict[str, Any]] = {"13800138000": dict(CUSTOMER)}
        self.customers_by_account: dict[str, dict[str, Any]] = {"10012345": dict(CUSTOMER)}
        self.bills = {"10012345": {"period": "2026-05", "amount_fen": 8650, "paid_fen": 0,
                                   "due_at": "2026-06-15", "usage": 23.0}}
        self.readings = {"10012345": {"read_at": "2026-05-20T02:00:00Z", "reading": 1234.5,
                                      "usage": 23.0}}
        self.outages_by_phone: dict[str, dict[str, Any]] = {}
        self.outages_by_district: dict[str, dict[str, Any]] = {}
        self.flags: dict[str, dict[str, Any]] = {}
        self.work_order_status = {"20260001": {"number": "20260001", "kind": "repair",
                                               "status": "dispatched",
                                               "created_at": "2026-05-30T01:00:00Z",
                                               "updated_at": "2026-05-31T06:30:00Z"}}
        self.lookups: list[tuple[str, dict[str, Any]]] = []
        self.work_orders: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self.surveys: list[dict[str, Any]] = []
        self.enqueued: list[dict[str, Any]] = []
        self.enqueue_outcome = "unavailable"
        self.fail_sources: set[str] = set()
        self.fail_work_orders = False

    async def lookup(self, source: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
        self.lookups.append((source, dict(args)))
        await trio.sleep(self.lookup_seconds)
        if source in self.fail_sources:
            raise RuntimeError(f"{source} is down")
        if source == "customer_by_phone":
            return self.customers_by_phone.get(args["phone"])
        if source == "customer_by_account":
            return self.customers_by_account.get(args["account_no"])
        if source == "last_bill":
            return self.bills.get(args["account_no"])
        if source == "last_reading":
            return self.readings.get(args["account_no"])
        if source == "outage_for_caller":
            return self.outages_by_phone.get(args["phone"])
        if source == "outages_for_district":
            return self.outages_by_district.get(args["district_code"])
        if source == "caller_flags":
            return self.flags.get(args["phone"], {"vip": False, "blocked": False,
                                                  "customer_id": None})
        if source == "work_order_status":
            return self.work_order_status.get(args["number"])
        if source == "queue_status":
            return {"waiting": 0, "agents_ready": 1, "expected_wait_s": 0}
        raise KeyError(source)

    async def create_work_order(self, kind: str, caller: str, account: str,
                                recording: Path) -> str:
        if self.fail_work_orders:
            raise RuntimeError("work orders are down")
        number = f"2026{len(self.work_orders) + 1:04d}0"
        self.work_orders.append({"kind": kind, "caller": caller, "account": account,
                                 "recording": recording, "number": number})
        return number

    async def request_callback(self, caller: str, number: str, account: str, queue: str) -> None:
        self.callbacks.append({"caller": caller, "number": number, "account": account,
                               "queue": queue})

    async def save_survey(self, caller: str, survey: str, answers: Mapping[str, str]) -> None:
        self.surveys.append({"caller": caller, "survey": survey, "answers": dict(answers)})

    async def enqueue(self, channel: Channel, queue: str, priority: int) -> str:
        self.enqueued.append({"queue": queue, "priority": priority})
        return self.enqueue_outcome
