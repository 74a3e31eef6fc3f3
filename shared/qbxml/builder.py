"""Build qbXML request documents from plain typed values, in the catalogue's element order.

Callers describe a request as a mapping (``{"Name": "Acme", "BillAddress": {"City": "Reno"}}``) in any
order; lists mean repetition; ``None`` means "leave out". The schema decides order, OR groups, lengths,
types and versions, because QuickBooks rejects a whole document for one misplaced element
(``../shared/specs/quickbooks-webconnector.md`` §4). Validation collects every problem before failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import BuildError, Problem
from .schema import Element, Node, Schema, load, version_key
from .values import Ref, ValueProblem, escape_text, format_value

DEFAULT_VERSION = "13.0"
ON_ERROR = ("stopOnError", "continueOnError", "rollbackOnError")
ITERATOR = ("Start", "Continue", "Stop")
TRUNCATABLE = frozenset({"STRTYPE"})


@dataclass(frozen=True)
class Request:
    """One request of a message set: ``CustomerAddRq`` with its body and attributes."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    iterator: str | None = None
    iterator_id: str | None = None
    meta_data: str | None = None


def add(entity: str, fields: Mapping[str, Any], *, request_id: str | None = None) -> Request:
    """``CustomerAddRq`` wrapping ``CustomerAdd``."""
    return Request(f"{entity}AddRq", {f"{entity}Add": fields}, request_id=request_id)


def mod(entity: str, fields: Mapping[str, Any], *, request_id: str | None = None) -> Request:
    """``CustomerModRq`` wrapping ``CustomerMod`` (needs ListID/TxnID and the current EditSequence)."""
    return Request(f"{entity}ModRq", {f"{entity}Mod": fields}, request_id=request_id)


def query(
    entity: str,
    filters: Mapping[str, Any] | None = None,
    *,
    request_id: str | None = None,
    iterator: str | None = None,
    iterator_id: str | None = None,
    max_returned: int | None = None,
    meta_data: str | None = None,
) -> Request:
    """``CustomerQueryRq`` with its filters directly inside (queries have no wrapper element)."""
    body = dict(filters or {})
    if max_returned is not None:
        body["MaxReturned"] = max_returned
    return Request(
        f"{entity}QueryRq",
        body,
        request_id=request_id,
        iterator=iterator,
        iterator_id=iterator_id,
        meta_data=meta_data,
    )


@dataclass(frozen=True)
class MessageSet:
    """A ``QBXMLMsgsRq``: requests run in order; ``new_message_set_id`` enables error recovery (§8)."""

    requests: Sequence[Request]
    on_error: str = "stopOnError"
    new_message_set_id: str | None = None
    old_message_set_id: str | None = None


@dataclass(frozen=True)
class Truncation:
    """A value shortened to QuickBooks' limit because the caller asked for it."""

    path: str
    original: str
    truncated: str


@dataclass(frozen=True)
class Built:
    xml: str
    truncations: tuple[Truncation, ...] = ()


@dataclass
class _Context:
    version: str
    truncate: bool
    problems: list[Problem] = field(default_factory=list)
    truncations: list[Truncation] = field(default_factory=list)

    def problem(self, path: str, kind: str, message: str) -> None:
        self.problems.append(Problem(path, kind, message))


def validate(
    message_set: MessageSet | Sequence[Request],
    *,
    version: str = DEFAULT_VERSION,
    schema: Schema | None = None,
) -> list[Problem]:
    """Every problem that would make QuickBooks reject the document (empty when it is fine)."""
    ctx = _Context(version=version, truncate=False)
    _write(_as_set(message_set), ctx, schema or load())
    return ctx.problems


def build(
    message_set: MessageSet | Sequence[Request],
    *,
    version: str = DEFAULT_VERSION,
    truncate: bool = False,
    schema: Schema | None = None,
) -> Built:
    """The request document, or BuildError listing every problem. ``truncate`` shortens over-long text."""
    ctx = _Context(version=version, truncate=truncate)
    xml = _write(_as_set(message_set), ctx, schema or load())
    if ctx.problems:
        raise BuildError(ctx.problems)
    return Built(xml=xml, truncations=tuple(ctx.truncations))


