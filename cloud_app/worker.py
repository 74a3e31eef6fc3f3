"""One background thread that handles each portal's stored events soon after they arrive, so the event
handler can answer Bitrix24 at once. Kicks for a portal that is already waiting are merged, and the
worker lets a burst settle (``gather`` seconds) before it starts: a batch of 50 writes comes back as 50
events, and reading them in one batch call is 50 times cheaper than one by one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .supervise import Health, Supervised

log = logging.getLogger("qb_cloud.worker")


class EventWorker:
    def __init__(
        self, handle: Callable[[str], object], *, gather: float = 0.3, retry_after: float = 30.0
    ) -> None:
        """``handle`` may return a number: come back for that portal after so many seconds (it left
        events waiting on purpose). A handler that fails is tried again after ``retry_after``."""
        self.handle, self.gather, self.retry_after = handle, gather, retry_after
        self._waiting: set[str] = set()
        self._timers = 0  # come-backs scheduled by later()
        self._running: set[str] = set()  # portals being handled now (each on its own thread)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._supervised: Supervised | None = None  # the thread, started again if it dies
        self.idle = threading.Event()  # set while nothing is waiting or running (tests wait on it)
        self.idle.set()

    def kick(self, member_id: str) -> None:
        with self._lock:
            self._waiting.add(member_id)
            self.idle.clear()
            if self._supervised is None:
                self._supervised = Supervised("events", self._run).start()
        self._wake.set()

    def health(self) -> Health | None:
        """None before the first event started the thread."""
        return self._supervised.health() if self._supervised is not None else None

    def stop(self) -> None:
        if self._supervised is not None:
            self._supervised.stop_event.set()
            self._wake.set()
            self._supervised.stop()

    def later(self, member_id: str, seconds: float) -> None:
        """Come back for the portal after ``seconds`` (the worker is not idle until then)."""

        def due() -> None:
            with self._lock:
                self._timers -= 1
            self.kick(member_id)

        with self._lock:
            self._timers += 1
            self.idle.clear()
        timer = threading.Timer(seconds, due)
        timer.daemon = True
        timer.start()

    def _run(self, stop: threading.Event) -> None:
        with self._lock:
            if self._waiting:  # started again after dying: what was waiting still is
                self._wake.set()
        while not stop.is_set():
            self._wake.wait()
            if stop.is_set():
                return
            while self.gather > 0 and self._wake.is_set():  # until no kick came for `gather` seconds
                self._wake.clear()
                time.sleep(self.gather)
            self._wake.clear()
            with self._lock:
                ready = [m for m in self._waiting if m not in self._running]
                for member_id in ready:  # a portal being handled is taken again once it is done
                    self._waiting.discard(member_id)
                    self._running.add(member_id)
                    threading.Thread(
                        target=self._one, args=(member_id,), name=f"events-{member_id[:8]}", daemon=True
                    ).start()
                self._settled()

    def _one(self, member_id: str) -> None:
        """One portal's handling, on its own thread: a portal whose Bitrix24 is down (its client waits
        the outage out) holds up no other portal."""
        try:
            again = self.handle(member_id)
        except Exception:  # noqa: BLE001 - one portal's trouble must not stop the others
            log.exception("handling events of %s failed; tried again in %.0f s", member_id,
                          self.retry_after)  # fmt: skip
            again = self.retry_after
        if isinstance(again, int | float) and not isinstance(again, bool) and again > 0:
            self.later(member_id, float(again))
        with self._lock:
            self._running.discard(member_id)
            if member_id in self._waiting:
                self._wake.set()  # kicked while it ran: run it again
            self._settled()

    def _settled(self) -> None:
        """Under the lock: idle when nothing waits, runs or is due to come back."""
        if not self._waiting and not self._running and not self._timers:
            self.idle.set()
