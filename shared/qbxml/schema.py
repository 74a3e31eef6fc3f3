"""The qbXML catalogue as typed, immutable values.

Compiled at dev time from Intuit's ``qbxmlops140.xml`` by ``tools/compile_schema.py`` into
``schema.json`` beside this module; nothing here reads Intuit's file. One schema drives the builder,
the parser and validation: element order is data, not code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

# The value types Intuit's catalogue uses (plus the attribute-only UUIDTYPE).
VALUE_TYPES = frozenset(
    {
        "STRTYPE", "IDTYPE", "ENUMTYPE", "AMTTYPE", "PRICETYPE", "QUANTYPE", "PERCENTTYPE",
        "FLOATTYPE", "INTTYPE", "BOOLTYPE", "DATETYPE", "DATETIMETYPE", "GUIDTYPE", "UUIDTYPE",
        "TIMEINTERVALTYPE",
    }
)  # fmt: skip


def version_key(version: str) -> tuple[int, int]:
    """``"13.0"`` → ``(13, 0)`` so versions compare numerically."""
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str
    optional: bool
    enum: tuple[str, ...] = ()
    default: str | None = None


@dataclass(frozen=True, eq=False)
class Element:
    """One element of the catalogue: a value (``type`` set) or an aggregate (``children``)."""

    name: str
    type: str | None
    optional: bool = False
    repeats: bool = False
    max_length: int | None = None
    enum: tuple[str, ...] = ()
    default: str | None = None
    since: str = "1.0"
    in_qbd: bool = True
    min_value: str | None = None
    max_value: str | None = None
    attributes: tuple[Attribute, ...] = ()
    children: tuple[Node, ...] = ()

    @property
    def is_aggregate(self) -> bool:
        return self.type is None

    @property
    def is_ref(self) -> bool:
        """``CustomerRef``-style aggregates: a ListID and/or FullName pointing at a list record."""
        names = {c.name for c in self.children if isinstance(c, Element)}
        return self.name.endswith("Ref") and bool(names) and names <= {"ListID", "FullName"}

    def child_elements(self) -> tuple[Element, ...]:
        """Every element that may appear directly inside this one, in catalogue order."""
        return self._child_elements

    @cached_property
    def _child_elements(self) -> tuple[Element, ...]:
        return tuple(_flatten(self.children))

    @cached_property
    def child_index(self) -> dict[str, Element]:
        """Name → child element (computed once; the parser looks children up per element read)."""
        return {c.name: c for c in self.child_elements()}

    def child(self, name: str) -> Element | None:
        return self.child_index.get(name)

    @cached_property
    def repeating_children(self) -> frozenset[str]:
        """Children that may occur more than once: ``may rep`` ones and members of a repeating OR group."""
        out = {c.name for c in self.child_elements() if c.repeats}
        for node in self.children:
            if isinstance(node, Choice) and node.repeats:
                out.update(e.name for alt in node.alternatives for e in _flatten(alt))
        return frozenset(out)


@dataclass(frozen=True, eq=False)
class Choice:
    """An OR group: exactly one alternative (a sequence of nodes) may appear."""

    alternatives: tuple[tuple[Node, ...], ...]
    optional: bool = False
    repeats: bool = False  # "0 or more X OR Y": X and Y may both appear, interleaved (invoice lines)
    since: str = "1.0"


Node = Element | Choice


def _flatten(nodes: tuple[Node, ...]) -> list[Element]:
    """Elements in catalogue order, each name once (an OR group may offer the same name twice)."""
    out: dict[str, Element] = {}
    for n in nodes:
        for e in [n] if isinstance(n, Element) else [e for alt in n.alternatives for e in _flatten(alt)]:
            out.setdefault(e.name, e)
    return list(out.values())


def _node(raw: dict[str, Any], since: str) -> Node:
    if "or" in raw:
        csince = _later(since, raw.get("v"))
        alts = tuple(tuple(_node(x, csince) for x in alt) for alt in raw["or"])
        return Choice(
            alternatives=alts, optional=bool(raw.get("o")), repeats=bool(raw.get("r")), since=csince
        )
    esince = _later(since, raw.get("v"))
    return Element(
        name=raw["n"],
        type=raw["t"],
        optional=bool(raw.get("o")),
        repeats=bool(raw.get("r")),
        max_length=raw.get("ml"),
        enum=tuple(raw.get("e", ())),
        default=raw.get("d"),
        since=esince,
        in_qbd=not raw.get("x"),
        min_value=raw.get("min"),
        max_value=raw.get("max"),
        attributes=_attributes(raw.get("a", {})),
        children=tuple(_node(c, esince) for c in raw.get("c", ())),
    )


def _attributes(raw: dict[str, Any]) -> tuple[Attribute, ...]:
    return tuple(
        Attribute(
            name=k,
            type=v["t"],
            optional=bool(v.get("o", 1)),
            enum=tuple(v.get("e", ())),
            default=v.get("d"),
        )
        for k, v in raw.items()
    )


def _later(a: str, b: str | None) -> str:
    if b is None:
        return a
    return b if version_key(b) > version_key(a) else a


@dataclass(frozen=True)
class Schema:
    qbxml_version: str
    request_envelope: tuple[Attribute, ...]
    response_envelope: tuple[Attribute, ...]
    messages: dict[str, Element] = field(repr=False)

    def message(self, name: str) -> Element:
        try:
            return self.messages[name]
        except KeyError:
            raise KeyError(f"qbXML has no message {name!r}") from None

    def has_message(self, name: str) -> bool:
        return name in self.messages

    def entities(self) -> dict[str, tuple[str, ...]]:
        """Entity name → the operations the catalogue has for it (``Add``, ``Mod``, ``Query``, …)."""
        ops = ("Add", "Mod", "Query", "Del", "Void")
        out: dict[str, list[str]] = {}
        for name in self.messages:
            if not name.endswith("Rq"):
                continue
            base = name[:-2]
            for op in ops:
                if base.endswith(op) and len(base) > len(op):
                    out.setdefault(base[: -len(op)], []).append(op)
                    break
        return {k: tuple(sorted(v, key=ops.index)) for k, v in sorted(out.items())}


@cache
def load() -> Schema:
    """The compiled catalogue (loaded once; immutable)."""
    text = resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return Schema(
        qbxml_version=raw["qbxml_version"],
        request_envelope=_attributes(raw["envelope"]["QBXMLMsgsRq"]),
        response_envelope=_attributes(raw["envelope"]["QBXMLMsgsRs"]),
        messages={name: _message(node) for name, node in raw["messages"].items()},
    )


def _message(raw: dict[str, Any]) -> Element:
    node = _node(raw, "1.0")
    assert isinstance(node, Element)
    return node
