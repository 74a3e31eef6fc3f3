"""Stay inside Bitrix24's limits instead of bouncing off them (contract §5).

A local model of the portal's leaky bucket (we are the only client we know of, so we keep a margin), a
growing pause after ``QUERY_LIMIT_EXCEEDED``, and per-method pauses until ``operating_reset_at`` after
``OPERATION_TIME_LIMIT``. Time and sleeping are injected so tests run on the emulator's clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Pacer:
    def __init__(
        self,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        *,
        capacity: int = 50,
        drain: float = 2.0,
        margin: int = 5,
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self.capacity, self.drain, self.margin = capacity, drain, margin
        self.level = 0.0
        self.at = clock()
        self.blocked: dict[str, float] = {}  # method → until (unix time)
        self.reset_at: dict[str, float] = {}  # method → operating_reset_at from its last answer
        self.waited = 0.0
        self._lock = threading.Lock()

    def _leak(self) -> None:
        now = self.clock()
        self.level = max(0.0, self.level - (now - self.at) * self.drain)
        self.at = now

    def before(self, method: str) -> None:
        """Block until ``method`` may run and the bucket has room for one more request."""
        with self._lock:
            until = self.blocked.get(method, 0.0)
            if until > self.clock():
                self._pause(until - self.clock())
            self._leak()
            room = self.capacity - self.margin
            if self.level + 1 > room:
                self._pause((self.level + 1 - room) / self.drain)
                self._leak()
            self.level += 1

    def _pause(self, seconds: float) -> None:
        self.waited += seconds
        self.sleep(seconds)

    def limit_hit(self, attempt: int, pause: float | None = None) -> None:
        """``QUERY_LIMIT_EXCEEDED``: our model was wrong (someone else shares the bucket) — assume it full
        and pause (``pause``, else 1, 2, 4 … 30 s by ``attempt``)."""
        with self._lock:
            self._leak()
            self.level = float(self.capacity)
            self._pause(min(2.0**attempt, 30.0) if pause is None else pause)

    def operating(self, method: str, reset_at: float | None) -> None:
        """``OPERATION_TIME_LIMIT`` on ``method``: pause that method (only) until its budget resets."""
        with self._lock:
            until = reset_at or self.reset_at.get(method) or self.clock() + 60
            self.blocked[method] = max(until, self.clock() + 1)

    def note(self, method: str, time_block: dict[str, object] | None) -> None:
        reset = time_block.get("operating_reset_at") if isinstance(time_block, dict) else None
        if isinstance(reset, (int, float)):
            self.reset_at[method] = float(reset)
