"""Time for the emulator: the wall clock, or one a test moves by hand (limits and token expiry)."""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self, start: float | None = None) -> None:
        self._fixed = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() if self._fixed is None else self._fixed

    @property
    def manual(self) -> bool:
        return self._fixed is not None

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._fixed = (self._fixed if self._fixed is not None else time.time()) + seconds
