"""Bitrix24's OAuth token endpoint, on authlib (docs/adr/0003-oauth-on-authlib.md).

Bitrix24 refreshes with ``GET {oauth server}/oauth/token/?grant_type=refresh_token&client_id=…&client_secret=…
&refresh_token=…`` (contract §2.3): the client's credentials in the query string, no Basic auth, no body.
authlib sends it — its token request with ``method="GET"`` and a client-authentication method registered
here that puts the credentials in the query — and reads the answer: a token, or the server's ``error`` as
:class:`OAuthError` (HTTP 200 ``wrong_client`` included). Here: the token's expiry on the caller's clock
(Bitrix24 sends an absolute ``expires``; authlib would count ``expires_in`` from the wall clock), the
rotation rule (the answer's refresh token replaces the spent one), and failures described without the
request's URL, which carries the client secret and the refresh token.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.urls import add_params_to_uri
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

QUERY_AUTH = "client_secret_query"  # Bitrix24's client authentication: id and secret as query parameters
DEFAULT_LIFETIME = 3600.0  # an access token lives an hour (§2.3) when the answer does not say


def token_url(server_endpoint: str) -> str:
    """``https://oauth.bitrix.info/rest/`` → ``https://oauth.bitrix.info/oauth/token/`` (§2.3)."""
    base = server_endpoint.rstrip("/")
    base = base[: -len("/rest")] if base.endswith("/rest") else base
    return base + "/oauth/token/"


@dataclass(frozen=True)
class Token:
    """A refresh's answer: ``refresh_token`` replaces the one spent (single use, §2.3)."""

    access_token: str
    refresh_token: str
    expires_at: float  # Unix time, on the OAuth server's clock
    client_endpoint: str | None  # the portal's REST base, when the answer names it


class Refused(Exception):
    """The OAuth server answered with an ``error`` (§2.5): ``code`` upper-cased, e.g. ``INVALID_GRANT``."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(f"the OAuth server refused the refresh: {code} (HTTP {status})")
        self.code, self.status = code, status


class Unreachable(Exception):
    """No answer that is a token or a refusal (down, timed out, a gateway's page). The message is safe to
    log and show: it never holds the request's URL."""


def _credentials_in_query(client: Any, method: str, uri: str, headers: Any, body: Any) -> tuple[Any, ...]:
    """authlib's client-auth hook: ``client_id`` and ``client_secret`` on the token URL's query."""
    query = [("client_id", str(client.client_id)), ("client_secret", str(client.client_secret or ""))]
    return add_params_to_uri(uri, query), headers, body


def refresh(
    url: str, client_id: str, client_secret: str, refresh_token: str, *, now: float, timeout: float
) -> Token:
    """Spend ``refresh_token`` at the token endpoint ``url`` for a new pair. ``now`` is the caller's clock,
    for an answer that gives only ``expires_in``. Raises :class:`Refused` or :class:`Unreachable`."""
    status = 0

    def keep_status(answer: requests.Response) -> requests.Response:
        nonlocal status
        status = answer.status_code
        return answer

    with OAuth2Session(client_id, client_secret, token_endpoint_auth_method=QUERY_AUTH) as oauth:
        oauth.register_client_auth_method((QUERY_AUTH, _credentials_in_query))
        oauth.register_compliance_hook("access_token_response", keep_status)
        try:
            got = oauth.fetch_token(
                url,
                method="GET",
                grant_type="refresh_token",
                refresh_token=refresh_token,
                timeout=timeout,
                allow_redirects=False,  # the refresh token goes to the recorded OAuth server only
            )
        # ``from None``: the causes name the URL, and a logged traceback would print them
        except OAuthError as exc:
            raise Refused(str(exc.error or "INVALID_GRANT").upper(), status) from None
        except requests.HTTPError:
            raise Unreachable(f"the OAuth server answered HTTP {status}") from None
        except requests.Timeout:
            raise Unreachable("the OAuth server did not answer in time") from None
        except ValueError:  # before RequestException: requests' JSONDecodeError is both
            raise Unreachable(f"the OAuth server's answer (HTTP {status}) is not a token") from None
        except requests.RequestException as exc:
            raise Unreachable(f"could not reach the OAuth server ({type(exc).__name__})") from None
    if not isinstance(got, dict):  # older authlib hands a JSON list or string through
        raise Unreachable(f"the OAuth server's answer (HTTP {status}) is not a token")
    access = got.get("access_token")
    if not isinstance(access, str) or not access:
        raise Refused("INVALID_GRANT", status)
    # Bitrix24's absolute ``expires`` first: authlib's own ``expires_at`` is counted from the wall clock
    expires_at = _number(got.get("expires")) or now + (_number(got.get("expires_in")) or DEFAULT_LIFETIME)
    rotated = got.get("refresh_token")
    endpoint = got.get("client_endpoint")
    return Token(
        access,
        rotated if isinstance(rotated, str) and rotated else refresh_token,
        expires_at,
        endpoint if isinstance(endpoint, str) and endpoint else None,
    )


def _number(value: object) -> float | None:
    try:
        return float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None


# urllib3 logs each request line at DEBUG, query string included: the token request carries the client
# secret and the refresh token there, app.info the access token (``auth``). Their values never reach a log.
_SECRET_PARAMS = re.compile(r"\b(client_secret|refresh_token|access_token|auth|code)=[^&\s\"']*")


class _NoSecretsInUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PARAMS.sub(r"\1=…", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_PARAMS.sub(r"\1=…", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_NoSecretsInUrls())
