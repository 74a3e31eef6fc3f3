"""The company's calendar: what day it is for QuickBooks, which dates documents by its own PC's clock.

A document's ``TxnDate``, "days overdue", aging and the closed-period check all need the company's local
date, not the cloud's UTC date (at 18:30 in California UTC is already on the next day). Where the offset
comes from, best first:

1. ``agent``: the agent runs on the QuickBooks PC and reports that PC's clock with its UTC offset at every
   Web Connector session (``SessionStarted.local_time``). It is the clock QuickBooks itself reads, and it
   is fresh: a deal's sync always runs inside a session (its lookup comes first), so a DST change is seen
   by the next session.
2. ``quickbooks``: the offset QuickBooks put on its own ``TimeModified`` values (they carry the company's
   UTC offset, quickbooks-webconnector.md §5), as kept in the change-query watermarks — for agents that
   do not report their clock. It is the offset of when the record changed, so it can be an hour off
   after a DST change; an hour never moves the date at the 2–3 a.m. changeover.
3. unknown: UTC, and the caller says so.

Pure: the caller passes what it read and the current instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

UNKNOWN_NOTE = (
    "The QuickBooks computer's time zone is not known yet (its agent does not report it: update the "
    "agent), so today's date was taken in UTC and may be a day off from QuickBooks' own date."
)


@dataclass(frozen=True)
class CompanyClock:
    offset: timedelta | None  # the QuickBooks PC's UTC offset; None: unknown
    source: str  # "agent" | "quickbooks" | "" (unknown)

    def now(self, instant: datetime) -> datetime:
        """``instant`` (timezone-aware) as the company's wall clock shows it, with its offset."""
        return instant.astimezone(timezone(self.offset) if self.offset is not None else UTC)

    def today(self, instant: datetime) -> date:
        return self.now(instant).date()

    @property
    def note(self) -> str | None:
        """What a person is told when the date may not be QuickBooks' own (None: it is)."""
        return UNKNOWN_NOTE if self.offset is None else None


def _aware(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    return None


def company_clock(session: Mapping[str, Any] | None, quickbooks_times: Iterable[Any] = ()) -> CompanyClock:
    """The clock from the last Web Connector session the agent reported (``local_time``), else from the
    newest of QuickBooks' own offset-carrying times, else unknown."""
    reported = _aware((session or {}).get("local_time"))
    if reported is not None:
        return CompanyClock(reported.utcoffset(), "agent")
    times = [t for t in (_aware(v) for v in quickbooks_times) if t is not None]
    if times:
        return CompanyClock(max(times).utcoffset(), "quickbooks")
    return CompanyClock(None, "")