def _as_set(message_set: MessageSet | Sequence[Request]) -> MessageSet:
    return message_set if isinstance(message_set, MessageSet) else MessageSet(list(message_set))


def _write(ms: MessageSet, ctx: _Context, schema: Schema) -> str:
    if version_key(ctx.version) < (1, 0) or version_key(ctx.version) > (16, 0):
        ctx.problem("QBXML", "version", f"qbXML version {ctx.version} is not one QuickBooks Desktop speaks")
    if ms.on_error not in ON_ERROR:
        ctx.problem("QBXMLMsgsRq@onError", "enum", f"onError must be one of {', '.join(ON_ERROR)}")
    attrs = [("onError", ms.on_error)]
    if ms.new_message_set_id is not None:
        attrs.append(("newMessageSetID", ms.new_message_set_id))
    if ms.old_message_set_id is not None:
        attrs.append(("oldMessageSetID", ms.old_message_set_id))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<?qbxml version="{ctx.version}"?>',
        "<QBXML>",
        f"<QBXMLMsgsRq{_attrs(attrs)}>",
    ]
    for index, req in enumerate(ms.requests):
        _request(req, index, ctx, schema, out)
    out.append("</QBXMLMsgsRq>")
    out.append("</QBXML>")
    return "\n".join(out[:3]) + "\n" + "".join(out[3:]) + "\n"


def _attrs(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f' {k}="{escape_text(v)}"' for k, v in pairs)


def _request(req: Request, index: int, ctx: _Context, schema: Schema, out: list[str]) -> None:
    path = f"{req.name}[{index}]"
    if not req.name.endswith("Rq") or not schema.has_message(req.name):
        ctx.problem(path, "unknown", f"{req.name} is not a qbXML request")
        return
    msg = schema.message(req.name)
    _check_element(msg, path, ctx)
    known = {a.name: a for a in msg.attributes}
    attrs: list[tuple[str, str]] = []
    for name, value in (
        ("requestID", req.request_id),
        ("iterator", req.iterator),
        ("iteratorID", req.iterator_id),
        ("metaData", req.meta_data),
    ):
        if value is None:
            continue
        spec = known.get(name)
        if spec is None:
            ctx.problem(f"{path}@{name}", "unknown", f"{req.name} does not take {name}")
            continue
        if spec.enum and value not in spec.enum:
            ctx.problem(f"{path}@{name}", "enum", f"{name} must be one of {', '.join(spec.enum)}")
        attrs.append((name, value))
    if req.iterator == "Continue" and not req.iterator_id:
        ctx.problem(f"{path}@iteratorID", "missing", "iterator=Continue needs the iteratorID")
    out.append(f"<{req.name}{_attrs(attrs)}>")
    _children(msg.children, req.fields, path, ctx, out, frozenset())
    out.append(f"</{req.name}>")


def _check_element(el: Element, path: str, ctx: _Context) -> None:
    if not el.in_qbd:
        ctx.problem(path, "not_in_qbd", f"{el.name} does not exist in QuickBooks Desktop")
    if version_key(el.since) > version_key(ctx.version):
        ctx.problem(path, "version", f"{el.name} needs qbXML {el.since}; the target is {ctx.version}")


def _present(given: Mapping[str, Any]) -> set[str]:
    return {k for k, v in given.items() if v is not None}


def _names(nodes: Sequence[Node]) -> set[str]:
    out: set[str] = set()
    for n in nodes:
        if isinstance(n, Element):
            out.add(n.name)
        else:
            for alt in n.alternatives:
                out |= _names(alt)
    return out


def _all_optional(nodes: Sequence[Node]) -> bool:
    return all(n.optional for n in nodes)


def _children(
    nodes: Sequence[Node],
    given: Mapping[str, Any],
    path: str,
    ctx: _Context,
    out: list[str],
    repeatable: frozenset[str],
) -> None:
    used: set[str] = set()
    for node in nodes:
        _node(node, given, path, ctx, out, used, repeatable)
    for name in sorted(_present(given) - used):
        ctx.problem(f"{path}/{name}", "unknown", f"{name} is not allowed here")


