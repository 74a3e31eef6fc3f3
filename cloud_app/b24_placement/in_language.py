"""The page API answers in the page's language: an ``after_request`` hook that passes every message
field of a JSON answer (and a plain-text refusal) through :func:`server_words.say` when the page asked
in a language other than English (``X-Lang``, sent by every page call)."""

from __future__ import annotations

import json

from flask import Response, request

from .server_words import localize, say

API = "/api/portals/"


def in_language(response: Response) -> Response:
    lang = (request.headers.get("X-Lang") or "en").lower()[:2]
    if lang == "en" or not request.path.startswith(API) or response.direct_passthrough:
        return response
    if response.is_json:
        data = response.get_json(silent=True)
        if data is not None:
            response.set_data(json.dumps(localize(data, lang), ensure_ascii=False))
    elif response.mimetype == "text/plain":
        response.set_data(say(response.get_data(as_text=True), lang))
    return response
