"""Who may keep knocking: login throttling and audit rate limits, with `now` passed in (no I/O).

`LoginThrottle`: failures are counted per key, where a key is a user name ('user:ann') or a
peer ('uid:1000', the Unix uid behind the socket). The first `free_failures` failures cost
nothing; after that each failure doubles the wait before the next attempt of that key is even
looked at (`base_delay_s`, 2x, 4x ... up to `max_delay_s`). An attempt during the wait is refused
without checking the password (so guessing costs the guesser time, not the daemon CPU), and
does not extend the wait. A success clears the user's and the peer's counts; a key with no
failure for `forget_after_s` is forgotten (memory bound: at most `max_keys` keys, oldest out).

At the defaults (3 free failures, 1 s doubling to 5 min) an attacker guessing one user's
password gets about 3 + 12 tries in the first hour and then 12 an hour, whatever the number of
connections; per peer the same for all user names together.

`AuditLimiter`: refusals are audited (before login too), but a flood must not flood the audit
log. Each key (the peer) may write `per_key_burst` entries and then one every `1/per_key_rate`
seconds; all keys together `global_burst` and `global_rate`. A refusal not written is counted,
and the next entry written for that key carries `suppressed: n`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ccd.api.limits import TokenBucket


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        free_failures: int = 3,
        base_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        forget_after_s: float = 3600.0,
        max_keys: int = 10_000,
    ) -> None:
        self.free_failures = free_failures
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.forget_after_s = forget_after_s
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Failures] = OrderedDict()
        self.refused = 0

    def wait_s(self, keys: tuple[str, ...], now: float) -> float:
        """Seconds until an attempt for these keys will be looked at (0: now)."""
        longest = 0.0
        for key in keys:
            f = self._get(key, now)
            if f is not None:
                longest = max(longest, f.blocked_until - now)
        return max(0.0, longest)

    def check(self, keys: tuple[str, ...], now: float) -> float:
        """0 if the attempt may go ahead; else the seconds to wait (counted as refused)."""
        wait = self.wait_s(keys, now)
        if wait > 0:
            self.refused += 1
        return wait

    def failed(self, keys: tuple[str, ...], now: float) -> float:
        """Note a failed attempt; returns the wait it imposes on the next one."""
        wait = 0.0
        for key in keys:
            f = self._get(key, now) or _Failures()
            f.count += 1
            f.last = now
            over = f.count - self.free_failures
            if over > 0:
                delay = min(self.max_delay_s, self.base_delay_s * 2 ** (over - 1))
                f.blocked_until = now + delay
                wait = max(wait, delay)
            self._keys[key] = f
            self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return wait

    def succeeded(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def failures(self, key: str, now: float) -> int:
        f = self._get(key, now)
        return f.count if f is not None else 0

    def _get(self, key: str, now: float) -> _Failures | None:
        f = self._keys.get(key)
        if f is not None and now - f.last > self.forget_after_s and now >= f.blocked_until:
            del self._keys[key]
            return None
        return f


class AuditLimiter:
    def __init__(
        self,
        *,
        per_key_rate: float = 1.0,
        per_key_burst: int = 20,
        global_rate: float = 20.0,
        global_burst: int = 200,
        max_keys: int = 10_000,
        now: float = 0.0,
    ) -> None:
        self.per_key_rate = per_key_rate
        self.per_key_burst = per_key_burst
        self.max_keys = max_keys
        self._global = TokenBucket(global_rate, global_burst, now)
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._suppressed: dict[str, int] = {}
        self.suppressed_total = 0

    def admit(self, key: str, now: float) -> int | None:
        """None: do not write this entry (counted); else write it, noting this many suppressed
        before it for the same key."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.per_key_rate, self.per_key_burst, now)
            while len(self._buckets) > self.max_keys:
                old, _ = self._buckets.popitem(last=False)
                self._suppressed.pop(old, None)
        self._buckets.move_to_end(key)
        if bucket.tokens(now) < 1 or not self._global.take(now):
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            self.suppressed_total += 1
            return None
        bucket.take(now)
        return self._suppressed.pop(key, 0)
