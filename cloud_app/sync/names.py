"""The names we give QuickBooks list records (customers, vendors, items), and its shared name space.

One fitting for every name we send (:func:`fit_name`): in QuickBooks' code page, without a colon — its
``Parent:Child`` separator, refused in a Name with status 3090 (``../shared/specs/quickbooks-webconnector.md``
errata 6) — and cut to the list's limit. A cut name is not an identity: two Bitrix24 companies whose titles
share their first 41 characters fit to the same name, so a record QuickBooks has under a cut name may be
someone else's (:func:`choose`).

Customer, Vendor, Employee and Other Name names are unique together. A Bitrix24 company "Acme Supply" that
is already a QuickBooks *vendor* cannot become a customer of the same name (status 3100). We give it a
deterministic, readable name instead — the same input always yields the same name, so a retry or a second
run does not invent another one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from .text import fit

NAME_LIMIT = 41  # Customer/Vendor Name, QuickBooks Desktop
ITEM_NAME_LIMIT = 31  # item Name, QuickBooks Desktop

SUFFIX = {"customer": "Customer", "vendor": "Vendor", "employee": "Employee", "othername": "Other"}
# the alternatives one lookup asks QuickBooks about: the name and this many suffixed ones
ALTERNATIVES = 5

_COLON = re.compile(r"\s*:\s*")
COLON_NOTE = "“:” replaced by “-” (QuickBooks uses a colon between a record and its sub-record)"


@dataclass(frozen=True)
class ListName:
    """The name QuickBooks will store, what had to change, and whether it was cut to fit."""

    value: str
    notes: tuple[str, ...] = ()
    shortened: bool = False


def fit_name(text: str, limit: int = NAME_LIMIT, *, field: str = "Name") -> ListName:
    """``text`` as a list record's Name: storable, colon-free, at most ``limit`` characters.

    Raises :class:`cloud_app.sync.text.Unstorable` when nothing would remain."""
    text = text.strip()
    # "Acme: West" reads as "Acme - West", "10:30" as "10-30"
    plain = _COLON.sub(lambda m: "-" if m.group(0) == ":" else " - ", text).strip()
    fitted = fit(plain, limit, field=field)
    notes = ((COLON_NOTE,) if plain != text else ()) + fitted.notes
    return ListName(fitted.value, notes, shortened=len(fit(plain, None, field=field).value) > limit)


def _alternative(wanted: str, label: str, n: int, limit: int) -> str:
    tail = f" ({label})" if n == 1 else f" ({label} {n})"
    room = limit - len(tail)
    stem = wanted
    if len(wanted) > room:
        # end on a whole word when that keeps most of the name, as fitting does
        space = wanted[: room + 1].rfind(" ")
        stem = wanted[:space] if space >= room * 2 // 3 else wanted[:room]
    return stem.rstrip() + tail


def alternatives(wanted: str, kind: str = "customer", limit: int = NAME_LIMIT) -> list[str]:
    """``wanted`` and the first names :func:`disambiguate` would give instead: what a lookup asks about."""
    label = SUFFIX.get(kind, kind.capitalize())
    return [wanted[:limit], *(_alternative(wanted, label, n, limit) for n in range(1, ALTERNATIVES + 1))]


def disambiguate(wanted: str, kind: str, taken: Collection[str], limit: int = NAME_LIMIT) -> str:
    """``wanted`` if free (case-insensitively, as QuickBooks compares), else ``"wanted (Customer)"``,
    then ``"wanted (Customer 2)"`` … — each cut so the whole fits in ``limit`` characters."""
    used = {t.casefold() for t in taken}
    if wanted.casefold() not in used and len(wanted) <= limit:
        return wanted
    label = SUFFIX.get(kind, kind.capitalize())
    n = 1
    while True:
        candidate = _alternative(wanted, label, n, limit)
        if candidate.casefold() not in used:
            return candidate
        n += 1


@dataclass(frozen=True)
class Choice:
    """What a lookup of a name decided: link ``list_id`` (an existing customer), or create ``name``."""

    name: str
    list_id: str | None = None
    note: str | None = None  # why the name differs from the one wanted, for the preview

    @property
    def is_match(self) -> bool:
        return self.list_id is not None


def choose(
    wanted: ListName,
    found: tuple[str, str] | None,
    taken: Collection[str],
    *,
    linked_elsewhere: bool,
    kind: str = "customer",
) -> Choice:
    """Decide from a lookup: ``found`` is (ListID, FullName) of the customer QuickBooks has under exactly
    ``wanted.value``; ``taken`` every name of the shared name space the lookup saw (of any list).

    The found customer *is* ours only when our name is whole — not cut, so it did not match merely by a
    shared prefix — and it is not linked to another Bitrix24 record. Otherwise its name is taken like any
    other, and the record gets the first free alternative."""
    if found is not None and found[1].casefold() == wanted.value.casefold():
        if not wanted.shortened and not linked_elsewhere:
            return Choice(found[1], found[0])
        taken = {*taken, found[1]}
    name = disambiguate(wanted.value, kind, taken)
    if name == wanted.value:
        return Choice(name)
    if found is not None and linked_elsewhere:
        why = "belongs to another Bitrix24 record"
    elif found is not None:
        why = "belongs to another customer whose name starts the same way"
    else:
        why = "is taken in QuickBooks by another list"
    return Choice(name, note=f"Name: “{wanted.value}” {why}; using “{name}”")
