"""Auto-Run and ``qbwc://docontrol/UpdateNow``: the Web Connector's scheduler, and the trigger on top of it.

Intuit's *Web Connector Programmer's Guide* v2.0 (``docs/QBWC_proguide.pdf`` in johnballantyne/qbws),
chapter 6 "Interacting directly with the Web Connector", p.43–46: QBWC 2.0 registers an asynchronous
pluggable protocol handler for ``qbwc://<operation>/<request>?<parameters>``; ``docontrol/UpdateNow``
"begin[s] an update immediately for the named web service", its one parameter ``AppName`` being the
``.qwc``'s AppName (or its AppUniqueName); ``async=true`` answers at once (HTTP 202 with a URL to ping,
202 while the update runs, 200 when it is done) instead of holding the caller until the update ends;
``WSExists`` answers whether a web service of that name was added. The guide says the handler works with
Internet Explorer; a program reaches it through the same URL monikers.

UNCONFIRMED (no source says; each is a plain choice here): whether current QBWC builds still honour the
trigger; what an UpdateNow does while an update of the same application runs (here: remembered, served
right after it, never two at once); the wording of the answers; the status for an unknown AppName (404
here); whether the interval counts from the start or the end of an update (the end here — the guide calls
the interval "a minimum time between connections", p.37).

The protocol handler is served over plain HTTP on loopback (``http://127.0.0.1:PORT/docontrol/…`` stands for
``qbwc://docontrol/…``), since only Windows can register the real scheme.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from sandbox.webconnector.connector import SessionReport, WebConnector


class RealTime:
    def now(self) -> float:
        return time.monotonic()

    def subscribe(self, wake: Callable[[], None]) -> None:
        """Real time needs no wake-ups: waits time out by themselves."""


class SimulatedTime:
    """A clock a benchmark moves forward: idle waiting is skipped, sessions take the time they take."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.skipped = 0.0

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += max(0.0, seconds)
            self.skipped += max(0.0, seconds)
            listeners = list(self._listeners)
        for wake in listeners:
            wake()

    def subscribe(self, wake: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(wake)


Clock = RealTime | SimulatedTime


@dataclass
class _Kick:
    number: int
    done: threading.Event
    status: str = ""


class AutoRun:
    """One application's Auto-Run: updates on the schedule, and at once when UpdateNow asks.

    One thread runs every update, so two never overlap; an UpdateNow during an update is kept (several
    become one) and served as soon as that update closes.
    """

    def __init__(self, connector: WebConnector, *, clock: Clock | None = None) -> None:
        self.connector = connector
        self.clock: Clock = clock or RealTime()
        self.reports: list[SessionReport] = []
        self.durations: list[float] = []  # wall seconds of each update, authenticate to closeConnection
        self.kicks = 0  # UpdateNow requests accepted
        self.running = False
        self.next_run: float | None = None
        self._cond = threading.Condition()
        self._owed: list[_Kick] = []
        self._numbers = itertools.count(1)
        self._all: dict[int, _Kick] = {}
        self._stop = False
        self._thread: threading.Thread | None = None
        self.clock.subscribe(self._wake)

    # -- control -------------------------------------------------------------------------------------

    def start(self, *, first_in: float | None = None) -> AutoRun:
        """Start the schedule; the first update comes after one interval (or ``first_in`` seconds)."""
        interval = self.connector.next_delay(None)
        with self._cond:
            delay = first_in if first_in is not None else interval
            self.next_run = None if delay is None else self.clock.now() + delay
        self._thread = threading.Thread(target=self._loop, name="qbwc-autorun", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def update_now(self, app_name: str) -> _Kick | None:
        """``docontrol/UpdateNow``: None when no web service has that AppName."""
        if app_name != self.connector.qwc.app_name:
            return None
        with self._cond:
            kick = _Kick(next(self._numbers), threading.Event())
            self._owed.append(kick)
            self._all[kick.number] = kick
            self.kicks += 1
            self._cond.notify_all()
        return kick

    def kick_status(self, number: int) -> _Kick | None:
        with self._cond:
            return self._all.get(number)

    def idle(self) -> bool:
        with self._cond:
            return not self.running and not self._owed

    def wait_idle(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return False

    # -- the scheduler thread -------------------------------------------------------------------------

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stop:
                        return
                    now = self.clock.now()
                    if self._owed or (self.next_run is not None and now >= self.next_run):
                        break
                    wait = None if self.next_run is None else self.next_run - now
                    # a simulated clock wakes us when it moves; a real one when the interval is over
                    self._cond.wait(timeout=wait if isinstance(self.clock, RealTime) else 1.0)
                served, self._owed = self._owed, []
                self.running = True
            began = time.monotonic()
            try:
                report = self.connector.run_session()
            except Exception as exc:  # the schedule outlives one broken update, as QBWC's does
                report = SessionReport("error", f"The update failed: {exc}")
            with self._cond:
                self.running = False
                self.reports.append(report)
                self.durations.append(time.monotonic() - began)
                interval = self.connector.next_delay(report)
                self.next_run = None if interval is None else self.clock.now() + interval
                for kick in served:
                    kick.status = f"{report.outcome}: {report.status}"
                    kick.done.set()
                self._cond.notify_all()


# -- the protocol handler ---------------------------------------------------------------------------------


def _params(query: str) -> dict[str, str]:
    """The query string; the guide also writes ``AppName=X?async=true`` (p.44), read as two parameters."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    name = params.get("AppName", "")
    if "?" in name:
        name, _, rest = name.partition("?")
        params.update(parse_qsl(rest))
        params["AppName"] = name
    return params


class ProtocolHandler:
    """``qbwc://docontrol/UpdateNow|WSExists`` served at ``http://127.0.0.1:PORT/docontrol/…``."""

    def __init__(self, autorun: AutoRun, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.autorun = autorun
        handler = self

        class _Request(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, text = handler.answer(self.path)
                body = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), _Request)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="qbwc-protocol", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ProtocolHandler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str) -> tuple[int, str]:
        parts = urlsplit(path)
        params = _params(parts.query)
        app_name = params.get("AppName", "")
        if parts.path == "/docontrol/WSExists":
            return 200, "true" if app_name == self.autorun.connector.qwc.app_name else "false"
        if parts.path == "/docontrol/UpdateStatus":
            number = params.get("id", "")
            kick = self.autorun.kick_status(int(number)) if number.isdigit() else None
            if kick is None:
                return 404, "No such update."
            if not kick.done.is_set():
                return 202, "Updatestatus=running"
            return 200, f"Updatestatus={kick.status}"
        if parts.path != "/docontrol/UpdateNow":
            return 404, f"Unknown request {parts.path}"
        kick = self.autorun.update_now(app_name)
        if kick is None:
            return 404, f"No web service named {app_name!r} has been added to the Web Connector."
        if params.get("async", "").lower() == "true":
            return 202, f"{self.base_url}/docontrol/UpdateStatus?id={kick.number}"
        kick.done.wait(timeout=600)
        return 200, f"Updatestatus={kick.status}"
