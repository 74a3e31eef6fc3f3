"""QuickBooks' shared name space: Customer, Vendor, Employee and Other Name names are unique together.

A Bitrix24 company "Acme Supply" that is already a QuickBooks *vendor* cannot become a customer of the same
name (status 3100). We give it a deterministic, readable name instead — the same input always yields the
same name, so a retry or a second run does not invent another one.
"""

from __future__ import annotations

from collections.abc import Collection

NAME_LIMIT = 41  # Customer/Vendor Name, QuickBooks Desktop

SUFFIX = {"customer": "Customer", "vendor": "Vendor", "employee": "Employee", "othername": "Other"}


def disambiguate(wanted: str, kind: str, taken: Collection[str], limit: int = NAME_LIMIT) -> str:
    """``wanted`` if free (case-insensitively, as QuickBooks compares), else ``"wanted (Customer)"``,
    then ``"wanted (Customer 2)"`` … — each cut so the whole fits in ``limit`` characters."""
    used = {t.casefold() for t in taken}
    if wanted.casefold() not in used and len(wanted) <= limit:
        return wanted
    label = SUFFIX.get(kind, kind.capitalize())
    n = 1
    while True:
        tail = f" ({label})" if n == 1 else f" ({label} {n})"
        candidate = wanted[: limit - len(tail)].rstrip() + tail
        if candidate.casefold() not in used:
            return candidate
        n += 1