def _node(
    node: Node,
    given: Mapping[str, Any],
    path: str,
    ctx: _Context,
    out: list[str],
    used: set[str],
    repeatable: frozenset[str],
) -> None:
    present = _present(given) - used
    if isinstance(node, Element):
        if node.name in present:
            used.add(node.name)
            _element(node, given[node.name], path, ctx, out, node.name in repeatable)
        elif not node.optional:
            ctx.problem(f"{path}/{node.name}", "missing", f"{node.name} is required")
        return
    per_alt = [_names(alt) for alt in node.alternatives]
    hits = [i for i, names in enumerate(per_alt) if names & present]
    if node.repeats:
        # "0 or more X OR Y": lines and line groups may both appear (written alternative by alternative)
        inner = repeatable | frozenset(n for i in hits for n in per_alt[i])
        for i in hits:
            for sub in node.alternatives[i]:
                _node(sub, given, path, ctx, out, used, inner)
        if not hits and not node.optional:
            ctx.problem(path, "missing", f"one of {_alt_names(per_alt)} is required")
        return
    if len(hits) > 1:
        keys = present & set().union(*(per_alt[i] for i in hits))
        covering = [i for i in hits if keys <= per_alt[i]]
        if not covering:
            used.update(keys)
            clash = ", ".join(sorted(keys))
            ctx.problem(path, "choice", f"{clash} cannot be used together (qbXML allows only one of them)")
            return
        hits = covering[:1]
    if not hits:
        if not node.optional and not any(_all_optional(alt) for alt in node.alternatives):
            ctx.problem(path, "missing", f"one of {_alt_names(per_alt)} is required")
        return
    for sub in node.alternatives[hits[0]]:
        _node(sub, given, path, ctx, out, used, repeatable)


def _alt_names(per_alt: list[set[str]]) -> str:
    return " | ".join("+".join(sorted(names)) for names in per_alt)


def _element(el: Element, value: Any, parent: str, ctx: _Context, out: list[str], repeatable: bool) -> None:
    path = f"{parent}/{el.name}"
    _check_element(el, path, ctx)
    many = isinstance(value, (list, tuple))
    if many and not (el.repeats or repeatable):
        ctx.problem(path, "type", f"{el.name} may appear only once")
        return
    for i, item in enumerate(value if many else [value]):
        p = f"{path}[{i}]" if many else path
        if el.is_aggregate:
            _aggregate(el, item, p, ctx, out)
        else:
            _leaf(el, item, p, ctx, out)


def _aggregate(el: Element, value: Any, path: str, ctx: _Context, out: list[str]) -> None:
    if isinstance(value, Ref):
        value = value.as_fields()
    elif el.is_ref and isinstance(value, str):
        value = {"FullName": value}
    if not isinstance(value, Mapping):
        got = type(value).__name__
        ctx.problem(path, "type", f"{el.name} holds other elements; give a mapping, not {got}")
        return
    out.append(f"<{el.name}>")
    _children(el.children, value, path, ctx, out, frozenset())
    out.append(f"</{el.name}>")


def _leaf(el: Element, value: Any, path: str, ctx: _Context, out: list[str]) -> None:
    assert el.type is not None
    try:
        text = format_value(el.type, value)
    except ValueProblem as exc:
        ctx.problem(path, "type", f"{el.name} ({el.type}) {exc}")
        return
    if el.enum and text not in el.enum:
        ctx.problem(path, "enum", f"{el.name} must be one of {', '.join(el.enum)}; got {text!r}")
        return
    if el.type == "INTTYPE" and isinstance(value, int):
        if el.min_value is not None and value < float(el.min_value):
            ctx.problem(path, "range", f"{el.name} must be at least {el.min_value}")
        if el.max_value is not None and value > float(el.max_value):
            ctx.problem(path, "range", f"{el.name} must be at most {el.max_value}")
    if el.max_length is not None and len(text) > el.max_length:
        if ctx.truncate and el.type in TRUNCATABLE:
            short = text[: el.max_length]
            ctx.truncations.append(Truncation(path, text, short))
            text = short
        else:
            ctx.problem(
                path, "too_long", f"{el.name} is {len(text)} characters; QuickBooks allows {el.max_length}"
            )
            return
    out.append(f"<{el.name}>{escape_text(text)}</{el.name}>")
