"""The company's calendar for a portal: the current instant as the QuickBooks PC's clock shows it.

Every QuickBooks-facing date the cloud computes (a document's date, days overdue, aging, the statement's
payment window, the closed-period check) takes ``now(services, member_id).date()``; the decision of where
the offset comes from is :mod:`cloud_app.sync.company_clock`. The instant is the cloud's own clock
(``PortalStore.clock``, which tests move), the offset the company's.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .sync.company_clock import CompanyClock, company_clock

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)


def clock(services: Services, member_id: str) -> CompanyClock:
    """Where the portal's company date comes from: its agent's last report, else QuickBooks' own times."""
    session = services.portals.setting(member_id, "qb.session") or {}
    marks = services.portals.settings_with_prefix(member_id, "wm.")
    found = company_clock(session, [m.get("modified") for m in marks.values() if isinstance(m, dict)])
    if found.offset is None:
        log.debug("portal %s: the QuickBooks PC's time zone is unknown; dates are UTC dates", member_id)
    return found


def now(services: Services, member_id: str, found: CompanyClock | None = None) -> datetime:
    """This instant on the company's clock (timezone-aware; ``.date()`` is the company's today)."""
    instant = datetime.fromtimestamp(services.portals.clock(), UTC)
    return (found or clock(services, member_id)).now(instant)
