"""QuickBooks' first step: check the whole request document against the catalogue, or refuse it whole.

QuickBooks validates before doing anything (contract §4): an element out of order, an unknown element,
a missing required one, a value that does not parse for its type, a string over its QuickBooks Desktop
length, an element newer than the document's declared qbXML version — any of these rejects the **whole
document** with HRESULT 0x80040400 and no per-request status. An element the catalogue marks "not in QBD"
(another SDK edition's, like ``CustomerAdd/Mobile``) is not a refusal: QuickBooks ignores it, runs the
request and answers 530/Warn (errata 7 of ``../shared/specs/quickbooks-webconnector.md``: 2010 captures;
jsgoupil/quickbooks-sync issue #1 saw the same warnings for ``Mobile``, ``InvoiceLineAdd/IsTaxable``).
``unsupported="refuse"`` keeps the older whole-document refusal as a switch. This checker is
written independently of the product's builder (it only reads the compiled catalogue's facts), so a
builder bug shows up here the way QuickBooks would show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from sandbox.qbport import RequestFailed
from shared.qbxml.errors import QbxmlError
from shared.qbxml.schema import Choice, Element, Node, Schema, load, version_key
from shared.qbxml.xml import parse_xml

PARSE_ERROR = "0x80040400"
PARSE_MESSAGE = "QuickBooks found an error when parsing the provided XML text stream."
SUPPORTED_VERSIONS = (
    "1.0",
    "1.1",
    "2.0",
    "2.1",
    "3.0",
    "4.0",
    "4.1",
    "5.0",
    "6.0",
    "7.0",
    "8.0",
    "9.0",
    "10.0",
    "11.0",
    "12.0",
    "13.0",
    "14.0",
    "15.0",
    "16.0",
)
_PLACES = {"AMTTYPE": 2, "PRICETYPE": 5, "QUANTYPE": 5, "PERCENTTYPE": 5}
_GUID = re.compile(r"^(0|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)?)?$")
_DURATION = re.compile(r"^-?PT(\d+H)?(\d+M)?(\d+S)?$")


class Invalid(Exception):
    """Why the document was refused (kept in the simulator's log; QuickBooks only says 0x80040400)."""


@dataclass(frozen=True)
class Document:
    version: str
    on_error: str
    new_message_set_id: str | None
    old_message_set_id: str | None
    requests: tuple[etree._Element, ...]
    ignored: tuple[etree._Element, ...] = ()  # "not in QBD" elements QuickBooks skips (530/Warn)


UNSUPPORTED_MODES = ("warn", "refuse")


def check(xml: str | bytes, schema: Schema | None = None, *, unsupported: str = "warn") -> Document:
    """The parsed, validated request document; RequestFailed(0x80040400) when QuickBooks would refuse it."""
    try:
        return _check(xml, schema or load(), unsupported)
    except (Invalid, QbxmlError, ValueError) as exc:
        raise RequestFailed(PARSE_ERROR, PARSE_MESSAGE) from exc


def explain(xml: str | bytes, schema: Schema | None = None, *, unsupported: str = "warn") -> str | None:
    """The reason a document would be refused, or None (for logs and tests)."""
    try:
        _check(xml, schema or load(), unsupported)
    except (Invalid, QbxmlError, ValueError) as exc:
        return str(exc)
    return None


def _check(xml: str | bytes, schema: Schema, unsupported: str = "warn") -> Document:
    if unsupported not in UNSUPPORTED_MODES:
        raise ValueError(f"unsupported must be one of {UNSUPPORTED_MODES}")
    ignored: list[etree._Element] | None = [] if unsupported == "warn" else None
    root = parse_xml(xml, max_bytes=64 * 1024 * 1024)
    version = _declared_version(root)
    if root.tag != "QBXML":
        raise Invalid(f"root element is {root.tag!r}, not QBXML")
    boxes = [c for c in root if isinstance(c.tag, str)]
    if len(boxes) != 1 or boxes[0].tag != "QBXMLMsgsRq":
        raise Invalid("QBXML must hold exactly one QBXMLMsgsRq")
    box = boxes[0]
    on_error = box.get("onError")
    if on_error not in ("stopOnError", "continueOnError", "rollbackOnError"):
        raise Invalid(f"QBXMLMsgsRq onError is {on_error!r}")
    known = {"onError", "newMessageSetID", "oldMessageSetID", "responseData"}
    for attr in box.attrib:
        if attr not in known:
            raise Invalid(f"QBXMLMsgsRq has an unknown attribute {attr}")
    requests = tuple(c for c in box if isinstance(c.tag, str))
    for rq in requests:
        if not schema.has_message(rq.tag) or not rq.tag.endswith("Rq"):
            raise Invalid(f"unknown request {rq.tag}")
        spec = schema.message(rq.tag)
        if version_key(spec.since) > version_key(version):
            raise Invalid(f"{rq.tag} needs qbXML {spec.since}; the document declares {version}")
        _attributes(rq, spec)
        _element(rq, spec, version, rq.tag, ignored)
    return Document(
        version, on_error, box.get("newMessageSetID"), box.get("oldMessageSetID"), requests,
        tuple(ignored or ()),
    )


def _declared_version(root: etree._Element) -> str:
    node = root.getprevious()
    while node is not None:
        if isinstance(node, etree._ProcessingInstruction) and node.target == "qbxml":
            m = re.search(r'version\s*=\s*"([^"]+)"', node.text or "")
            if not m:
                raise Invalid("the qbxml processing instruction has no version")
            if m.group(1) not in SUPPORTED_VERSIONS:
                raise Invalid(f"qbXML version {m.group(1)} is not supported")
            return m.group(1)
        node = node.getprevious()
    raise Invalid('missing <?qbxml version="…"?>')


def _attributes(el: etree._Element, spec: Element) -> None:
    allowed = {a.name: a for a in spec.attributes}
    for name, value in el.attrib.items():
        attr = allowed.get(name)
        if attr is None:
            raise Invalid(f"{el.tag} has an unknown attribute {name}")
        if attr.enum and value not in attr.enum:
            raise Invalid(f"{el.tag} {name}={value!r} is not one of {', '.join(attr.enum)}")


Ignored = list[etree._Element] | None  # None: a "not in QBD" element refuses the document


def _element(el: etree._Element, spec: Element, version: str, path: str, ignored: Ignored) -> None:
    if not spec.in_qbd:
        if ignored is None:
            raise Invalid(f"{path} is not available in QuickBooks Desktop")
        ignored.append(el)
        return
    if version_key(spec.since) > version_key(version):
        raise Invalid(f"{path} needs qbXML {spec.since}; the document declares {version}")
    children = [c for c in el if isinstance(c.tag, str)]
    if spec.is_aggregate:
        if (el.text or "").strip():
            raise Invalid(f"{path} holds text but is an aggregate")
        at = _sequence(spec.children, children, 0, version, path, ignored)
        if at < len(children):
            raise Invalid(f"{path}: element {children[at].tag} is unknown or out of order here")
        return
    if children:
        raise Invalid(f"{path} is a value but holds elements")
    _leaf(el.text or "", spec, path)


def _names(nodes: tuple[Node, ...]) -> set[str]:
    out: set[str] = set()
    for n in nodes:
        if isinstance(n, Element):
            out.add(n.name)
        else:
            for alt in n.alternatives:
                out |= _names(alt)
    return out


def _first_names(nodes: tuple[Node, ...]) -> set[str]:
    """Names that may start a match of ``nodes`` (skipping optional leading nodes)."""
    out: set[str] = set()
    for n in nodes:
        if isinstance(n, Element):
            out.add(n.name)
            if not n.optional:
                return out
        else:
            for alt in n.alternatives:
                out |= _first_names(alt)
            if not n.optional and not any(_all_optional(a) for a in n.alternatives):
                return out
    return out


def _all_optional(nodes: tuple[Node, ...]) -> bool:
    return all(
        (
            n.optional
            if isinstance(n, Element)
            else (n.optional or any(_all_optional(a) for a in n.alternatives))
        )
        for n in nodes
    )


def _sequence(
    nodes: tuple[Node, ...], items: list[etree._Element], at: int, version: str, path: str, ignored: Ignored
) -> int:
    for node in nodes:
        if isinstance(node, Element):
            count = 0
            while at < len(items) and items[at].tag == node.name:
                _element(items[at], node, version, f"{path}/{node.name}", ignored)
                at += 1
                count += 1
                if not node.repeats:
                    break
            if count == 0 and not node.optional:
                raise Invalid(f"{path}: required element {node.name} is missing")
            continue
        at = _choice(node, items, at, version, path, ignored)
    return at


def _choice(
    node: Choice, items: list[etree._Element], at: int, version: str, path: str, ignored: Ignored
) -> int:
    matched = 0
    while at < len(items):
        tag = items[at].tag
        alt = next((a for a in node.alternatives if tag in _first_names(a)), None)
        if alt is None:
            break
        if version_key(node.since) > version_key(version):
            raise Invalid(f"{path}/{tag} needs qbXML {node.since}; the document declares {version}")
        at = _sequence(alt, items, at, version, path, ignored)
        matched += 1
        if not node.repeats:
            break
    if matched == 0 and not node.optional and not any(_all_optional(a) for a in node.alternatives):
        options = " or ".join(sorted(_first_names(tuple(x for a in node.alternatives for x in a))))
        raise Invalid(f"{path}: one of {options} is required")
    return at


def _leaf(text: str, spec: Element, path: str) -> None:
    t = spec.type
    value = text.strip() if t not in ("STRTYPE",) else text
    if spec.max_length is not None and len(text) > spec.max_length:
        raise Invalid(f"{path}: {len(text)} characters; QuickBooks allows {spec.max_length}")
    if t in _PLACES or t == "FLOATTYPE":
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise Invalid(f"{path}: {text!r} is not a number") from None
        if not number.is_finite():
            raise Invalid(f"{path}: {text!r} is not a number")
        exponent = number.as_tuple().exponent
        if t in _PLACES and isinstance(exponent, int) and -exponent > _PLACES[t]:
            raise Invalid(f"{path}: {text!r} has more than {_PLACES[t]} decimal places")
    elif t == "INTTYPE":
        if not re.fullmatch(r"-?\d+", value):
            raise Invalid(f"{path}: {text!r} is not an integer")
    elif t == "BOOLTYPE":
        if value not in ("true", "false", "1", "0"):
            raise Invalid(f"{path}: {text!r} is not true/false")
    elif t == "DATETYPE":
        if not _DATE.match(value) or not _valid_date(value):
            raise Invalid(f"{path}: {text!r} is not a date (YYYY-MM-DD)")
    elif t == "DATETIMETYPE":
        if not _DATETIME.match(value) or not _valid_date(value[:10]):
            raise Invalid(f"{path}: {text!r} is not a date-time")
    elif t == "GUIDTYPE":
        if not _GUID.match(value):
            raise Invalid(f"{path}: {text!r} is not a GUID in braces")
    elif t == "TIMEINTERVALTYPE":
        if not _DURATION.match(value):
            raise Invalid(f"{path}: {text!r} is not a duration like PT8H30M0S")
    elif t == "ENUMTYPE":
        if spec.enum and value not in spec.enum:
            raise Invalid(f"{path}: {text!r} is not one of {', '.join(spec.enum)}")
    if spec.min_value is not None or spec.max_value is not None:
        try:
            number = Decimal(value)
        except InvalidOperation:
            return
        if spec.min_value is not None and number < Decimal(spec.min_value):
            raise Invalid(f"{path}: {text!r} is below {spec.min_value}")
        if spec.max_value is not None and number > Decimal(spec.max_value):
            raise Invalid(f"{path}: {text!r} is above {spec.max_value}")


def _valid_date(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
