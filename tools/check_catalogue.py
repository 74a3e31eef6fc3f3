#!/usr/bin/env python3
"""Dev-time check of the builder against Intuit's own files (not run by CI: it needs ../shared/specs).

1. Builds a representative Add/Mod/Query for every core entity (every optional element the target
   version allows) and checks its element order against ``qbxmlops140.xml`` read as a plain XML tree
   with lxml — independent of ``tools/compile_schema.py``, which reads the comments.
2. Re-builds each of Intuit's sample requests (``samples/*.xml``) from its values and checks the
   builder produces the same elements in the same order.

Usage: .venv/bin/python tools/check_catalogue.py ../shared/specs
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.qbxml.builder import MessageSet, Request, build  # noqa: E402
from shared.qbxml.errors import BuildError  # noqa: E402
from shared.qbxml.export import CORE_ENTITIES  # noqa: E402
from shared.qbxml.schema import Element, load  # noqa: E402
from shared.qbxml.values import ValueProblem, parse_value  # noqa: E402
from tests.shared.qbxml.test_builder import TARGET, fill, reversed_dict  # noqa: E402


def catalogue_orders(path: Path) -> dict[str, list[str]]:
    """For every element path in the catalogue's request section, its children in document order."""
    parser = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)
    root = etree.parse(str(path), parser).getroot()
    msgs = root.find("QBXMLMsgsRq")
    assert msgs is not None
    orders: dict[str, list[str]] = {}

    def walk(el: etree._Element, p: str) -> None:
        names: list[str] = []
        for child in el:
            tag = str(child.tag)
            if tag not in names:
                names.append(tag)
            walk(child, f"{p}/{tag}")
        orders.setdefault(p, [])
        for n in names:
            if n not in orders[p]:
                orders[p].append(n)

    for rq in msgs:
        walk(rq, str(rq.tag))
    return orders


def order_problems(el: etree._Element, p: str, orders: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    expected = orders.get(p)
    last = -1
    for child in el:
        tag = str(child.tag)
        if expected is None or tag not in expected:
            out.append(f"{p}: <{tag}> is not in the catalogue here")
            continue
        pos = expected.index(tag)
        if pos < last:
            out.append(f"{p}: <{tag}> comes too late")
        last = pos
        out.extend(order_problems(child, f"{p}/{tag}", orders))
    return out


def to_fields(el: etree._Element, spec: Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in el:
        tag = str(child.tag)
        cspec = spec.child(tag)
        if cspec is None:
            out[tag] = child.text
            continue
        if cspec.is_aggregate:
            value: Any = to_fields(child, cspec)
        else:
            text = child.text or ""
            try:
                value = parse_value(cspec.type or "STRTYPE", text)
            except ValueProblem:
                value = text
        if tag in out:
            prev = out[tag]
            out[tag] = [*prev, value] if isinstance(prev, list) else [prev, value]
        elif tag in spec.repeating_children:
            out[tag] = [value]
        else:
            out[tag] = value
    return out


def tags(el: etree._Element) -> list[str]:
    found: list[str] = []
    for child in el.iter():
        found.append(str(child.tag))
    return found


def main(argv: list[str]) -> int:
    specs = Path(argv[1] if len(argv) > 1 else "../shared/specs")
    schema = load()
    orders = catalogue_orders(specs / "qbxmlops140.xml")
    failures = 0
    checked = 0
    for entity in CORE_ENTITIES:
        for op in ("Add", "Mod", "Query"):
            name = f"{entity}{op}Rq"
            if not schema.has_message(name):
                continue
            body: dict[str, Any] = {}
            fill(schema.message(name).children, 0, body, pick=2 if op == "Query" else 0)
            built = build(MessageSet([Request(name, reversed_dict(body))]), version=TARGET)
            rq = etree.fromstring(built.xml.encode())[0][0]
            problems = order_problems(rq, name, orders)
            checked += 1
            if problems:
                failures += 1
                print(f"FAIL {name}: {problems[:3]}")
    print(f"catalogue order: {checked} requests checked, {failures} failed")

    sample_ok = sample_fail = sample_skip = 0
    for path in sorted((specs / "samples").glob("*.xml")):
        raw = path.read_bytes()
        try:
            root = etree.fromstring(raw, etree.XMLParser(remove_comments=True, resolve_entities=False))
        except etree.XMLSyntaxError as exc:
            print(f"SKIP {path.name}: not well-formed ({exc})")
            sample_skip += 1
            continue
        version = "13.0"
        for pi in root.itersiblings(preceding=True):
            if isinstance(pi, etree._ProcessingInstruction) and pi.target == "qbxml":
                version = (pi.get("version") or "13.0")
        msgs = root.find("QBXMLMsgsRq")
        if msgs is None:
            sample_skip += 1
            continue
        for rq in msgs:
            name = str(rq.tag)
            if not schema.has_message(name):
                print(f"SKIP {path.name}: {name} not compiled")
                sample_skip += 1
                continue
            req = Request(name, to_fields(rq, schema.message(name)), request_id=rq.get("requestID"),
                          iterator=rq.get("iterator"), iterator_id=rq.get("iteratorID"),
                          meta_data=rq.get("metaData"))
            try:
                built = build(MessageSet([req], on_error=msgs.get("onError") or "stopOnError"),
                              version=version)
            except BuildError as exc:
                print(f"FAIL {path.name} {name}: builder refused it: {exc}")
                sample_fail += 1
                continue
            mine = etree.fromstring(built.xml.encode())[0][0]
            if tags(mine) != tags(rq):
                print(f"FAIL {path.name} {name}: order differs\n  intuit: {tags(rq)}\n  ours:   {tags(mine)}")
                sample_fail += 1
            else:
                sample_ok += 1
    print(f"Intuit samples: {sample_ok} identical, {sample_fail} different, {sample_skip} skipped")
    return 1 if failures or sample_fail else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
