"""Request bodies the app believes: JSON capped in size and depth, and of the shape a route expects.

Python's JSON parser recurses per nesting level, so ``[[[[…]]]]`` ten thousand deep ends in a
``RecursionError`` — an HTTP 500 on every JSON route before this module. Flask parses every
``request.get_json`` through the app's JSON provider: the provider below refuses what is too deep and the
route sees "not JSON" (``silent=True``: ``None``), which every route already answers with a 400.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request
from flask.json.provider import DefaultJSONProvider

MAX_BODY_BYTES = 1024 * 1024  # the page API and pairing send a few hundred bytes; Bitrix24 forms a few KB
MAX_DEPTH = 32  # our bodies are at most three levels deep


class TooDeep(ValueError):
    """JSON nested deeper than :data:`MAX_DEPTH` (a ``ValueError``, so it reads as "not JSON")."""


def depth(value: Any) -> int:
    """How deeply lists and maps nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def loads_capped(text: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises :class:`TooDeep` (a ``ValueError``) instead of recursing without end."""
    if len(text) > MAX_BODY_BYTES:
        raise ValueError("body too large")
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {limit}") from None
    if depth(value) > limit:
        raise TooDeep(f"JSON nested deeper than {limit}")
    return value


class CappedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with request bodies parsed by :func:`loads_capped`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_capped(s)


def refusal() -> Response | None:
    """Every body sent to the page or agent API is one JSON object (what each route reads): anything else
    is answered 415/400 here, before a route could trip over a list, a string or a form."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.path.startswith("/api/"):
        return None
    if not request.get_data(cache=True):  # over MAX_CONTENT_LENGTH: werkzeug answers 413
        return None
    if request.mimetype != "application/json":
        return _refused(415, "Send JSON (Content-Type: application/json).")
    if not isinstance(request.get_json(silent=True), dict):
        return _refused(400, f"Send one JSON object (at most {MAX_DEPTH} levels deep).")
    return None


def _refused(status: int, message: str) -> Response:
    answer = jsonify(error="bad_request", message=message)
    answer.status_code = status
    return answer
