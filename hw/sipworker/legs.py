"""One call leg inside the worker: its pjsua2 Call and the media attached to it.

A `Leg` is the worker's record; `SipCall` is the pjsua2 object. The only strong reference to a
`SipCall` is `Leg.call`, and it is dropped inside `onCallState(DISCONNECTED)` (pitfall 4) - never
inside `onIncomingCall` (pitfall 5, the destructor would reject the call).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from hw.sipworker.pjutil import guarded
from hw.sipworker.uri import request_uri, user_of

__all__ = ["DtmfJob", "Leg", "Playback", "Recording", "SipCall", "request_uri", "user_of"]

if TYPE_CHECKING:
    from hw.sipworker.worker import Worker

DTMF_METHODS = {pj.PJSUA_DTMF_METHOD_RFC2833: "rfc4733", pj.PJSUA_DTMF_METHOD_SIP_INFO: "info"}
"""pjsua2's DTMF method constants (RFC 2833/4733 = 0, SIP INFO = 1; pitfall 10) by our names."""


class SipCall(pj.Call):
    """A pjsua2 call whose callbacks are forwarded, guarded, to the worker by leg id."""

    def __init__(
        self, worker: Worker, leg_id: int, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID
    ) -> None:
        super().__init__(account, call_id)
        self._worker = worker
        self.leg_id = leg_id

    @guarded
    def onCallState(self, prm: Any) -> None:  # noqa: N802 - pjsua2 names
        self._worker.on_call_state(self)

    @guarded
    def onCallMediaState(self, prm: Any) -> None:  # noqa: N802 - pjsua2 names
        self._worker.on_call_media_state(self)

    @guarded
    def onDtmfDigit(self, prm: Any) -> None:  # noqa: N802 - pjsua2 names
        self._worker.on_dtmf(self.leg_id, str(prm.digit), DTMF_METHODS.get(prm.method, "rfc4733"))


@dataclass(eq=False)
class Playback:
    cmd_id: int
    player: Any  # pj.AudioMediaPlayer; dropped (destroyed) when playback ends
    seconds: float  # total length; 0 when looping
    loop: bool
    barge_in: bool
    ends_at: float | None = None  # set when first connected: an unconnected player does not run


@dataclass(eq=False)
class Recording:
    cmd_id: int
    path: str
    recorder: Any  # pj.AudioMediaRecorder
    started: float
    max_until: float | None
    silence_seconds: float
    stop_digits: str
    include_peers: bool
    sources: set[int] = field(default_factory=set)
    quiet_since: float | None = None
    next_level_check: float = 0.0


@dataclass(eq=False)
class DtmfJob:
    cmd_id: int
    digits: str
    method: str
    remaining: str = ""  # digits not sent yet (INFO goes one digit per request)
    started: bool = False


@dataclass(eq=False)
class Leg:
    id: int
    direction: str  # 'in' | 'out'
    call: SipCall | None
    account_key: str = ""
    state: str = "new"  # 'ringing' | 'answering' | 'calling' | 'up' | 'gone'
    audio: Any = None  # pj.AudioMedia of the active audio stream, None without media
    audio_port: int = -1  # its conference slot
    audio_index: int = -1  # its index in the call's media
    playback: Playback | None = None
    recording: Recording | None = None
    held: bool = False
    hold_music: str = ""
    refused: bool = False  # turned away by admission: the daemon never heard of it
    reported_gone: bool = False  # Hangup already sent (the Call may linger in pjsua2)
    local_reason: str = ""  # set when we hang up: 'local' | 'timeout' | 'shutdown'
    local_cause: int = 0
    answer_deadline: float | None = None
    dtmf_queue: deque[DtmfJob] = field(default_factory=deque)
    dtmf_current: DtmfJob | None = None
    dtmf_busy_until: float = 0.0
