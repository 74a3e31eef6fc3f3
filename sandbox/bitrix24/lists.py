"""List methods: filter prefixes, ordering, the fixed page of 50, ``start=-1`` (§7, §12.8)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any

from .errors import ApiError

PAGE = 50
_OP = re.compile(r"^(!%=|!=%|!%|!@|!=|>=|<=|=%|%=|!|@|%|>|<|=)?(.+)$")


def split_key(key: str) -> tuple[str, str]:
    m = _OP.match(key)
    assert m
    return m.group(1) or "=", m.group(2)


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value
    return value


def _comparable(record_value: Any, wanted: Any) -> tuple[Any, Any]:
    """Bring a filter value to the record value's type (numbers, dates, text)."""
    if isinstance(record_value, bool):
        record_value = "Y" if record_value else "N"
    if isinstance(record_value, (int, Decimal)) and not isinstance(record_value, bool):
        try:
            return Decimal(record_value), Decimal(str(wanted).strip())
        except InvalidOperation:
            return str(record_value), str(wanted)
    if isinstance(record_value, datetime):
        try:
            w = datetime.fromisoformat(str(wanted).strip())
        except ValueError:
            return record_value.isoformat(), str(wanted)
        if w.tzinfo is None:
            w = w.replace(tzinfo=record_value.tzinfo)
        return record_value, w
    if isinstance(record_value, date):
        try:
            return record_value, datetime.fromisoformat(str(wanted).strip()).date()
        except ValueError:
            return record_value.isoformat(), str(wanted)
    if str(wanted).upper() in ("Y", "N") and record_value in ("Y", "N"):
        return record_value, str(wanted).upper()
    return ("" if record_value is None else str(record_value)).casefold(), str(wanted).casefold()


def _one(op: str, value: Any, wanted: Any) -> bool:
    if isinstance(value, list):  # multiple fields and multifields: any element matches
        if op.startswith("!"):
            return all(_one(op, v, wanted) for v in value) if value else True
        return any(_one(op, v, wanted) for v in value)
    if isinstance(wanted, (list, dict)) and op in ("=", "@", "!@", "!", "!="):
        options = list(wanted.values()) if isinstance(wanted, dict) else wanted
        hit = any(_one("=", value, w) for w in options)
        return not hit if op.startswith("!") else hit
    if value is None and op in ("=", "@"):
        return str(wanted) in ("", "0") and op == "="
    if value is None:
        return op.startswith("!") and str(wanted) not in ("",)
    a, b = _comparable(value, wanted)
    if op in ("=", "@"):
        return bool(a == b)
    if op in ("!", "!=", "!@"):
        return bool(a != b)
    if op in ("%", "!%"):
        hit = str(b) in str(a)
        return hit if op == "%" else not hit
    if op in ("=%", "%=", "!=%", "!%="):
        hit = fnmatchcase(str(a), str(b).replace("%", "*"))
        return hit if not op.startswith("!") else not hit
    try:
        if op == ">":
            return bool(a > b)
        if op == ">=":
            return bool(a >= b)
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
    except TypeError:
        return False
    return False


Resolve = Callable[[str], str | None]


def matches(
    record: dict[str, Any],
    filt: dict[str, Any],
    resolve: Resolve,
    *,
    groups: bool = False,
    empty: str = "ignored",
) -> bool:
    """Does ``record`` satisfy ``filt``? ``resolve`` maps a filter name to the store's (None: skip).
    ``empty``: what a condition whose value is an empty array (``{"ENTITY_ID": []}``, what a batch
    reference to an empty list becomes) does — ``"ignored"``: the condition drops out, ``"nothing"``:
    nothing matches (``Settings.empty_array_filter``)."""
    logic = str(filt.get("logic", filt.get("LOGIC", "AND"))).upper()
    results: list[bool] = []
    for key, wanted in filt.items():
        if key.lower() == "logic":
            continue
        if groups and isinstance(wanted, dict) and (key.isdigit() or "logic" in {k.lower() for k in wanted}):
            results.append(matches(record, wanted, resolve, groups=True, empty=empty))
            continue
        op, name = split_key(key)
        if isinstance(wanted, (list, dict)) and not wanted and empty == "ignored":
            continue
        field = resolve(name)
        if field is None:
            continue
        value = record.get(field)
        if field in ("PHONE", "EMAIL", "WEB", "IM"):  # multifields: exact values only
            value = [m["VALUE"] for m in value or []]
        results.append(_one(op, _norm(value), wanted))
    if not results:
        return True
    return any(results) if logic == "OR" else all(results)


def kept(rows: Iterable[dict[str, Any]], filt: dict[str, Any], *, empty: str) -> list[dict[str, Any]]:
    """The rows ``filt`` keeps, naming the rows' own (upper-case) fields; a name no row has is skipped.
    ``empty``: as in :func:`matches`."""

    def own(row: dict[str, Any]) -> Resolve:
        return lambda n: n.upper() if n.upper() in row else None

    return [r for r in rows if matches(r, filt, own(r), empty=empty)]


def ordered(
    records: Iterable[dict[str, Any]], order: dict[str, str], resolve: Resolve
) -> list[dict[str, Any]]:
    rows = sorted(records, key=lambda r: r.get("ID") or 0)
    for name, direction in reversed(list(order.items())):
        field = resolve(name)
        if field is None:
            continue
        desc = str(direction).upper() == "DESC"
        rows.sort(key=lambda r: _sort_key(r.get(field)), reverse=desc)
    return rows


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, (int, Decimal)):
        return (1, Decimal(value))
    if isinstance(value, (date, datetime)):
        return (2, value.isoformat())
    return (3, str(value).casefold())


def page(rows: list[Any], start: Any) -> tuple[list[Any], int, int | None]:
    """(rows of this page, total, next) — ``start=-1``: no counting, total 0, no next (§7.1)."""
    try:
        offset = int(str(start or 0))
    except ValueError:
        offset = 0
    if offset == -1:
        return rows[:PAGE], 0, None
    offset = max(offset, 0)
    chunk = rows[offset : offset + PAGE]
    nxt = offset + PAGE if offset + PAGE < len(rows) else None
    return chunk, len(rows), nxt


def check_order_direction(order: dict[str, Any]) -> None:
    for name, direction in order.items():
        if str(direction).upper() not in ("ASC", "DESC"):
            raise ApiError(
                "INVALID_ARG_VALUE",
                "Invalid order: allowed sort directions are ASC, DESC. "
                f"But got '{direction}' for field '{name}'",
                400,
            )
