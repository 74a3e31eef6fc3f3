"""The services every part of the cloud works with: one small container, built by ``create_app``.

Stores (portals, agents, sessions), the agent relay, the Bitrix24 client factory with its per-portal pacer
and outage patience, the event worker, the scheduled retries and the supervised background loops. It sits
at the bottom: flows and pages import it (for types, mostly); it imports none of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import requests
from flask import has_request_context

from . import health
from .agents.relay import AgentRelay
from .agents.store import AgentStore
from .b24 import outage
from .b24.client import Client
from .b24.journal import Journal
from .b24.pacer import Pacer
from .b24.retry import Retry
from .config import Config
from .frames import Sessions
from .install import OFFLINE_CONNECTOR
from .links import Links
from .portals import PortalStore
from .retries import Retries
from .supervise import Supervised
from .worker import EventWorker

log = logging.getLogger(__name__)
PAGE_PATIENCE = 20.0  # seconds a page's request waits for a Bitrix24 that does not answer
OUTAGE_PROBE_EVERY = 15.0  # seconds between a page's checks that Bitrix24 is back (see Services.outage)


@dataclass
class Services:
    config: Config
    portals: PortalStore
    agents: AgentStore
    sessions: Sessions
    relay: AgentRelay | None = None
    http: requests.Session = field(default_factory=requests.Session)
    worker: EventWorker = field(init=False)  # set by create_app: its handler needs the services
    pacers: dict[str, Pacer] = field(default_factory=dict)  # one leaky bucket per portal, shared
    retry: Retry = field(default_factory=Retry)  # how a Bitrix24 outage is waited out (tests shorten it)
    _pacers_lock: threading.Lock = field(default_factory=threading.Lock)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the clock retries are timed by
    retries: Retries = field(init=False)  # set by create_app: failed steps that come back by themselves
    workers: list[Supervised] = field(default_factory=list)  # background loops /healthz looks at
    held: health.HeldEvents = field(default_factory=lambda: health.HeldEvents())  # while the disk is full
    watch: health.Watch = field(init=False)  # set by create_app: notices the database writing again
    _outage_probed: dict[str, float] = field(default_factory=dict)  # member_id → monotonic time of last probe

    def stop(self) -> None:
        """End this app's background loops and its Bitrix24 session (a process stopping, a test's app
        replaced): nothing of it keeps running or holds sockets after."""
        for worker in self.workers:
            worker.stop_event.set()
        self.retries.wake()
        for worker in self.workers:
            worker.stop()
        self.worker.stop()
        self.http.close()

    def pacer(self, member_id: str) -> Pacer:
        """The portal's request pacer: every client of a portal draws from the same bucket, as Bitrix24
        counts it (one per portal, not one per caller)."""
        with self._pacers_lock:
            if member_id not in self.pacers:
                self.pacers[member_id] = Pacer(time.time, time.sleep)
            return self.pacers[member_id]

    def outage(self, member_id: str) -> dict[str, Any] | None:
        """The portal's Bitrix24 outage as it is now. The record clears with the first answer, but nothing
        may be calling Bitrix24 when it comes back (the person's request gave up, no event arrived): so a
        page that would show it asks Bitrix24 once (``app.info``, no waiting), at most every
        ``OUTAGE_PROBE_EVERY`` seconds per portal, and shows the note only while that fails too."""
        down = outage.current(self.portals, member_id)
        if down is None:
            return None
        now = time.monotonic()
        if now - self._outage_probed.get(member_id, float("-inf")) < OUTAGE_PROBE_EVERY:
            return down
        self._outage_probed[member_id] = now
        client = self.client(member_id)
        client.retry = replace(client.retry, patience=0.0)
        try:
            client.call("app.info")
        except Exception as exc:  # still down (or any other refusal): the note stays as recorded
            log.info("Bitrix24 of portal %s still not answering: %s", member_id, type(exc).__name__)
        return outage.current(self.portals, member_id)

    @property
    def links(self) -> Links:
        return Links(self.portals)

    @property
    def journal(self) -> Journal:
        return Journal(self.portals)

    def company_file(self, member_id: str) -> str:
        """The QuickBooks company file a portal's links belong to: the one its last Web Connector session
        had open, else the one its agent is pinned to ("" before either is known)."""
        session = self.portals.setting(member_id, "qb.session") or {}
        if session.get("company_file"):
            return str(session["company_file"])
        files = [a.company_file for a in self.agents.agents(member_id) if a.company_file and not a.revoked]
        return files[0] if files else ""

    def notify(self, member_id: str) -> None:
        """Tell the portal's agent, if it is connected here, that work is waiting."""
        if self.relay is not None:
            self.relay.notify(member_id)

    def client(self, member_id: str) -> Client:
        """A page's request (a person waiting) waits ``PAGE_PATIENCE`` for a Bitrix24 that is down, then
        hears why (503); background work waits for as long as it takes."""
        offline = bool(self.portals.setting(member_id, "b24.offline_events", False))
        retry = replace(self.retry, patience=PAGE_PATIENCE) if has_request_context() else self.retry
        return Client(
            self.portals,
            member_id,
            self.config.client_id,
            self.config.client_secret,
            http=self.http,
            connector=OFFLINE_CONNECTOR if offline else None,
            pacer=self.pacer(member_id),
            retry=retry,
        )
