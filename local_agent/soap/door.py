"""The endpoint's door: who may call, how much they may send, and what of it reaches the log.

A WSGI middleware in front of the SOAP service (no spyne here). What it guarantees (issue 20):

* **Only the Web Connector's kind of request gets in.** The real QBWC is a .NET client that sends
  ``Content-Type: text/xml; charset=utf-8`` and a ``SOAPAction`` header and no ``Origin`` (contract §1).
  A web page in the bookkeeper's browser can reach ``http://localhost:<port>`` too, but without a CORS
  preflight it can send only ``text/plain``/form bodies and no ``SOAPAction``, and every browser adds
  ``Origin`` to a POST and ``Sec-Fetch-*`` to every request. So: another content type → 415, no SOAPAction →
  400, an ``Origin``/``Sec-Fetch-*`` header or a ``Host`` that is not this machine (DNS rebinding) → 403,
  and a preflight is never granted. All of this is decided from the headers, before the body is read.
* **Bodies are bounded.** An announced size over the cap is refused with 413 before a byte of the body is
  read; a body without a length (chunked) is read in pieces and refused once past the cap; the body is
  parsed as it arrives (:mod:`.envelope`), never held whole. A big body is read by one request at a time.
* **Bodies never reach the log.** A refusal is one short line with the reason, the operation and the
  size. With ``log_payloads`` on (off by default) each request also gets a DEBUG summary: its first bytes
  with passwords and tickets hidden, capped at :data:`SUMMARY_BYTES`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

from .envelope import EnvelopeError, EnvelopeReader, describe_size

log = logging.getLogger(__name__)

# A response of 20,000 invoices with lines is ~45 MB of qbXML, escaped in one SOAP text node; 64 MB fits
# that with headroom (and matches the cloud link's message cap, shared.wire.MAX_MESSAGE_BYTES).
MAX_BODY_BYTES = 64 * 1024 * 1024
DOCUMENT_KEY = "qbwc.envelope"  # where the door leaves the parsed envelope for the service
PIECE_BYTES = 64 * 1024
BIG_BODY_BYTES = 1024 * 1024  # bodies above this are read one at a time (the Web Connector sends one)
BIG_BODY_WAIT = 30.0
READ_DEADLINE = 120.0  # seconds to deliver a whole body; loopback moves 64 MB in well under one
SUMMARY_BYTES = 1024
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

Start = Callable[..., Any]
App = Callable[[dict[str, Any], Start], Iterable[bytes]]


class Door:
    def __init__(
        self,
        app: App,
        *,
        max_body: int = MAX_BODY_BYTES,
        log_payloads: bool = False,
        hosts: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.log_payloads = log_payloads
        self.hosts = LOOPBACK_HOSTS | {h.lower() for h in hosts}
        self._big = threading.Semaphore(1)

    def __call__(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        operation = _operation(environ.get("HTTP_SOAPACTION", ""))
        refusal = screen(environ, self.hosts)
        if refusal is not None:
            return self._refuse(start_response, *refusal, operation, _length(environ))
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)  # GET ?wsdl
        length = _length(environ)
        if length is not None and length > self.max_body:
            too_big = f"The request is larger than {describe_size(self.max_body)}."
            return self._refuse(start_response, 413, too_big, operation, length)
        if length is None and not environ.get("wsgi.input_terminated"):
            return self._refuse(start_response, 411, "The request has no Content-Length.", operation, None)
        big = length is None or length > BIG_BODY_BYTES
        if big and not self._big.acquire(timeout=BIG_BODY_WAIT):
            return self._refuse(start_response, 503, "Another large request is being read; try again.",
                                operation, length)  # fmt: skip
        reader, head = EnvelopeReader(self.max_body), bytearray()
        try:
            _read(environ["wsgi.input"], length, reader, head)
            root = reader.close()
        except EnvelopeError as exc:
            self._summarise(operation, reader.size, head)
            return self._refuse(start_response, exc.status, exc.reason, operation, reader.size)
        finally:
            if big:
                self._big.release()
        self._summarise(operation, reader.size, head)
        environ[DOCUMENT_KEY] = root
        environ["CONTENT_LENGTH"] = "0"  # the service reads the tree, not the (already read) body
        return self.app(environ, start_response)

    def _summarise(self, operation: str, size: int, head: bytearray) -> None:
        if self.log_payloads:
            log.debug("request body of %s, %d bytes: %s", operation, size, summary(bytes(head)))

    def _refuse(
        self, start_response: Start, status: int, reason: str, operation: str, size: int | None
    ) -> Iterable[bytes]:
        log.warning("refused a Web Connector request (%s, %s bytes): %s", operation,
                    "?" if size is None else size, reason)  # fmt: skip
        body = fault(reason)
        start_response(f"{status} {_REASONS[status]}", [
            ("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Connection", "close")])  # fmt: skip  # the rest of an unread body must not be read as a request
        return [body]


_REASONS = {400: "Bad Request", 403: "Forbidden", 405: "Method Not Allowed", 408: "Request Timeout",
            411: "Length Required", 413: "Request Entity Too Large", 415: "Unsupported Media Type",
            503: "Service Unavailable"}  # fmt: skip


def screen(environ: dict[str, Any], hosts: frozenset[str]) -> tuple[int, str] | None:
    """Refuse, from the headers alone, what the Web Connector never sends (pure)."""
    method = environ.get("REQUEST_METHOD", "")
    if environ.get("HTTP_ORIGIN") is not None:
        return 403, "Requests from web pages are not accepted."
    fetch = (environ.get("HTTP_SEC_FETCH_MODE"), environ.get("HTTP_SEC_FETCH_SITE"))
    if fetch != (None, None) and not (method == "GET" and fetch == ("navigate", "none")):
        return 403, "Requests from web pages are not accepted."
    host = hostname(environ.get("HTTP_HOST"))
    if host is not None and host not in hosts:
        return 403, "This endpoint answers only as localhost."
    if method == "OPTIONS":
        return 403, "Requests from web pages are not accepted."
    if method == "GET":
        return None
    if method != "POST":
        return 405, "Only POST (SOAP) and GET ?wsdl are served."
    media, _, params = environ.get("CONTENT_TYPE", "").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([\w.-]+)", params, re.IGNORECASE)
    if media.strip().lower() != "text/xml" or (charset and charset.group(1).lower() not in ("utf-8", "utf8")):
        return 415, "Only SOAP 1.1 requests (Content-Type: text/xml; charset=utf-8) are accepted."
    if "HTTP_SOAPACTION" not in environ:
        return 400, "The SOAPAction header is missing."
    return None


def hostname(value: str | None) -> str | None:
    """The name in a ``Host`` header, lowercased, without its port or IPv6 brackets; None when absent."""
    if not value:
        return None
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


def _length(environ: dict[str, Any]) -> int | None:
    raw = environ.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        return None


def _operation(action: str) -> str:
    """``"http://developer.intuit.com/authenticate"`` → ``authenticate`` (letters only, for the log)."""
    name = action.strip().strip('"').rstrip("/").rpartition("/")[2]
    return re.sub(r"[^A-Za-z]", "", name)[:40] or "-"


def _read(stream: Any, length: int | None, reader: EnvelopeReader, head: bytearray) -> None:
    """Feed the body to ``reader`` piece by piece, keeping its first bytes in ``head`` (for a summary)."""
    left = length
    started = time.monotonic()
    while left is None or left > 0:
        piece = stream.read(PIECE_BYTES if left is None else min(PIECE_BYTES, left))
        if not piece:
            break
        if len(head) < SUMMARY_BYTES:
            head.extend(piece[: SUMMARY_BYTES - len(head)])
        reader.feed(piece)
        if left is not None:
            left -= len(piece)
        if time.monotonic() - started > READ_DEADLINE:
            raise EnvelopeError(408, "The request body arrived too slowly.")


_SECRET = re.compile(rb"(<(?:\w+:)?(strPassword|ticket|wcTicket)\b[^>]*>)(.*?)(</(?:\w+:)?\2>|$)", re.DOTALL)


_HIDDEN = "…hidden…".encode()


def summary(head: bytes) -> str:
    """The first bytes of a body with every password and ticket hidden — also when the body is broken."""
    hidden = _SECRET.sub(lambda m: m.group(1) + _HIDDEN + m.group(4), head)
    text = hidden[:SUMMARY_BYTES].decode("utf-8", "replace")
    return re.sub(r"\s+", " ", text)


def fault(reason: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
        f"<faultcode>soap:Client</faultcode><faultstring>{escape(reason)}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()
