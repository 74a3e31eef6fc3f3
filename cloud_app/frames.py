"""Trusting what arrives in a Bitrix24 frame (§1.3) and the short-lived session a verified page gets.

A frame POST is trusted only when its ``APPLICATION_TOKEN`` matches the one stored for its portal and its
``AUTH_ID`` is accepted by that portal's own REST endpoint — the one recorded at install, never a URL from
the request. At install there is nothing stored yet: the token is checked with the OAuth server's
``app.info``, and only OAuth servers from configuration are asked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

import requests

from .portals import PortalStore

SESSION_TTL = 3600  # as long as the frame's own AUTH_ID lives (AUTH_EXPIRES, §1.3)


class Refused(Exception):
    """Why a frame or event is not trusted (logged, shown as a plain 403)."""


class TokenMismatch(Refused):
    """The frame's ``APPLICATION_TOKEN`` is not the stored one (perhaps rotated by an update whose
    ONAPPUPDATE we never got: an administrator's verified frame may re-key the portal)."""


@dataclass(frozen=True)
class FrameUser:
    member_id: str
    user_id: int
    admin: bool
    placement: str
    options: dict[str, Any]
    lang: str


def token_facts(
    server: str, auth: str, *, oauth_servers: tuple[str, ...], client_id: str, http: requests.Session | None
) -> dict[str, Any]:
    """The OAuth server's word on an access token (§1.4): issued to our ``client_id``, for which portal
    and REST endpoint, and for which user. Only OAuth servers from configuration are asked."""
    if server not in oauth_servers:
        raise Refused(f"untrusted OAuth server {server!r}")
    if not auth:
        raise Refused("no access token")
    try:
        answer = (http or requests).get(
            server + "app.info", params={"auth": auth}, timeout=15, allow_redirects=False
        )
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise Refused(f"OAuth server unreachable: {exc}") from exc
    info = body.get("result") if isinstance(body, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("install"), dict):
        raise Refused("the OAuth server did not accept the token")
    install = info["install"]
    if info.get("client_id") != client_id:
        raise Refused("token issued to another app")
    if not isinstance(install.get("member_id"), str) or not isinstance(install.get("client_endpoint"), str):
        raise Refused("the OAuth server did not say which portal the token is for")
    return {
        "member_id": install["member_id"],
        "domain": str(install.get("domain") or ""),
        "client_endpoint": install["client_endpoint"],
        "user_id": int(info.get("user_id") or 0),
        "scopes": tuple(s for s in str(info.get("scope", "")).split(",") if s),
        "version": _int(install.get("version")),  # the app version installed there (§1.4)
    }


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def require_admin(client_endpoint: str, auth: str, http: requests.Session | None) -> None:
    """The token's user may manage the app: ``user.admin`` on the portal's own endpoint answers true
    (``docs:api-reference/common/users/user-admin.md``: "whether the current user has the permissions
    to manage application settings"). Any other user's frame tokens cannot rebind the app."""
    try:
        answer = (http or requests).post(
            client_endpoint + "user.admin", json={"auth": auth}, timeout=15, allow_redirects=False
        )
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise Refused(f"portal unreachable: {exc}") from exc
    if answer.status_code != 200 or not isinstance(body, dict) or body.get("result") is not True:
        raise Refused("not a Bitrix24 administrator")


def verify_install(
    form: dict[str, str],
    *,
    oauth_servers: tuple[str, ...],
    client_id: str,
    http: requests.Session | None = None,
) -> dict[str, Any]:
    """The installer POST → the OAuth server's word on which portal and endpoint this token belongs to,
    and the portal's word that its user is an administrator. Only then may it (re)bind the portal."""
    facts = token_facts(
        form.get("SERVER_ENDPOINT", ""),
        form.get("AUTH_ID", ""),
        oauth_servers=oauth_servers,
        client_id=client_id,
        http=http,
    )
    if facts["member_id"] != form.get("member_id"):
        raise Refused("member_id does not match the token")
    if not is_application_token(form.get("APPLICATION_TOKEN", "")):
        raise Refused("no application token")
    require_admin(facts["client_endpoint"], form["AUTH_ID"], http)
    return facts


def verify_update(
    auth: dict[str, Any],
    *,
    oauth_servers: tuple[str, ...],
    client_id: str,
    http: requests.Session | None = None,
) -> dict[str, Any]:
    """An ``ONAPPUPDATE`` whose application token differs from the stored one (§1.5: an update may
    rotate it) is believed only when its tokens are our app's for this very portal, by the OAuth
    server's word, and belong to an administrator (asked at the endpoint the OAuth server names)."""
    facts = token_facts(
        str(auth.get("server_endpoint") or ""),
        str(auth.get("access_token") or ""),
        oauth_servers=oauth_servers,
        client_id=client_id,
        http=http,
    )
    if facts["member_id"] != auth.get("member_id"):
        raise Refused("member_id does not match the token")
    if not is_application_token(str(auth.get("application_token") or "")):
        raise Refused("no application token")
    require_admin(facts["client_endpoint"], str(auth["access_token"]), http)
    return facts


def is_application_token(value: str) -> bool:
    """What Bitrix24 issues: 32 hex digits in the docs' frames and events (§1.3); any 16–64 letters and
    digits are taken, as the docs' own webhook example is not hex."""
    return 16 <= len(value) <= 64 and value.isascii() and value.isalnum()


def verify_frame(
    form: dict[str, str], query: dict[str, str], store: PortalStore, http: requests.Session | None = None
) -> FrameUser:
    member_id = form.get("member_id", "")
    portal = store.portal(member_id)
    if portal is None or portal.state == "uninstalled":
        raise Refused("unknown portal")
    if not hmac.compare_digest(portal.application_token.encode(), form.get("APPLICATION_TOKEN", "").encode()):
        raise TokenMismatch("application token mismatch")
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
    """Page sessions: a random token the page sends in its ``X-Session`` header (never in a URL, where
    logs and referrers would keep it), stored only as a keyed digest with its portal, user and expiry.
    Uninstall deletes a portal's sessions at once; one session or one user's can be ended too."""

    def __init__(self, secret: str, store: PortalStore, ttl: float = SESSION_TTL) -> None:
        self._key = secret.encode()
        self.store, self.ttl = store, ttl

    def _digest(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def issue(self, user: FrameUser) -> str:
        token = secrets.token_urlsafe(32)
        self.store.add_session(self._digest(token), user.member_id, user.user_id, user.admin, self.ttl)
        return token

    def check(self, token: str) -> tuple[str, int, bool]:
        if not token or len(token) > 100:
            raise Refused("no session; reopen the page")
        found = self.store.session(self._digest(token))
        if found is None:
            raise Refused("bad session; reopen the page")
        member_id, user_id, admin, expires_at = found
        if expires_at < self.store.clock():
            raise Refused("session expired; reopen the page")
        return member_id, user_id, admin

    def revoke(self, token: str, member_id: str) -> bool:
        return self.store.drop_sessions(member_id, digest=self._digest(token)) > 0

    def revoke_portal(self, member_id: str) -> int:
        return self.store.drop_sessions(member_id)
