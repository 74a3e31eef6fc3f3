"""The leaky bucket per portal and source address, and the per-method operating-time budget (§5, §12.6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ApiError

PLANS = {"standard": (50, 2.0), "enterprise": (250, 5.0)}  # bucket size X, drain Y per second
OPERATING_LIMIT = 480.0  # seconds of one method per app over a sliding 10 minutes


@dataclass
class Bucket:
    capacity: int
    drain: float
    level: float = 0.0
    at: float = 0.0

    def take(self, now: float) -> None:
        self.level = max(0.0, self.level - (now - self.at) * self.drain)
        self.at = now
        if self.level + 1 > self.capacity:
            raise ApiError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)
        self.level += 1


@dataclass
class Operating:
    """Ten one-minute buckets of execution seconds for one (portal, app, method)."""

    minutes: dict[int, float] = field(default_factory=dict)

    def _trim(self, now: float) -> None:
        current = int(now // 60)
        for m in [m for m in self.minutes if m <= current - 10]:
            del self.minutes[m]

    def used(self, now: float) -> float:
        self._trim(now)
        return sum(self.minutes.values())

    def reset_at(self, now: float) -> int:
        self._trim(now)
        first = min(self.minutes, default=int(now // 60))
        return (first + 10) * 60

    def check(self, now: float, limit: float) -> None:
        if self.used(now) > limit:
            raise ApiError("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)

    def add(self, now: float, seconds: float) -> None:
        minute = int(now // 60)
        self.minutes[minute] = self.minutes.get(minute, 0.0) + seconds


class Limits:
    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.operating: dict[tuple[str, str, str], Operating] = {}
        self.costs: dict[str, float] = {}  # method → seconds charged per call (tests); default: measured
        self.limit = OPERATING_LIMIT
        self.enabled = True

    def take(self, member_id: str, plan: str, address: str) -> None:
        if not self.enabled:
            return
        capacity, drain = PLANS.get(plan, PLANS["standard"])
        bucket = self.buckets.setdefault((member_id, address), Bucket(capacity, drain, 0.0, self.now()))
        bucket.take(self.now())

    def meter(self, member_id: str, caller: str, method: str) -> Operating:
        return self.operating.setdefault((member_id, caller, method), Operating())
