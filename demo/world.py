"""Everything on loopback, wired the real way: the Bitrix24 sandbox with a seeded portal, the real cloud
process (HTTP + agent relay), the app installed through Bitrix24's install flow, a real local agent paired
with a pairing code from the app's page API, the QuickBooks simulator's sample company and the Web
Connector simulator that runs the agent's ``.qwc``.

Only the sandbox side is simulated; the cloud and the agent are the product as shipped.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
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
from cloud_app.services import Services
from cloud_app.web import services_of
from local_agent import cli
from local_agent import config as agent_config
from local_agent.agent import Agent
from local_agent.queue import Queue
from sandbox.bitrix24 import App, Bitrix24, Clock, Portal, running, seed_portal
from sandbox.bitrix24 import persist as bitrix24_state
from sandbox.bitrix24.store import Origin
from sandbox.quickbooks import SimulatedQuickBooks
from sandbox.quickbooks import persist as quickbooks_state
from sandbox.quickbooks.seed import SeedSize, seed_company, size
from sandbox.webconnector.connector import SessionReport, WebConnector
from sandbox.webconnector.qwc import read_qwc

CLIENT_ID = "app.demo000000001.00000001"
SECRET = "demo-client-secret"
DOMAIN = "demo.bitrix24.com"


STATE = ("bitrix24.state", "quickbooks.state", "world.json", "cloud.db")  # what a resumed world needs


def resumable(home: Path) -> bool:
    """A world saved by a clean stop is in ``home``: the simulators, the cloud's database, the agent."""
    return all((home / name).exists() for name in STATE) and (home / "agent" / "qb-bitrix24.qwc").exists()


