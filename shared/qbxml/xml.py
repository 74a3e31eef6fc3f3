"""The one hardened XML parser: no entity expansion, no DTDs, no network, bounded size.

QuickBooks responses come from a local program, but qbXML also arrives through the Web Connector and the
cloud link; nothing that reads it should be able to fetch URLs, expand entities or eat unbounded memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from lxml import etree

from .errors import ParseError

# Responses of tens of MB are normal (20,000 invoices); beyond this something is wrong.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']", re.S)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)


def hardened_parser(*, remove_pis: bool = False) -> etree.XMLParser:
    """The one hardened parser (no entities, no network, no DTD); also fed piece by piece
    (``feed``/``close``) by the agent's SOAP door. ``remove_pis``: the qbXML ``<?qbxml?>`` PI is kept."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,  # deep/large but legitimate responses; size is bounded by max_bytes instead
        remove_comments=True,
        remove_pis=remove_pis,
        collect_ids=False,
    )


def to_bytes(data: bytes | str) -> bytes:
    """Text as UTF-8 bytes with its XML declaration's encoding made to agree (lxml refuses a mismatch)."""
    if isinstance(data, bytes):
        return data
    raw = data.encode("utf-8")
    m = _DECL.match(raw)
    if m and m.group(1).lower() not in (b"utf-8", b"utf8"):
        raw = raw[: m.start(1)] + b"utf-8" + raw[m.end(1) :]
    return raw


def excerpt(raw: bytes, around: int = 0, width: int = 80) -> str:
    start = max(0, around - width // 2)
    text = raw[start : start + width].decode("utf-8", "replace")
    return text.replace("\n", " ").replace("\r", " ")


def check_prolog(raw: bytes) -> None:
    """Refuse DTDs outright: qbXML never needs one and they are how entity attacks start."""
    head = raw[:4096]
    m = _DOCTYPE.search(head)
    if m:
        raise ParseError(f"DOCTYPE is not allowed in qbXML: {excerpt(raw, m.start())!r}")


def parse_xml(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse a whole (small) document into a tree. For large responses use ``iterparse``."""
    raw = to_bytes(data)
    if len(raw) > max_bytes:
        raise ParseError(f"document of {len(raw)} bytes exceeds the limit of {max_bytes}")
    check_prolog(raw)
    if not raw.strip():
        raise ParseError("empty document")
    try:
        return etree.fromstring(raw, hardened_parser())
    except etree.XMLSyntaxError as exc:
        offset = _offset(raw, exc)
        raise ParseError(f"malformed XML ({exc.msg}) near {excerpt(raw, offset)!r}") from None


def _offset(raw: bytes, exc: etree.XMLSyntaxError) -> int:
    line, col = exc.position if exc.position else (1, 0)
    lines = raw.split(b"\n")
    return sum(len(x) + 1 for x in lines[: max(0, line - 1)]) + max(0, col - 1)


class _Bounded:
    """A file-like reader that refuses to read past ``limit`` bytes and checks the prolog."""

    def __init__(self, source: IO[bytes], limit: int) -> None:
        self._source = source
        self._limit = limit
        self.read_bytes = 0
        self.seen_content = False
        self._checked = False

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size if size and size > 0 else 65536)
        if not self._checked:
            self._checked = True
            check_prolog(chunk)
        self.read_bytes += len(chunk)
        if not self.seen_content and chunk.strip():
            self.seen_content = True
        if self.read_bytes > self._limit:
            raise ParseError(f"document exceeds the limit of {self._limit} bytes")
        return chunk


def iterparse(
    source: IO[bytes], *, events: tuple[str, ...] = ("start", "end"), max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[tuple[str, etree._Element]]:
    """Stream (event, element) pairs with the same hardening; callers clear what they have consumed."""
    bounded = _Bounded(source, max_bytes)
    it = etree.iterparse(
        bounded,
        events=events,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=True,
    )
    try:
        yield from it
    except etree.XMLSyntaxError as exc:
        if bounded.read_bytes == 0 or not bounded.seen_content:
            raise ParseError("empty document") from None
        raise ParseError(f"malformed XML ({exc.msg}) after {bounded.read_bytes} bytes") from None


def release(el: etree._Element) -> None:
    """While streaming: free what has been read — the element and the siblings before it."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]
