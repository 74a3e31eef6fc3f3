"""Exchange a one-time pairing code from the cloud app's page for this agent's token.

``POST {server}/api/agents/pair`` with ``{"code", "agent_version", "hostname"}`` answers
``{"agent_id", "agent_token", "portal", "ws_url"}``; errors answer ``{"error", "message"}`` with 400 (bad
code format), 404 (unknown code), 410 (code expired or used) or 429 (too many tries). The message is the
cloud's own words for the person at the keyboard.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from . import words
from .urls import UrlError, check_ws_url, is_loopback


class PairingError(Exception):
    """A pairing refused, in the person's words: ``str()`` is English (the command line); :meth:`said` gives
    the text in another language the agent's page speaks (``key`` names it in :mod:`local_agent.words`)."""

    def __init__(self, message: str, key: str = "", **holes: str) -> None:
        super().__init__(message)
        self.key, self.holes = key, holes

    def said(self, lang: str) -> str:
        if lang == "en" or not self.key or self.key not in words.EN:
            return str(self)
        return words.say(lang, self.key, **self.holes)


def _refused(key: str, **holes: str) -> PairingError:
    return PairingError(words.say("en", key, **holes), key, **holes)


@dataclass(frozen=True)
class Paired:
    agent_id: str
    agent_token: str
    portal: str
    ws_url: str


def check_server(server: str) -> str:
    parts = urlsplit(server)
    local = is_loopback(parts.hostname)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        if not server.strip():
            raise _refused("pair.empty_address")
        raise _refused("pair.not_address", shown=f"“{server.strip()[:80]}”")
    if parts.scheme == "http" and not local:
        raise _refused("pair.https", netloc=parts.netloc)
    return server.rstrip("/")


def pair(server: str, code: str, agent_version: str, *, verify: bool = True, timeout: float = 15) -> Paired:
    base = check_server(server)
    host = urlsplit(base).netloc
    code = code.strip()
    if not code:
        raise _refused("pair.empty_code")
    try:
        resp = requests.post(
            f"{base}/api/agents/pair",
            json={"code": code, "agent_version": agent_version, "hostname": socket.gethostname()},
            timeout=timeout,
            verify=verify,
        )
    except requests.exceptions.SSLError as exc:
        raise _refused("pair.certificate", host=host) from exc
    except requests.RequestException as exc:
        raise _refused("pair.unreachable", host=host) from exc
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200:
        message = body.get("message") if isinstance(body, dict) else None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(message, str) and message and isinstance(error, str):
            raise PairingError(message, f"pair.server.{error}")  # the cloud's English; its code for the rest
        raise _refused("pair.refused", status=str(resp.status_code))
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str) and body.get(k) for k in ("agent_id", "agent_token", "portal", "ws_url")
    ):
        raise _refused("pair.incomplete")
    try:
        check_ws_url(body["ws_url"])
    except UrlError as exc:
        raise _refused("pair.unsafe_link", reason=str(exc)) from None
    return Paired(body["agent_id"], body["agent_token"], body["portal"], body["ws_url"])
