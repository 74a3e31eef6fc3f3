"""Catching what events missed: Bitrix24 never retries a delivery (§4.3), so every few minutes each
active portal is asked which records changed since the last look, and those become events in the same
durable table the event handler fills. The sync engine cannot tell them apart from delivered ones, and a
record found both ways is handled once (the payload carries the modify time; duplicates are stored once).

Watermarks are the portal's own times (ISO with its UTC offset, from the response's ``time`` block), so a
DST change on either side moves nothing; each look goes back ``OVERLAP`` before the watermark.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .b24.client import Client
from .b24.errors import B24Error
from .portals import PortalStore
from .supervise import Supervised

log = logging.getLogger("qb_cloud.reconcile")

OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True)
class Source:
    method: str
    params: dict[str, Any]
    id_field: str
    modified: str  # the modify-time field, as this method names it
    event: str  # what the handler would have received
    items_key: str | None = None


SOURCES = {
    "contact": Source("crm.contact.list", {}, "ID", "DATE_MODIFY", "ONCRMCONTACTUPDATE"),
    "company": Source("crm.company.list", {}, "ID", "DATE_MODIFY", "ONCRMCOMPANYUPDATE"),
    "deal": Source("crm.deal.list", {}, "ID", "DATE_MODIFY", "ONCRMDEALUPDATE"),
    "smart_invoice": Source(
        "crm.item.list", {"entityTypeId": 31}, "id", "updatedTime", "ONCRMDYNAMICITEMUPDATE", "items"
    ),
}


def reconcile(client: Client, store: PortalStore, member_id: str) -> dict[str, int]:
    """Enqueue an event for every record changed since the last look; {entity: events added}."""
    added: dict[str, int] = {}
    for entity, src in SOURCES.items():
        key = f"reconcile.{entity}"
        mark = store.setting(member_id, key)
        if mark is None:  # first look: the initial sync reads everything; start watching from now
            now = client.call_full(src.method, {**src.params, "select": [src.id_field], "start": -1})["time"]
            store.set_setting(member_id, key, now["date_start"])
            added[entity] = 0
            continue
        since = (datetime.fromisoformat(mark) - OVERLAP).isoformat()
        newest, count = mark, 0
        started: list[str] = []
        rows = client.scan(
            src.method,
            {
                **src.params,
                "filter": {f">={src.modified}": since},
                "select": [src.id_field, src.modified],
            },
            id_field=src.id_field,
            items_key=src.items_key,
            started=started,
        )
        for row in rows:
            changed = str(row[src.modified])
            fields: dict[str, Any] = {"ID": row[src.id_field]}
            if entity == "smart_invoice":
                fields["ENTITY_TYPE_ID"] = 31
            count += store.enqueue_event(
                member_id,
                src.event,
                str(row[src.id_field]),
                {"data": {"FIELDS": fields}, "modified": changed, "source": "reconcile"},
                False,
            )
            if datetime.fromisoformat(changed) > datetime.fromisoformat(newest):
                newest = changed
        # everything changed before the scan began was seen: a quiet portal's next look starts there,
        # not again at its last change
        if started and started[0] and datetime.fromisoformat(started[0]) > datetime.fromisoformat(newest):
            newest = started[0]
        store.set_setting(member_id, key, newest)
        added[entity] = count
    return added


class Reconciler:
    """Every ``minutes``, reconcile each active portal; one portal's trouble never stops the others."""

    def __init__(
        self,
        store: PortalStore,
        client_for: Callable[[str], Client],
        minutes: float,
        after: Callable[[str], object] | None = None,
        found: Callable[[str], object] | None = None,
    ) -> None:
        """``after``: the periodic step for a portal besides this (asking QuickBooks what changed);
        ``found``: called for a portal whose look added events (wakes the event worker)."""
        self.store, self.client_for, self.minutes, self.after = store, client_for, minutes, after
        self.found = found
        self.supervised: Supervised | None = None
        self.patience = 120.0  # seconds one portal's outage may hold up a round

    def run_once(self) -> dict[str, dict[str, int]]:
        out = {}
        for portal in self.store.portals():
            if portal.state != "active":
                continue
            if self.after is not None:
                try:
                    self.after(portal.member_id)  # e.g. ask QuickBooks what changed on its side
                except Exception:  # noqa: BLE001 - one portal's trouble never stops the loop
                    log.exception("the periodic step for %s failed", portal.domain)
            try:
                client = self.client_for(portal.member_id)
                # a portal that is down is looked at again next round, not waited for here: the others'
                client.retry = replace(client.retry, patience=self.patience)
                out[portal.member_id] = reconcile(client, self.store, portal.member_id)
                if self.found is not None and any(out[portal.member_id].values()):
                    self.found(portal.member_id)
            except B24Error as exc:  # the client already put the portal in needs attention where right
                log.warning("reconcile %s: %s %s", portal.domain, exc.code, exc.description)
        return out

    def work(self, stop: threading.Event) -> None:
        while not stop.wait(self.minutes * 60):
            self.run_once()

    def start(self) -> Reconciler:
        """The loop, supervised: a pass that dies (the database failing under it) starts it again."""
        self.supervised = Supervised("reconcile", self.work).start()
        return self

    def stop(self) -> None:
        if self.supervised is not None:
            self.supervised.stop()
