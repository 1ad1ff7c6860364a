"""Counters for one queue in one interval, and the figures derived from them.

Conventions (the same for the wallboard and every report):

- A call is **offered** to a queue when it enters it (`enter_queue`; a transfer to a queue is a new
  offer there). Everything that happens to that offer afterwards (answer, abandon, handling) is
  counted in the interval the call was *offered* in, even if it happens in a later interval.
- **Short abandons**: callers who hang up before `short_abandon_s` are counted apart
  (`short_abandoned`) and left out of `abandoned`, the abandon rate and the service level.
- **Service level** = answered within the queue's target T / (answered + abandoned), where
  abandoned excludes short abandons. Callers who left for self-service, asked for a callback or
  reached the queue's maximum wait are not in it (they are counted apart).
- **Abandon rate** = abandoned / (offered − short abandoned).
- **ASA** (average speed of answer) = total wait of answered offers / answered.
- **AHT** (average handle time) = (talk + hold + wrap-up) / handled, where each agent's part of a
  call (answer to the end of their wrap-up) is one handled contact: a call transferred from one
  agent to another is two. Handling is counted when the wrap-up ends.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(slots=True)
class Counts:
    """Raw counters; add them up across queues or intervals with `add`."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    timed_out: int = 0
    callbacks: int = 0
    left: int = 0
    overflowed: int = 0
    transferred: int = 0
    ring_no_answer: int = 0
    wait_answered_s: float = 0.0
    wait_abandoned_s: float = 0.0
    longest_answer_wait_s: float = 0.0
    handled: int = 0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_s: float = 0.0

    def add(self, other: Counts) -> None:
        """Add `other`'s counters to these (maxima take the larger)."""
        for f in _SUMMED:
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.longest_answer_wait_s = max(self.longest_answer_wait_s, other.longest_answer_wait_s)

    def copy(self) -> Counts:
        out = Counts()
        out.add(self)
        return out


_SUMMED = tuple(f.name for f in fields(Counts) if f.name != "longest_answer_wait_s")


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class Figures:
    """What a report line shows: the counts and the derived rates (None when undefined)."""

    offered: int
    answered: int
    answered_within: int
    abandoned: int
    short_abandoned: int
    timed_out: int
    callbacks: int
    left: int
    overflowed: int
    transferred: int
    handled: int
    service_level: float | None
    abandon_rate: float | None
    asa_s: float | None
    aht_s: float | None
    avg_talk_s: float | None
    avg_hold_s: float | None
    avg_wrap_s: float | None
    longest_answer_wait_s: float


def figures(c: Counts) -> Figures:
    """The figures of `c`, by the conventions in the module docstring."""
    return Figures(
        offered=c.offered,
        answered=c.answered,
        answered_within=c.answered_within,
        abandoned=c.abandoned,
        short_abandoned=c.short_abandoned,
        timed_out=c.timed_out,
        callbacks=c.callbacks,
        left=c.left,
        overflowed=c.overflowed,
        transferred=c.transferred,
        handled=c.handled,
        service_level=_ratio(c.answered_within, c.answered + c.abandoned),
        abandon_rate=_ratio(c.abandoned, c.offered - c.short_abandoned),
        asa_s=_ratio(c.wait_answered_s, c.answered),
        aht_s=_ratio(c.talk_s + c.hold_s + c.wrap_s, c.handled),
        avg_talk_s=_ratio(c.talk_s, c.handled),
        avg_hold_s=_ratio(c.hold_s, c.handled),
        avg_wrap_s=_ratio(c.wrap_s, c.handled),
        longest_answer_wait_s=c.longest_answer_wait_s,
    )


EMPTY = figures(Counts())
