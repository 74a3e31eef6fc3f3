"""Bitrix24's form-encoded payloads (``auth[member_id]=…``, ``data[FIELDS][ID]=…``) as nested dicts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def nested(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        path = [head, *re.findall(r"\[([^\]]*)\]", key[len(head) :])]
        node = out
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = value
    return out
