"""One Web Connector update session (contract §2), and the scheduler that repeats it.

The order of calls and the meaning of every return value are what endpoints are written against, so the
session is a straight transcription of §2: each answer from the endpoint decides the next call, QuickBooks
failures travel as ``hresult``+``message``, and the QuickBooks session is closed whatever happens.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.qbport import ConnectionFailed, QuickBooksError, QuickBooksHost, QuickBooksSession
from sandbox.webconnector.qwc import QwcConfig
from sandbox.webconnector.soap import CallTimeout, Result, SoapClient, SoapError

# HostQuery and CompanyQuery exist since 1.0, CompanyQuery's OwnerID (which brings back the FileID data
# extension the endpoint uses to recognise the company file) since 2.0.
HCP_QBXML_VERSION = "2.0"
# Used only when QuickBooks could not answer the host query; the newest version Desktop 2024 accepts.
FALLBACK_VERSION = (16, 0)
STOP_FLAGS = {
    "none": "No data exchange required",
    "nvu": "Authentication failed: the user name or password is not valid",
    "busy": "The server is busy; try again later",
}

Log = Callable[[str], None]


@dataclass(frozen=True)
class SessionReport:
    """What one update did, as the QBWC window and log would show it."""

    outcome: str  # ok | none | nvu | busy | postponed | error | connection_error | timeout
    status: str  # the status column: closeConnection's text, or the error
    percents: tuple[int, ...] = ()
    round_trips: int = 0
    calls: tuple[str, ...] = ()
    wait_before_next: timedelta | None = None
    run_every: timedelta | None = None
    server_version: str = ""
    company_file: str = ""


class _Stop(Exception):
    def __init__(self, outcome: str, status: str) -> None:
        super().__init__(status)
        self.outcome = outcome
        self.status = status


@dataclass
class _Run:
    """The mutable working state of one session; frozen into a SessionReport at the end."""

    calls: list[str] = field(default_factory=list)
    percents: list[int] = field(default_factory=list)
    round_trips: int = 0
    wait_before_next: timedelta | None = None
    run_every: timedelta | None = None
    server_version: str = ""
    company_file: str = ""
    quickbooks: QuickBooksSession | None = None

    def report(self, outcome: str, status: str) -> SessionReport:
        return SessionReport(outcome, status, tuple(self.percents), self.round_trips, tuple(self.calls),
                             self.wait_before_next, self.run_every, self.server_version, self.company_file)


def _discard(line: str) -> None:
    """The default log: nowhere (the CLI passes print)."""


class WebConnector:
    """A Web Connector with one application added (the ``.qwc``) and its password entered."""

    def __init__(
        self,
        qwc: QwcConfig,
        password: str,
        quickbooks: QuickBooksHost,
        *,
        company_file: str = "",
        version: str = "2.3.0.215",
        timeout: float = 30.0,
        log: Log = _discard,
        noop_pause: float = 5.0,
        max_calls: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
        auto_run: bool = True,
    ) -> None:
        self.qwc = qwc
        self.password = password
        self.quickbooks = quickbooks
        self.company_file = company_file
        self.version = version
        self.timeout = timeout
        self.log = log
        self.noop_pause = noop_pause
        self.max_calls = max_calls
        self.sleep = sleep
        # authenticate [2]/[3] take effect only with Auto-Run on (PG p.62, "IMPORTANT")
        self.auto_run = auto_run
        self.run_every = qwc.run_every  # the server's [3] raises it, as in the real scheduler

    # -- one session -------------------------------------------------------------------------------------

    def run_session(self) -> SessionReport:
        """Run one update from serverVersion to closeConnection (or to the first reason to stop)."""
        run = _Run()
        self.log(f"QBWebConnector: starting update of {self.qwc.app_name!r} at {self.qwc.app_url}")
        with SoapClient(self.qwc.app_url, timeout=self.timeout) as client:
            try:
                report = self._session(client, run)
            except _Stop as stop:
                report = run.report(stop.outcome, stop.status)
            except CallTimeout as exc:
                report = run.report("timeout", f"The web service did not answer in time: {exc}")
            except SoapError as exc:
                report = run.report("error", f"Error calling the web service: {exc}")
            finally:
                if run.quickbooks is not None:
                    run.quickbooks.close()
                    self.log("QBWebConnector: QuickBooks session closed")
        if report.run_every is not None and self.auto_run:
            # [3] is a lower bound: QBWC raises Every_Min to it only when Every_Min is smaller (PG p.62–63)
            if self.run_every is None or self.run_every < report.run_every:
                self.run_every = report.run_every
        self.log(f"QBWebConnector: update finished: {report.outcome}: {report.status}")
        return report

    def _call(self, client: SoapClient, run: _Run, operation: str, **params: str | int) -> Result:
        if len(run.calls) >= self.max_calls:
            raise _Stop("error", f"Stopped after {self.max_calls} calls in one session (loop guard)")
        run.calls.append(operation)
        shown = {k: ("<hidden>" if k == "strPassword" else _short(v)) for k, v in params.items()}
        self.log(f"QBWebConnector.SOAPWebService.do_{operation}(): calling with {shown}")
        result = client.call(operation, params)
        self.log(f"QBWebConnector.SOAPWebService.do_{operation}(): received {_short(result)}")
        return result

    def _session(self, client: SoapClient, run: _Run) -> SessionReport:
        run.server_version = str(self._call(client, run, "serverVersion"))
        self._check_client_version(str(self._call(client, run, "clientVersion", strVersion=self.version)))

        answer = self._call(client, run, "authenticate", strUserName=self.qwc.user_name,
                            strPassword=self.password)
        assert isinstance(answer, list)
        if len(answer) < 2:
            raise _Stop("error", f"authenticate returned {len(answer)} value(s); at least 2 are required")
        ticket, flag = answer[0], answer[1]
        if self.auto_run:
            run.wait_before_next = _seconds(answer, 2) or None  # "0": nothing postponed
            run.run_every = _seconds(answer, 3)
        if flag.lower() in STOP_FLAGS:
            self.log(f"QBWebConnector.SOAPWebService.do_authenticate(): {STOP_FLAGS[flag.lower()]}")
            if flag.lower() in ("none", "nvu"):  # "QBWC will display a message, call closeConnection" (PG 21)
                self._call(client, run, "closeConnection", ticket=ticket)
            if run.wait_before_next is not None:
                raise _Stop("postponed", "Update postponed by application")  # PG p.63, examples 4 and 6
            raise _Stop(flag.lower(), STOP_FLAGS[flag.lower()])
        if run.wait_before_next is not None:
            # "the current update process is discontinued and will resume after [2] seconds" (PG p.62);
            # whether QBWC calls closeConnection then is UNCONFIRMED: it does not here
            self.log("QBWebConnector.SOAPWebService.do_authenticate(): Update postponed by application")
            raise _Stop("postponed", "Update postponed by application")
        self.log("QBWebConnector.SOAPWebService.do_authenticate(): Authentication successful")

        run.quickbooks = self._open(client, run, ticket, flag or self.company_file)
        run.company_file = run.quickbooks.company_file
        hcp, major, minor = self._host_query(run.quickbooks)
        return self._exchange(client, run, ticket, hcp, major, minor)

    def _check_client_version(self, answer: str) -> None:
        if answer.startswith("W:"):
            self.log(f"QBWebConnector: warning from the web service (continuing): {answer[2:]}")
        elif answer.startswith("E:"):
            raise _Stop("error", answer[2:])
        elif answer.startswith("O:"):
            # "QBWC always proceeds to call authenticate unless it receives ... 'E:' or ... 'O:'" (PG p.21),
            # whatever version follows the colon (PG p.66: the server expects a newer QBWC)
            required = answer[2:].strip()
            raise _Stop("error", f"The web service requires Web Connector {required}; this is {self.version}")

    def _open(self, client: SoapClient, run: _Run, ticket: str, company_file: str) -> QuickBooksSession:
        """BeginSession; on failure ask connectionError and retry with the file it names, "until the
        connectionError callback tells it to stop" with ``done`` (PG p.22; the loop guard ends it too)."""
        while True:
            try:
                self.log(f"QBWebConnector: opening company file {company_file or '(the open one)'!r}")
                return self.quickbooks.begin_session(company_file=company_file, app_name=self.qwc.app_name,
                                                     owner_id=self.qwc.owner_id, file_id=self.qwc.file_id)
            except ConnectionFailed as exc:
                self.log(f"QBWebConnector: could not open QuickBooks: {exc.hresult} {exc.message}")
                answer = str(self._call(client, run, "connectionError", ticket=ticket, hresult=exc.hresult,
                                        message=exc.message))
                if answer.lower() == "done":
                    raise _Stop("connection_error", f"{exc.hresult}: {exc.message}") from exc
                company_file = answer

    def _host_query(self, quickbooks: QuickBooksSession) -> tuple[str, int, int]:
        """What QBWC asks QuickBooks before the first sendRequestXML: host, company and preferences, with
        requestIDs 0, 1, 2 as a captured strHCPResponse shows (qbwc/qbwc test/test_helper.rb)."""
        request = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<?qbxml version="{HCP_QBXML_VERSION}"?>'
            '<QBXML><QBXMLMsgsRq onError="continueOnError">'
            '<HostQueryRq requestID="0" />'
            f'<CompanyQueryRq requestID="1"><OwnerID>{escape(self.qwc.owner_id)}</OwnerID></CompanyQueryRq>'
            '<PreferencesQueryRq requestID="2" />'
            "</QBXMLMsgsRq></QBXML>"
        )
        try:
            response = quickbooks.process(request)
        except QuickBooksError as exc:
            self.log(f"QBWebConnector: the host query failed ({exc}); sending an empty strHCPResponse")
            return "", *FALLBACK_VERSION
        major, minor = highest_version(response) or FALLBACK_VERSION
        self.log(f"QBWebConnector: QuickBooks supports qbXML up to {major}.{minor}")
        return response, major, minor

    def _exchange(self, client: SoapClient, run: _Run, ticket: str, hcp: str, major: int,
                  minor: int) -> SessionReport:
        assert run.quickbooks is not None
        first = True
        while True:
            request = str(self._call(client, run, "sendRequestXML", ticket=ticket,
                                     strHCPResponse=hcp if first else "", strCompanyFileName=run.company_file,
                                     qbXMLCountry="US", qbXMLMajorVers=major, qbXMLMinorVers=minor))
            first = False
            if request == "":
                error = str(self._call(client, run, "getLastError", ticket=ticket))
                if error == "NoOp":
                    self.log(f"QBWebConnector: NoOp: pausing {self.noop_pause:g} s before asking again")
                    self.sleep(self.noop_pause)
                    continue
                if error == "Interactive mode":
                    raise _Stop("error", "Interactive mode is not supported by this simulator")
                self._call(client, run, "closeConnection", ticket=ticket)
                raise _Stop("error", error)
            run.round_trips += 1
            try:
                response, hresult, message = run.quickbooks.process(request), "", ""
            except QuickBooksError as exc:
                self.log(f"QBWebConnector: QuickBooks refused the request: {exc.hresult} {exc.message}")
                response, hresult, message = "", exc.hresult, exc.message
            percent = self._call(client, run, "receiveResponseXML", ticket=ticket, response=response,
                                 hresult=hresult, message=message)
            assert isinstance(percent, int)
            run.percents.append(percent)
            if percent < 0:
                error = str(self._call(client, run, "getLastError", ticket=ticket))
                self._call(client, run, "closeConnection", ticket=ticket)
                raise _Stop("error", error)
            if percent >= 100:
                status = str(self._call(client, run, "closeConnection", ticket=ticket))
                return run.report("ok", status)
            self.log(f"QBWebConnector: {percent}% done")

    # -- the scheduler ------------------------------------------------------------------------------------

    def run_forever(
        self, stop_event: threading.Event, *, max_sessions: int | None = None
    ) -> list[SessionReport]:
        """Run updates on the schedule until ``stop_event`` is set.

        The next update comes after the server's [2] wait if it gave one (the postponed update), otherwise
        after the run-every interval (the ``.qwc`` scheduler, raised to the server's [3] when that is larger).
        With neither, the real QBWC only updates when the user clicks, so this returns after one session.
        """
        reports: list[SessionReport] = []
        while not stop_event.is_set():
            report = self.run_session()
            reports.append(report)
            if max_sessions is not None and len(reports) >= max_sessions:
                break
            delay = self.next_delay(report)
            if delay is None:
                break
            self.log(f"QBWebConnector: next update in {delay:g} s")
            if stop_event.wait(delay):
                break
        return reports

    def next_delay(self, report: SessionReport | None) -> float | None:
        """Seconds to the next scheduled update: the server's [2] wait after ``report`` if it gave one (the
        postponed update), else the run-every interval in force; None: only when the user clicks — always
        so with Auto-Run off, where QBWC keeps no schedule for the application (PG p.62–63)."""
        if not self.auto_run:
            return None
        if report is not None and report.wait_before_next is not None:
            return report.wait_before_next.total_seconds()
        return None if self.run_every is None else self.run_every.total_seconds()


def highest_version(hcp_response: str) -> tuple[int, int] | None:
    """The highest plain ``major.minor`` in SupportedQBXMLVersion (country ones like CA3.0 are skipped)."""
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", hcp_response)
    try:
        root = etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    versions = []
    for element in root.iter("SupportedQBXMLVersion"):
        match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", element.text or "")
        if match:
            versions.append((int(match.group(1)), int(match.group(2))))
    return max(versions) if versions else None


def _seconds(values: list[str], index: int) -> timedelta | None:
    if len(values) <= index or not values[index].strip().isdigit():
        return None
    return timedelta(seconds=int(values[index]))


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"
