"""A brake on wrong Web Connector passwords: one token bucket for the whole agent (pure; ``now`` passed in).

Each wrong user name or password takes a token; tokens come back one every ``refill``. While the bucket
is empty, ``authenticate`` answers ``nvu`` at once **without checking the password** — checking would let
a guesser go on at full speed, and each check costs an scrypt (about 16 MB and tens of milliseconds).

Why not make the answer slow instead: a slow answer holds a connection and a thread per guess, and the
real Web Connector gives up on a call that takes too long (contract §2: keep every answer under a few
seconds). A quick ``nvu`` ends its update at once; its next scheduled run (every minute by default) finds
the bucket refilled. The cost: while someone hammers the endpoint, the bookkeeper's own Web Connector is
refused too — a local attacker can deny service anyway, and can no longer guess quickly.

Memory is constant: two numbers, however many callers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

CAPACITY = 5  # a person mistyping the password a few times is not slowed down
REFILL = timedelta(seconds=10)  # then one try per 10 s: 360 an hour against a ~72-bit password


@dataclass
class Throttle:
    capacity: int = CAPACITY
    refill: timedelta = REFILL
    _tokens: float = field(default=float(CAPACITY), init=False, repr=False)
    _at: datetime | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.capacity)

    def _update(self, now: datetime) -> None:
        if self._at is not None and now > self._at:
            self._tokens = min(float(self.capacity), self._tokens + (now - self._at) / self.refill)
        self._at = now if self._at is None or now > self._at else self._at

    def allows(self, now: datetime) -> bool:
        """May a password be checked now?"""
        self._update(now)
        return self._tokens >= 1.0

    def failed(self, now: datetime) -> None:
        """A wrong password was given."""
        self._update(now)
        self._tokens = max(0.0, self._tokens - 1.0)

    def wait(self, now: datetime) -> timedelta:
        """How long until a password will be checked again."""
        self._update(now)
        return max(timedelta(0), (1.0 - self._tokens) * self.refill)
