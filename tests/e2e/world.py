"""The whole product on loopback, with parts that can be killed and started again.

The same pieces as ``tests/cloud_app/product.py``'s ``world`` — the Bitrix24 emulator with the app
installed, the cloud with its agent relay, a real agent paired through the page API, the Web Connector
simulator and the QuickBooks simulator's sample company — but built without pytest fixtures (a hypothesis
example builds its own) and with the restarts a property test needs:

* :meth:`Sandbox.restart_cloud`: the cloud process goes away and a new one starts on the same database,
  URL and agent port (what survives is what the database holds; the event worker's wake-ups, the relay's
  connections and every other in-memory state are gone);
* :meth:`Sandbox.restart_agent`: the agent process stops and starts again on its home (its durable queue);
* :meth:`Sandbox.drop_link`: the agent's WebSocket is cut without a closing handshake, as a network drop.

Everything is written under the directory given (a temporary one).
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import make_server

from cloud_app.agents.relay import AgentRelay
from cloud_app.agents.store import AgentStore
from cloud_app.b24.client import Client
from cloud_app.config import Config, load
from cloud_app.services import Services
from cloud_app.web import create_app, services_of
from local_agent import cli
from local_agent import config as cfg
from local_agent.agent import Agent
from sandbox.bitrix24 import App, Bitrix24, Portal, running, seed_portal
from sandbox.qbport import QuickBooksHost
from sandbox.quickbooks import SimulatedQuickBooks
from sandbox.quickbooks.seed import seed_company
from sandbox.webconnector.connector import SessionReport, WebConnector
from sandbox.webconnector.qwc import add_application

from ..cloud_app.harness import CLIENT_ID, SECRET, _Quiet, close_databases
from ..local_agent.test_agent import redial, wait

__all__ = ["Sandbox", "sandbox", "wait"]


@dataclass
class Sandbox:
    emu: Bitrix24
    portal: Portal
    config: Config
    home: Path
    password: str
    qb: SimulatedQuickBooks
    session: str
    url: str
    agent: Agent
    relay: AgentRelay
    _holder: dict[str, Flask] = field(repr=False, default_factory=dict)
    agent_clock_offset: timedelta = timedelta(0)
    retired: list[Flask] = field(repr=False, default_factory=list)  # the apps of cloud processes gone

    @property
    def member_id(self) -> str:
        return self.portal.member_id

    @property
    def app(self) -> Flask:
        return self._holder["app"]

    @property
    def services(self) -> Services:
        return services_of(self.app)

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        url = f"{self.url}/api/portals/{self.member_id}{path}"
        return requests.request(method, url, headers={"X-Session": self.session}, timeout=30, **kw)

    def client(self) -> Client:
        return Client(self.services.portals, self.member_id, CLIENT_ID, SECRET)

    def web_connector(self, quickbooks: QuickBooksHost | None = None) -> WebConnector:
        qwc = (
            (self.home / "qb-bitrix24.qwc")
            .read_text()
            .replace(":0/", f":{self.agent.endpoint.port}/")
        )
        connector = add_application(qwc)  # as QBWC adds it: its rules, the agent's AppSupport page reached
        return WebConnector(connector, self.password, quickbooks or self.qb, noop_pause=0, timeout=10)

    def run_web_connector(self, quickbooks: QuickBooksHost | None = None) -> SessionReport:
        return self.web_connector(quickbooks).run_session()

    def online(self) -> bool:
        return self.relay.online(self.member_id)

    # -- the faults ----------------------------------------------------------------------------------

    def restart_agent(self) -> None:
        self.agent.stop()
        self.agent = _start_agent(self.home)
        self.agent.sessions.clock = self._agent_clock
        wait(self.online, timeout=15)

    def restart_cloud(self) -> None:
        # The process is gone: every agent connection with it, and whatever its event worker would still have
        # done (in one Python process its thread cannot be killed; it is told to do nothing from now on).
        self.services.worker.handle = lambda member_id: None
        self.services.stop()  # the retry and storage loops die with the process
        self.relay.stop()
        self.relay = AgentRelay(AgentStore(self.config.database), port=self.relay.port).start()
        self.retired.append(self.app)  # its databases are closed at the end (its threads may still read)
        self._holder["app"] = create_app(
            self.config, relay=self.relay, bx24_js=self.emu.base_url + "/bx24.js"
        )
        wait(self.online, timeout=15)

    def drop_link(self) -> None:
        """Cut the agent's connection without a goodbye; the agent notices and dials again."""
        link = self.agent.link
        loop, ws = link._loop, link._ws  # noqa: SLF001 - the test reaches into the socket it cuts
        if loop is None or ws is None:
            return
        loop.call_soon_threadsafe(ws.transport.abort)
        wait(lambda: not self.online(), timeout=5)
        wait(self.online, timeout=15)

    def web_connector_stopped_answering(self) -> None:
        """The Web Connector died in the middle of a session: after the agent's ticket time-to-live the agent
        gives up on it. Its clock is moved on instead of waiting half an hour."""
        self.agent_clock_offset += timedelta(minutes=31)
        self.agent.sessions.clock = self._agent_clock
        self.agent.sessions.active()  # the agent notices the silence

    def _agent_clock(self) -> datetime:
        return datetime.now(UTC) + self.agent_clock_offset

    def stop(self) -> None:
        self.agent.stop()


