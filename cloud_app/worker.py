"""One background thread that handles each portal's stored events soon after they arrive, so the event
handler can answer Bitrix24 at once. Kicks for a portal that is already waiting are merged, and the
worker lets a burst settle (``gather`` seconds) before it starts: a batch of 50 writes comes back as 50
events, and reading them in one batch call is 50 times cheaper than one by one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("qb_cloud.worker")


class EventWorker:
    def __init__(self, handle: Callable[[str], object], *, gather: float = 0.3) -> None:
        self.handle, self.gather = handle, gather
        self._waiting: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()  # set while nothing is waiting or running (tests wait on it)
        self.idle.set()

    def kick(self, member_id: str) -> None:
        with self._lock:
            self._waiting.add(member_id)
            self.idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="events", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            while self.gather > 0 and self._wake.is_set():  # until no kick came for `gather` seconds
                self._wake.clear()
                time.sleep(self.gather)
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._waiting:
                        self.idle.set()
                        break
                    member_id = self._waiting.pop()
                try:
                    self.handle(member_id)
                except Exception:  # noqa: BLE001 - one portal's trouble must not stop the others
                    log.exception("handling events of %s failed; they stay for the next kick", member_id)
