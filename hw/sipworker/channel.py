"""`SipChannel`: one SIP leg in a media worker, as the IVR and ACD see it (hw.base.Channel).

Every method is proxied to the worker that holds the leg. Events from the worker arrive through
`deliver()` (called by the driver in the link's reader task, never blocking); waiting methods
wake on them. When the worker dies the driver calls `lose()`: the leg ends with cause 500 and
reason 'worker-lost', like any other hang-up.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import trio

from hw import base
from hw.base import (
    Channel,
    ChannelGone,
    DriverFault,
    HangupCause,
    LegInfo,
    PromptUnplayable,
    Recording,
    SpyMode,
)
from hw.sipworker import protocol as p
from hw.sipworker.link import CommandFailed, WorkerLink, WorkerLost

log = logging.getLogger("hw.sip")

LOST_CAUSE = 500
LOST_REASON = "worker-lost"


class LegGone(ChannelGone):
    """The leg ended: `code` is the SIP cause, `reason` who ended it ('remote', 'worker-lost'...)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class WorkerFault(DriverFault):
    """The worker failed a command through no fault of ours (pjsua2 error, internal error)."""

    def __init__(self, failed: CommandFailed) -> None:
        super().__init__(str(failed))
        self.error_id = failed.code
        self.details = failed.details


class DigitBuffer:
    """Digits received on a leg and not yet consumed, with waiting by deadline (pure trio)."""

    def __init__(self) -> None:
        self._digits: deque[str] = deque()
        self._changed = trio.Event()
        self.gone: LegGone | None = None

    def __len__(self) -> int:
        return len(self._digits)

    def push(self, digit: str) -> None:
        self._digits.append(digit)
        self._wake()

    def close(self, gone: LegGone) -> None:
        self.gone = gone
        self._wake()

    def peek(self) -> str | None:
        return self._digits[0] if self._digits else None

    def remove_last(self, digit: str) -> None:
        """Forget the most recent `digit` (one that ended a recording, say)."""
        for i in range(len(self._digits) - 1, -1, -1):
            if self._digits[i] == digit:
                del self._digits[i]
                return

    def clear(self) -> None:
        self._digits.clear()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_digit(self, deadline: float) -> str | None:
        """The next digit, or None at `deadline` (trio time). Raises LegGone once the leg ended
        and nothing is left to read."""
        while not self._digits:
            if self.gone is not None:
                raise self.gone
            changed = self._changed
            with trio.move_on_at(deadline):
                await changed.wait()
            if not self._digits and trio.current_time() >= deadline:
                return None
        return self._digits.popleft()

    async def collect(
        self,
        max_digits: int,
        timeout: float,  # noqa: ASYNC109 - the Channel interface's own time-outs
        inter_digit_timeout: float,
        terminator: str,
    ) -> str:
        """Up to `max_digits` digits: `timeout` for the first, `inter_digit_timeout` between the
        next ones; `terminator` (not returned) ends early. '' when nothing came in time."""
        got = ""
        deadline = trio.current_time() + timeout
        while len(got) < max_digits:
            digit = await self.wait_digit(deadline)
            if digit is None:
                break
            if terminator and digit in terminator:
                break
            got += digit
            deadline = trio.current_time() + inter_digit_timeout
        return got


class _Completion:
    """Waits for the event that ends a long operation (PlayDone, RecordDone)."""

    def __init__(self) -> None:
        self.done = trio.Event()
        self.event: p.PlayDone | p.RecordDone | None = None


