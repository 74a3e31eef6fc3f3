"""Sales reps ⇄ users, the runner side: learn QuickBooks' reps and the portal's users, keep the mapping.

The pure matching is :mod:`cloud_app.sync.salesreps`. The mapping (user id → rep ListID) is stored in the
portal's ``salesrep.map`` setting; a person's choices (``salesrep.users``) win over it, and users with no
rep get ``salesrep.default`` (or none).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.qbxml.builder import MessageSet, build, query
from shared.qbxml.parser import parse_response
from shared.qbxml.values import Ref

from .agents.store import JobRow
from .b24_placement.strings import catalog
from .sync import failures, preconditions, salesreps
from .sync.salesreps import Rep, User

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)

LIST = "salesrep.list"  # the reps as QuickBooks last listed them, with when: {"reps": [...], "read_at": …}
READING = "salesrep.reading"  # the job reading them for the settings page, until its answer is kept
READ = "sales-reps"  # the read-only job's purpose
STALE_AFTER = 300  # seconds: the settings page opened later than this asks QuickBooks again
VERSION = "13.0"
PRIORITY = 1  # a person has the settings open


def _users(services: Services, member_id: str) -> list[User]:
    """Every user of the portal (``user.get`` pages by ``start``, 50 a page)."""
    rows = services.client(member_id).pages("user.get", {"ADMIN_MODE": True})
    return [
        User(str(u["ID"]), str(u.get("NAME") or ""), str(u.get("LAST_NAME") or ""), bool(u.get("ACTIVE")))
        for u in rows
    ]


def _name(ref: Any) -> str:
    return str(ref.full_name or "") if isinstance(ref, Ref) else ""


def learn(services: Services, member_id: str, records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Map the users to the reps QuickBooks has (from a ``SalesRepQuery``), keep it, and return it."""
    reps = [
        Rep(
            str(r["ListID"]),
            str(r.get("Initial") or ""),
            _name(r.get("SalesRepEntityRef")),
            str(r.get("IsActive", "true")).lower() != "false",
        )
        for r in records
    ]
    chosen = services.portals.setting(member_id, "salesrep.users", {})
    mapping = salesreps.map_users(reps, _users(services, member_id), chosen)
    services.portals.set_setting(member_id, "salesrep.map", mapping)
    # initials of every rep ever listed (ListIDs are never reused): a removed one can still be named
    known = services.portals.setting(member_id, "salesrep.reps") or {}
    services.portals.set_setting(
        member_id, "salesrep.reps", {**known, **{r.list_id: r.initial for r in reps}}
    )
    return mapping