def _start_agent(home: Path) -> Agent:
    return Agent(home, cfg.load(home), follow_up_wait=1.0, delays=redial).start()


@contextmanager
def sandbox(tmp: Path, *, quickbooks: SimulatedQuickBooks | None = None) -> Iterator[Sandbox]:
    """A fresh product on loopback under ``tmp``: installed, paired, online."""
    emu = Bitrix24()
    portal = seed_portal(emu, "acme.bitrix24.com")
    holder: dict[str, Flask] = {}
    server = make_server(
        "127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True, request_handler=_Quiet
    )
    url = f"http://127.0.0.1:{server.server_port}"
    with running(emu):
        config = load(
            env={},
            public_url=url,
            client_id=CLIENT_ID,
            client_secret=SECRET,
            encryption_key="test-key",
            database=str(tmp / "cloud.db"),
            oauth_servers=(emu.server_endpoint(),),
        )
        relay = AgentRelay(AgentStore(config.database)).start()
        holder["app"] = create_app(config, relay=relay, bx24_js=emu.base_url + "/bx24.js")
        emu.register_app(App(CLIENT_ID, SECRET, app_url=url + "/app", installer_url=url + "/install"))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        agent: Agent | None = None
        box: Sandbox | None = None
        try:
            assert emu.install(portal, CLIENT_ID).status_code == 200
            emu.install_finish(portal, CLIENT_ID)
            page = emu.open_app(portal, CLIENT_ID, portal.admin().id)
            session = re.search(r"data-session='([^']+)'", page.text).group(1)  # type: ignore[union-attr]
            code = requests.post(
                f"{url}/api/portals/{portal.member_id}/pairing-code",
                headers={"X-Session": session},
                timeout=5,
            ).json()["code"]
            home = tmp / "agent"
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert cli.main(["--home", str(home), "pair", code, "--server", url, "--port", "0"]) == 0
            password = re.search(r"Web Connector password: (\S+)", out.getvalue()).group(1)  # type: ignore[union-attr]
            agent = _start_agent(home)
            qb = quickbooks or SimulatedQuickBooks(seed_company())
            box = Sandbox(emu, portal, config, home, password, qb, session, url, agent, relay, holder)
            assert wait(box.online, timeout=15)
            try:
                yield box
            finally:
                box.stop()
                box.services.stop()
                box.relay.stop()
        finally:
            server.shutdown()
            server.server_close()
            if agent is None:
                relay.stop()
            close_databases(*(box.retired if box else []), holder["app"])
