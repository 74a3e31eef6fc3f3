"""Iterators that finish inside one Web Connector session, and their pages merged into one answer.

QuickBooks iterator ids live only as long as the QuickBooks session (contract §5), and the Web Connector
session is the QuickBooks session. So the agent cannot hand a half-read iterator to the cloud and wait for
it to ask for the next page: by then the id may be dead. Instead the agent continues every iterator itself,
in the same session, and gives the cloud one response document holding all the pages — exactly what the
cloud asked for, as if ``MaxReturned`` had been unlimited.

Pure functions over documents (lxml trees); no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from shared.qbxml.xml import parse_xml


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
    """The iterators in a response that still have records to read."""
    root = parse_xml(response_xml)
    out = []
    for i, rs in enumerate(_requests(root, "QBXMLMsgsRs")):
        iterator_id = rs.get("iteratorID")
        remaining = rs.get("iteratorRemainingCount")
        if iterator_id and remaining and remaining.isdigit() and int(remaining) > 0:
            out.append(Pending(i, iterator_id, int(remaining)))
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


def merge(first_xml: str | bytes, page_xml: str | bytes, waiting: list[Pending]) -> str:
    """Append one continuation page's records to the first page's matching responses.

    ``waiting`` is the list the continuation was built from: the page's n-th response answers
    ``waiting[n]``. The merged response carries the page's iterator state (count 0 at the end) and
    ``retCount`` summed, so a reader sees one complete answer.
    """
    first = parse_xml(first_xml)
    page = parse_xml(page_xml)
    targets = _requests(first, "QBXMLMsgsRs")
    answers = _requests(page, "QBXMLMsgsRs")
    for want, rs in zip(waiting, answers, strict=False):
        target = targets[want.index]
        for record in list(rs):
            target.append(record)
        for attr in ("iteratorRemainingCount", "iteratorID", "statusCode", "statusSeverity", "statusMessage"):
            if rs.get(attr) is not None and (attr != "statusCode" or rs.get(attr) != "1"):
                target.set(attr, rs.get(attr) or "")
        count = target.get("retCount")
        if count is not None and rs.get("retCount") is not None:
            target.set("retCount", str(int(count) + int(rs.get("retCount") or 0)))
    return _serialise(first)


def _serialise(root: etree._Element) -> str:
    body = etree.tostring(root.getroottree(), encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body