class SipChannel(Channel):
    """A leg in worker `link`. Built by the driver; `info.extra` holds 'source', 'worker'..."""

    def __init__(self, link: WorkerLink, leg: int, info: LegInfo, worker_index: int = 0) -> None:
        self.link = link
        self.leg = leg
        self.info = info
        self.worker_index = worker_index
        self.state = "ringing" if info.direction == "in" else "calling"
        self.digits = DigitBuffer()
        self.ended: base.Hangup | None = None
        self._gone = trio.Event()
        self._answered = trio.Event()
        self._completions: dict[int, _Completion] = {}
        self._subscribers: list[trio.MemorySendChannel[base.ChannelEvent]] = []

    def __repr__(self) -> str:
        return f"<SipChannel {self.info.leg_id} {self.state}>"

    # --- events from the worker (reader task; never blocks) -----------------------------------

    def deliver(self, event: p.Msg) -> None:
        if isinstance(event, p.Digit):
            self.digits.push(event.digit)
            self._publish(base.Digit(event.digit, event.method))
        elif isinstance(event, (p.PlayDone, p.RecordDone)):
            completion = self._completions.get(event.id)
            if completion is not None:
                completion.event = event
                completion.done.set()
        elif isinstance(event, p.Answered):
            if self.state != "gone":
                self.state = "up"
            self._answered.set()
            if self.info.direction == "out":  # base.Answered is about originated legs
                self._publish(base.Answered())
        elif isinstance(event, p.Hangup):
            self._end(event.cause, event.reason)

    def lose(self) -> None:
        """The worker holding this leg died: the leg has failed."""
        self._end(LOST_CAUSE, LOST_REASON)

    def _end(self, cause: int, reason: str) -> None:
        if self.ended is not None:
            return
        self.state = "gone"
        self.ended = base.Hangup(cause, reason)
        self.digits.close(LegGone(cause, reason))
        for completion in self._completions.values():
            completion.done.set()
        self._publish(self.ended)
        for send in self._subscribers:
            send.close()
        self._subscribers.clear()
        self._gone.set()
        self._answered.set()

    def _publish(self, event: base.ChannelEvent) -> None:
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(send)  # that watcher stopped listening

    # --- helpers -----------------------------------------------------------------------------

    def _gone_error(self) -> LegGone:
        assert self.ended is not None
        return LegGone(self.ended.cause, self.ended.reason)

    def _check(self) -> None:
        if self.ended is not None:
            raise self._gone_error()

    async def _request(self, command: p.Msg, stuck_after: float = 10.0) -> p.Msg:
        self._check()
        try:
            return await self.link.request(command, stuck_after=stuck_after)
        except CommandFailed as exc:
            if exc.code == "no-such-leg":
                with trio.move_on_after(2.0):
                    await self.wait_gone()
                raise (self._gone_error() if self.ended else LegGone(500, "no-such-leg")) from None
            if exc.code in ("pj-error", "internal"):
                raise WorkerFault(exc) from None
            if exc.code == "bad-wav":
                raise PromptUnplayable(exc.message) from None
            raise
        except WorkerLost:
            self.lose()
            raise self._gone_error() from None

    async def wait_gone(self) -> None:
        """Wait until the leg has ended (`ended` then says how)."""
        await self._gone.wait()

    async def wait_answered(self) -> None:
        """Wait until the far end answers (outbound legs); raises LegGone if it ends instead."""
        await self._answered.wait()
        self._check()

    async def _run_until_done(self, command: p.Msg, stop: p.Msg) -> p.PlayDone | p.RecordDone:
        """Start a long operation and wait for its end event; stop it if we are cancelled."""
        cmd_id = command.id  # type: ignore[attr-defined]
        completion = self._completions[cmd_id] = _Completion()
        finished = False
        try:
            await self._request(command)
            await completion.done.wait()
            finished = True
        finally:
            self._completions.pop(cmd_id, None)
            if not finished and self.ended is None:
                self.link.send_nowait(stop)
        if completion.event is None:
            raise self._gone_error()
        return completion.event

    # --- Channel -----------------------------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    async def answer(self) -> None:
        await self._request(p.Answer(id=self.link.next_id(), leg=self.leg))
        if self.ended is None:
            self.state = "up"

    async def ring(self) -> None:
        """Send 180 Ringing without answering."""
        await self._request(p.Answer(id=self.link.next_id(), leg=self.leg, code=180))

    async def hangup(self, cause: int = HangupCause.NORMAL) -> None:
        if self.ended is not None:
            return
        try:
            await self.link.request(p.HangupLeg(id=self.link.next_id(), leg=self.leg, cause=cause))
        except (CommandFailed, WorkerLost) as exc:
            log.info("hangup of %s: %s", self, exc)
        with trio.move_on_after(5.0):
            await self.wait_gone()

    def hangup_nowait(self, cause: int = HangupCause.NORMAL) -> None:
        """Ask for a hang-up without waiting (for cleanup paths that cannot await)."""
        if self.ended is None:
            self.link.send_nowait(p.HangupLeg(id=self.link.next_id(), leg=self.leg, cause=cause))

    async def play(self, prompts: Sequence[Path], barge_in: bool = True) -> str | None:
        """Play the files in order; with `barge_in`, a digit already typed or typed during the
        prompts stops them and is returned (left in the buffer for `collect`)."""
        self._check()
        if barge_in and self.digits.peek() is not None:
            return self.digits.peek()
        cmd_id = self.link.next_id()
        files = [_absolute(f) for f in prompts]
        done = await self._run_until_done(
            p.Play(id=cmd_id, leg=self.leg, files=files, barge_in=barge_in),
            p.StopPlay(id=self.link.next_id(), leg=self.leg),
        )
        assert isinstance(done, p.PlayDone)
        if done.reason == "hangup":
            with trio.move_on_after(2.0):
                await self.wait_gone()
            raise self._gone_error() if self.ended else LegGone(200, "hangup")
        return (done.digit or None) if done.reason == "digit" else None

    async def start_play(self, prompts: Sequence[Path], loop: bool = True) -> None:
        """Start playing (looped by default) and return at once; `stop_play` ends it."""
        files = [_absolute(f) for f in prompts]
        await self._request(p.Play(id=self.link.next_id(), leg=self.leg, files=files, loop=loop))

    async def stop_play(self) -> None:
        await self._request(p.StopPlay(id=self.link.next_id(), leg=self.leg))

    async def collect(
        self,
        max_digits: int,
        timeout: float,  # noqa: ASYNC109 - hw.base.Channel's signature
        inter_digit_timeout: float = 3.0,
        terminator: str = "#",
    ) -> str:
        return await self.digits.collect(max_digits, timeout, inter_digit_timeout, terminator)

    async def record(
        self, path: Path, max_seconds: float, silence_seconds: float = 5.0, stop_digits: str = "#"
    ) -> Recording:
        """Record what the caller says into `path` (8 kHz mono 16-bit WAV). A hang-up ends the
        recording (ended_by 'hangup') and still returns it: the file is complete."""
        cmd_id = self.link.next_id()
        done = await self._run_until_done(
            p.Record(
                id=cmd_id,
                leg=self.leg,
                path=_absolute(path),
                max_seconds=max_seconds,
                silence_seconds=silence_seconds,
                stop_digits=stop_digits,
            ),
            p.StopRecord(id=self.link.next_id(), leg=self.leg),
        )
        assert isinstance(done, p.RecordDone)
        if done.reason == "digit" and done.digit:
            self.digits.remove_last(done.digit)
        return Recording(Path(done.path), done.seconds, done.reason, done.digit)

    async def start_record(self, path: Path, include_peers: bool = False) -> int:
        """Start recording and return at once (call recording); `stop_record` ends it.

        With `include_peers`, what is sent to this leg from bridged legs is mixed in.
        Returns the command id that the final RecordDone carries."""
        cmd_id = self.link.next_id()
        await self._request(
            p.Record(id=cmd_id, leg=self.leg, path=_absolute(path), include_peers=include_peers)
        )
        return cmd_id

    async def stop_record(self) -> None:
        await self._request(p.StopRecord(id=self.link.next_id(), leg=self.leg))

    async def send_dtmf(self, digits: str, method: str = "rfc4733") -> None:
        """Send digits by RFC 4733 ('rfc4733') or SIP INFO ('info'); returns once sent."""
        await self._request(
            p.SendDtmf(id=self.link.next_id(), leg=self.leg, digits=digits, method=method),
            stuck_after=5.0 + 0.4 * len(digits),
        )

    def _peer(self, other: Channel) -> SipChannel:
        if not isinstance(other, SipChannel):
            raise TypeError(f"cannot connect a SIP leg with {type(other).__name__}")
        if other.link is not self.link:
            raise ValueError(
                f"{self.info.leg_id} and {other.info.leg_id} are in different workers; "
                "originate the second leg with near= the first"
            )
        return other

    async def bridge(self, other: Channel) -> None:
        peer = self._peer(other)
        peer._check()
        await self._request(p.Bridge(id=self.link.next_id(), a=self.leg, b=peer.leg))

    async def unbridge(self, other: Channel) -> None:
        peer = self._peer(other)
        await self._request(p.Unbridge(id=self.link.next_id(), a=self.leg, b=peer.leg))

    async def hold(self, music: Path | None = None) -> None:
        path = _absolute(music) if music else ""
        await self._request(p.Hold(id=self.link.next_id(), leg=self.leg, music=path))

    async def unhold(self) -> None:
        await self._request(p.Unhold(id=self.link.next_id(), leg=self.leg))

    async def spy(self, supervisor: Channel, agent: Channel, mode: SpyMode) -> None:
        sup, agt = self._peer(supervisor), self._peer(agent)
        await self._request(
            p.Spy(
                id=self.link.next_id(),
                caller=self.leg,
                agent=agt.leg,
                supervisor=sup.leg,
                mode=SpyMode(mode).value,
            )
        )

    async def unspy(self, supervisor: Channel) -> None:
        sup = self._peer(supervisor)
        await self._request(p.Unspy(id=self.link.next_id(), supervisor=sup.leg))

    def events(self) -> AsyncIterator[base.ChannelEvent]:
        send, receive = trio.open_memory_channel[base.ChannelEvent](math.inf)
        if self.ended is not None:
            send.send_nowait(self.ended)
            send.close()
        else:
            self._subscribers.append(send)
        return _iterate(receive)


def _absolute(path: str | os.PathLike[str]) -> str:
    """The worker has its own working directory: send it absolute paths (no file access)."""
    return os.path.abspath(path)


async def _iterate(
    receive: trio.MemoryReceiveChannel[base.ChannelEvent],
) -> AsyncIterator[base.ChannelEvent]:
    async with receive:
        async for event in receive:
            yield event
