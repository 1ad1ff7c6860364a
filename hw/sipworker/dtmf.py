"""Sending DTMF in order: one job at a time per leg, so RFC 4733 and SIP INFO never overtake.

`dialDtmf` (RFC 4733; pjsua2 calls it RFC 2833, method constant 0) is given one digit every
300 ms; INFO (constant 1) is one request per digit every 120 ms. A job's Done is sent
once its digits have gone out, then the next job starts.
"""

from __future__ import annotations

from collections.abc import Callable

import pjsua2 as pj

from hw.sipworker import protocol as p
from hw.sipworker.legs import Leg
from hw.sipworker.pjutil import PjFailure, pj_call

RFC4733_DIGIT_SECONDS = 0.30  # a digit lasts 200 ms plus end packets; then a 100 ms gap
INFO_DIGIT_SECONDS = 0.12
DTMF_DIGITS = set("0123456789*#ABCDabcd")


def dtmf_tick(leg: Leg, now: float, emit: Callable[[p.Msg], None]) -> None:
    """Advance the leg's DTMF queue: finish the current job when due, start the next one."""
    if now < leg.dtmf_busy_until or leg.call is None:
        return
    job = leg.dtmf_current
    if job is not None and job.started and not job.remaining:
        leg.dtmf_current = None
        emit(p.Done(id=job.cmd_id, leg=leg.id))
        job = None
    if job is None:
        if not leg.dtmf_queue:
            return
        job = leg.dtmf_current = leg.dtmf_queue.popleft()
        job.remaining = job.digits
    job.started = True
    try:
        if job.method == "rfc4733":
            # One digit at a time: dialDtmf("12") leaves only ~40 ms between the digits, and
            # under CPU load a receiver was seen to miss the second one.
            pj_call(leg.call.dialDtmf, job.remaining[0])
            leg.dtmf_busy_until = now + RFC4733_DIGIT_SECONDS
            job.remaining = job.remaining[1:]
        else:
            param = pj.CallSendDtmfParam()
            param.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
            param.digits = job.remaining[0]
            param.duration = 160
            pj_call(leg.call.sendDtmf, param)
            leg.dtmf_busy_until = now + INFO_DIGIT_SECONDS
            job.remaining = job.remaining[1:]
    except PjFailure as exc:
        leg.dtmf_current = None
        emit(p.Failed(id=job.cmd_id, code="pj-error", message=str(exc), status=exc.status))
