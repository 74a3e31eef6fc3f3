"""Failed steps that come back by themselves: a ``Failure`` with a ``retry_at`` is stored here, and the
retry worker runs each one when it is due — a deal's sync tried again (QuickBooks is asked first where the
write may have landed), a Bitrix24 edit of a customer decided again on QuickBooks' record as it is then.

One row per key (``deal:<sync_id>``, ``customer:<type>:<id>``): a later failure of the same thing moves
its time, it never queues a second try. Rows are durable, so a restart keeps every schedule. The clock is
the caller's (``Services.now``) so tests move time instead of waiting it out.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .portals import PortalStore
    from .services import Services

log = logging.getLogger("qb_cloud.retries")

EVERY = 15.0  # seconds between two looks for due retries

Handler = Callable[["Services", str, dict[str, Any], int], object]


@dataclass(frozen=True)
class Retry:
    member_id: str
    key: str
    kind: str
    due: datetime
    attempt: int  # the attempt that failed; the retry is attempt + 1
    payload: dict[str, Any]
    reason: str | None


def schedule(
    store: PortalStore,
    member_id: str,
    key: str,
    kind: str,
    due: datetime,
    *,
    attempt: int,
    payload: Mapping[str, Any],
    reason: str | None = None,
) -> None:
    with store.lock, store.db.conn:
        store.db.conn.execute(
            "INSERT OR REPLACE INTO retries (member_id, key, kind, due, attempt, payload, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (member_id, key, kind, due.timestamp(), attempt, json.dumps(dict(payload)), reason),
        )
    log.info("%s: %s comes back at %s (attempt %d failed)", member_id, key, due.isoformat(), attempt)


def cancel(store: PortalStore, member_id: str, key: str) -> None:
    with store.lock, store.db.conn:
        store.db.conn.execute("DELETE FROM retries WHERE member_id=? AND key=?", (member_id, key))


def pending(store: PortalStore, member_id: str) -> list[Retry]:
    return _rows(store, "member_id=?", (member_id,))


def scheduled(store: PortalStore, member_id: str, key: str) -> Retry | None:
    rows = _rows(store, "member_id=? AND key=?", (member_id, key))
    return rows[0] if rows else None


def due(store: PortalStore, now: datetime) -> list[Retry]:
    return _rows(store, "due <= ?", (now.timestamp(),))


def _rows(store: PortalStore, where: str, params: tuple[Any, ...]) -> list[Retry]:
    with store.lock:
        rows = store.db.conn.execute(
            f"SELECT member_id, key, kind, due, attempt, payload, reason FROM retries WHERE {where} "
            "ORDER BY due",
            params,
        ).fetchall()
    return [
        Retry(r[0], r[1], r[2], datetime.fromtimestamp(r[3], UTC), int(r[4]), json.loads(r[5]), r[6])
        for r in rows
    ]


class Retries:
    """Runs due retries: ``run_due`` once, or the supervised loop (``work``) every ``every`` seconds."""

    def __init__(self, services: Services, handlers: Mapping[str, Handler], every: float = EVERY) -> None:
        self.services, self.handlers, self._every = services, dict(handlers), every
        self._lock = threading.Lock()  # one pass at a time (the loop and a test's direct call)
        self._changed = threading.Event()

    @property
    def every(self) -> float:
        return self._every

    @every.setter
    def every(self, seconds: float) -> None:
        """A new pace takes effect at once (the loop is not left sleeping out the old one)."""
        self._every = seconds
        self._changed.set()

    def run_due(self) -> int:
        """Run every retry due by ``services.now()``; how many ran. Before its handler runs, a row is
        leased a minute ahead (a process dying in the handler leaves it to come back, not lost); a handler
        that fails again schedules anew, one that crashes is logged and its lease brings it back."""
        with self._lock:
            ran = 0
            store = self.services.portals
            for r in due(store, self.services.now()):
                handler = self.handlers.get(r.kind)
                if handler is None:
                    log.warning("%s: no handler for retry %s (%s)", r.member_id, r.key, r.kind)
                    cancel(store, r.member_id, r.key)
                    continue
                portal = store.portal(r.member_id)
                if portal is None or portal.state == "uninstalled":
                    cancel(store, r.member_id, r.key)
                    continue
                lease = self.services.now() + timedelta(minutes=1)
                schedule(store, r.member_id, r.key, r.kind, lease, attempt=r.attempt, payload=r.payload,
                         reason=r.reason)  # fmt: skip
                log.info("%s: retrying %s (attempt %d)", r.member_id, r.key, r.attempt + 1)
                try:
                    handler(self.services, r.member_id, r.payload, r.attempt)
                except Exception:  # noqa: BLE001 - one retry's trouble never stops the others
                    log.exception("%s: retrying %s failed; again in a minute", r.member_id, r.key)
                else:
                    left = scheduled(store, r.member_id, r.key)
                    untouched = left is not None and abs((left.due - lease).total_seconds()) < 0.001
                    if untouched:  # the handler did not schedule it anew: done
                        cancel(store, r.member_id, r.key)
                ran += 1
            return ran

    def wake(self) -> None:
        """Look now (a stop is then seen at once, not after the loop's sleep)."""
        self._changed.set()

    def work(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._changed.wait(self._every)
            self._changed.clear()
            if not stop.is_set():
                self.run_due()
