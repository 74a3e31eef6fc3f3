"""The HTML a verified frame gets: a shell the page script fills in from the portal API."""

from __future__ import annotations

import html
import json
from pathlib import Path

from .strings import catalog

STATIC = Path(__file__).parent / "static"
PAGES = ("app", "deal-sync", "deal-tab", "contact-tab", "company-tab")


def render(*, page: str, member_id: str, record_id: str, session: str, admin: bool, lang: str) -> str:
    """The page's body: its data attributes (all escaped) and its strings as JSON."""
    code, strings = catalog(lang)
    attrs = {
        "data-page": page,
        "data-member": member_id,
        "data-id": record_id,
        "data-session": session,
        "data-admin": "1" if admin else "0",
        "data-lang": code,
    }
    data = " ".join(f"{k}='{html.escape(v, quote=True)}'" for k, v in attrs.items())
    # "</" cannot end the script element early: JSON allows "\/"
    text = json.dumps(strings, ensure_ascii=False).replace("</", "<\\/")
    return (
        "<link rel='stylesheet' href='/static/qb.css'>"
        f"<main id='qb' {data} lang='{code}' aria-live='polite'><p class='muted'>"
        f"{html.escape(strings['loading'])}</p></main>"
        f"<script id='qb-strings' type='application/json'>{text}</script>"
        "<script src='/static/qb.js'></script>"
    )
