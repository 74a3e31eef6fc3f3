"""Sales reps ⇄ users, the runner side: learn QuickBooks' reps and the portal's users, keep the mapping.

The pure matching is :mod:`cloud_app.sync.salesreps`. The mapping (user id → rep ListID) is stored in the
portal's ``salesrep.map`` setting; a person's choices (``salesrep.users``) win over it, and users with no
rep get ``salesrep.default`` (or none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.qbxml.values import Ref

from .sync import preconditions, salesreps
from .sync.salesreps import Rep, User

if TYPE_CHECKING:
    from .web import Services

LIST = "salesrep.list"  # the reps as QuickBooks last listed them, with when: {"reps": [...], "read_at": …}


def _users(services: Services, member_id: str) -> list[User]:
    """Every user of the portal (``user.get`` pages by ``start``, 50 a page)."""
    client, out, start = services.client(member_id), [], 0
    while True:
        page = client.call_full("user.get", {"ADMIN_MODE": True, "start": start})
        out += [
            User(str(u["ID"]), str(u.get("NAME") or ""), str(u.get("LAST_NAME") or ""), bool(u.get("ACTIVE")))
            for u in page.get("result") or []
        ]
        if "next" not in page:
            return out
        start = int(page["next"])


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
    services.portals.set_setting(member_id, "salesrep.reps", {r.list_id: r.initial for r in reps})
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
