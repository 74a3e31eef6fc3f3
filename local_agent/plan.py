"""What one Web Connector session takes on — so that QuickBooks stays usable for the bookkeeper.

While a session runs QuickBooks is busy for its user (the Web Connector holds the company file), so:

* **A person's job goes first and alone.** When the first job a session takes is a person's (priority
  1–2: a deal sync, a tab refresh), the session takes only people's jobs and closes when they are done;
  background work waits for the next run.
* **Bulk work in short sessions.** Otherwise the session takes jobs for ``bulk_seconds`` (a page of an
  iterator already begun is finished inside the session — its iterator dies with it), then closes; the
  next scheduled run goes on. People's jobs still come first in it (the queue orders by priority).
* **Bulk hours.** With ``bulk_hours`` set (``"19-7"``: 19:00 to 07:00 on the QuickBooks PC's clock) bulk
  work waits outside them; people's jobs run at any hour.

Pure: the relay passes the time and the priorities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .kick import PERSON


class HoursError(ValueError):
    """``bulk_hours`` is not ``START-END`` in whole hours; the message shows the form."""


@dataclass(frozen=True)
class Hours:
    start: int  # 0–23, inclusive
    end: int  # 0–23, exclusive; smaller than start = over midnight

    def allows(self, local: datetime) -> bool:
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= local.hour < self.end
        return local.hour >= self.start or local.hour < self.end


def parse_hours(text: str) -> Hours | None:
    """``""`` (any hour) or ``"START-END"`` in whole hours, e.g. ``"19-7"`` or ``"9-17"``."""
    if not text.strip():
        return None
    match = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", text)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 23:
        raise HoursError(f"bulk_hours must look like 19-7 (from 19:00 to 07:00) or be empty, not {text!r}")
    return Hours(int(match.group(1)), int(match.group(2)))


@dataclass
class SessionPlan:
    person: bool  # opened by a person's job: takes people's jobs only
    ends_at: float  # bulk: after this moment (monotonic seconds) only people's jobs

    def limit(self, now: float) -> int | None:
        """The highest priority number this session takes now; None = any."""
        if self.person or now >= self.ends_at:
            return PERSON
        return None


def plan_for(first_priority: int, now: float, *, bulk_seconds: float) -> SessionPlan:
    return SessionPlan(person=first_priority <= PERSON, ends_at=now + bulk_seconds)


def allowed_now(hours: Hours | None, local: datetime | None) -> int | None:
    """Before any session: the highest priority that may start one (None = any)."""
    if hours is None or local is None or hours.allows(local):
        return None
    return PERSON
