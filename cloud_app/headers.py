"""Response headers that keep the app's pages and answers from being misused by a browser.

Pages run only our script (``/static/qb.js``), Bitrix24's ``BX24.js`` and the one inline bootstrap line
marked with a per-response nonce; they talk only to us (and the portal, for ``BX24.callMethod``); only
their own portal may frame them (§1.3: CSP ``frame-ancestors``, not ``X-Frame-Options``).
"""

from __future__ import annotations

from flask import Response

# for anything that is not one of our pages (JSON, text, static files): nothing to run, nobody frames it
NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def page_headers(*, frame_origin: str | None, script_origin: str, nonce: str) -> dict[str, str]:
    portal = f" {frame_origin}" if frame_origin else ""
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {script_origin} 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self'{portal}",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors 'self'{portal}",
        )
    )
    return {"Content-Security-Policy": policy}


def secure(response: Response) -> Response:
    """Every answer: the browser must not guess types, nor send our URLs to other sites; an answer with
    no policy of its own gets the strict one."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", NOT_A_PAGE)
    return response