def free_port(wanted: int = 0) -> int:
    """``wanted`` if it is free on loopback, else any free port."""
    for port in (wanted, 0) if wanted else (0,):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is free
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
        keep: bool = False,
        agent_process: bool = False,
        overlap: int = 0,
    ) -> None:
        """``qb_behind``: QuickBooks' clock starts that far in the past (benchmarks move it on with
        :meth:`later` to see what a poll hours after the first sync costs). ``plan``: the portal's
        Bitrix24 plan (``professional`` has the offline event queue). ``ports``: the ones wanted (taken
        ones fall back to any free port). ``keep``: resume from ``home`` when a clean stop saved a world
        there, and save it again when this one stops. ``agent_process``: the agent runs as its own process
        (``qb-agent run``), as on the QuickBooks PC, so that its memory can be measured apart."""
        self.home, self.sizes, self.rate_limit, self.plan = home, sizes or Sizes(), rate_limit, plan
        self.ports = ports  # Bitrix24 sandbox, cloud HTTP, cloud agent WebSocket, agent SOAP (0: any)
        self._stack = contextlib.ExitStack()
        self._qb_ahead = -qb_behind
        self.keep = keep
        self.resumed = keep and resumable(home)
        self.agent_process = agent_process
        self.overlap = overlap  # QuickBooks customers that are in the fresh portal too (the demo's matches)
        self.wanted_ports = ports
        self._agent_proc: subprocess.Popen[bytes] | None = None

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
        self._stack.close()  # everything stopped: what the simulators hold matches the cloud's database
        if self.keep:
            bitrix24_state.save(self.emu, self.home / "bitrix24.state")
            quickbooks_state.save(self.qb, self.home / "quickbooks.state")
            # the Web Connector keeps the password it was given, as the real one does
            world = {"ports": self.ports, "password": self.password}
            (self.home / "world.json").write_text(json.dumps(world))

    def _start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        saved: dict[str, Any] = {}
        if self.resumed:  # the same ports: the cloud stored the portal's URL, the agent the cloud's
            saved = json.loads((self.home / "world.json").read_text())
            self.ports = tuple(saved["ports"])
            # only a clean stop writes it again: after a hard kill the folder is not resumed, because the
            # cloud's database would be ahead of the simulators' saved state
            (self.home / "world.json").unlink()
        self.emu = Bitrix24(Clock())
        self.emu.limits.enabled = self.rate_limit
        if self.resumed:
            bitrix24_state.load(self.emu, self.home / "bitrix24.state")
            self.portal: Portal = self.emu.portal(DOMAIN)
        else:
            self.portal = seed_portal(self.emu, DOMAIN, scale=self.sizes.bitrix24, plan=self.plan)
            self.qb = SimulatedQuickBooks(seed_company(sized=self.sizes.quickbooks, clock=self._qb_now))
            if self.overlap:
                self._overlap(self.overlap)
        self._stack.enter_context(running(self.emu, self._port(0)))
        port, agent_port = self._port(1), self._port(2)
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
        if not self.resumed:
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
        self.password = saved["password"] if self.resumed else self._pair()
        if self.agent_process:
            self._start_agent_process()
            self.agent_queue = Queue(self.home / "agent" / "queue.db")  # read: what waits in the agent
            self._stack.callback(self.agent_queue.close)
        else:
            self.agent = Agent(self.home / "agent", agent_config.load(self.home / "agent")).start()
            self._stack.callback(self.agent.stop)
            self.agent_queue = self.agent.queue
        self.until(lambda: self.services.relay is not None and self.services.relay.online(self.member_id))
        if self.resumed:
            self.qb = quickbooks_state.load(self.home / "quickbooks.state", clock=self._qb_now)
        qwc = (self.home / "agent" / "qb-bitrix24.qwc").read_text()
        self.connector = WebConnector(read_qwc(qwc), self.password, self.qb, noop_pause=0, timeout=120)

    def _overlap(self, n: int) -> None:
        """``n`` of QuickBooks' customers entered in the portal too, before the app is installed (as a
        business that kept both): companies under the customer's company name, people as contacts with
        the customer's e-mail — the first sync matches them instead of creating them again."""
        admin = Origin(self.portal.admin().id)
        customers = [
            r
            for r in self.qb.company.records.values()
            if r.kind == "Customer" and r.el.find("ParentRef") is None  # not a job
        ]
        for record in customers[:n]:
            email = record.text("Email") or ""
            company = record.text("CompanyName")
            if company:
                fields: dict[str, Any] = {"TITLE": company, "COMPANY_TYPE": "CLIENT"}
                if email:
                    fields["EMAIL"] = [{"VALUE": email, "VALUE_TYPE": "WORK"}]
                self.portal.store.add(4, fields, admin)
            else:
                fields = {"NAME": record.text("FirstName") or "", "LAST_NAME": record.text("LastName") or "",
                          "TYPE_ID": "CLIENT", "EMAIL": [{"VALUE": email, "VALUE_TYPE": "WORK"}]}  # fmt: skip
                self.portal.store.add(3, fields, admin)

    def _start_agent_process(self) -> None:
        log = open(self.home / "agent.log", "ab")  # closed by stop() below
        self._agent_proc = subprocess.Popen(
            [sys.executable, "-m", "local_agent", "--home", str(self.home / "agent"), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def stop() -> None:
            assert self._agent_proc is not None
            self._agent_proc.terminate()
            try:
                self._agent_proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._agent_proc.kill()
            log.close()

        self._stack.callback(stop)

    def agent_cpu_seconds(self) -> float | None:
        """CPU time the agent process used so far (user + system); None when in-process."""
        if self._agent_proc is None:
            return None
        try:
            fields = Path(f"/proc/{self._agent_proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def agent_peak_rss_mb(self) -> float | None:
        """The agent process's peak resident memory so far (Linux ``VmHWM``); None when in-process."""
        if self._agent_proc is None:
            return None
        try:
            status = Path(f"/proc/{self._agent_proc.pid}/status").read_text()
        except OSError:
            return None
        line = next((ln for ln in status.splitlines() if ln.startswith("VmHWM:")), None)
        return round(int(line.split()[1]) / 1024, 1) if line else None

    def _port(self, n: int) -> int:
        """The wanted port of part ``n``, remembered; a resumed world must get exactly its old ones."""
        wanted = self.ports[n]
        got = free_port(wanted)
        if self.resumed and got != wanted:
            raise RuntimeError(
                f"port {wanted} is taken; the saved demo needs it (free it, or start over with --fresh)"
            )
        ports = list(self.ports)
        ports[n] = got
        self.ports = tuple(ports)  # type: ignore[assignment]
        return got

    def _pair(self) -> str:
        """The agent's ``pair`` command with a code from the app page; the Web Connector password."""
        code = self.api("POST", "/pairing-code").json()["code"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            args = ["--home", str(self.home / "agent"), "pair", code, "--server", self.url]
            if cli.main([*args, "--port", str(self._port(3))]) != 0:
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
        return bool(counts.get("queued") or counts.get("offered") or self.agent_queue.depth()["pending"])

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
