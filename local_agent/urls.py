"""Which cloud addresses the agent will use: encrypted ones, and plain ones only on this machine.

The cloud link carries the agent token and every QuickBooks answer, so it is ``wss://`` (and pairing
``https://``); plain ``ws://``/``http://`` is accepted only to a loopback host, for development and tests
(issue 20: a plain ``ws://`` URL from the cloud's pairing answer was used as given).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class UrlError(ValueError):
    pass


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_ws_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("wss", "ws") or not parts.hostname:
        raise UrlError(f"{url!r} is not a WebSocket address; expected wss://…")
    if parts.scheme == "ws" and not is_loopback(parts.hostname):
        raise UrlError(
            f"{url!r} is not encrypted: the agent connects only with wss:// (ws:// only to this machine)"
        )
    return url
