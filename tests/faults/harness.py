"""The product as separate OS processes on loopback, and the faults done to them (issue 18).

* the Bitrix24 emulator: ``python -m sandbox bitrix24 --control`` (its ``/_sandbox/`` door installs the
  app, starts outages, holds an answer, shows its request log and saves its portals for the checks);
* the cloud: ``python -m cloud_app serve`` configured by ``QBB24_*`` variables, as deployed;
* the agent: ``python -m local_agent run``, paired through the real pairing flow (a code from the app
  page's API, ``python -m local_agent pair``);
* the Web Connector simulator, one process per update (``python -m sandbox webconnector --once``) on a
  QuickBooks company file kept on disk (:mod:`tests.faults.quickbooks`).

Faults: :meth:`Proc.kill` (SIGKILL), :meth:`Proc.pause`/:meth:`Proc.resume` (SIGSTOP/SIGCONT), a Bitrix24
outage, a held Bitrix24 answer, QuickBooks closed or on another company file, the disk under the cloud's
database full (the cloud process's file-size limit, ``RLIMIT_FSIZE``, lowered and raised again from here —
SQLite then answers ``SQLITE_FULL`` exactly as on a full disk, no root or mount needed), restarts.

Moments are found by watching durable state — the agent's queue file, the cloud's database rows, the
emulator's request log, a stopped Web Connector — never by sleeping.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from demo.world import free_port
from sandbox.bitrix24 import Bitrix24, Portal
from sandbox.bitrix24 import persist as bitrix24_state
from sandbox.quickbooks import SimulatedQuickBooks
from sandbox.quickbooks.seed import SeedSize, seed_company

from . import quickbooks

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
CLIENT_ID = "app.faults00000001.00000001"
SECRET = "faults-client-secret"
DOMAIN = "acme.bitrix24.com"
QUIET = 1.5  # seconds without a Bitrix24 call, a new job or anything waiting: settled
SMALL = SeedSize(customers=6, invoices=4, estimates=2, payments=2)  # a first sync of a few seconds


LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class TimedOut(AssertionError):
    pass


def wait(check: Callable[[], Any], timeout: float = 60.0, what: str = "", step: float = 0.05) -> Any:
    """Until ``check()`` is truthy (its value); :class:`TimedOut` naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimedOut(f"not within {timeout:.0f} s: {what or check}")
        time.sleep(step)