def seen(services: Services, member_id: str, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """QuickBooks' sales reps as a query just read them (a deal's lookup or the settings page's read):
    kept as the list the settings offer, and the users mapped again only when the list changed (mapping
    reads every Bitrix24 user)."""
    reps = [preconditions.rep_of(r) for r in records]
    before = services.portals.setting(member_id, LIST) or {}
    services.portals.set_setting(
        member_id,
        LIST,
        {"reps": reps, "read_at": datetime.fromtimestamp(services.portals.clock(), UTC).isoformat()},
    )
    if before.get("reps") != reps or services.portals.setting(member_id, "salesrep.reps") is None:
        learn(services, member_id, records)
    return reps


def mapping(services: Services, member_id: str) -> dict[str, str]:
    """User id → rep ListID, a person's choices over the learned ones."""
    learned = services.portals.setting(member_id, "salesrep.map", {})
    return {**learned, **services.portals.setting(member_id, "salesrep.users", {})}


def rep_for(services: Services, member_id: str, user_id: Any) -> str | None:
    """The rep ListID for a deal's responsible user, else the portal's default rep."""
    fallback = services.portals.setting(member_id, "salesrep.default", None)
    return salesreps.rep_for(str(user_id) if user_id else None, mapping(services, member_id), fallback)


def user_for(services: Services, member_id: str, rep_list_id: str | None) -> str | None:
    """The Bitrix24 user for a QuickBooks rep, or None (the record keeps its own responsible user)."""
    return salesreps.user_for(rep_list_id, mapping(services, member_id), None)


# -- the settings page: the list read live, and choices checked against it ---------------------------


def read(services: Services, member_id: str) -> str | None:
    """Queue the read-only query of every sales rep (inactive too); None when one is on its way."""
    if services.agents.waiting(member_id, READ):
        return None
    job_id = services.agents.enqueue(
        member_id,
        build(MessageSet([query("SalesRep", {"ActiveStatus": "All"})]), version=VERSION).xml,
        purpose=READ,
        priority=PRIORITY,
    )
    services.portals.set_setting(member_id, READING, job_id)
    services.notify(member_id)
    return job_id


def read_if_stale(services: Services, member_id: str) -> str | None:
    """The settings page was opened: ask QuickBooks unless its list is only minutes old (or no agent is
    paired to ask it: the page would say "reading" for ever)."""
    if not services.agents.paired(member_id):
        return None
    read_at = (services.portals.setting(member_id, LIST) or {}).get("read_at")
    if read_at and services.portals.clock() - datetime.fromisoformat(read_at).timestamp() < STALE_AFTER:
        return None
    return read(services, member_id)


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    if job.purpose != READ:
        return False
    error = None
    if job.response is None:
        f = failures.from_hresult(job.hresult or "", job.message or "", attempt=1, now=datetime.now(UTC))
        error = f"{f.reason} {f.fix}".strip()
    else:
        result = parse_response(job.response).results[0]
        if result.header.status.code in (0, 1):  # 1: QuickBooks has no sales reps
            seen(services, member_id, result.records)
        else:
            status = result.header.status
            f = failures.from_status(
                status.code, status.severity, status.message, attempt=1, now=datetime.now(UTC)
            )
            error = f"{f.reason} {f.fix}".strip()
    if error:
        log.info("sales reps of %s not read: %s", member_id, job.hresult or "status")
        kept = services.portals.setting(member_id, LIST) or {}
        services.portals.set_setting(member_id, LIST, {**kept, "error": error})
    services.portals.set_setting(member_id, READING, None)
    return True


def view(services: Services, member_id: str) -> dict[str, Any]:
    """What the settings page offers: the active reps QuickBooks listed, when, and whether it is being
    asked now (until the answer is kept, not merely until the job is done)."""
    kept = services.portals.setting(member_id, LIST) or {}
    job_id = services.portals.setting(member_id, READING)
    job = services.agents.job(member_id, job_id) if job_id else None
    reading = job is not None and (job.state == "done" or services.agents.waiting(member_id, READ))
    reps = sorted((r for r in kept.get("reps") or [] if r.get("active")), key=lambda r: r["initial"])
    shown: dict[str, Any] = {
        "reps": reps,
        "read_at": kept.get("read_at"),
        "reading": reading,
        "initials": services.portals.setting(member_id, "salesrep.reps") or {},  # removed ones too
    }
    if kept.get("error"):
        shown["error"] = kept["error"]
    return shown


def refused(services: Services, member_id: str, changes: Mapping[str, Any], lang: str) -> str | None:
    """Why these settings changes cannot be saved (a sales rep QuickBooks does not have), in the page's
    language; None when they can."""
    kept = services.portals.setting(member_id, LIST)
    known = {r["list_id"] for r in kept.get("reps") or [] if r.get("active")} if kept else None
    current = {n: services.portals.setting(member_id, n) for n in ("salesrep.default", "salesrep.users")}
    bad = salesreps.unknown_choices(changes, known, current)
    if not bad:
        return None
    _, strings = catalog(lang)
    if known is None:
        return strings["settings.salesrep.unread"]
    return " ".join(strings["settings.salesrep.unknown"].replace("{value}", v) for v in bad)
