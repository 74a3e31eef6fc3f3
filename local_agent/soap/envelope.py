"""Reading a Web Connector request body piece by piece into a SOAP envelope tree, within fixed bounds.

Pure: bytes in, an lxml tree (or an :class:`EnvelopeError`) out; the WSGI door does the reading.

Why streaming and why these bounds (issue 20):

* The body is fed to lxml as it arrives and never held whole, so a request costs about its tree — one
  text node for the escaped qbXML answer — not the bytes plus a copy plus the tree.
* ``huge_tree``: QuickBooks' answer arrives as **one** escaped text node; libxml2 refuses text nodes over
  10 MB without it ("Text node too long"), which refused a legitimate 12.7 MB ``receiveResponseXML``.
* Lifting libxml2's limits must not let a body under the size cap cost gigabytes: a QBWC envelope has a
  dozen elements (Envelope, Body, the operation, its parameters) and all of QuickBooks' markup arrives
  escaped inside text. So the markup itself is bounded — at most :data:`MAX_TAGS` ``<`` in the whole body,
  each tag at most :data:`MAX_TAG_BYTES` — before lxml sees a byte: millions of tiny elements or one
  start tag with millions of attributes are refused instead of being built.
* No entity is resolved, nothing is fetched, and a document with a DTD is refused.
"""

from __future__ import annotations

from lxml import etree

from shared.qbxml.xml import hardened_parser

MAX_TAGS = 256  # every "<" counts: tags, comments, processing instructions, CDATA openers
MAX_TAG_BYTES = 8 * 1024


class EnvelopeError(Exception):
    """The body is not an envelope we will read; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class EnvelopeReader:
    """Feed the body's pieces in order, then :meth:`close` for the envelope's root element."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._tags = 0
        self._open_at: int | None = None  # offset of a "<" whose ">" has not arrived yet
        self._parser = hardened_parser(remove_pis=True)  # feed()/close() parse as the pieces arrive

    def feed(self, piece: bytes) -> None:
        start = self.size
        self.size += len(piece)
        if self.size > self.max_bytes:
            raise EnvelopeError(413, f"The request is larger than {describe_size(self.max_bytes)}.")
        self._scan(piece, start)
        try:
            self._parser.feed(piece)
        except etree.XMLSyntaxError as exc:
            raise EnvelopeError(400, _syntax(exc)) from None

    def close(self) -> etree._Element:
        if self.size == 0:
            raise EnvelopeError(400, "The request body is empty; expected a SOAP envelope.")
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise EnvelopeError(400, _syntax(exc)) from None
        if root.getroottree().docinfo.internalDTD is not None:
            raise EnvelopeError(400, "DTDs and entity declarations are not accepted.")
        return root

    def _scan(self, piece: bytes, start: int) -> None:
        """Count the markup in ``piece`` (at ``start`` in the body) and refuse what no envelope has."""
        pos = 0
        while True:
            if self._open_at is not None:
                end = piece.find(b">", pos)
                if end < 0:
                    if start + len(piece) - self._open_at > MAX_TAG_BYTES:
                        raise EnvelopeError(400, "The request has a tag longer than any SOAP envelope's.")
                    return
                if start + end - self._open_at > MAX_TAG_BYTES:
                    raise EnvelopeError(400, "The request has a tag longer than any SOAP envelope's.")
                self._open_at, pos = None, end + 1
            lt = piece.find(b"<", pos)
            if lt < 0:
                return
            self._tags += 1
            if self._tags > MAX_TAGS:
                raise EnvelopeError(400, "The request has far more markup than a Web Connector envelope.")
            head = piece[lt : lt + 9]
            if head.startswith((b"<!DOCTYPE", b"<!ENTITY")):
                raise EnvelopeError(400, "DTDs and entity declarations are not accepted.")
            self._open_at, pos = start + lt, lt + 1


def _syntax(exc: etree.XMLSyntaxError) -> str:
    # Only the position: libxml2's own message can quote bytes of the body (a password among them).
    line, column = exc.position if exc.position else (0, 0)
    return f"The request is not well-formed XML or not UTF-8 (line {line}, column {column})."


def describe_size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"
