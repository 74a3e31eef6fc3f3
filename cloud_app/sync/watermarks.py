"""Finding what changed in QuickBooks: per-entity modified-since watermarks, DST-safe.

QuickBooks filters by company-local time with whole seconds, and around the autumn DST change an hour
repeats; ``FromModifiedDate`` is inclusive (``../shared/specs/quickbooks-webconnector.md`` §5). So each
query starts an overlap window before the watermark, and records already seen with the same
``EditSequence`` are dropped. The watermark moves only when the caller has durably applied the records
(``advance`` returns the new value; storing it is the caller's step after its write committed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from shared.qbxml.builder import Request, query
from shared.qbxml.schema import load

# An hour for the repeated DST hour, plus minutes for clocks that disagree a little.
OVERLAP = timedelta(hours=1, minutes=5)
PAGE = 500


@dataclass(frozen=True)
class Watermark:
    entity: str
    modified: datetime | None = None  # offset-aware; None = never synced (full read)
    seen: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (id, EditSequence) in the window


def is_transaction(entity: str) -> bool:
    """Transactions filter by ModifiedDateRangeFilter; lists take FromModifiedDate directly."""
    return load().message(f"{entity}QueryRq").child("ModifiedDateRangeFilter") is not None


def quiet(mark: Watermark, asked: datetime, local: tzinfo | None) -> Watermark:
    """After every record of a change query was applied: nothing modified before ``asked`` (when the
    query was queued, before QuickBooks ran it) can still be missing, so the watermark may move up to it
    even when nothing changed. Otherwise a quiet company would re-read the hour before its last change at
    every poll. ``local`` is QuickBooks' UTC offset as its records show it (it compares local times);
    without one the watermark stays. The overlap still covers the DST hour and clocks that disagree a
    little."""
    if local is None:
        return mark
    asked = asked.astimezone(local).replace(microsecond=0)
    if mark.modified is not None and mark.modified >= asked:
        return mark
    keep = mark.seen if mark.modified is not None and mark.modified >= asked - OVERLAP else frozenset()
    return Watermark(mark.entity, asked, keep)


def change_query(mark: Watermark, *, page: int = PAGE, request_id: str | None = None) -> Request:
    """The first page (iterator Start) of everything modified since the watermark, minus the overlap.
    Queries that take no iterator (SalesRep, Terms and other short lists) are read whole."""
    since = mark.modified - OVERLAP if mark.modified is not None else None
    rq = load().message(f"{mark.entity}QueryRq")
    if is_transaction(mark.entity):
        # not every transaction query takes both (ReceivePaymentQuery has no IncludeLinkedTxns)
        filters: dict[str, Any] = {
            name: True for name in ("IncludeLineItems", "IncludeLinkedTxns") if rq.child(name) is not None
        }
        if since is not None:
            filters["ModifiedDateRangeFilter"] = {"FromModifiedDate": since}
    else:
        filters = {"ActiveStatus": "All"}  # deactivations are changes too
        if since is not None:
            filters["FromModifiedDate"] = since
    pages = any(a.name == "iterator" for a in rq.attributes)
    return query(
        mark.entity,
        filters,
        iterator="Start" if pages else None,
        max_returned=page if pages else None,
        request_id=request_id,
    )


def record_id(record: Mapping[str, Any]) -> str:
    return str(record.get("ListID") or record.get("TxnID") or "")


def fresh(mark: Watermark, records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Records not already applied: a (id, EditSequence) pair seen in the window is a repeat."""
    return [r for r in records if (record_id(r), str(r.get("EditSequence", ""))) not in mark.seen]


def advance(mark: Watermark, applied: Iterable[Mapping[str, Any]]) -> Watermark:
    """The watermark after ``applied`` were committed: the latest TimeModified, remembering what was
    seen inside the overlap window so the next query's repeats are recognised."""
    applied = list(applied)
    times = [r["TimeModified"] for r in applied if isinstance(r.get("TimeModified"), datetime)]
    if not times:
        return mark
    newest = max([*times, *([mark.modified] if mark.modified else [])])
    horizon = newest - OVERLAP
    keep = {
        (record_id(r), str(r.get("EditSequence", "")))
        for r in applied
        if isinstance(r.get("TimeModified"), datetime) and r["TimeModified"] >= horizon
    }
    if mark.modified is not None and mark.modified >= horizon:
        keep |= set(mark.seen)
    return Watermark(mark.entity, newest, frozenset(keep))
