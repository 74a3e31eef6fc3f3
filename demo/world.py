"""Everything on loopback, wired the real way: the Bitrix24 sandbox with a seeded portal, the real cloud
process (HTTP + agent relay), the app installed through Bitrix24's install flow, a real local agent paired
with a pairing code from the app's page API, the QuickBooks simulator's sample company and the Web
Connector simulator that runs the agent's ``.qwc``.

Only the sandbox side is simulated; the cloud and the agent are the product as shipped.
"""

from __future__ import annotations

import contextlib
import io
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from cloud_app.b24.pacer import Pacer
from cloud_app.config import load
from cloud_app.serve import Running
from cloud_app.web import Services, services_of
from local_agent import cli
from local_agent import config as agent_config
from local_agent.agent import Agent
from sandbox.bitrix24 import App, Bitrix24, Clock, Portal, running, seed_portal
from sandbox.quickbooks import SimulatedQuickBooks
from sandbox.quickbooks.seed import SeedSize, seed_company, size
from sandbox.webconnector.connector import SessionReport, WebConnector
from sandbox.webconnector.qwc import read_qwc

CLIENT_ID = "app.demo000000001.00000001"
SECRET = "demo-client-secret"
DOMAIN = "demo.bitrix24.com"


def free_port(wanted: int = 0) -> int:
    """``wanted`` if it is free on loopback, else any free port."""
    for port in (wanted, 0) if wanted else (0,):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError("no free port")


@dataclass
class Sizes:
    bitrix24: int = 1  # the portal's seed scale
    quickbooks: SeedSize = size(1)


