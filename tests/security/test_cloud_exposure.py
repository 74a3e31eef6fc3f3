"""Case 7 of issue 20: what the cloud exposes by reading — redirects that carry the token away, the
pairing throttle behind a proxy, page sessions in URLs and after uninstall, replayed events, operator
pages without a token, pages without a content policy, a database others can read."""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

from cloud_app.b24.errors import B24Error
from cloud_app.proxy import client_address, networks
from cloud_app.web import create_app

from ..cloud_app.harness import CLIENT_ID, Cloud, running_cloud


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path) as c:
        c.install()
        yield c


def session(cloud: Cloud) -> str:
    page = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    return re.search(r"data-session='([^']+)'", page.text).group(1)  # type: ignore[union-attr]


class _Recorder(BaseHTTPRequestHandler):
    """A host that is not the portal: records what reaches it; ``redirect_to`` makes it answer 302."""

    got: list[str] = []
    redirect_to = ""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        type(self).got.append(self.path + " " + body)
        if self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to + self.path.split("/rest/", 1)[1])
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hosts() -> Iterator[tuple[str, str, type[_Recorder]]]:
    """(a redirecting "portal" URL, the other host it points to, the recorder class of each)."""

    class Evil(_Recorder):
        got: list[str] = []

    evil = HTTPServer(("127.0.0.1", 0), Evil)
    evil_url = f"http://127.0.0.1:{evil.server_port}/rest/"

    class Redirector(_Recorder):
        got: list[str] = []
        redirect_to = evil_url

    redirector = HTTPServer(("127.0.0.1", 0), Redirector)
    for server in (evil, redirector):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{redirector.server_port}/rest/", evil_url, Evil
    finally:
        for server in (evil, redirector):
            server.shutdown()
            server.server_close()


def test_a_redirect_to_another_host_is_neither_followed_nor_stored(
    cloud: Cloud, hosts: tuple[str, str, type[_Recorder]]
) -> None:
    redirecting, evil_url, evil = hosts
    member = cloud.portal.member_id
    cloud.services.portals.moved(member, cloud.portal.domain, redirecting)  # the portal answers 302 …
    with pytest.raises(B24Error) as refused:
        cloud.client().call("crm.deal.get", {"id": 1})
    assert refused.value.code == "BAD_REDIRECT"
    assert evil.got == []  # … and the token never reached the other host
    assert cloud.services.portals.portal(member).client_endpoint == redirecting  # type: ignore[union-attr]


def test_a_real_rename_is_still_followed(cloud: Cloud) -> None:
    cloud.emu.rename_portal(cloud.portal, "acme-renamed.bitrix24.com")
    assert cloud.client().call("crm.deal.get", {"id": 3})["ID"] == "3"
    row = cloud.services.portals.portal(cloud.portal.member_id)
    assert row is not None and row.client_endpoint == cloud.emu.client_endpoint(cloud.portal)


def test_forwarded_for_is_believed_only_from_the_configured_proxy() -> None:
    proxy = networks(["10.0.0.5"])
    assert client_address("10.0.0.5", "203.0.113.7", proxy) == "203.0.113.7"
    assert client_address("10.0.0.5", "198.51.100.1, 203.0.113.7", proxy) == "203.0.113.7"  # the proxy's
    assert client_address("203.0.113.9", "198.51.100.1", proxy) == "203.0.113.9"  # not from the proxy
    assert client_address("10.0.0.5", "not-an-address", proxy) == "10.0.0.5"


def test_the_pairing_throttle_counts_each_client_behind_the_proxy(tmp_path: Path) -> None:
    with running_cloud(tmp_path) as plain:
        config = replace(plain.config, trusted_proxies=("127.0.0.1",))
        client = create_app(config).test_client()
        wrong = {"code": "ZZZZZZZZ"}
        for _ in range(10):
            answer = client.post("/api/agents/pair", json=wrong, headers={"X-Forwarded-For": "203.0.113.7"})
            assert answer.status_code == 404
        blocked = client.post("/api/agents/pair", json=wrong, headers={"X-Forwarded-For": "203.0.113.7"})
        other = client.post("/api/agents/pair", json=wrong, headers={"X-Forwarded-For": "198.51.100.1"})
        assert (blocked.status_code, other.status_code) == (429, 404)
        # no proxy configured: the header is ignored
        untrusted = create_app(replace(plain.config, trusted_proxies=())).test_client()
        for n in range(11):
            forged = {"X-Forwarded-For": f"198.51.100.{n}"}
            last = untrusted.post("/api/agents/pair", json=wrong, headers=forged).status_code
        assert last == 429


def test_a_page_session_is_taken_from_the_header_only_and_ends_with_the_install(cloud: Cloud) -> None:
    token = session(cloud)
    url = f"{cloud.url}/api/portals/{cloud.portal.member_id}/status"
    assert requests.get(url, params={"s": token}, timeout=5).status_code == 401
    assert requests.get(url, headers={"X-Session": token}, timeout=5).status_code == 200
    raw = cloud.services.portals.db.conn.execute("select digest from page_sessions").fetchall()
    assert token not in str(raw)  # stored as a digest
    cloud.emu.uninstall(cloud.portal, CLIENT_ID, clean=False)
    cloud.emu.wait_events()
    assert requests.get(url, headers={"X-Session": token}, timeout=5).status_code == 401


def test_a_replayed_or_stale_event_is_not_believed(cloud: Cloud) -> None:
    contact = cloud.client().call("crm.contact.add", {"fields": {"NAME": "Ada"}})
    cloud.emu.wait_events()
    delivered = cloud.emu.deliveries[-1].body
    again = requests.post(cloud.url + "/b24/events", data=delivered, timeout=5)
    assert again.status_code == 200 and again.json().get("duplicate") is True
    old = {**delivered, "ts": str(int(cloud.emu.clock()) - 3600), "data[FIELDS][ID]": "1"}
    assert requests.post(cloud.url + "/b24/events", data=old, timeout=5).status_code == 403
    assert cloud.services.portals.rejected()[-1]["reason"] == "event sent 3600 s ago on ONCRMCONTACTADD"
    stored = [(e["event"], e["object_id"]) for e in cloud.services.portals.events(cloud.portal.member_id)]
    assert stored == [("ONCRMCONTACTADD", str(contact))]


def test_operator_pages_need_the_operator_token(tmp_path: Path) -> None:
    with running_cloud(tmp_path) as plain:
        closed = create_app(replace(plain.config, operator_token="")).test_client()
        assert closed.get("/status").status_code == 404 and closed.get("/schema").status_code == 404
        client = create_app(replace(plain.config, operator_token="op-secret")).test_client()
        assert client.get("/status").status_code == 401
        assert client.get("/status", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/status", headers={"Authorization": "Bearer op-secret"}).status_code == 200


def test_pages_carry_a_content_policy_and_every_answer_nosniff(cloud: Cloud) -> None:
    page = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    policy = page.headers["Content-Security-Policy"]
    assert (
        "default-src 'none'" in policy and "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    )
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)  # type: ignore[union-attr]
    assert f"<script nonce='{nonce}'>" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    api = requests.get(cloud.url + "/healthz", timeout=5)
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in api.headers["Content-Security-Policy"]


def test_the_database_is_readable_by_its_owner_only(cloud: Cloud) -> None:
    mode = stat.S_IMODE(os.stat(cloud.config.database).st_mode)
    assert mode == 0o600, oct(mode)
