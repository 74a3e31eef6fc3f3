"""Is an event fresh, and has this very delivery been seen before? (pure; the store keeps the digests)

Bitrix24 signs nothing in an event: ``auth[application_token]`` is the proof it came from Bitrix24, and
``ts`` is "date and time of the event sent from the queue" (``docs:api-reference/events/index.md``). No
window or nonce is documented. So a delivery is believed once, and only while its ``ts`` is within
``max_age`` of our clock: an event that old is caught by the reconciliation (every 15 minutes by default)
anyway, because events carry only an id and the app re-reads the record. A ``ts`` ahead of our clock is
not refused (a clock difference is no replay); its digest is kept until it has aged out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def why_stale(ts: object, now: float, max_age: float) -> str | None:
    """Why ``ts`` is not believable now, or None."""
    try:
        sent = float(str(ts))
    except ValueError:
        return "event without a time"
    if sent < now - max_age:
        return f"event sent {int(now - sent)} s ago"
    return None


def remember_until(ts: object, now: float, max_age: float) -> float:
    """Until when a delivery's digest must be kept: as long as its ``ts`` could still pass as fresh."""
    try:
        sent = float(str(ts))
    except ValueError:
        sent = now
    return max(now, sent) + max_age


def fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """One delivery's fingerprint: every field as sent, order-independent."""
    h = hashlib.sha256()
    for key, value in sorted(pairs):
        h.update(key.encode("utf-8", "replace") + b"\0" + value.encode("utf-8", "replace") + b"\0")
    return h.hexdigest()
