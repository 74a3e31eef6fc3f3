"""Background workers that are started again when they die.

A worker is a function that runs until its stop event is set. If it raises — or returns while nobody
asked it to stop — the supervisor logs why, waits (1 s, doubling to a minute; back to 1 s after a worker
ran a minute without dying) and starts it again. ``/healthz`` reads :meth:`Supervised.health`: a worker
whose thread is gone, or that died three times in a row without a minute of work in between, is
reported broken, so an orchestrator restarts the whole process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("qb_cloud.supervise")

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
HEALTHY_AFTER = 60.0  # seconds a worker has to run for its earlier deaths to be forgiven
BROKEN_AFTER = 3  # deaths in a row that make /healthz say so


@dataclass(frozen=True)
class Health:
    name: str
    running: bool
    deaths: int  # in a row, without a healthy run in between
    last_error: str | None

    @property
    def ok(self) -> bool:
        return self.running and self.deaths < BROKEN_AFTER


class Supervised:
    def __init__(
        self,
        name: str,
        work: Callable[[threading.Event], object],
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``work(stop)`` runs until ``stop`` is set."""
        self.name, self.work = name, work
        self.first_delay, self.max_delay, self.monotonic = first_delay, max_delay, monotonic
        self.stop_event = threading.Event()
        self.deaths = 0
        self.restarts = 0  # in all (tests and logs)
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Supervised:
        self._thread = threading.Thread(target=self._supervise, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> Health:
        return Health(self.name, self.running or self.stop_event.is_set(), self.deaths, self.last_error)

    def _supervise(self) -> None:
        delay = self.first_delay
        while not self.stop_event.is_set():
            began = self.monotonic()
            try:
                self.work(self.stop_event)
                if self.stop_event.is_set():
                    return
                why = "it returned"
            except Exception as exc:  # noqa: BLE001 - whatever killed it, it is started again
                why = f"{type(exc).__name__}: {exc}"
                log.exception("worker %s died", self.name)
            if self.monotonic() - began >= HEALTHY_AFTER:
                self.deaths, delay = 0, self.first_delay
            self.deaths += 1
            self.restarts += 1
            self.last_error = why
            log.warning("worker %s stopped (%s); restarting in %.0f s", self.name, why, delay)
            if self.stop_event.wait(delay):
                return
            log.info("worker %s restarted (restart %d)", self.name, self.restarts)
            delay = min(self.max_delay, delay * 2)
