"""Read qbXML response documents into typed records, streaming.

Each ``…Rs`` becomes a ``Result`` with its status (``statusCode``, ``statusSeverity``, ``statusMessage``,
``requestID``), iterator facts and records. Records are plain dicts keyed by qbXML element names with
typed values: ``Decimal`` for amounts, ``date``, offset-aware ``datetime``, ``bool``, ``Ref`` for
``…Ref`` aggregates, nested dicts for aggregates and lists for repeating elements (as the schema says).
Elements are cleared as soon as they are read, so a response of tens of MB is never held twice.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from lxml import etree

from .errors import ParseError
from .schema import Element, Schema, load
from .values import Ref, ValueProblem, parse_value
from .xml import DEFAULT_MAX_BYTES, iterparse, release, to_bytes

Record = dict[str, Any]


@dataclass(frozen=True)
class Status:
    code: int
    severity: str  # Info | Warn | Error
    message: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "Error"

    @property
    def is_ok(self) -> bool:
        """The request ran: 0 (OK), 1 (a filter matched nothing), 500 (a lookup found nothing, errata 5)
        and 530 (an element QuickBooks ignored, errata 7) are not failures (§5, §7)."""
        return not self.is_error

    @property
    def is_not_found(self) -> bool:
        """QuickBooks says the record is not there: 1 and 500 for a query (errata 5), 3120 for an id."""
        return self.code in (1, 500, 3120)


@dataclass(frozen=True)
class Header:
    """What a ``…Rs`` start tag says, known before its records are read."""

    name: str
    request_id: str | None
    status: Status
    ret_count: int | None = None
    iterator_id: str | None = None
    iterator_remaining_count: int | None = None

    @property
    def has_more(self) -> bool:
        return bool(self.iterator_id) and (self.iterator_remaining_count or 0) > 0


@dataclass(frozen=True)
class Result:
    header: Header
    records: tuple[Record, ...] = ()

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def request_id(self) -> str | None:
        return self.header.request_id

    @property
    def status(self) -> Status:
        return self.header.status


@dataclass(frozen=True)
class Response:
    results: tuple[Result, ...]
    new_message_set_id: str | None = None
    message_set_status_code: int | None = None

    def by_request_id(self, request_id: str) -> Result | None:
        for r in self.results:
            if r.request_id == request_id:
                return r
        return None


def parse_response(
    data: bytes | str | IO[bytes], *, schema: Schema | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Response:
    """The whole response: every ``…Rs`` with its records."""
    results: list[Result] = []
    current: Header | None = None
    records: list[Record] = []
    envelope: dict[str, str] = {}
    for kind, item in _events(data, schema or load(), max_bytes, envelope):
        if kind == "header":
            assert isinstance(item, Header)
            current, records = item, []
        elif kind == "record":
            assert isinstance(item, dict)
            records.append(item)
        elif kind == "end" and current is not None:
            results.append(Result(current, tuple(records)))
            current, records = None, []
    code = envelope.get("messageSetStatusCode")
    return Response(
        results=tuple(results),
        new_message_set_id=envelope.get("newMessageSetID"),
        message_set_status_code=int(code) if code and code.lstrip("-").isdigit() else None,
    )


def iter_records(
    data: bytes | str | IO[bytes], *, schema: Schema | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[tuple[Header, Record]]:
    """Stream ``(header, record)`` pairs without building the whole response (huge query results)."""
    current: Header | None = None
    for kind, item in _events(data, schema or load(), max_bytes, {}):
        if kind == "header":
            assert isinstance(item, Header)
            current = item
        elif kind == "record" and current is not None:
            assert isinstance(item, dict)
            yield current, item


def iter_headers(
    data: bytes | str | IO[bytes], *, schema: Schema | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Header]:
    """Just the status of each ``…Rs`` (records are read and dropped)."""
    for kind, item in _events(data, schema or load(), max_bytes, {}):
        if kind == "header":
            assert isinstance(item, Header)
            yield item


def _source(data: bytes | str | IO[bytes]) -> IO[bytes]:
    if isinstance(data, (bytes, str)):
        return io.BytesIO(to_bytes(data))
    return data


def _events(
    data: bytes | str | IO[bytes], schema: Schema, max_bytes: int, envelope: dict[str, str]
) -> Iterator[tuple[str, Header | Record | None]]:
    depth = 0
    rs_schema: Element | None = None
    rs_tag = ""
    saw_root = False
    for event, el in iterparse(_source(data), max_bytes=max_bytes):
        tag = el.tag
        if not isinstance(tag, str):  # processing instructions
            continue
        if event == "start":
            depth += 1
            if depth == 1:
                if tag != "QBXML":
                    raise ParseError(f"not a qbXML document: the root element is <{tag}>")
                saw_root = True
            elif depth == 2 and tag == "QBXMLMsgsRs":
                envelope.update({k: str(v) for k, v in el.attrib.items()})
            elif depth == 3:
                rs_schema, rs_tag = schema.messages.get(tag), tag
                yield "header", _header(tag, el)
            continue
        # end
        if depth == 4:
            child = rs_schema.child(tag) if rs_schema is not None else None
            yield "record", _record(el, child, f"{rs_tag}/{tag}")
            release(el)
        elif depth == 3:
            yield "end", None
            release(el)
        depth -= 1
    if not saw_root:
        raise ParseError("empty response document")


def _int(value: str | None, what: str, rs: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ParseError(f"{rs}: {what} is not a number: {value!r}") from None


def _header(tag: str, el: etree._Element) -> Header:
    a = el.attrib
    code = _int(a.get("statusCode"), "statusCode", tag)
    return Header(
        name=tag,
        request_id=a.get("requestID"),
        status=Status(
            code=code if code is not None else 0,
            severity=str(a.get("statusSeverity", "Info")),
            message=str(a.get("statusMessage", "")),
        ),
        ret_count=_int(a.get("retCount"), "retCount", tag),
        iterator_id=a.get("iteratorID"),
        iterator_remaining_count=_int(a.get("iteratorRemainingCount"), "iteratorRemainingCount", tag),
    )


def _record(el: etree._Element, spec: Element | None, path: str) -> Record:
    out: Record = {}
    repeating = spec.repeating_children if spec is not None else frozenset()
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        cspec = spec.child(tag) if spec is not None else None
        value = _value(child, cspec, f"{path}/{tag}")
        if tag in repeating:
            out.setdefault(tag, []).append(value)
        elif tag in out:  # not declared repeating, but QuickBooks sent it twice: keep both
            prev = out[tag]
            out[tag] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[tag] = value
    return out


def _value(el: etree._Element, spec: Element | None, path: str) -> Any:
    if len(el):
        if spec is not None and spec.is_ref:
            fields = {str(c.tag): (c.text or "") for c in el if isinstance(c.tag, str)}
            return Ref(list_id=fields.get("ListID"), full_name=fields.get("FullName"))
        return _record(el, spec, path)
    text = el.text or ""
    if spec is not None and spec.is_aggregate:
        # an aggregate with nothing inside is still an aggregate, not text
        return Ref() if spec.is_ref else {}
    if spec is None or spec.type is None:
        return text
    try:
        return parse_value(spec.type, text)
    except ValueProblem as exc:
        raise ParseError(f"{path}: {exc}") from None
