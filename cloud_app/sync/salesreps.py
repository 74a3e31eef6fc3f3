"""QuickBooks sales reps (initials, at most 5 characters) ⇄ Bitrix24 users (``ASSIGNED_BY_ID``).

A rep points at an employee/vendor/other name (``SalesRepEntityRef``); we map it to the user with the
same normalised full name, unless a person chose otherwise. Users without a rep fall back to a setting
(a default rep, or none).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import normalize
from .text import to_codepage

INITIAL_LIMIT = 5


@dataclass(frozen=True)
class Rep:
    list_id: str
    initial: str
    entity_name: str  # SalesRepEntityRef FullName
    active: bool = True


@dataclass(frozen=True)
class User:
    id: str
    name: str
    last_name: str
    active: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.last_name}".strip()


def initials(user: User, taken: Iterable[str]) -> str:
    """Readable initials for a new rep (``Anna Ruiz`` → ``AR``), made unique within 5 characters."""
    used = {t.upper() for t in taken}
    first, _ = to_codepage(user.name or "")
    last, _ = to_codepage(user.last_name or "")
    base = ((first[:1] + last[:1]) or (first[:2] or last[:2]) or "U").upper()
    if base not in used:
        return base
    longer = (first[:1] + last[:3]).upper()[:INITIAL_LIMIT]
    if longer and longer not in used:
        return longer
    n = 2
    while f"{base[: INITIAL_LIMIT - len(str(n))]}{n}" in used:
        n += 1
    return f"{base[: INITIAL_LIMIT - len(str(n))]}{n}"


def map_users(reps: Iterable[Rep], users: Iterable[User], chosen: Mapping[str, str]) -> dict[str, str]:
    """User id → rep ListID: a person's choice first, then an unambiguous name match with an active rep."""
    reps = [r for r in reps if r.active]
    by_name: dict[str, list[Rep]] = {}
    for r in reps:
        key = normalize.name(r.entity_name)
        if key:
            by_name.setdefault(key, []).append(r)
    out: dict[str, str] = {}
    taken: set[str] = set(chosen.values())
    for u in users:
        if u.id in chosen:
            out[u.id] = chosen[u.id]
            continue
        found = [r for r in by_name.get(normalize.name(u.full_name) or "", []) if r.list_id not in taken]
        if len(found) == 1:
            out[u.id] = found[0].list_id
            taken.add(found[0].list_id)
    return out


def rep_for(user_id: str | None, mapping: Mapping[str, str], fallback: str | None) -> str | None:
    """The rep ListID to put on a QuickBooks record for a deal's responsible user."""
    if user_id is not None and user_id in mapping:
        return mapping[user_id]
    return fallback


def user_for(rep_list_id: str | None, mapping: Mapping[str, str], fallback_user: str | None) -> str | None:
    """The Bitrix24 user for a QuickBooks rep (``ASSIGNED_BY_ID``)."""
    for user_id, list_id in mapping.items():
        if list_id == rep_list_id:
            return user_id
    return fallback_user


def unknown_choices(
    changes: Mapping[str, Any], known: Collection[str] | None, current: Mapping[str, Any]
) -> list[str]:
    """The sales rep ListIDs in settings ``changes`` that are not among ``known`` (the active reps
    QuickBooks listed; None: never read). A value left as it was passes, so a rep removed in QuickBooks
    after it was chosen can be kept (the sync leaves it off) or cleared, but not chosen again."""

    def unknown(value: Any, before: Any) -> bool:
        return value is not None and value != before and (known is None or value not in known)

    bad = []
    if "salesrep.default" in changes and unknown(
        changes["salesrep.default"], current.get("salesrep.default")
    ):
        bad.append(str(changes["salesrep.default"]))
    before = current.get("salesrep.users") or {}
    for user_id, value in (changes.get("salesrep.users") or {}).items():
        if unknown(value, before.get(user_id)):
            bad.append(str(value))
    return bad
