"""The Web Connector's side of the SOAP wire: envelopes byte-shaped like the .NET client's, and answers.

Endpoints written against the real QBWC often depend on its exact shape (the ``soap:`` prefix, the
default namespace on the operation element, the quoted SOAPAction), so the simulator sends exactly that
rather than whatever a generic SOAP library would produce.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from xml.sax.saxutils import escape

import requests
from lxml import etree
from urllib3.exceptions import ReadTimeoutError

NAMESPACE = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

# Parameters of each operation in WSDL order (contract §1).
OPERATIONS: dict[str, tuple[str, ...]] = {
    "serverVersion": (),
    "clientVersion": ("strVersion",),
    "authenticate": ("strUserName", "strPassword"),
    "sendRequestXML": ("ticket", "strHCPResponse", "strCompanyFileName", "qbXMLCountry",
                       "qbXMLMajorVers", "qbXMLMinorVers"),
    "receiveResponseXML": ("ticket", "response", "hresult", "message"),
    "connectionError": ("ticket", "hresult", "message"),
    "getLastError": ("ticket",),
    "closeConnection": ("ticket",),
    "getInteractiveURL": ("wcTicket", "sessionID"),
    "interactiveDone": ("wcTicket",),
    "interactiveRejected": ("wcTicket", "reason"),
}

ResultKind = Literal["string", "int", "strings"]
RESULT_KINDS: dict[str, ResultKind] = {"authenticate": "strings", "receiveResponseXML": "int"}

Result = str | int | list[str]


class SoapError(Exception):
    """The endpoint did not give a usable answer (base of the specific failures below)."""


class SoapFault(SoapError):
    """The endpoint answered with a SOAP fault."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


class CallTimeout(SoapError):
    """No answer within the per-call timeout; the real QBWC then gives up on the update."""


class TransportError(SoapError):
    """Connection refused, an HTTP error without a fault, or an answer that is not the expected XML."""


# As captured from a real QBWC (consolibyte/quickbooks-php 740d2f8 QuickBooks/dev/quickbooks_log.txt, 2008).
# A current QBWC on .NET 4 likely says 4.0.30319.x here: UNCONFIRMED. Its ``Expect: 100-continue`` is not
# sent (the HTTP library here does not wait for the 100 answer, so the header would be a lie).
USER_AGENT = "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 2.0.50727.1433)"


def headers(operation: str) -> dict[str, str]:
    """HTTP headers the .NET client sends with every call (the capture above)."""
    return {"User-Agent": USER_AGENT, "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{NAMESPACE}{operation}"'}


def envelope(operation: str, params: Mapping[str, str | int]) -> bytes:
    """The request body; ``params`` are written in WSDL order whatever order the mapping has."""
    order = OPERATIONS[operation]
    unknown = set(params) - set(order)
    if unknown:
        raise ValueError(f"{operation} has no parameter(s) {', '.join(sorted(unknown))}")
    parts = []
    for name in order:
        if name not in params:
            continue  # .NET omits a null string parameter altogether
        value = str(params[name])
        parts.append(f"<{name}>{escape(value)}</{name}>" if value else f"<{name} />")
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<soap:Body><{operation} xmlns="{NAMESPACE}">{"".join(parts)}</{operation}></soap:Body>'
        "</soap:Envelope>"
    )
    return body.encode("utf-8")


def parse_response(operation: str, body: bytes) -> Result:
    """``<opResponse><opResult>`` → str, int or list of ``<string>``; a fault raises SoapFault.

    A missing or nil result reads as "" (or [] / 0), which is how .NET sees a null string.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise TransportError(f"{operation}: the answer is not XML ({exc})") from exc
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None:
        raise TransportError(f"{operation}: the answer has no SOAP Body")
    fault = soap_body.find(f"{{{SOAP_ENV}}}Fault")
    if fault is not None:
        raise SoapFault(fault.findtext("faultcode", "").strip(), fault.findtext("faultstring", "").strip())
    response = soap_body.find(f"{{{NAMESPACE}}}{operation}Response")
    if response is None:
        raise TransportError(f"{operation}: the answer has no {operation}Response in {NAMESPACE}")
    result = response.find(f"{{{NAMESPACE}}}{operation}Result")
    kind = RESULT_KINDS.get(operation, "string")
    if kind == "strings":
        if result is None:
            return []
        return [item.text or "" for item in result.findall(f"{{{NAMESPACE}}}string")]
    text = "" if result is None else (result.text or "")
    if kind == "int":
        try:
            return int(text.strip())
        except ValueError as exc:
            raise TransportError(f"{operation}: result {text!r} is not an integer") from exc
    return text


class SoapClient:
    """One QBWC endpoint, one HTTP session; close it (or use ``with``) to release the connection."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self._http = requests.Session()

    def call(self, operation: str, params: Mapping[str, str | int] | None = None) -> Result:
        data = envelope(operation, params or {})
        try:
            answer = self._http.post(self.url, data=data, headers=headers(operation), timeout=self.timeout)
        except requests.Timeout as exc:
            raise CallTimeout(f"{operation}: no answer within {self.timeout:g} s") from exc
        except requests.ConnectionError as exc:
            # A timeout while the body is being read surfaces as a ConnectionError wrapping urllib3's.
            if isinstance(exc.args[0] if exc.args else None, ReadTimeoutError):
                raise CallTimeout(f"{operation}: no answer within {self.timeout:g} s") from exc
            raise TransportError(f"{operation}: {exc}") from exc
        except requests.RequestException as exc:
            raise TransportError(f"{operation}: {exc}") from exc
        with answer:
            content = answer.content
            status = answer.status_code
        if status != 200:
            try:
                parse_response(operation, content)
            except SoapFault:
                raise
            except SoapError:
                pass
            raise TransportError(f"{operation}: HTTP {status}")
        return parse_response(operation, content)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SoapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
