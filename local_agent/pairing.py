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

from .urls import UrlError, check_ws_url, is_loopback


class PairingError(Exception):
    pass


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
        shown = f"“{server.strip()[:80]}”" if server.strip() else "An empty address"
        raise PairingError(
            f"{shown} is not the app's address: copy the https://… address shown beside the pairing code."
        )
    if parts.scheme == "http" and not local:
        raise PairingError(
            f"The app's address must start with https://, not http://: try https://{parts.netloc}."
        )
    return server.rstrip("/")


def pair(server: str, code: str, agent_version: str, *, verify: bool = True, timeout: float = 15) -> Paired:
    base = check_server(server)
    host = urlsplit(base).netloc
    code = code.strip()
    if not code:
        raise PairingError("The pairing code is empty; copy it from the app's setup page in Bitrix24.")
    try:
        resp = requests.post(
            f"{base}/api/agents/pair",
            json={"code": code, "agent_version": agent_version, "hostname": socket.gethostname()},
            timeout=timeout,
            verify=verify,
        )
    except requests.exceptions.SSLError as exc:
        raise PairingError(
            f"Could not connect securely to {host}: its certificate could not be checked. Check the address; "
            "if it is right, ask whoever runs your network whether it inspects secure connections."
        ) from exc
    except requests.RequestException as exc:
        raise PairingError(
            f"Could not reach {host}: check the address and the internet connection, then try again."
        ) from exc
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200:
        message = body.get("message") if isinstance(body, dict) else None
        raise PairingError(message or f"The server refused the pairing code (HTTP {resp.status_code}).")
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str) and body.get(k) for k in ("agent_id", "agent_token", "portal", "ws_url")
    ):
        raise PairingError("The server's answer to pairing was incomplete; is this the right server address?")
    try:
        check_ws_url(body["ws_url"])
    except UrlError as exc:
        raise PairingError(f"The server gave an unsafe link address: {exc}") from None
    return Paired(body["agent_id"], body["agent_token"], body["portal"], body["ws_url"])
