"""A real browser on the bookkeeper's PC: a page on another origin tries to drive the agent's endpoint.

Issue 20: ``fetch(url, {mode: "no-cors", body})`` from any web page (sent as ``text/plain``) reached
``connectionError`` and set the portal's "Last error". The page here is served from its own loopback port
(another origin) and knows a real ticket — the strongest position such a page could be in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from demo.browser import chromium
from local_agent.soap.server import Endpoint
from local_agent.soap.service import make_app
from local_agent.soap.session import Job, Sessions, Settings, hash_password

from .fakes import MemoryWork, request
from .test_door import PASSWORD, login
from .test_service import envelope, post, result

PAGE = b"<!doctype html><title>cat pictures</title><p>nothing to see here</p>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


ATTACK = """
async ([url, body]) => {
  const tries = {
    "no-cors text/plain": {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body},
    "no-cors form": {method: "POST", mode: "no-cors",
                     headers: {"Content-Type": "application/x-www-form-urlencoded"}, body},
    "cors text/xml + SOAPAction": {method: "POST", mode: "cors",
        headers: {"Content-Type": "text/xml; charset=utf-8",
                  "SOAPAction": '"http://developer.intuit.com/connectionError"'}, body},
  };
  const out = {};
  for (const [name, init] of Object.entries(tries)) {
    try { const r = await fetch(url, init); out[name] = r.type === "opaque" ? "sent (opaque)" : r.status; }
    catch (e) { out[name] = "blocked: " + e.name; }
  }
  return out;
}
"""


def test_a_page_on_another_origin_cannot_set_the_last_error(page_url: str) -> None:
    work = MemoryWork(jobs=[Job("job-1", request('<CustomerQueryRq requestID="1"/>'))])
    sessions = Sessions(Settings("bookkeeper", hash_password(PASSWORD)), work)
    with Endpoint(make_app(sessions)) as endpoint, chromium() as browser:
        ticket = login(endpoint)
        body = envelope("connectionError", ticket=ticket, hresult="0x80040408", message="pwned").decode()
        page = browser.new_page()
        page.goto(page_url)
        outcome = page.evaluate(ATTACK, [endpoint.url, body])
        assert outcome["cors text/xml + SOAPAction"].startswith("blocked")  # the preflight is refused
        assert work.connection_errors == [] and work.ended == [], outcome
        ok = post(endpoint, "closeConnection", envelope("closeConnection", ticket=ticket))
        assert result(ok, "closeConnection").text == "0 requests, 0 errors"  # the session was untouched
