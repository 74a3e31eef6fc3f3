"""Setting a Bitrix24 multifield (PHONE, EMAIL) to exactly a list of values, without duplicates.

``crm.contact.update`` does not replace multifields: an item without ``ID`` is *appended*, an item with
``ID`` and a new value modifies it, an item with ``ID`` and an empty ``VALUE`` deletes it, and ``[]`` does
nothing (``../shared/specs/bitrix24-platform.md`` §8.4). Sending the wanted list as-is is the classic
duplicate-phone bug; this computes the operations from what the record holds now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


def operations(
    existing: Sequence[Mapping[str, Any]],
    wanted: Sequence[tuple[str, str]],
    same: Callable[[str], str | None] = lambda v: v.strip().lower() or None,
) -> list[dict[str, Any]]:
    """Ops for ``fields[PHONE]`` so the record ends up holding ``wanted`` ((VALUE_TYPE, VALUE) pairs).

    Values already present (compared by ``same``, e.g. normalised phone digits) are kept as they are;
    left-over existing items are reused for new values (modify by ID) before anything is appended; the
    rest are deleted. An empty list means "no change needed".
    """
    keep: dict[str, Mapping[str, Any]] = {}
    spare: list[Mapping[str, Any]] = []
    want_keys = {same(v): (t, v) for t, v in wanted if same(v)}
    for item in existing:
        key = same(str(item.get("VALUE", "")))
        if key is not None and key in want_keys and key not in keep:
            keep[key] = item
        else:
            spare.append(item)
    ops: list[dict[str, Any]] = []
    for key, (value_type, value) in want_keys.items():
        if key in keep:
            item = keep[key]
            if item.get("VALUE_TYPE") != value_type:
                ops.append({"ID": item["ID"], "VALUE": item.get("VALUE"), "VALUE_TYPE": value_type})
            continue
        if spare:
            ops.append({"ID": spare.pop(0)["ID"], "VALUE": value, "VALUE_TYPE": value_type})
        else:
            ops.append({"VALUE": value, "VALUE_TYPE": value_type})
    for item in spare:
        ops.append({"ID": item["ID"], "DELETE": "Y"})
    return ops