class World:
    """``with World(home) as w:`` starts everything; leaving stops it all."""

    def __init__(
        self,
        home: Path,
        sizes: Sizes | None = None,
        *,
        rate_limit: bool = True,
        qb_behind: timedelta = timedelta(0),
        plan: str = "standard",
        ports: tuple[int, int, int, int] = (0, 0, 0, 0),
    ) -> None:
        """``qb_behind``: QuickBooks' clock starts that far in the past (benchmarks move it on with
        :meth:`later` to see what a poll hours after the first sync costs). ``plan``: the portal's
        Bitrix24 plan (``professional`` has the offline event queue). ``ports``: the ones wanted (taken
        ones fall back to any free port)."""
        self.home, self.sizes, self.rate_limit, self.plan = home, sizes or Sizes(), rate_limit, plan
        self.ports = ports  # Bitrix24 sandbox, cloud HTTP, cloud agent WebSocket, agent SOAP (0: any)
        self._stack = contextlib.ExitStack()
        self._qb_ahead = -qb_behind

    def _qb_now(self) -> datetime:
        return datetime.now(UTC) + self._qb_ahead

    def later(self, seconds: float) -> None:
        """Both simulated systems jump ahead (the cloud and the agent keep real time)."""
        self.emu.clock.skip(seconds)
        self._qb_ahead += timedelta(seconds=seconds)

    # -- start and stop --------------------------------------------------------------------------------

    def __enter__(self) -> World:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.emu = Bitrix24(Clock())
        self.emu.limits.enabled = self.rate_limit
        self.portal: Portal = seed_portal(self.emu, DOMAIN, scale=self.sizes.bitrix24, plan=self.plan)
        self._stack.enter_context(running(self.emu, free_port(self.ports[0])))
        port, agent_port = free_port(self.ports[1]), free_port(self.ports[2])
        self.url = f"http://127.0.0.1:{port}"
        config = load(
            env={},
            public_url=self.url,
            port=port,
            agent_port=agent_port,
            client_id=CLIENT_ID,
            client_secret=SECRET,
            encryption_key="demo-encryption-key",
            database=str(self.home / "cloud.db"),
            oauth_servers=(self.emu.server_endpoint(),),
            reconcile_minutes=0,
        )
        self.cloud = Running(config, bx24_js=self.emu.base_url + "/bx24.js").start()
        self._stack.callback(self.cloud.stop)
        self.emu.register_app(
            App(CLIENT_ID, SECRET, app_url=self.url + "/app", installer_url=self.url + "/install")
        )
        answer = self.emu.install(self.portal, CLIENT_ID)  # the admin clicks Install
        if answer.status_code != 200:
            raise RuntimeError(f"install failed: {answer.status_code} {answer.text[:200]}")
        self.emu.install_finish(self.portal, CLIENT_ID)
        if not self.rate_limit:  # our own pacing off too: what is left is our own overhead
            self.services.pacers[self.member_id] = Pacer(time.time, time.sleep, capacity=10**9, drain=1e9)
        page = self.emu.open_app(self.portal, CLIENT_ID, self.portal.admin().id)
        found = re.search(r"data-session='([^']+)'", page.text)
        if found is None:
            raise RuntimeError("the app page did not open")
        self.session = found.group(1)
        self.password = self._pair()
        self.agent = Agent(self.home / "agent", agent_config.load(self.home / "agent")).start()
        self._stack.callback(self.agent.stop)
        self.until(lambda: self.services.relay is not None and self.services.relay.online(self.member_id))
        self.qb = SimulatedQuickBooks(seed_company(sized=self.sizes.quickbooks, clock=self._qb_now))
        qwc = (self.home / "agent" / "qb-bitrix24.qwc").read_text()
        self.connector = WebConnector(read_qwc(qwc), self.password, self.qb, noop_pause=0, timeout=120)

    def _pair(self) -> str:
        """The agent's ``pair`` command with a code from the app page; the Web Connector password."""
        code = self.api("POST", "/pairing-code").json()["code"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            args = ["--home", str(self.home / "agent"), "pair", code, "--server", self.url]
            if cli.main([*args, "--port", str(free_port(self.ports[3]))]) != 0:
                raise RuntimeError("pairing failed")
        found = re.search(r"Web Connector password: (\S+)", out.getvalue())
        if found is None:
            raise RuntimeError("pairing printed no password")
        return found.group(1)

    # -- using it --------------------------------------------------------------------------------------

    @property
    def member_id(self) -> str:
        return self.portal.member_id

    @property
    def services(self) -> Services:
        return services_of(self.cloud.app)

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        """The app page's API, as the admin's frame calls it."""
        url = f"{self.url}/api/portals/{self.member_id}{path}"
        return requests.request(method, url, headers={"X-Session": self.session}, timeout=60, **kw)

    def web_connector_runs(self) -> SessionReport:
        """One Web Connector update (the scheduler's tick, or a person clicking Update Selected)."""
        return self.connector.run_session()

    def waiting_for_quickbooks(self) -> bool:
        """Jobs the cloud queued that the Web Connector has not carried to QuickBooks yet."""
        counts = self.services.agents.counts(self.member_id)
        return bool(counts.get("queued") or counts.get("offered") or self.agent.queue.depth()["pending"])

    def settled(self) -> bool:
        """Nothing waiting for QuickBooks, no answer being applied, no Bitrix24 event waiting."""
        counts = self.services.agents.counts(self.member_id)
        if self.waiting_for_quickbooks() or counts.get("acked"):
            return False
        waiting = self.services.portals.db.conn.execute(
            "select count(*) from events where member_id = ? and state = 'new'", [self.member_id]
        ).fetchone()[0]
        return not waiting and self.services.worker.idle.is_set()

    def drive(self, done: Callable[[], bool], timeout: float = 600.0) -> list[SessionReport]:
        """Run the Web Connector whenever jobs wait for QuickBooks, until ``done()`` (the scheduler with
        an interval of zero); the sessions it ran."""
        reports: list[SessionReport] = []
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"not done after {timeout:.0f} s")
            if self.waiting_for_quickbooks():
                reports.append(self.web_connector_runs())
                if not reports[-1].round_trips:
                    time.sleep(0.2)  # offered to the agent, not stored by it yet
            else:
                time.sleep(0.05)
        return reports

    @staticmethod
    def until(check: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(step)
        return False
