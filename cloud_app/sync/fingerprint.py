"""A stable hash of the synced fields of a record: skips no-op writes and recognises our own echoes.

When we write a record to one side we remember the hash of what we wrote. When that side reports the
record changed, an equal hash means the change is ours coming back — it is not sent back again.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _canon(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canon(v) for k, v in value.items() if v is not None and v != "" and v != []}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value.strip())
    return str(value)


def canonical(fields: Mapping[str, Any]) -> str:
    """The fields as one comparable JSON text (kept where the values are needed again, e.g. as the base
    of a three-way merge)."""
    return json.dumps(_canon(fields), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fingerprint(fields: Mapping[str, Any]) -> str:
    """Same content → same hash, whatever the key order, Decimal scale (1.50 = 1.5) or empty fields."""
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()
