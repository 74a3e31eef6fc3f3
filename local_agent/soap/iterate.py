"""Iterators that finish inside one Web Connector session, and their pages merged into one answer.

QuickBooks iterator ids live only as long as the QuickBooks session (contract §5), and the Web Connector
session is the QuickBooks session. So the agent cannot hand a half-read iterator to the cloud and wait for
it to ask for the next page: by then the id may be dead. Instead the agent continues every iterator itself,
in the same session, and gives the cloud one response document holding all the pages — exactly what the
cloud asked for, as if ``MaxReturned`` had been unlimited.

Pure: documents in, documents out (lxml trees and text); no I/O. Where an iterator read's records wait
until the last page is in is a :class:`Spool` the caller gives — in memory by default; the agent keeps them
in temporary files (``local_agent.spool``), so a 3,000-invoice read never sits in memory whole (issue 23).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from shared.qbxml.xml import iterparse, parse_xml, release, to_bytes


@dataclass(frozen=True)
class Pending:
    """One request of the document whose iterator has more to give."""

    index: int  # position of the …Rq among the document's requests
    iterator_id: str
    remaining: int


def _requests(root: etree._Element, container: str) -> list[etree._Element]:
    box = root.find(container)
    if box is None:
        return []
    return [el for el in box if isinstance(el.tag, str)]


def pending(response_xml: str | bytes) -> list[Pending]:
    """The iterators in a response that still have records to read.

    Streamed: only each ``…Rs`` element's attributes are read, every record is dropped as soon as it is
    parsed — a 10 MB answer with no iterator costs one record's tree, not the whole document's.
    """
    out = []
    depth, index = 0, -1
    for event, el in iterparse(io.BytesIO(to_bytes(response_xml))):
        if not isinstance(el.tag, str):
            continue
        if event == "start":
            depth += 1
            if depth == 1 and el.tag != "QBXML":
                raise ValueError(f"not a qbXML document: the root element is <{el.tag}>")
            if depth == 3:
                index += 1
                iterator_id, remaining = el.get("iteratorID"), el.get("iteratorRemainingCount")
                if iterator_id and remaining and remaining.isdigit() and int(remaining) > 0:
                    out.append(Pending(index, iterator_id, int(remaining)))
            continue
        if depth in (3, 4):  # a response or a record read: free it and what came before it
            release(el)
        depth -= 1
    return out


def continuation(request_xml: str | bytes, waiting: list[Pending]) -> str:
    """The next page's request: the same requests and filters, ``iterator="Continue"`` with each id.

    Requests without a live iterator are left out (they were answered in full). The envelope's
    ``newMessageSetID`` is dropped: error recovery is for the original document, not for reads.
    """
    root = parse_xml(request_xml)
    box = root.find("QBXMLMsgsRq")
    if box is None:
        raise ValueError("not a qbXML request document: no QBXMLMsgsRq")
    requests = _requests(root, "QBXMLMsgsRq")
    keep = {p.index: p for p in waiting}
    for i, rq in enumerate(requests):
        if i in keep:
            rq.set("iterator", "Continue")
            rq.set("iteratorID", keep[i].iterator_id)
        else:
            box.remove(rq)
    for attr in ("newMessageSetID", "oldMessageSetID"):
        box.attrib.pop(attr, None)
    return _serialise(root)


class Spool(Protocol):
    """Where an iterator read's records wait, per request (its position in the document), in order."""

    def append(self, index: int, text: str) -> None: ...

    def read(self, index: int) -> Iterator[str]:
        """The request's records as written, in pieces of any size."""
        ...

    def close(self) -> None: ...


@dataclass
class MemorySpool:
    """A :class:`Spool` in memory (tests; an agent without a place on disk)."""

    records: dict[int, list[str]] = field(default_factory=dict)

    def append(self, index: int, text: str) -> None:
        self.records.setdefault(index, []).append(text)

    def read(self, index: int) -> Iterator[str]:
        yield from self.records.get(index, [])

    def close(self) -> None:
        self.records.clear()


class Pages:
    """An iterator read's pages, merged as they come without ever holding the whole answer as a tree.

    The first page is kept as a small skeleton (the envelope and each ``…Rs`` element with its attributes,
    emptied); every page's records go to the ``spool`` as text, in order. :meth:`pieces` puts them back
    into the skeleton once, at the end, as a stream of text. Memory stays near one page's tree, not the
    whole answer's (its text waits in the spool).
    """

    def __init__(self, first_xml: str | bytes, spool: Spool | None = None) -> None:
        self._root = parse_xml(first_xml)
        self.spool: Spool = spool if spool is not None else MemorySpool()
        for n, rs in enumerate(_requests(self._root, "QBXMLMsgsRs")):
            self._keep(n, rs)
            for child in list(rs):
                rs.remove(child)
            rs.text = None

    def _keep(self, index: int, rs: etree._Element) -> None:
        records = _records(rs)
        if records:
            self.spool.append(index, "".join(records))

    def add(self, page_xml: str | bytes, waiting: list[Pending]) -> None:
        """One continuation page: ``waiting`` is the list it was asked with (its n-th response answers
        ``waiting[n]``); the merged answer carries the page's iterator state and ``retCount`` summed."""
        page = parse_xml(page_xml)
        targets = _requests(self._root, "QBXMLMsgsRs")
        for want, rs in zip(waiting, _requests(page, "QBXMLMsgsRs"), strict=False):
            target = targets[want.index]
            self._keep(want.index, rs)
            for attr in (
                "iteratorRemainingCount",
                "iteratorID",
                "statusCode",
                "statusSeverity",
                "statusMessage",
            ):
                if rs.get(attr) is not None and (attr != "statusCode" or rs.get(attr) != "1"):
                    target.set(attr, rs.get(attr) or "")
            count = target.get("retCount")
            if count is not None and rs.get("retCount") is not None:
                target.set("retCount", str(int(count) + int(rs.get("retCount") or 0)))

    def pieces(self) -> Iterator[str]:
        """The one response document, as if ``MaxReturned`` had been unlimited, in pieces of text."""
        for n, rs in enumerate(_requests(self._root, "QBXMLMsgsRs")):
            rs.text = f"{_MARK}{n}{_MARK}"  # a private-use character: never in the skeleton otherwise
        parts = re.split(f"{_MARK}(\\d+){_MARK}", _serialise(self._root))  # odd parts: a response's number
        for n, part in enumerate(parts):
            if n % 2:
                yield from self.spool.read(int(part))
            elif part:
                yield part

    def text(self) -> str:
        """The one response document whole (tests; small answers)."""
        return "".join(self.pieces())

    def close(self) -> None:
        self.spool.close()


_MARK = "\ue000"


def _records(rs: etree._Element) -> list[str]:
    return [etree.tostring(el, encoding="unicode", with_tail=False) for el in rs if isinstance(el.tag, str)]


def _serialise(root: etree._Element) -> str:
    body = etree.tostring(root.getroottree(), encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body