class Proc:
    """One process of the product, its output in ``log``; what :meth:`kill` and :meth:`pause` act on."""

    def __init__(
        self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None, fsize: int = -1
    ) -> None:
        self.name, self.argv, self.log_path, self.env = name, argv, log, env or {}
        self.fsize = fsize  # RLIMIT_FSIZE soft limit at start (-1: none)
        self.proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> Proc:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        soft = self.fsize

        def limits() -> None:  # in the child, before exec: a full disk is EFBIG, not a killing SIGXFSZ
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, resource.RLIM_INFINITY))
            LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # a test run that dies takes its processes along

        # Output through a pipe, written to the log from here: the file-size limit does not touch the log.
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, preexec_fn=limits,
        )  # fmt: skip
        self._pump = threading.Thread(target=self._copy, args=(self.proc.stdout,), daemon=True)
        self._pump.start()
        return self

    def _copy(self, out: IO[bytes]) -> None:
        with out, open(self.log_path, "ab") as log:
            for line in iter(out.readline, b""):
                log.write(line)
                log.flush()

    def _reaped(self) -> None:
        """Waited for, its output copied to the end."""
        if self._pump is not None:
            self._pump.join(10)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no goodbye, no flush, nothing in memory survives."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._reaped()

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stopped(self) -> bool:
        """Stopped by a signal (state T), e.g. the Web Connector at its ``stop_after`` moment."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")

    def file_size_limit(self, limit: int) -> None:
        """The largest file this process may write from now on (-1: no limit): a disk that fills up."""
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class WebConnectorRun:
    """One update (``python -m sandbox webconnector --once``) as it ended: its exit code and log."""

    code: int
    log: str

    @property
    def last(self) -> str:
        lines = [ln for ln in self.log.splitlines() if ln.strip()]
        return lines[-1] if lines else ""


@dataclass
class Product:
    """The four processes and what the checks read; :func:`product` builds and tears it down."""

    home: Path
    qb_size: SeedSize = SMALL
    plan: str = "professional"
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)
    every: list[Proc] = field(default_factory=list)  # each process started, for the teardown
    member_id: str = ""
    session: str = ""
    password: str = ""
    hook: str = ""  # a webhook URL: a person's hands in Bitrix24
    quickbooks: dict[str, Any] = field(default_factory=dict)  # not_running / open_file for the next updates

    # -- start ---------------------------------------------------------------------------------------

    def start(self) -> Product:
        self.home.mkdir(parents=True, exist_ok=True)
        for name in ("bitrix24", "cloud", "cloud_agents", "agent"):
            self.ports[name] = free_port()
        qb = SimulatedQuickBooks(seed_company(sized=self.qb_size))
        quickbooks.save(qb, self.qb_state)
        self.start_bitrix24()
        self.start_cloud()
        self.install()
        self.pair()
        self.start_agent()
        return self

    @property
    def b24(self) -> str:
        return f"http://127.0.0.1:{self.ports['bitrix24']}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['cloud']}"

    @property
    def qb_state(self) -> Path:
        return self.home / "quickbooks.state"

    @property
    def database(self) -> Path:
        return self.home / "cloud.db"

    @property
    def agent_home(self) -> Path:
        return self.home / "agent"

    def _proc(self, name: str, argv: list[str], **kw: Any) -> Proc:
        proc = Proc(name, argv, self.home / f"{name}.log", **kw).start()
        self.procs[name] = proc
        self.every.append(proc)
        return proc

    def start_bitrix24(self) -> None:
        port, state = str(self.ports["bitrix24"]), str(self.home / "bitrix24.state")
        argv = [PY, "-m", "sandbox", "bitrix24", "--port", port, "--control", "--state", state,
                "--domain", DOMAIN, "--plan", self.plan]  # fmt: skip
        proc = self._proc("bitrix24", argv)
        self.hook = wait(lambda: _found(r"webhook:\s+(\S+)", proc.output()), 30, "the Bitrix24 sandbox")

    def cloud_env(self) -> dict[str, str]:
        return {
            "QBB24_PUBLIC_URL": self.url,
            "QBB24_PORT": str(self.ports["cloud"]),
            "QBB24_AGENT_PORT": str(self.ports["cloud_agents"]),
            "QBB24_CLIENT_ID": CLIENT_ID,
            "QBB24_CLIENT_SECRET": SECRET,
            "QBB24_ENCRYPTION_KEY": "faults-encryption-key",
            "QBB24_DATABASE": str(self.database),
            "QBB24_OAUTH_SERVERS": f"{self.b24}/rest/",
        }

    def start_cloud(self, fsize: int = -1) -> None:
        """The cloud process (again, after a kill: the same database, URL and ports)."""
        self._proc("cloud", [PY, "-m", "cloud_app", "serve"], env=self.cloud_env(), fsize=fsize)
        wait(self._healthy, 60, "the cloud's /healthz")

    def _healthy(self) -> bool:
        try:
            return requests.get(self.url + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def install(self) -> None:
        """An admin installs the app on the portal and opens it: the page's session for the API."""
        answer = requests.post(
            self.b24 + "/_sandbox/install",
            json={"client_id": CLIENT_ID, "secret": SECRET, "url": self.url},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text[:500]
        body = answer.json()
        self.member_id = body["member_id"]
        self.session = _found(r"data-session='([^']+)'", body["page"]) or ""
        assert self.session, "the app page did not open"

    def pair(self) -> None:
        code = self.api("POST", "/pairing-code").json()["code"]
        argv = [PY, "-m", "local_agent", "--home", str(self.agent_home), "pair", code, "--server", self.url,
                "--port", str(self.ports["agent"])]  # fmt: skip
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        assert done.returncode == 0, done.stderr
        self.password = _found(r"Web Connector password: (\S+)", done.stdout) or ""
        assert self.password

    def start_agent(self) -> None:
        """``qb-agent run`` (again, after a kill: the same home and queue)."""
        self._proc("agent", [PY, "-m", "local_agent", "--home", str(self.agent_home), "run"])
        wait(self.online, 60, "the agent online")

    def stop(self) -> None:
        """The end of a scenario: its state is checked, nothing needs saving — every process killed."""
        for proc in reversed(self.every):  # the Web Connector, the agent, the cloud, Bitrix24
            proc.kill()

    # -- the parts ------------------------------------------------------------------------------------

    @property
    def cloud(self) -> Proc:
        return self.procs["cloud"]

    @property
    def agent(self) -> Proc:
        return self.procs["agent"]

    @property
    def bitrix24(self) -> Proc:
        return self.procs["bitrix24"]

    def restart_cloud(self, fsize: int = -1) -> None:
        self.cloud.kill()
        self.start_cloud(fsize)
        wait(self.online, 60, "the agent back online after the cloud's restart")

    def restart_agent(self) -> None:
        self.agent.kill()
        self.start_agent()

    # -- using it -------------------------------------------------------------------------------------

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        """The app page's API, as the admin's frame calls it."""
        url = f"{self.url}/api/portals/{self.member_id}{path}"
        return requests.request(method, url, headers={"X-Session": self.session}, timeout=60, **kw)

    def rest(self, method: str, params: dict[str, Any]) -> Any:
        """A person's action in Bitrix24 (through a webhook); the ``result``."""
        answer = requests.post(self.hook + method, json=params, timeout=30)
        assert answer.status_code == 200, f"{method}: {answer.status_code} {answer.text[:300]}"
        return answer.json()["result"]

    def online(self) -> bool:
        try:
            agents = self.api("GET", "/agents").json()["agents"]
        except (requests.RequestException, ValueError, KeyError):
            return False
        return any(a["online"] for a in agents)

    def web_connector(self, *, stop_after: str = "", wait_done: bool = True) -> Proc | WebConnectorRun:
        """One Web Connector update; with ``stop_after`` it is returned running (it stops itself at that
        moment: :meth:`Proc.stopped`)."""
        qwc = self.agent_home / "qb-bitrix24.qwc"
        argv = [PY, "-m", "sandbox", "webconnector", "--qwc", str(qwc), "--password", self.password, "--once",
                "--timeout", "60", "--quickbooks", "tests.faults.quickbooks:host"]  # fmt: skip
        env = {quickbooks.ENV: json.dumps({"state": str(self.qb_state), "stop_after": stop_after,
                                           **self.quickbooks})}  # fmt: skip
        log = self.home / "webconnector.log"
        start = log.stat().st_size if log.exists() else 0
        proc = self._proc("webconnector", argv, env=env)
        if not wait_done:
            return proc
        assert proc.proc is not None
        code = proc.proc.wait(timeout=300)
        proc._reaped()
        return WebConnectorRun(code, log.read_bytes()[start:].decode(errors="replace"))

    # -- the simulators' switches --------------------------------------------------------------------

    def outage(self, status: int, seconds: float) -> None:
        requests.post(self.b24 + "/_sandbox/outage", json={"status": status, "seconds": seconds}, timeout=10)

    def hold(self, method: str) -> None:
        requests.post(self.b24 + "/_sandbox/hold", json={"method": method}, timeout=10)

    def held(self) -> bool:
        return bool(requests.get(self.b24 + "/_sandbox/hold", timeout=10).json()["held"])

    def release(self) -> None:
        requests.post(self.b24 + "/_sandbox/release", timeout=10)

    def call_count(self) -> int:
        """How many requests the emulator's log holds (a fresh one would fetch none)."""
        got = requests.get(self.b24 + "/_sandbox/calls", params={"since": 10**9}, timeout=30).json()
        return int(got["total"])

    def calls(self, since: int = 0) -> list[dict[str, Any]]:
        return list(
            requests.get(self.b24 + "/_sandbox/calls", params={"since": since}, timeout=30).json()["calls"]
        )

    # -- durable state ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def db(self, path: Path | None = None) -> Iterator[sqlite3.Connection]:
        """A read-only look at the cloud's database (or another SQLite file)."""
        conn = sqlite3.connect(f"file:{path or self.database}?mode=ro", uri=True, timeout=10)
        try:
            yield conn
        finally:
            conn.close()

    def rows(self, sql: str, *params: Any, path: Path | None = None) -> list[tuple[Any, ...]]:
        try:
            with self.db(path) as conn:
                return list(conn.execute(sql, params).fetchall())
        except sqlite3.OperationalError:  # not created yet, or locked a moment
            return []

    def jobs(self) -> dict[str, int]:
        """The cloud's agent jobs by state (``queued`` … ``done``; ``unapplied``: answers not yet applied)."""
        out = {str(s): int(n) for s, n in self.rows("select state, count(*) from jobs group by state")}
        unapplied = self.rows("select count(*) from jobs where state in ('done', 'failed') and applied = 0")
        out["unapplied"] = int(unapplied[0][0]) if unapplied else 0
        return out

    def agent_queue(self) -> dict[str, int]:
        """The agent's queue file: jobs by state and unacknowledged ``results``."""
        path = self.agent_home / "queue.db"
        out = {
            str(s): int(n) for s, n in self.rows("select state, count(*) from jobs group by state", path=path)
        }
        results = self.rows("select count(*) from results", path=path)
        out["results"] = int(results[0][0]) if results else 0
        return out

    def waiting(self) -> list[str]:
        """What still waits anywhere: the cloud's jobs and events, the agent's queue (empty: settled)."""
        jobs, queue = self.jobs(), self.agent_queue()
        out = [f"cloud jobs {s}: {jobs[s]}" for s in ("queued", "offered", "acked", "sent", "unapplied")
               if jobs.get(s)]  # fmt: skip
        out += [f"agent {s}: {queue[s]}" for s in ("pending", "sent", "unknown", "results") if queue.get(s)]
        events = self.rows("select count(*) from events where state = 'new'")
        if events and events[0][0]:
            out.append(f"Bitrix24 events not handled: {events[0][0]}")
        return out

    def waiting_for_quickbooks(self) -> bool:
        jobs, queue = self.jobs(), self.agent_queue()
        return bool(jobs.get("queued") or jobs.get("offered") or queue.get("pending"))

    def drive(
        self, done: Callable[[], bool], timeout: float = 120.0, what: str = ""
    ) -> list[WebConnectorRun]:
        """The Web Connector's schedule: an update whenever work waits for QuickBooks, until ``done()``."""
        runs: list[WebConnectorRun] = []
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                last = runs[-1].last if runs else "no update ran"
                raise TimedOut(f"not within {timeout:.0f} s: {what}; waiting: {self.waiting()}; {last}")
            if self.waiting_for_quickbooks():
                run = self.web_connector()
                assert isinstance(run, WebConnectorRun)
                runs.append(run)
            time.sleep(0.2)
        return runs

    def settle(self, timeout: float = 120.0) -> None:
        """Updates until nothing waits anywhere (what the Web Connector's auto-run does by itself) and
        nothing moves for a moment: the events our own writes raise in Bitrix24 arrive a little later and
        may start more work."""
        deadline = time.monotonic() + timeout
        while True:
            self.drive(lambda: not self.waiting(), max(deadline - time.monotonic(), 1), "everything settled")
            if self._quiet(QUIET):
                return

    def _quiet(self, seconds: float) -> bool:
        """Nothing waiting, no Bitrix24 call and no new job for ``seconds``."""

        def now() -> tuple[int, int]:
            jobs = self.rows("select count(*) from jobs")
            return self.call_count(), int(jobs[0][0]) if jobs else 0

        before, until = now(), time.monotonic() + seconds
        while time.monotonic() < until:
            time.sleep(0.25)
            if self.waiting() or now() != before:
                return False
        return True

    # -- what the simulators hold ----------------------------------------------------------------------

    def bitrix24_now(self) -> tuple[Bitrix24, Portal]:
        """The emulator's portals as they are now (saved through its door, read here)."""
        saved = requests.post(self.b24 + "/_sandbox/save", timeout=60)
        assert saved.status_code == 200, saved.text
        emu = Bitrix24()
        bitrix24_state.load(emu, self.home / "bitrix24.state")
        emu.stop()
        return emu, emu.portal(DOMAIN)

    def quickbooks_now(self) -> SimulatedQuickBooks:
        return quickbooks.load(self.qb_state)


def _found(pattern: str, text: str) -> str | None:
    hit = re.search(pattern, text)
    return hit.group(1) if hit else None


@contextlib.contextmanager
def product(home: Path, **kw: Any) -> Iterator[Product]:
    p = Product(home, **kw)
    try:
        yield p.start()
    finally:
        p.stop()
