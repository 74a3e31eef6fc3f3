"""When the link to the cloud tries again, and when a refusal means "pair again" (pure; ``now`` passed in).

* :func:`backoff` is the delay generator between reconnects — a fresh one after every good connection.
* :class:`Refusals` decides when the cloud's 401/403 at the handshake means the token is gone for good.
  One refusal does not: a cloud being redeployed, a proxy in front of it restarting, a database restored
  from last night's copy can each refuse a good token for a while (issue 20: a single 401 stopped the
  link for good). So a refusal is believed only when it holds — :data:`REVOKED_AFTER_TRIES` refusals in
  a row over at least :data:`REVOKED_AFTER` — or when the cloud said so first: it closes a revoked agent's
  live connection with :data:`REVOKED_CLOSE_CODE` (``cloud_app/agents/relay.py``, ``disconnect``) and the
  next handshake is refused.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

INITIAL_DELAY = 1.0
MAX_DELAY = 60.0
REVOKED_CLOSE_CODE = 4001  # the cloud's "token revoked" close (cloud_app/agents/relay.py)
REVOKED_AFTER_TRIES = 5
REVOKED_AFTER = timedelta(minutes=10)


def backoff(
    initial: float = INITIAL_DELAY,
    factor: float = 2.0,
    maximum: float = MAX_DELAY,
    jitter: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Seconds to wait before each next try: ``initial``, then ×``factor`` up to ``maximum``, each ±50 %
    (so many agents cut off at once do not all come back in the same second)."""
    delay = initial
    while True:
        yield delay * (0.5 + jitter())
        delay = min(delay * factor, maximum)


@dataclass
class Refusals:
    tries: int = REVOKED_AFTER_TRIES
    span: timedelta = REVOKED_AFTER
    count: int = 0
    first: datetime | None = None
    told_revoked: bool = False  # the cloud closed our connection as revoked

    def closed_as_revoked(self) -> None:
        self.told_revoked = True

    def connected(self) -> None:
        self.count, self.first, self.told_revoked = 0, None, False

    def refused(self, now: datetime) -> bool:
        """A 401/403 at the handshake; True when that means the token is revoked."""
        self.count += 1
        if self.first is None:
            self.first = now
        return self.told_revoked or (self.count >= self.tries and now - self.first >= self.span)
