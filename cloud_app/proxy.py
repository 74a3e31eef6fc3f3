"""The client's address behind the reverse proxy: ``X-Forwarded-For`` believed only from a configured
proxy.

The pairing throttle counts wrong codes per client address. Behind a proxy every request comes from the
proxy's address, so ten wrong codes from one person would block pairing for everyone; but a header anyone
can send must not pick the address either. So: when the direct peer is one of ``trusted`` proxies, the
client is the right-most address in ``X-Forwarded-For`` that is not itself a trusted proxy (each proxy
appends the address it saw); otherwise the header is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(trusted: Iterable[str]) -> tuple[Network, ...]:
    """``"127.0.0.1"``, ``"10.0.0.0/8"``, ``"::1"`` → networks (a ValueError names a bad entry)."""
    return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in trusted if t.strip())


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """Who the client is, given the direct ``peer`` and the ``X-Forwarded-For`` header (pure)."""
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                return peer  # garbage where an address should be: believe nothing of it
    return hops[0] if hops else peer


class ForwardedFor:
    """WSGI middleware: ``REMOTE_ADDR`` becomes :func:`client_address`; the header is dropped."""

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        self.app, self.trusted = app, networks(trusted)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        forwarded = environ.pop("HTTP_X_FORWARDED_FOR", None)
        peer = environ.get("REMOTE_ADDR", "")
        environ["REMOTE_ADDR"] = client_address(peer, forwarded, self.trusted)
        return self.app(environ, start_response)
