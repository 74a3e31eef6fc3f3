"""PHP-style request parameters: ``fields[PHONE][0][VALUE]=…``, ``select[]=…``, and PHP's JSON quirks.

Bitrix24 is PHP: query strings, form bodies and the command strings inside ``batch`` are parsed the way
PHP fills ``$_REQUEST`` (contract §6, §12.1). A PHP array is both a list and a map; we keep maps with
string keys and let each method read them with :func:`as_list` where it expects a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)(.*)$")


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``[("a[b][]", "1"), ("a[b][]", "2")]`` → ``{"a": {"b": ["1", "2"]}}`` (PHP's ``$_REQUEST``)."""
    out: dict[str, Any] = {}
    for raw_key, value in pairs:
        m = _KEY.match(raw_key)
        if not m:
            continue
        head, brackets, rest = m.groups()
        path = [head] + ([] if rest else re.findall(r"\[([^\[\]]*)\]", brackets))
        if rest:  # "a[b" — PHP keeps the broken key as a plain name
            path = [raw_key]
        _put(out, path, value)
    return out


def parse_query(query: str) -> dict[str, Any]:
    return parse_pairs(parse_qsl(query, keep_blank_values=True))


def _put(node: dict[str, Any] | list[Any], path: list[str], value: Any) -> None:
    key = path[0]
    last = len(path) == 1
    if isinstance(node, list):
        if key == "":
            if last:
                node.append(value)
                return
            node.append({})
            _put(node[-1], path[1:], value)
            return
        # a named key inside what started as a list: PHP turns it into a map
        raise _Promote(key)
    if key == "":
        key = str(_next_index(node))
    if last:
        node[key] = value
        return
    child = node.get(key)
    if not isinstance(child, (dict, list)):
        child = [] if path[1] == "" else {}
        node[key] = child
    try:
        _put(child, path[1:], value)
    except _Promote:
        node[key] = {str(i): v for i, v in enumerate(child)}
        _put(node[key], path[1:], value)


class _Promote(Exception):
    pass


def _next_index(node: dict[str, Any]) -> int:
    ints = [int(k) for k in node if k.isdigit()]
    return max(ints) + 1 if ints else 0


def as_list(value: Any) -> list[Any]:
    """A PHP array read as a list: lists as they are, maps by their values in key order, scalars wrapped."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def as_map(value: Any) -> dict[str, Any] | None:
    """A PHP array read as a map (lists keyed 0..n-1); None when it is not an array at all."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return None


def php_json(value: Any) -> Any:
    """What ``json_encode`` makes of a PHP value: an empty array is ``[]``, a map keyed 0..n-1 a list."""
    if isinstance(value, dict):
        if not value:
            return []
        if all(k == str(i) for i, k in enumerate(value)):
            return [php_json(v) for v in value.values()]
        return {k: php_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [php_json(v) for v in value]
    return value


def lower_keys(params: dict[str, Any]) -> dict[str, Any]:
    """Legacy CRM methods accept ``ID``/``id``, ``FIELDS``/``fields``: top-level keys, case-insensitively."""
    return {k.lower(): v for k, v in params.items()}
