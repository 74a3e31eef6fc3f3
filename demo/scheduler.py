"""The Web Connector simulator on a timer: what the demo, the screenshots and the page tests run."""

from __future__ import annotations

import threading
import time

from .world import World


class Scheduler:
    """The Web Connector's auto-run: an update every ``interval`` seconds while the demo runs."""

    def __init__(self, world: World, interval: float) -> None:
        self.world, self.interval = world, interval
        self.sessions = self.round_trips = self.errors = 0
        self.last: str = "not yet"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="web-connector", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            report = self.world.web_connector_runs()
            self.sessions += 1
            self.round_trips += report.round_trips
            self.errors += report.outcome not in ("ok", "none")
            self.last = f"{time.strftime('%H:%M:%S')} {report.status}"
            # the real scheduler waits its interval; with work still queued it comes back at once
            self._stop.wait(0.2 if self.world.waiting_for_quickbooks() else self.interval)
