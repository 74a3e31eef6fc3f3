"""Bitrix24's token refresh on authlib (``cloud_app/b24/oauth.py``) against the emulator's OAuth server:
the request Bitrix24 documents, rotation, expiry on the server's clock, refusals by code, and no secret in
any message, traceback or log line when it fails."""

from __future__ import annotations

import io
import logging
import socket
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from cloud_app.b24 import oauth
from sandbox.bitrix24 import Clock
from sandbox.bitrix24.server import make_app

from ..harness import CLIENT_ID, SECRET, Cloud, running_cloud


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class Front:
    """A second door to the same emulator's OAuth server that notes each request as it arrived; with
    ``gateway`` set a proxy in front of it answers that status with its own HTML page instead."""

    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    gateway: int | None = None


@contextmanager
def oauth_front(cloud: Cloud) -> Iterator[Front]:
    app = make_app(cloud.emu)
    front = Front("")

    def noting(environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        front.seen.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": environ["PATH_INFO"],
                "query": parse_qs(environ.get("QUERY_STRING", "")),
                "body": body,
                "authorization": environ.get("HTTP_AUTHORIZATION"),
            }
        )
        if front.gateway is not None:
            start_response(f"{front.gateway} Proxy", [("Content-Type", "text/html")])
            return [b"<html><body>The proxy says no</body></html>"]
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, noting, threaded=True, request_handler=_Quiet)
    front.url = f"http://127.0.0.1:{server.server_port}/oauth/token/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield front
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path, Clock(1_795_000_000.0)) as c:  # the emulator's clock is not the wall's
        c.install()
        yield c


def _refresh_token(cloud: Cloud) -> str:
    creds = cloud.services.portals.credentials(cloud.portal.member_id)
    assert creds is not None
    return creds.refresh_token


def _refresh(
    url: str, refresh_token: str, *, client_id: str = CLIENT_ID, secret: str = SECRET
) -> oauth.Token:
    return oauth.refresh(url, client_id, secret, refresh_token, now=1_000.0, timeout=5)


def test_the_token_url_is_derived_from_the_recorded_server_endpoint() -> None:
    """§2.3: strip ``rest/``, append ``oauth/token/`` (east and west OAuth hosts alike)."""
    assert oauth.token_url("https://oauth.bitrix.info/rest/") == "https://oauth.bitrix.info/oauth/token/"
    assert oauth.token_url("https://oauth.bitrix24.tech/rest") == "https://oauth.bitrix24.tech/oauth/token/"


def test_a_refresh_is_bitrix24s_get_and_the_answer_replaces_the_spent_token(cloud: Cloud) -> None:
    """§2.3 (docs:settings/oauth/index.md): GET with grant_type, client_id, client_secret and
    refresh_token in the query; the new refresh token replaces the old, which is spent."""
    spent = _refresh_token(cloud)
    with oauth_front(cloud) as front:
        token = _refresh(front.url, spent)
    assert [(s["method"], s["path"]) for s in front.seen] == [("GET", "/oauth/token/")]
    assert front.seen[0]["query"] == {
        "grant_type": ["refresh_token"],
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
        "refresh_token": [spent],
    }
    assert front.seen[0]["body"] == b"" and front.seen[0]["authorization"] is None
    assert token.refresh_token not in ("", spent)
    assert token.client_endpoint == cloud.emu.client_endpoint(cloud.portal)
    answer = requests.post(
        token.client_endpoint + "user.current", json={"auth": token.access_token}, timeout=5
    )
    assert answer.status_code == 200 and answer.json()["result"]["ID"] == "1"  # the new access token works
    with oauth_front(cloud) as front, pytest.raises(oauth.Refused) as again:
        _refresh(front.url, spent)
    assert (again.value.code, again.value.status) == ("INVALID_GRANT", 400)  # single use


def test_expiry_is_bitrix24s_expires_on_its_clock_not_the_wall_clock(cloud: Cloud) -> None:
    """The answer's ``expires`` is Unix time on the server's clock (§2.3); ``now`` only fills in an
    answer that gives ``expires_in`` alone."""
    with oauth_front(cloud) as front:
        token = _refresh(front.url, _refresh_token(cloud))
    assert token.expires_at == int(cloud.emu.clock()) + 3600


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"client_id": "app.unknown.1"}, "WRONG_CLIENT", 200),  # §2.5: HTTP 200 with an error
        ({"secret": "guessed"}, "INVALID_CLIENT", 400),
        ({"refresh_token": "0" * 32}, "INVALID_GRANT", 400),
    ],
)
def test_a_refusal_comes_back_by_its_code(
    cloud: Cloud, change: dict[str, str], code: str, status: int
) -> None:
    """§2.5, pysdk:tests/integration/errors/test_errors_oauth.py (live-tested codes)."""
    args = {"client_id": CLIENT_ID, "secret": SECRET, "refresh_token": _refresh_token(cloud), **change}
    with oauth_front(cloud) as front, pytest.raises(oauth.Refused) as refused:
        _refresh(front.url, args["refresh_token"], client_id=args["client_id"], secret=args["secret"])
    assert (refused.value.code, refused.value.status) == (code, status)


def test_an_ended_subscription_is_refused_as_payment_required(cloud: Cloud) -> None:
    cloud.portal.installs[CLIENT_ID].payment_expired = True
    with oauth_front(cloud) as front, pytest.raises(oauth.Refused) as refused:
        _refresh(front.url, _refresh_token(cloud))
    assert refused.value.code == "PAYMENT_REQUIRED"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _secret_free(texts: Iterable[str], *secrets: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_no_secret_in_the_message_traceback_or_log_when_the_oauth_server_fails(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    """Down (nothing listening), a gateway's 502 page, a proxy's page with 200, and a success: the URL
    carries the client secret and the refresh token, and reaches neither an exception (nor its causes) nor
    a log line, DEBUG too."""
    caplog.set_level(logging.DEBUG)
    spent = _refresh_token(cloud)
    failures: list[BaseException] = []
    with pytest.raises(oauth.Unreachable) as down:
        _refresh(f"http://127.0.0.1:{_free_port()}/oauth/token/", spent)
    failures.append(down.value)
    assert "could not reach the OAuth server" in str(down.value)
    with oauth_front(cloud) as front:
        for status, said in [
            (502, "the OAuth server answered HTTP 502"),
            (200, "the OAuth server's answer (HTTP 200) is not a token"),
        ]:
            front.gateway = status
            with pytest.raises(oauth.Unreachable) as page:
                _refresh(front.url, spent)
            failures.append(page.value)
            assert str(page.value) == said
        front.gateway = None
        token = _refresh(front.url, spent)  # the token was not spent by the failures
    texts = [caplog.text, *("".join(traceback.format_exception(e)) for e in failures)]
    assert "/oauth/token/" in caplog.text  # urllib3 did log the requests, at DEBUG
    _secret_free(texts, SECRET, spent, token.refresh_token, token.access_token)
