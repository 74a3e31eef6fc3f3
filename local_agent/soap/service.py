"""The QBWC SOAP endpoint: Intuit's ``QBWebConnectorSvc`` contract served by spyne.

Names, namespace and shapes follow Intuit's WSDL (``../shared/specs/QBWebConnectorSvc.wsdl``): namespace
``http://developer.intuit.com/``, one element per operation with its parameters in WSDL order,
``<op>Response/<op>Result``, and ``ArrayOfString``/``string`` for ``authenticate``. Every decision is in
:class:`~local_agent.soap.session.Sessions`; this module only translates and serialises calls with a lock;
:mod:`.door` decides who may call and reads the body (streamed, bounded) before spyne sees a request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from spyne import Application, Array, Fault, Integer32, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from .door import DOCUMENT_KEY, MAX_BODY_BYTES, Door
from .session import Sessions

log = logging.getLogger(__name__)

NAMESPACE = "http://developer.intuit.com/"
SERVICE_NAME = "QBWebConnectorSvc"

ArrayOfString = Array(Unicode.customize(nillable=True), type_name="ArrayOfString")


def _sessions(ctx: Any) -> Sessions:
    sessions: Sessions = ctx.app.qbwc_sessions
    return sessions


def _call(ctx: Any, fn: Callable[[Sessions], Any]) -> Any:
    lock: threading.Lock = ctx.app.qbwc_lock
    with lock:
        try:
            return fn(_sessions(ctx))
        except Exception:
            # spyne is muted (it logs payloads); our own failure is logged here, without the call's values.
            log.exception("the Web Connector's %s call failed", ctx.method_name)
            raise


def _s(value: str | None) -> str:
    return value or ""


class QBWebConnectorSvc(ServiceBase):
    """The operations the Web Connector calls, in the order of Intuit's WSDL."""

    @rpc(Unicode, _returns=Unicode)
    def serverVersion(ctx, strVersion):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.server_version())

    @rpc(Unicode, _returns=Unicode)
    def clientVersion(ctx, strVersion):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.client_version(_s(strVersion)))

    @rpc(Unicode, Unicode, _returns=ArrayOfString)
    def authenticate(ctx, strUserName, strPassword):  # noqa: N803, N805
        return _call(ctx, lambda s: s.authenticate(_s(strUserName), _s(strPassword)))

    @rpc(
        Unicode, Unicode, Unicode, Unicode, Integer32(min_occurs=1), Integer32(min_occurs=1), _returns=Unicode
    )
    def sendRequestXML(  # noqa: N802
        ctx, ticket, strHCPResponse, strCompanyFileName, qbXMLCountry, qbXMLMajorVers, qbXMLMinorVers  # noqa: N803, N805
    ):  # fmt: skip
        return _call(
            ctx,
            lambda s: s.send_request_xml(
                _s(ticket), _s(strHCPResponse), _s(strCompanyFileName), _s(qbXMLCountry),
                int(qbXMLMajorVers or 0), int(qbXMLMinorVers or 0),
            ),
        )  # fmt: skip

    @rpc(Unicode, Unicode, Unicode, Unicode, _returns=Integer32(min_occurs=1))
    def receiveResponseXML(ctx, ticket, response, hresult, message):  # noqa: N802, N805
        return _call(
            ctx, lambda s: s.receive_response_xml(_s(ticket), _s(response), _s(hresult), _s(message))
        )

    @rpc(Unicode, Unicode, Unicode, _returns=Unicode)
    def connectionError(ctx, ticket, hresult, message):  # noqa: N802, N805
        return _call(ctx, lambda s: s.connection_error(_s(ticket), _s(hresult), _s(message)))

    @rpc(Unicode, _returns=Unicode)
    def getLastError(ctx, ticket):  # noqa: N802, N805
        return _call(ctx, lambda s: s.get_last_error(_s(ticket)))

    @rpc(Unicode, _returns=Unicode)
    def closeConnection(ctx, ticket):  # noqa: N802, N805
        return _call(ctx, lambda s: s.close_connection(_s(ticket)))

    @rpc(Unicode, Unicode, _returns=Unicode)
    def getInteractiveURL(ctx, wcTicket, sessionID):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.get_interactive_url(_s(wcTicket), _s(sessionID)))

    @rpc(Unicode, _returns=Unicode)
    def interactiveDone(ctx, wcTicket):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.interactive_done(_s(wcTicket)))

    @rpc(Unicode, Unicode, _returns=Unicode)
    def interactiveRejected(ctx, wcTicket, reason):  # noqa: N802, N803, N805
        return _call(ctx, lambda s: s.interactive_rejected(_s(wcTicket), _s(reason)))


class _Envelope(Soap11):
    """Soap 1.1 that takes the envelope the door already parsed (streamed and bounded) instead of parsing
    the body again: spyne's own parser holds the whole body, refuses text nodes over 10 MB and logs a body
    it cannot parse, password and all."""

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        root = ctx.transport.req_env.get(DOCUMENT_KEY)
        if root is None:  # pragma: no cover - the door is always in front
            raise Fault("Client", "The request did not pass the endpoint's checks.")
        ctx.in_document = (root, {})  # no SOAP-encoding hrefs to resolve: QBWC sends document/literal


def _mute_spyne() -> None:
    """spyne logs request documents and values (at DEBUG, and a body it cannot parse at ERROR): none of
    that may reach the agent's log, whatever level it runs at. The door logs what is worth knowing."""
    spyne = logging.getLogger("spyne")
    spyne.propagate = False
    spyne.setLevel(logging.CRITICAL + 1)
    if not spyne.handlers:
        spyne.addHandler(logging.NullHandler())  # else logging's last-resort handler prints to stderr


def make_app(
    sessions: Sessions,
    *,
    max_body: int = MAX_BODY_BYTES,
    log_payloads: bool = False,
    hosts: Iterable[str] = (),
) -> Callable[..., Iterable[bytes]]:
    """The WSGI application for ``/qbwc`` (``?wsdl`` serves the WSDL), behind its :class:`Door`."""
    _mute_spyne()
    app = Application(
        [QBWebConnectorSvc],
        tns=NAMESPACE,
        name=SERVICE_NAME,
        in_protocol=_Envelope(validator="lxml"),
        out_protocol=Soap11(),
    )
    app.qbwc_sessions = sessions
    app.qbwc_lock = threading.Lock()
    return Door(WsgiApplication(app), max_body=max_body, log_payloads=log_payloads, hosts=hosts)
