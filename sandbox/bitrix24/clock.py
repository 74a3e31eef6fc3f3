"""Time for the emulator: the wall clock, or one a test moves by hand (limits and token expiry)."""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self, start: float | None = None) -> None:
        self._fixed = start
        self._offset = 0.0  # a running clock moved ahead by skip()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self._offset if self._fixed is None else self._fixed

    def skip(self, seconds: float) -> None:
        """Jump ahead and keep running (a benchmark's "15 minutes later"); a fixed clock just advances."""
        with self._lock:
            if self._fixed is None:
                self._offset += seconds
            else:
                self._fixed += seconds

    @property
    def manual(self) -> bool:
        return self._fixed is not None

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._fixed = (self._fixed if self._fixed is not None else time.time()) + seconds
