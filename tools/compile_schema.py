#!/usr/bin/env python3
"""Compile Intuit's ``qbxmlops140.xml`` into ``shared/qbxml/schema.json`` (dev-time only).

The source is Intuit's annotated sample of every qbXML 14.0 request and response. It is written one
element per line, with the facts in comments: ``opt``/``may rep``/``rep (1 or more)``, ``max length =
N for QBD|...``, ``not in QBD|...``, ``vX.Y`` (the version that introduced the element), enum values in
a comment line before the element, and OR groups as ``BEGIN OR`` / ``OR`` / ``END OR`` comment lines.

Output node shapes (short keys keep the file small; ``shared.qbxml.schema`` turns them into types):

    element: {"n": name, "t": TYPE|null, "o": 1 if optional, "r": 1 if repeats, "ml": maxlen,
              "e": [enum values], "d": default enum, "v": "12.0", "x": 1 if not in QBD,
              "min"/"max": bounds as strings (".001" exists), "a": {attr: {...}}, "c": [children]}
    choice:  {"or": [[node, ...], ...], "o": 1 if the whole group may be absent, "r": 1 if it repeats,
              "v": ...}

Usage: compile_schema.py SOURCE.xml OUT.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

LEAF = re.compile(r"^<(\w+)>(\w+)</\1>\s*(?:<!--(.*)-->)?$")
OPEN = re.compile(r"^<(\w+)((?:\s+\w+\s*=\s*\"\w+\")*)\s*(/?)>\s*(?:<!--(.*)-->)?$")
CLOSE = re.compile(r"^</(\w+)>$")
COMMENT = re.compile(r"^<!--(.*)-->$")
ATTR = re.compile(r"(\w+)\s*=\s*\"(\w+)\"")
ENUM = re.compile(r"^\s*(\w+) may have one of the following values: (.*?)\s*$")
ATTR_DOC = re.compile(
    r"^\s*'(\w+)' is (optional|required)"
    r"(?: and (?:may|must) have one of the following values: (.*))?"
)
VERSION = re.compile(r"\bv(\d+\.\d+)\b")
QBD_EDITIONS = {"QBD"}


def parse_enum(text: str) -> tuple[list[str], str | None]:
    values: list[str] = []
    default = None
    for raw in text.split(","):
        v = raw.strip()
        m = re.match(r"^(\w+)\s*\[(?:DEFAULT|Default)\]$", v) or re.match(r"^(\w+)\[DEFAULT\]$", v)
        if m:
            v = m.group(1)
            default = v
        if v:
            values.append(v)
    return values, default


def parse_facts(comment: str | None) -> dict[str, Any]:
    """Read the trailing comment of an element line into facts for the QuickBooks Desktop edition."""
    facts: dict[str, Any] = {}
    if not comment:
        return facts
    for part in (p.strip() for p in comment.split(",")):
        if part == "opt":
            facts["o"] = 1
        elif part == "may rep":
            facts["o"] = 1
            facts["r"] = 1
        elif part.startswith("rep (1 or more)"):
            facts["r"] = 1
        elif part.startswith("max length"):
            m = re.match(r"max length = (\d+)(?: for ([\w|]+))?", part)
            if m and (m.group(2) is None or QBD_EDITIONS & set(m.group(2).split("|"))):
                facts["ml"] = int(m.group(1))
        elif part.startswith("not in"):
            if QBD_EDITIONS & set(part[len("not in") :].strip().split("|")):
                facts["x"] = 1
        elif part.startswith("min value"):
            facts["min"] = part.split("=")[1].strip()
        elif part.startswith("max value"):
            facts["max"] = part.split("=")[1].strip()
        else:
            v = VERSION.fullmatch(part)
            if v:
                facts["v"] = v.group(1)
    return facts


class Frame:
    """An element being read, with the OR groups open inside it."""

    def __init__(self, node: dict[str, Any]) -> None:
        self.node = node
        self.node.setdefault("c", [])
        # stack of open OR groups: each is (choice node, current alternative list)
        self.groups: list[dict[str, Any]] = []

    def target(self) -> list[dict[str, Any]]:
        if self.groups:
            alts: list[list[dict[str, Any]]] = self.groups[-1]["or"]
            return alts[-1]
        children: list[dict[str, Any]] = self.node["c"]
        return children


def compile_lines(lines: list[str]) -> dict[str, Any]:
    messages: dict[str, Any] = {}
    envelope_attrs: dict[str, Any] = {}
    stack: list[Frame] = []
    pending_enum: dict[str, tuple[list[str], str | None]] = {}
    pending_attr_docs: dict[str, dict[str, Any]] = {}
    section = None  # "rq" | "rs" while inside QBXMLMsgsRq / QBXMLMsgsRs

    for raw in lines:
        s = raw.strip()
        if not s or s.startswith("<?"):
            continue
        m = COMMENT.match(s)
        if m:
            text = m.group(1).strip()
            em = ENUM.match(text)
            if em and " may have one of the following values" in text:
                pending_enum[em.group(1)] = parse_enum(em.group(2))
                continue
            am = ATTR_DOC.match(m.group(1))
            if am:
                doc: dict[str, Any] = {"o": 1 if am.group(2) == "optional" else 0}
                if am.group(3):
                    vals, default = parse_enum(am.group(3))
                    doc["e"] = vals
                    if default:
                        doc["d"] = default
                pending_attr_docs[am.group(1)] = doc
                continue
            if not stack or section is None:
                continue
            frame = stack[-1]
            if "BEGIN OR" in text:
                pre = text.split("BEGIN OR")[0]
                choice: dict[str, Any] = {"or": [[]]}
                if "optionally" in text or "0 or more" in text:
                    choice["o"] = 1
                if "0 or more" in text or "1 or more" in text:
                    choice["r"] = 1  # alternatives repeat and may interleave (invoice lines/groups)
                v = VERSION.search(pre)
                if v:
                    choice["v"] = v.group(1)
                frame.target().append(choice)
                frame.groups.append(choice)
            elif text == "OR":
                frame.groups[-1]["or"].append([])
            elif text == "END OR":
                frame.groups.pop()
            continue

        m = LEAF.match(s)
        if m:
            name, typ, comment = m.group(1), m.group(2), m.group(3)
            node: dict[str, Any] = {"n": name, "t": typ, **parse_facts(comment)}
            if name in pending_enum:
                node["e"], default = pending_enum.pop(name)
                if default:
                    node["d"] = default
            if stack and section:
                stack[-1].target().append(node)
            continue

        m = OPEN.match(s)
        if m:
            name, attrs, selfclose, comment = m.group(1), m.group(2), m.group(3), m.group(4)
            if name == "QBXMLMsgsRq":
                section = "rq"
            elif name == "QBXMLMsgsRs":
                section = "rs"
            node = {"n": name, "t": None, **parse_facts(comment)}
            if attrs:
                node["a"] = {}
                for an, at in ATTR.findall(attrs):
                    spec = {"t": at, **pending_attr_docs.pop(an, {"o": 1})}
                    node["a"][an] = spec
            pending_attr_docs.clear()
            if name in ("QBXMLMsgsRq", "QBXMLMsgsRs"):
                envelope_attrs[name] = node.get("a", {})
                stack.append(Frame(node))
                continue
            if section is None:
                continue
            if len(stack) == 1:  # a top-level request or response
                node.pop("o", None)
                messages[name] = node
                if selfclose:
                    node["c"] = []
                else:
                    stack.append(Frame(node))
                continue
            stack[-1].target().append(node)
            if selfclose:
                node["c"] = []
            else:
                stack.append(Frame(node))
            continue

        m = CLOSE.match(s)
        if m:
            name = m.group(1)
            if stack and stack[-1].node["n"] == name:
                frame = stack.pop()
                if frame.groups:
                    raise ValueError(f"unclosed OR group in {name}")
                if name in ("QBXMLMsgsRq", "QBXMLMsgsRs"):
                    section = None
            continue
        raise ValueError(f"unrecognised line: {s[:120]}")

    return {"envelope": envelope_attrs, "messages": messages}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = Path(argv[1]), Path(argv[2])
    compiled = compile_lines(src.read_text(encoding="utf-8").splitlines())
    doc = {
        "qbxml_version": "14.0",
        "source": src.name,
        "envelope": compiled["envelope"],
        "messages": compiled["messages"],
    }
    # one message per line: small diffs when the source changes, still compact
    with out.open("w", encoding="utf-8") as fh:
        fh.write("{\n")
        fh.write(f'"qbxml_version": {json.dumps(doc["qbxml_version"])},\n')
        fh.write(f'"source": {json.dumps(doc["source"])},\n')
        fh.write(f'"envelope": {json.dumps(doc["envelope"], separators=(",", ":"))},\n')
        fh.write('"messages": {\n')
        items = sorted(doc["messages"].items())
        for i, (name, node) in enumerate(items):
            sep = "," if i < len(items) - 1 else ""
            fh.write(f"{json.dumps(name)}: {json.dumps(node, separators=(',', ':'))}{sep}\n")
        fh.write("}\n}\n")
    print(f"{out}: {len(items)} messages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
