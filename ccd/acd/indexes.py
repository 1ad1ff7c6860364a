"""Sorted indexes that keep one routing decision cheap: no scan of all agents or all callers.

Waiting callers are kept per (queue, overflow stage), sorted by `CallKey`; ready agents per
(queue, skill level index), sorted by the queue strategy's `AgentKey`. Picking a caller for an
agent looks only at the heads of the agent's queues; picking an agent for a caller looks only at
the heads of the caller's queue (round robin bisects once). Inserting and removing are a bisect and
a list memmove, which for thousands of entries costs microseconds.
"""

from __future__ import annotations

import bisect
import math
from typing import Generic, TypeVar

from ccd.acd.model import AgentConfig, Strategy

# (0 for VIP else 1, effective enter time, sequence number, call id): smaller is served first.
CallKey = tuple[int, float, int, str]
# (primary, secondary, login order, agent id): smaller is chosen first.
AgentKey = tuple[float, float, int, str]

K = TypeVar("K", CallKey, AgentKey)


class SortedKeys(Generic[K]):
    """A sorted list of unique keys."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[K] = []

    def add(self, key: K) -> None:
        bisect.insort(self.items, key)

    def remove(self, key: K) -> None:
        i = bisect.bisect_left(self.items, key)
        if i == len(self.items) or self.items[i] != key:
            raise KeyError(key)
        del self.items[i]

    def first(self) -> K | None:
        return self.items[0] if self.items else None

    def rank(self, key: K) -> int:
        """How many keys sort before `key`."""
        return bisect.bisect_left(self.items, key)

    def __len__(self) -> int:
        return len(self.items)


def first_from(keys: SortedKeys[AgentKey], primary: float) -> AgentKey | None:
    """The first agent key whose primary part is >= `primary` (for round robin)."""
    i = bisect.bisect_left(keys.items, (primary, -math.inf, -1, ""))
    return keys.items[i] if i < len(keys.items) else None


def meets(agent: AgentConfig, requirement: dict[str, int]) -> bool:
    """Does the agent have every skill of the requirement at its minimum level or above?"""
    skills = agent.skills
    return all(skills.get(skill, 0) >= level for skill, level in requirement.items())


def skill_score(agent: AgentConfig, requirement: dict[str, int]) -> int:
    """The agent's level in the requirement's skills: the lowest of them (0 if none required)."""
    if not requirement:
        return 0
    return min(agent.skills.get(skill, 0) for skill in requirement)


def agent_key(
    strategy: Strategy, order: int, agent: str, ready_since: float, calls: int, score: int
) -> AgentKey:
    """The sort key of a ready agent in a queue with this strategy."""
    if strategy is Strategy.LONGEST_IDLE:
        return (ready_since, 0.0, order, agent)
    if strategy is Strategy.FEWEST_CALLS:
        return (float(calls), ready_since, order, agent)
    if strategy is Strategy.BEST_SKILL:
        return (float(-score), ready_since, order, agent)
    return (float(order), 0.0, order, agent)  # round robin, ring all: configured order
