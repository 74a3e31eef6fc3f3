"""The QBWC SOAP endpoint: Intuit's ``QBWebConnectorSvc`` contract served by spyne.

Names, namespace and shapes follow Intuit's WSDL (``../shared/specs/QBWebConnectorSvc.wsdl``): namespace
``http://developer.intuit.com/``, one element per operation with its parameters in WSDL order,
``<op>Response/<op>Result``, and ``ArrayOfString``/``string`` for ``authenticate``. Every decision is in
:class:`~local_agent.soap.session.Sessions`; this module only translates, serialises calls with a lock
and guards the door (body size, DTDs, bytes that are not UTF-8) before spyne sees a request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from spyne import Application, Array, Integer32, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from .session import Sessions

NAMESPACE = "http://developer.intuit.com/"
SERVICE_NAME = "QBWebConnectorSvc"
# A response of 20,000 invoices with lines is ~45 MB of qbXML; allow generous headroom, refuse beyond.
MAX_BODY_BYTES = 256 * 1024 * 1024

ArrayOfString = Array(Unicode.customize(nillable=True), type_name="ArrayOfString")


def _sessions(ctx: Any) -> Sessions:
    sessions: Sessions = ctx.app.qbwc_sessions
    return sessions


def _call(ctx: Any, fn: Callable[[Sessions], Any]) -> Any:
    lock: threading.Lock = ctx.app.qbwc_lock
    with lock:
        return fn(_sessions(ctx))


def _s(value: str | None) -> str:
    return value or ""


class QBWebConnectorSvc(ServiceBase):  # type: ignore[misc]
    """The operations the Web Connector calls, in the order of Intuit's WSDL."""

    @rpc(Unicode, _returns=Unicode)  # type: ignore[misc]
    def serverVersion(ctx, strVersion):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.server_version())

    @rpc(Unicode, _returns=Unicode)  # type: ignore[misc]
    def clientVersion(ctx, strVersion):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.client_version(_s(strVersion)))

    @rpc(Unicode, Unicode, _returns=ArrayOfString)  # type: ignore[misc]
    def authenticate(ctx, strUserName, strPassword):  # noqa: N803, N805
        return _call(ctx, lambda s: s.authenticate(_s(strUserName), _s(strPassword)))

    @rpc(  # type: ignore[misc]
        Unicode, Unicode, Unicode, Unicode, Integer32(min_occurs=1), Integer32(min_occurs=1), _returns=Unicode
    )
    def sendRequestXML(  # noqa: N802
        ctx, ticket, strHCPResponse, strCompanyFileName, qbXMLCountry, qbXMLMajorVers, qbXMLMinorVers  # noqa: N803, N805
    ):
        return _call(
            ctx,
            lambda s: s.send_request_xml(
                _s(ticket), _s(strHCPResponse), _s(strCompanyFileName), _s(qbXMLCountry),
                int(qbXMLMajorVers or 0), int(qbXMLMinorVers or 0),
            ),
        )  # fmt: skip

    @rpc(Unicode, Unicode, Unicode, Unicode, _returns=Integer32(min_occurs=1))  # type: ignore[misc]
    def receiveResponseXML(ctx, ticket, response, hresult, message):  # noqa: N802, N805
        return _call(
            ctx, lambda s: s.receive_response_xml(_s(ticket), _s(response), _s(hresult), _s(message))
        )

    @rpc(Unicode, Unicode, Unicode, _returns=Unicode)  # type: ignore[misc]
    def connectionError(ctx, ticket, hresult, message):  # noqa: N802, N805
        return _call(ctx, lambda s: s.connection_error(_s(ticket), _s(hresult), _s(message)))

    @rpc(Unicode, _returns=Unicode)  # type: ignore[misc]
    def getLastError(ctx, ticket):  # noqa: N802, N805
        return _call(ctx, lambda s: s.get_last_error(_s(ticket)))

    @rpc(Unicode, _returns=Unicode)  # type: ignore[misc]
    def closeConnection(ctx, ticket):  # noqa: N802, N805
        return _call(ctx, lambda s: s.close_connection(_s(ticket)))

    @rpc(Unicode, Unicode, _returns=Unicode)  # type: ignore[misc]
    def getInteractiveURL(ctx, wcTicket, sessionID):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.get_interactive_url(_s(wcTicket), _s(sessionID)))

    @rpc(Unicode, _returns=Unicode)  # type: ignore[misc]
    def interactiveDone(ctx, wcTicket):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.interactive_done(_s(wcTicket)))

    @rpc(Unicode, Unicode, _returns=Unicode)  # type: ignore[misc]
    def interactiveRejected(ctx, wcTicket, reason):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.interactive_rejected(_s(wcTicket), _s(reason)))


def _fault(status: str, code: str, text: str) -> tuple[str, list[tuple[str, str]], bytes]:
    from xml.sax.saxutils import escape

    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
        f"<faultcode>soap:{code}</faultcode><faultstring>{escape(text)}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()
    return status, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))], body


class _Guard:
    """Refuse what spyne should never parse: huge bodies, DTDs, bytes that are not the declared UTF-8."""

    def __init__(self, app: Callable[..., Iterable[bytes]], max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.max_body:
            status, headers, body = _fault("413 Request Entity Too Large", "Client",
                                           f"Request body too large (limit {self.max_body} bytes).")
            start_response(status, headers)
            return [body]
        raw = environ["wsgi.input"].read(length) if length else b""
        problem = _problem(raw)
        if problem:
            status, headers, body = _fault("400 Bad Request", "Client", problem)
            start_response(status, headers)
            return [body]
        import io

        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        return self.app(environ, start_response)


def _problem(raw: bytes) -> str | None:
    if not raw.strip():
        return "Empty request body; expected a SOAP envelope."
    if b"<!DOCTYPE" in raw[:4096].upper() or b"<!ENTITY" in raw[:4096].upper():
        return "DTDs and entity declarations are not accepted."
    head = raw[:200].lower()
    if b"encoding=" not in head or b"utf-8" in head or b"utf8" in head:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"The request is not valid UTF-8 (byte {exc.start})."
    return None


def make_app(sessions: Sessions, *, max_body: int = MAX_BODY_BYTES) -> Callable[..., Iterable[bytes]]:
    """The WSGI application for ``/qbwc`` (``?wsdl`` serves the WSDL)."""
    app = Application(
        [QBWebConnectorSvc],
        tns=NAMESPACE,
        name=SERVICE_NAME,
        in_protocol=Soap11(validator="lxml"),
        out_protocol=Soap11(),
    )
    app.qbwc_sessions = sessions
    app.qbwc_lock = threading.Lock()
    return _Guard(WsgiApplication(app, max_content_length=max_body), max_body)
