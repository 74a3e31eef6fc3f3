"""Why nothing reaches QuickBooks, in the words the deal page and Health show (issue 18: "The deal shows
why nothing moves").

Three causes, each with what to do: QuickBooks is closed on the agent's PC, the wrong company file is open
there (which one is expected), or the Web Connector has stopped running (since when). The first two come
from the agent as soon as the Web Connector reports them (``connectionError``, at each of its runs); a
session that starts clears them. The third is this module's own reading of the Web Connector's rhythm: a
run more than a minute overdue while work waits (its interval is the gap between its last two starts;
before two runs were seen, ten minutes).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import wire
from shared.qbxml.status import WRONG_FILE, connection_cause, explain_hresult

if TYPE_CHECKING:
    from .services import Services

BLOCKED = "qb.blocked"  # the setting: the cause the agent last reported, until a session starts
LATE = timedelta(minutes=1)  # a run this much overdue counts as "not running"
SILENT = timedelta(minutes=10)  # before the interval is known


def reported(services: Services, member_id: str, message: wire.QuickBooksUnreachable) -> dict[str, Any]:
    """The agent said the Web Connector could not get into QuickBooks: keep the cause (and since when it
    holds); what Health's "Last error" says."""
    store = services.portals
    cause = connection_cause(message.hresult, message.message)
    before = store.setting(member_id, BLOCKED) or {}
    since = before.get("since") if before.get("cause") == cause else message.at.isoformat()
    store.set_setting(member_id, BLOCKED, {"cause": cause, "since": since, "at": message.at.isoformat(),
                                           "hresult": message.hresult})  # fmt: skip
    if cause == WRONG_FILE:
        expected = services.company_file(member_id) or "the company file the agent was paired with"
        return {"message": "Another company file is open in QuickBooks", "what_to_do": f"Open {expected}."}
    meaning, todo = explain_hresult(message.hresult)
    return {"message": meaning, "what_to_do": todo}


def cleared(services: Services, member_id: str) -> None:
    """A session started: QuickBooks is open with the right file."""
    if services.portals.setting(member_id, BLOCKED) is not None:
        services.portals.set_setting(member_id, BLOCKED, None)


def why_waiting(services: Services, member_id: str, now: datetime) -> dict[str, Any] | None:
    """``{"cause", "since", "machine", "file", "detail"}`` or None when nothing is known to be wrong."""
    agents = [a for a in services.agents.agents(member_id) if not a.revoked]
    machine = (agents[0].name or agents[0].hostname) if agents else ""
    file = services.company_file(member_id)
    blocked = services.portals.setting(member_id, BLOCKED)
    if blocked:
        meaning, todo = explain_hresult(str(blocked.get("hresult") or ""))
        return {"cause": blocked["cause"], "since": blocked["since"], "machine": machine, "file": file,
                "detail": f"{meaning}. {todo}"}  # fmt: skip
    session = services.portals.setting(member_id, "qb.session") or {}
    last, before = session.get("started_at"), session.get("previous_started_at")
    waiting = services.agents.oldest_waiting(member_id)
    if not last or waiting is None:
        return None  # never ran (Health's own line says how to set it up), or nothing waits for it
    started = datetime.fromisoformat(last)
    gap = started - datetime.fromisoformat(before) if before else None
    # a run with nothing to do starts no session: the clock starts when the work began waiting
    begin = max(started, waiting)
    overdue = begin + gap + LATE if gap and gap > timedelta(0) else begin + SILENT
    if now <= overdue:
        return None
    seen = session.get("ended_at") or last
    return {"cause": "wc_idle", "since": seen, "machine": machine, "file": file, "detail": ""}
