"""Test helpers: a real little QBWC endpoint on 127.0.0.1 that scripts its answers, and a fake QuickBooks.

The endpoint parses what the simulator actually puts on the wire (so the tests pin the wire shape), records
every call, and answers per operation from a queue; the last answer in a queue repeats.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.qbport import ConnectionFailed, QuickBooksError, RequestFailed
from sandbox.webconnector.qwc import QwcConfig

NS = "http://developer.intuit.com/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass(frozen=True)
class Fault:
    code: str
    text: str


@dataclass(frozen=True)
class Slow:
    """Answer after ``seconds`` (cut short when the server stops)."""

    seconds: float
    answer: object


@dataclass(frozen=True)
class Call:
    op: str
    params: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str:
        return dict(self.params)[name]


CANNED_REQUEST = ('<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?><QBXML>'
                  '<QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="1">'
                  "<MaxReturned>1</MaxReturned></CustomerQueryRq></QBXMLMsgsRq></QBXML>")

DEFAULTS: dict[str, list[object]] = {
    "serverVersion": ["endpoint 1.0"],
    "clientVersion": [""],
    "authenticate": [["TICKET-1", ""]],
    "sendRequestXML": [CANNED_REQUEST],
    "receiveResponseXML": [100],
    "connectionError": ["done"],
    "getLastError": ["Something went wrong"],
    "closeConnection": ["OK"],
}


@dataclass
class Endpoint:
    url: str
    answers: dict[str, list[object]]
    calls: list[Call] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    support_hits: int = 0

    def script(self, op: str, *answers: object) -> None:
        self.answers[op] = list(answers)

    def ops(self) -> list[str]:
        return [call.op for call in self.calls]

    def of(self, op: str) -> list[Call]:
        return [call for call in self.calls if call.op == op]

    def next_answer(self, op: str) -> object:
        queue = self.answers[op]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def _result_xml(op: str, answer: object) -> str:
    if isinstance(answer, list):
        inner = "".join(f"<string>{escape(item)}</string>" for item in answer)
    else:
        inner = escape(str(answer))
    return f"<{op}Response xmlns=\"{NS}\"><{op}Result>{inner}</{op}Result></{op}Response>"


def _envelope(inner: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}">'
            f"<soap:Body>{inner}</soap:Body></soap:Envelope>").encode()


def serve_endpoint() -> Iterator[Endpoint]:
    """Start the endpoint in a thread; yields it, then stops it and closes the socket."""
    holder: list[Endpoint] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the AppSupport page QBWC reaches when the .qwc is added
            holder[0].support_hits += 1
            payload = b"<html><body>Support</body></html>"
            self.send_response(200 if self.path == "/support" else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            endpoint = holder[0]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            operation = etree.fromstring(body).find(f"{{{SOAP}}}Body")[0]
            op = etree.QName(operation).localname
            params = tuple((etree.QName(child).localname, child.text or "") for child in operation)
            endpoint.calls.append(Call(op, params, dict(self.headers.items()), body))
            answer = endpoint.next_answer(op)
            if isinstance(answer, Slow):
                endpoint.stopping.wait(answer.seconds)
                answer = answer.answer
            if isinstance(answer, Fault):
                status, payload = 500, _envelope(
                    f"<soap:Fault><faultcode>{answer.code}</faultcode>"
                    f"<faultstring>{escape(answer.text)}</faultstring></soap:Fault>")
            else:
                status, payload = 200, _envelope(_result_xml(op, answer))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint = Endpoint(f"http://localhost:{server.server_address[1]}/qbwc",
                        {op: list(values) for op, values in DEFAULTS.items()})
    holder.append(endpoint)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


# -- a fake QuickBooks ---------------------------------------------------------------------------------------

CANNED_RESPONSE = ('<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="1" statusCode="0" '
                   'statusSeverity="Info" statusMessage="Status OK"></CustomerQueryRs></QBXMLMsgsRs></QBXML>')


def hcp_response(versions: list[str]) -> str:
    ok = 'statusCode="0" statusSeverity="Info" statusMessage="Status OK"'
    supported = "".join(f"<SupportedQBXMLVersion>{v}</SupportedQBXMLVersion>" for v in versions)
    return ('<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
            f'<HostQueryRs requestID="0" {ok}><HostRet>'
            f"<ProductName>QuickBooks Enterprise Solutions 24.0</ProductName>{supported}"
            "</HostRet></HostQueryRs>"
            f'<CompanyQueryRs requestID="1" {ok}>'
            "<CompanyRet><CompanyName>Rock Castle Construction</CompanyName></CompanyRet></CompanyQueryRs>"
            f'<PreferencesQueryRs requestID="2" {ok}>'
            "<PreferencesRet /></PreferencesQueryRs></QBXMLMsgsRs></QBXML>")


VERSIONS = [f"{major}.0" for major in range(1, 17)] + ["1.1", "CA3.0", "UK2.0"]


class FakeSession:
    def __init__(self, host: FakeQuickBooks, company_file: str) -> None:
        self.host = host
        self._company_file = company_file

    @property
    def company_file(self) -> str:
        return self._company_file

    def process(self, request_xml: str) -> str:
        self.host.requests.append(request_xml)
        if "<HostQueryRq" in request_xml:
            if self.host.host_query_fails:
                raise RequestFailed("0x80040400", "QuickBooks found an error when parsing")
            return hcp_response(self.host.versions)
        if self.host.process_failures:
            failure = self.host.process_failures.pop(0)
            if failure is not None:
                raise failure
        return CANNED_RESPONSE

    def close(self) -> None:
        self.host.closed += 1


@dataclass
class FakeQuickBooks:
    """In memory; ``begin_failures``/``process_failures`` are consumed one per call (None = succeed)."""

    open_file: str = "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\Rock Castle.qbw"
    versions: list[str] = field(default_factory=lambda: list(VERSIONS))
    begin_failures: list[ConnectionFailed | None] = field(default_factory=list)
    process_failures: list[QuickBooksError | None] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    closed: int = 0
    host_query_fails: bool = False

    def begin_session(self, *, company_file: str, app_name: str, owner_id: str, file_id: str) -> FakeSession:
        self.opened.append(company_file)
        if self.begin_failures:
            failure = self.begin_failures.pop(0)
            if failure is not None:
                raise failure
        return FakeSession(self, company_file or self.open_file)


OWNER = "{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}"
FILE = "{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}"


def qwc_for(endpoint: Endpoint, *, run_every: timedelta | None = None) -> QwcConfig:
    return QwcConfig(app_name="Bitrix24 sync", app_id="", app_url=endpoint.url, app_description="",
                     app_support="https://example.com/support", user_name="agent", owner_id=OWNER,
                     file_id=FILE, run_every=run_every)
