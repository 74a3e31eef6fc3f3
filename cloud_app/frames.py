"""Trusting what arrives in a Bitrix24 frame (§1.3) and the short-lived session a verified page gets.

A frame POST is trusted only when its ``APPLICATION_TOKEN`` matches the one stored for its portal and its
``AUTH_ID`` is accepted by that portal's own REST endpoint — the one recorded at install, never a URL from
the request. At install there is nothing stored yet: the token is checked with the OAuth server's
``app.info``, and only OAuth servers from configuration are asked.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import requests
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .portals import PortalStore

SESSION_TTL = 3600


class Refused(Exception):
    """Why a frame or event is not trusted (logged, shown as a plain 403)."""


@dataclass(frozen=True)
class FrameUser:
    member_id: str
    user_id: int
    admin: bool
    placement: str
    options: dict[str, Any]
    lang: str


def verify_install(
    form: dict[str, str],
    *,
    oauth_servers: tuple[str, ...],
    client_id: str,
    http: requests.Session | None = None,
) -> dict[str, Any]:
    """The installer POST → the OAuth server's word on which portal and endpoint this token belongs to."""
    server = form.get("SERVER_ENDPOINT", "")
    if server not in oauth_servers:
        raise Refused(f"untrusted OAuth server {server!r}")
    auth = form.get("AUTH_ID", "")
    if not auth:
        raise Refused("no AUTH_ID")
    try:
        answer = (http or requests).get(server + "app.info", params={"auth": auth}, timeout=15)
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise Refused(f"OAuth server unreachable: {exc}") from exc
    info = body.get("result") if isinstance(body, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("install"), dict):
        raise Refused("the OAuth server did not accept the token")
    install = info["install"]
    if info.get("client_id") != client_id:
        raise Refused("token issued to another app")
    if install.get("member_id") != form.get("member_id"):
        raise Refused("member_id does not match the token")
    return {
        "member_id": install["member_id"],
        "domain": install.get("domain", ""),
        "client_endpoint": install["client_endpoint"],
        "user_id": int(info.get("user_id") or 0),
        "scopes": tuple(s for s in str(info.get("scope", "")).split(",") if s),
    }


def verify_frame(
    form: dict[str, str], query: dict[str, str], store: PortalStore, http: requests.Session | None = None
) -> FrameUser:
    import json

    member_id = form.get("member_id", "")
    portal = store.portal(member_id)
    if portal is None or portal.state == "uninstalled":
        raise Refused("unknown portal")
    if not hmac.compare_digest(portal.application_token.encode(), form.get("APPLICATION_TOKEN", "").encode()):
        raise Refused("application token mismatch")
    try:
        answer = (http or requests).post(
            portal.client_endpoint + "profile",
            json={"auth": form.get("AUTH_ID", "")},
            timeout=15,
            allow_redirects=False,
        )
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise Refused(f"portal unreachable: {exc}") from exc
    profile = body.get("result") if isinstance(body, dict) else None
    if answer.status_code != 200 or not isinstance(profile, dict):
        raise Refused("the portal did not accept the frame's token")
    try:
        options = json.loads(form.get("PLACEMENT_OPTIONS") or "{}")
    except json.JSONDecodeError as exc:
        raise Refused("PLACEMENT_OPTIONS is not JSON") from exc
    return FrameUser(
        member_id,
        int(profile.get("ID") or 0),
        bool(profile.get("ADMIN")),
        form.get("PLACEMENT", "DEFAULT"),
        options if isinstance(options, dict) else {},
        query.get("LANG", "en"),
    )


class Sessions:
    """Signed, expiring page sessions: a page's own API calls carry one, scoped to one portal and user."""

    def __init__(self, secret: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="qb-bitrix24-frame")

    def issue(self, user: FrameUser) -> str:
        return self._s.dumps({"m": user.member_id, "u": user.user_id, "a": user.admin})

    def check(self, token: str) -> tuple[str, int, bool]:
        try:
            data = self._s.loads(token, max_age=SESSION_TTL)
        except SignatureExpired as exc:
            raise Refused("session expired; reopen the page") from exc
        except BadSignature as exc:
            raise Refused("bad session") from exc
        return str(data["m"]), int(data["u"]), bool(data["a"])
