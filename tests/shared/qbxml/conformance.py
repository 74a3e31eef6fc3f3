"""An independent check that a qbXML element tree follows the compiled schema (order, types, lengths).

Written apart from the builder on purpose: it reads the schema its own way (position of each child in the
catalogue's order) so a builder bug cannot agree with itself.
"""

from __future__ import annotations

import re

from lxml import etree

from shared.qbxml.schema import Choice, Element, Node

PATTERNS = {
    "AMTTYPE": re.compile(r"^-?\d+\.\d{2}$"),
    "PRICETYPE": re.compile(r"^-?\d+(\.\d{1,5})?$"),
    "QUANTYPE": re.compile(r"^-?\d+(\.\d{1,5})?$"),
    "PERCENTTYPE": re.compile(r"^-?\d+(\.\d{1,5})?$"),
    "INTTYPE": re.compile(r"^-?\d+$"),
    "BOOLTYPE": re.compile(r"^(true|false)$"),
    "DATETYPE": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "DATETIMETYPE": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"),
    "GUIDTYPE": re.compile(r"^(0|\{[0-9A-Fa-f-]{36}\})$"),
}


def _order(nodes: tuple[Node, ...], out: list[str]) -> None:
    for n in nodes:
        if isinstance(n, Element):
            if n.name not in out:
                out.append(n.name)
        else:
            for alt in n.alternatives:
                _order(alt, out)


def _ranks(nodes: tuple[Node, ...]) -> dict[str, int]:
    """Catalogue position of each child; members of a repeating OR group share one (they interleave)."""
    ranks: dict[str, int] = {}
    for n in nodes:
        if isinstance(n, Choice) and n.repeats:
            members: list[str] = []
            for alt in n.alternatives:
                _order(alt, members)
            rank = len(ranks)
            for name in members:
                ranks.setdefault(name, rank)
        else:
            names: list[str] = []
            _order((n,), names)
            for name in names:
                ranks.setdefault(name, len(ranks))
    return ranks


def problems(el: etree._Element, spec: Element, path: str = "") -> list[str]:
    found: list[str] = []
    here = f"{path}/{el.tag}"
    if spec.is_aggregate:
        ranks = _ranks(spec.children)
        last = -1
        last_tag = None
        for child in el:
            tag = str(child.tag)
            if tag not in ranks:
                found.append(f"{here}: unexpected <{tag}>")
                continue
            pos = ranks[tag]
            if pos < last or (pos == last and tag == last_tag and not _may_repeat(spec, tag)):
                found.append(f"{here}: <{tag}> out of order or repeated")
            last, last_tag = pos, tag
            sub = spec.child(tag)
            assert sub is not None
            found.extend(problems(child, sub, here))
        present = {str(c.tag) for c in el}
        for c in spec.children:
            if isinstance(c, Element) and not c.optional and c.name not in present:
                found.append(f"{here}: required <{c.name}> missing")
    else:
        text = el.text or ""
        pattern = PATTERNS.get(spec.type or "")
        if pattern and not pattern.match(text):
            found.append(f"{here}: {text!r} is not a {spec.type}")
        if spec.max_length is not None and len(text) > spec.max_length:
            found.append(f"{here}: longer than {spec.max_length}")
        if spec.enum and text not in spec.enum:
            found.append(f"{here}: {text!r} not in enum")
        if not spec.in_qbd:
            found.append(f"{here}: not in QuickBooks Desktop")
    return found


def _may_repeat(spec: Element, tag: str) -> bool:
    return tag in spec.repeating_children


def request_problems(xml: str, schema_messages: dict[str, Element]) -> list[str]:
    root = etree.fromstring(xml.encode("utf-8"))
    assert root.tag == "QBXML"
    msgs = root[0]
    assert msgs.tag == "QBXMLMsgsRq" and msgs.get("onError")
    found: list[str] = []
    for rq in msgs:
        found.extend(problems(rq, schema_messages[str(rq.tag)]))
    return found


def choice_nodes(nodes: tuple[Node, ...]) -> list[Choice]:
    return [n for n in nodes if isinstance(n, Choice)]
