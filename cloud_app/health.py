"""What ``/healthz`` reports, what a request meets when the database cannot write, and what happens when
it can again.

* ``answer``: 200 ``{"ok": true}`` when both database connections take a write (``storage.probe``, at most
  once per ``EVERY`` seconds unless a fault is known: ``Watch.storage_fault``) and every background worker
  and the agent relay run; else 503 with a short list of what is broken.
* ``refused``: a request that met a full, read-only or locked database gets 503 with ``Retry-After`` and
  the cause in the person's language — JSON for the page API and Bitrix24's events, a page for frames.
* ``HeldEvents``: a Bitrix24 event that arrives while the database cannot write is held in memory (Bitrix24
  never delivers an event twice) and stored as soon as writes work again.
* ``Watch``: a supervised loop that, once a request or a result's handling met a storage fault, probes
  the database every few seconds; when writes work again it stores the held events, acts on the agent
  results whose handling the fault broke (they were stored and acknowledged, so the agent will not send
  them again) and wakes the event worker — no restart.
"""

from __future__ import annotations

import html
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from flask import Response, jsonify

from . import storage
from .b24_placement.strings import catalog

if TYPE_CHECKING:
    from .portals import PortalStore
    from .services import Services

log = logging.getLogger("qb_cloud.health")

RETRY_AFTER = 30  # seconds a refused request is told to wait
HOLD_AT_MOST = 10_000  # events held in memory; beyond that they are refused (the reconciliation finds them)
EVERY = 5.0  # seconds between two probes of the Watch


class Held(NamedTuple):
    """``PortalStore.enqueue_event``'s arguments, in its order."""

    member_id: str
    event: str
    object_id: str | None
    payload: dict[str, Any]
    has_tokens: bool


class HeldEvents:
    def __init__(self, limit: int = HOLD_AT_MOST) -> None:
        self._items: deque[Held] = deque()
        self._lock = threading.Lock()
        self.limit = limit

    def __len__(self) -> int:
        return len(self._items)

    def hold(self, event: Held) -> bool:
        with self._lock:
            if len(self._items) >= self.limit:
                return False
            self._items.append(event)
            return True

    def store(self, portals: PortalStore) -> set[str]:
        """Store what is held, oldest first, until a write fails; the portals that got events."""
        stored: set[str] = set()
        with self._lock:
            while self._items:
                try:
                    portals.enqueue_event(*self._items[0])
                except sqlite3.Error:
                    break  # still cannot write: the rest waits for the next try
                stored.add(self._items.popleft().member_id)
        return stored


def connections(services: Services) -> list[tuple[sqlite3.Connection, threading.RLock]]:
    portals, agents = services.portals, services.agents
    return [(portals.db.conn, portals.lock), (agents.db.conn, agents.lock)]


def database_fault(services: Services, *, write: bool = True) -> storage.Fault | None:
    path = services.config.database
    on_disk = path != ":memory:" and not path.startswith("file:")
    directory = os.path.dirname(os.path.abspath(path)) if on_disk else None
    for conn, lock in connections(services):
        fault = storage.probe(conn, lock, directory, write=write)
        if fault is not None:
            return fault
    return None


def problems(services: Services) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    fault = services.watch.storage_fault()
    if fault is not None:
        found.append({"what": "database", "fault": fault.kind, "says": fault.words, "detail": fault.detail})
    workers = [w.health() for w in services.workers]
    events = services.worker.health()
    if events is not None:
        workers.append(events)
    for w in workers:
        if not w.ok:
            found.append({"what": "worker", "name": w.name, "running": w.running, "deaths": w.deaths,
                          "last_error": w.last_error})  # fmt: skip
    relay = services.relay
    if relay is not None and not relay.running:
        found.append({"what": "worker", "name": "agent-relay", "running": False})
    return found


def answer(services: Services) -> Response:
    found = problems(services)
    body = jsonify(ok=not found, problems=found) if found else jsonify(ok=True)
    body.status_code = 503 if found else 200
    return body


def refused(fault: storage.Fault, path: str, lang: str) -> Response:
    _, strings = catalog(lang)
    message = strings[f"storage.{fault.kind}"]
    if path.startswith(("/api/", "/b24/events")):
        answer = jsonify(error="storage", fault=fault.kind, message=message)
    else:
        page = f"<!doctype html><html><head><meta charset='utf-8'></head><body><p>{html.escape(message)}</p>"
        answer = Response(page + "</body></html>", mimetype="text/html")
    answer.status_code = 503
    answer.headers["Retry-After"] = str(RETRY_AFTER)
    return answer


class Watch:
    """The loop that notices the database writing again and carries on what the fault stopped."""

    def __init__(self, services: Services, every: float = EVERY) -> None:
        self.services, self.every = services, every
        self.fault_since: datetime | None = None  # set while writes fail
        self._probed_at = -float("inf")  # when /healthz last had a write probed (time.monotonic)
        self._last: storage.Fault | None = None  # what /healthz last found

    def saw(self, exc: BaseException) -> None:
        """A request or a result's handling met a storage fault (the probe may not have, yet)."""
        fault = storage.fault_of(exc)
        if fault is not None and self.fault_since is None:
            self.fault_since = datetime.now(UTC)
            log.error("the database cannot write: %s (%s)", fault.words, fault.detail)

    def storage_fault(self) -> storage.Fault | None:
        """What ``/healthz`` says of the database. While a fault is known: a live probe at each hit (so
        writing again shows at once). Otherwise the room left is measured at each hit (no transaction:
        a full disk shows at once) and a write is probed at most once per ``every`` seconds — a check
        hit often costs no writes; a fault only a write meets (locked, read-only) shows within that."""
        now = time.monotonic()
        live = self.fault_since is not None or self._last is not None or now - self._probed_at >= self.every
        if live:
            self._probed_at = now
        self._last = database_fault(self.services, write=live)
        return self._last

    def check(self) -> storage.Fault | None:
        """While a fault was seen (or events are held): probe, and once writes work again carry on what
        the fault stopped. The fault, or None. Idle otherwise (no write every few seconds for nothing)."""
        services = self.services
        if self.fault_since is None and not len(services.held):
            return None
        fault = database_fault(services)
        if fault is not None:
            if self.fault_since is None:
                self.fault_since = datetime.now(UTC)
                log.error("the database cannot write: %s (%s)", fault.words, fault.detail)
            return fault
        woken = services.held.store(services.portals)
        if self.fault_since is not None:
            log.warning("the database writes again (it could not since %s)", self.fault_since.isoformat())
            self.fault_since = None
            if services.relay is not None:  # results stored and acknowledged, whose handling failed
                services.relay.replay(before=datetime.now(UTC))
            portals = services.portals
            woken |= {p.member_id for p in portals.portals() if portals.count_events(p.member_id)}
        for member_id in woken:
            services.worker.kick(member_id)
        return None

    def work(self, stop: threading.Event) -> None:
        while not stop.wait(self.every):
            self.check()
