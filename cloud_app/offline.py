"""The portal's offline event queue (paid plans, §4.5): what people and other apps changed, without our
own writes — they carry our ``auth_connector``, so Bitrix24 does not queue them for us.

Where the queue exists, an online event is only a wake-up call: the changes themselves are read from the
queue, 50 per call, and an edit that was our own write costs nothing (without the queue, every echo of
our writes has to be read back to be recognised by its hash). Entries are reserved, stored in the events
table, and only then cleared, so a crash in between loses nothing (a reserved batch is read again).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .install import OFFLINE_CONNECTOR

if TYPE_CHECKING:
    from .services import Services

SOURCE = "offline"
EVERY = 5.0  # seconds between two reads of the queue (a burst of our own writes wakes us 50 times)

_last: dict[str, float] = {}  # member_id → when its queue was last read (per process)


def enabled(services: Services, member_id: str) -> bool:
    return bool(services.portals.setting(member_id, "b24.offline_events", False))


def too_soon(member_id: str) -> float:
    """Seconds until the queue may be read again (0: now)."""
    return max(0.0, _last.get(member_id, 0.0) + EVERY - time.monotonic())


def drain(services: Services, member_id: str) -> int:
    """Move everything queued into the events table; how many entries were read."""
    _last[member_id] = time.monotonic()
    client, store, total = services.client(member_id), services.portals, 0
    process_id = store.setting(member_id, "b24.offline_process")  # a reserved batch not yet cleared
    while True:
        params: dict[str, Any] = {"clear": 0, "auth_connector": OFFLINE_CONNECTOR}
        if process_id:
            params["process_id"] = process_id
        got = client.call("event.offline.get", params)
        events = list(got.get("events") or [])
        process_id = got.get("process_id") or process_id
        if not events:
            store.set_setting(member_id, "b24.offline_process", None)
            return total
        store.set_setting(member_id, "b24.offline_process", process_id)
        for e in events:
            raw = e.get("EVENT_DATA")
            data: dict[str, Any] = raw if isinstance(raw, dict) else {}
            fields: dict[str, Any] = data["FIELDS"] if isinstance(data.get("FIELDS"), dict) else {}
            store.enqueue_event(
                member_id,
                str(e.get("EVENT_NAME") or ""),
                str(fields.get("ID") or "") or None,
                {"data": data, "modified": e.get("TIMESTAMP_X"), "source": SOURCE},
                False,
            )
        client.call("event.offline.clear", {"process_id": process_id})
        store.set_setting(member_id, "b24.offline_process", None)
        process_id = None
        total += len(events)
        if len(events) < 50:
            return total


def is_wake_up(event: dict[str, Any]) -> bool:
    """An online delivery (no ``source``): with the queue, only a reason to read the queue."""
    return "source" not in event["payload"]
