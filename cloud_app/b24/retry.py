"""How long to wait out a Bitrix24 that does not answer, and which requests may simply be sent again.

An outage (500, a gateway's 502/504 HTML page, 503 ``QUERY_LIMIT_EXCEEDED``, no connection) is waited out
with capped exponential backoff for as long as it lasts — hours if need be (``patience`` bounds it only
where a caller must answer a person now). A request is sent again only when repeating it cannot double
anything: reads, updates (the same values twice are one update), and any request the portal certainly did
not run (refused by the limit, no connection made). An ``add`` whose answer was lost may have happened:
it is reported as :class:`Unsure` so the caller looks for it by its origin key (``b24/once.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import B24Error

# the portal refused without running the request: repeating it is always safe
NOT_RUN = {"QUERY_LIMIT_EXCEEDED", "OVERLOAD_LIMIT", "OPERATION_TIME_LIMIT", "CONNECTION_REFUSED"}
READS = (".get", ".list", ".fields", "app.info", "profile", "user.current", "feature.get", "server.time")
REPEATABLE_WRITES = (".update", ".set", ".delete", ".unbind", ".bind")


@dataclass(frozen=True)
class Retry:
    base: float = 0.5  # the first pause, doubled after each failure …
    cap: float = 60.0  # … up to this, then once a minute for as long as it takes
    patience: float | None = None  # seconds of outage before giving up (None: never)

    def delay(self, attempt: int) -> float:
        return float(min(self.base * 2 ** min(attempt, 30), self.cap))


class Unsure(B24Error):
    """A write whose answer never came: it may or may not have been carried out."""


class OutageTooLong(B24Error):
    """Bitrix24 did not answer for longer than the caller's patience."""


def repeatable(method: str, params: dict[str, Any]) -> bool:
    """True when sending the request twice does what sending it once does."""
    if method == "batch":
        commands = params.get("cmd") or {}
        return all(repeatable(str(c).split("?", 1)[0], {}) for c in commands.values())
    return method.endswith(READS) or method.endswith(REPEATABLE_WRITES) or "." not in method
