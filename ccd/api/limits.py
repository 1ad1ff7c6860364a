"""Per-connection request rate limit: a token bucket, with `now` passed in (no clock, no I/O)."""

from __future__ import annotations


class TokenBucket:
    """Allows bursts of `burst` requests and `rate` requests per second on average.

    The bucket starts full. Each request takes one token; tokens come back at `rate` per second
    up to `burst`. `refused_in_a_row` counts refusals since the last allowed request, which the
    server uses to tell a burst that went slightly over from a flood.
    """

    def __init__(self, rate: float, burst: int, now: float) -> None:
        """rate: tokens per second (> 0). burst: bucket size (>= 1). now: the current time."""
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = now
        self.refused_in_a_row = 0

    def tokens(self, now: float) -> float:
        """Tokens available at `now` (fractional)."""
        return min(self.burst, self._tokens + (now - self._updated) * self.rate)

    def take(self, now: float) -> bool:
        """Take one token at time `now`; False (and nothing taken) when the bucket is empty."""
        self._tokens = self.tokens(now)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False
