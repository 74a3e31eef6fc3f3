"""Matching a Bitrix24 contact/company to a QuickBooks customer on first contact.

Order: the stored mapping, then a shared e-mail, then a shared phone, then the exact normalised name (the
portal's ``matching.rules`` may drop or reorder the last three).
Nothing is guessed: two or more candidates at the deciding step — or two Bitrix24 records wanting the
same QuickBooks customer — are returned as ``Ambiguous`` for a person to confirm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import normalize


@dataclass(frozen=True)
class Party:
    """A Bitrix24 contact or company as matching sees it. ``key`` is e.g. ``"C_17"`` or ``"CO_4"``."""

    key: str
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A QuickBooks customer as matching sees it."""

    list_id: str
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Matched:
    list_id: str
    by: str  # mapping | email | phone | name


@dataclass(frozen=True)
class Ambiguous:
    list_ids: tuple[str, ...]
    by: str
    reason: str


@dataclass(frozen=True)
class Unmatched:
    pass


Outcome = Matched | Ambiguous | Unmatched


class _Index:
    def __init__(self, candidates: Iterable[Candidate], claimed: set[str]) -> None:
        self.by_email: dict[str, set[str]] = {}
        self.by_phone: dict[str, set[str]] = {}
        self.by_name: dict[str, set[str]] = {}
        for c in candidates:
            if c.list_id in claimed:
                continue  # already linked to another Bitrix24 record
            for e in filter(None, map(normalize.email, c.emails)):
                self.by_email.setdefault(e, set()).add(c.list_id)
            for p in filter(None, map(normalize.phone, c.phones)):
                self.by_phone.setdefault(p, set()).add(c.list_id)
            n = normalize.name(c.name)
            if n:
                self.by_name.setdefault(n, set()).add(c.list_id)


def _step(values: Iterable[str | None], index: dict[str, set[str]]) -> set[str]:
    found: set[str] = set()
    for v in values:
        if v:
            found |= index.get(v, set())
    return found


RULES = ("email", "phone", "name")


def _decide(party: Party, index: _Index, rules: tuple[str, ...]) -> Outcome:
    values = {
        "email": lambda: _step(map(normalize.email, party.emails), index.by_email),
        "phone": lambda: _step(map(normalize.phone, party.phones), index.by_phone),
        "name": lambda: _step([normalize.name(party.name)], index.by_name),
    }
    for by in rules:
        found = values[by]()
        if len(found) == 1:
            return Matched(next(iter(found)), by)
        if len(found) > 1:
            return Ambiguous(tuple(sorted(found)), by, f"{len(found)} QuickBooks customers share this {by}")
    return Unmatched()


def match_all(
    parties: Iterable[Party],
    candidates: Iterable[Candidate],
    mappings: Mapping[str, str],
    rules: tuple[str, ...] = RULES,
    linked: Iterable[str] = (),
) -> dict[str, Outcome]:
    """Outcome per party key. ``mappings`` is the stored Bitrix24 key → QuickBooks ListID; ``rules`` the
    steps tried after it, in order (a subset of :data:`RULES`); ``linked`` the ListIDs linked to Bitrix24
    records that are not among ``parties`` (a company's contact linked on its tab): never matched again."""
    parties = list(parties)
    claimed = set(mappings.values()) | set(linked)
    index = _Index(candidates, claimed)
    out: dict[str, Outcome] = {}
    for p in parties:
        mapped = mappings.get(p.key)
        out[p.key] = Matched(mapped, "mapping") if mapped else _decide(p, index, rules)
    # two Bitrix24 records must not silently share one QuickBooks customer
    wanted: dict[str, list[tuple[str, str]]] = {}  # ListID → (party key, the rule that matched)
    for key, o in out.items():
        if isinstance(o, Matched) and o.by != "mapping":
            wanted.setdefault(o.list_id, []).append((key, o.by))
    for list_id, keys in wanted.items():
        if len(keys) > 1:
            for key, by in keys:
                out[key] = Ambiguous((list_id,), by, f"{len(keys)} Bitrix24 records match the same customer")
    return out
