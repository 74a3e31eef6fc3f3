"""Per portal: since when Bitrix24 has not answered (kept in the portal's settings, so Health and a deal
show it from any process), and cleared by the first answer after it."""

from __future__ import annotations

import threading
import weakref
from datetime import UTC, datetime
from typing import Any

from ..portals import PortalStore

SETTING = "b24.outage"
# store → member_id → an outage is recorded (so a healthy call costs no read of the settings)
_known: weakref.WeakKeyDictionary[PortalStore, dict[str, bool]] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def begin(store: PortalStore, member_id: str, code: str, now: float) -> None:
    """Record the outage's start (once: a longer outage keeps its first moment) and its latest cause."""
    with _guard:
        current = store.setting(member_id, SETTING) or {}
        since = current.get("since") or datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
        if current.get("code") != code or not current.get("since"):
            store.set_setting(member_id, SETTING, {"since": since, "code": code})
        _known.setdefault(store, {})[member_id] = True


def end(store: PortalStore, member_id: str) -> None:
    """Bitrix24 answered: no outage (a record left by an earlier process is cleared too)."""
    if _known.get(store, {}).get(member_id) is False:
        return
    with _guard:
        if store.setting(member_id, SETTING):
            store.set_setting(member_id, SETTING, None)
        _known.setdefault(store, {})[member_id] = False


def current(store: PortalStore, member_id: str) -> dict[str, Any] | None:
    found = store.setting(member_id, SETTING)
    return found if isinstance(found, dict) and found.get("since") else None
