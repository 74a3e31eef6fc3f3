"""qbXML value types ⇄ Python values, formatted exactly as QuickBooks wants them.

AMTTYPE has two decimal places; PRICETYPE/QUANTYPE/PERCENTTYPE up to five; DATETIMETYPE carries the UTC
offset (``2025-11-26T10:15:30-08:00``); BOOLTYPE is ``true``/``false``; TIMEINTERVALTYPE is an ISO 8601
duration (``PT8H30M0S``). (``../shared/specs/quickbooks-webconnector.md`` §10.) Money is ``Decimal``; a
float is refused rather than rounded. A missing value stays missing: nothing here invents a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NewType

ListID = NewType("ListID", str)
TxnID = NewType("TxnID", str)
TxnLineID = NewType("TxnLineID", str)
EditSequence = NewType("EditSequence", str)

# Decimal places QuickBooks accepts per numeric type.
PLACES = {"AMTTYPE": 2, "PRICETYPE": 5, "QUANTYPE": 5, "PERCENTTYPE": 5}
_GUID = re.compile(r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$")
_DURATION = re.compile(r"^(-)?PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")
# XML 1.0 cannot carry most control characters, whatever the escaping.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class ValueProblem(ValueError):
    """A value that cannot be written as (or read from) its qbXML type; the message says why."""


def format_value(qb_type: str, value: object) -> str:
    """The qbXML text for ``value`` of ``qb_type``; raises ValueProblem with a plain reason."""
    if qb_type in PLACES or qb_type == "FLOATTYPE":
        return _format_decimal(qb_type, value)
    if qb_type == "INTTYPE":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueProblem(f"expected a whole number, got {type(value).__name__}")
        return str(value)
    if qb_type == "BOOLTYPE":
        if not isinstance(value, bool):
            raise ValueProblem(f"expected true/false, got {type(value).__name__}")
        return "true" if value else "false"
    if qb_type == "DATETYPE":
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValueProblem(f"expected a date, got {type(value).__name__}")
        return value.isoformat()
    if qb_type == "DATETIMETYPE":
        if not isinstance(value, datetime):
            raise ValueProblem(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            # QuickBooks would read a bare time as company-local: ambiguous around DST, so refuse it.
            raise ValueProblem("a datetime needs its UTC offset")
        return value.isoformat(timespec="seconds")
    if qb_type == "TIMEINTERVALTYPE":
        if not isinstance(value, timedelta):
            raise ValueProblem(f"expected a duration, got {type(value).__name__}")
        return _format_duration(value)
    if qb_type == "GUIDTYPE":
        if not isinstance(value, str) or not (value == "0" or _GUID.match(value)):
            raise ValueProblem("expected a GUID like {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX} or 0")
        return value
    if not isinstance(value, str):
        raise ValueProblem(f"expected text, got {type(value).__name__}")
    bad = _XML_ILLEGAL.search(value)
    if bad:
        raise ValueProblem(f"contains the control character U+{ord(bad.group()):04X}, which XML cannot carry")
    return value


def _format_decimal(qb_type: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ValueProblem(f"expected a Decimal, got {type(value).__name__}")
    d = Decimal(value)
    if not d.is_finite():
        raise ValueProblem("expected a finite number")
    places = PLACES.get(qb_type)
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    if places is not None and exponent < -places:
        if d != d.quantize(Decimal(1).scaleb(-places)):
            raise ValueProblem(f"has more than {places} decimal places")
        d = d.quantize(Decimal(1).scaleb(-places))
    if qb_type == "AMTTYPE":
        return f"{d.quantize(Decimal('0.01')):f}"
    return f"{d:f}"


def _format_duration(value: timedelta) -> str:
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}PT{hours}H{minutes}M{seconds}S"


def parse_value(qb_type: str, text: str) -> object:
    """The Python value of qbXML ``text`` of ``qb_type``; raises ValueProblem when it does not fit."""
    try:
        if qb_type in PLACES or qb_type == "FLOATTYPE":
            d = Decimal(text.strip())
            if not d.is_finite():
                raise ValueProblem(f"not a finite number: {text!r}")
            return d
        if qb_type == "INTTYPE":
            return int(text.strip())
        if qb_type == "BOOLTYPE":
            t = text.strip().lower()
            if t in ("true", "1"):
                return True
            if t in ("false", "0"):
                return False
            raise ValueProblem(f"not a boolean: {text!r}")
        if qb_type == "DATETYPE":
            return date.fromisoformat(text.strip())
        if qb_type == "DATETIMETYPE":
            return datetime.fromisoformat(text.strip())
        if qb_type == "TIMEINTERVALTYPE":
            return _parse_duration(text.strip())
    except (InvalidOperation, ValueError) as exc:
        if isinstance(exc, ValueProblem):
            raise
        raise ValueProblem(f"{text!r} is not a valid {qb_type}") from None
    return text


def _parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text)
    if not m or not any(m.group(i) for i in (2, 3, 4)):
        raise ValueProblem(f"not a duration like PT8H30M0S: {text!r}")
    d = timedelta(hours=int(m.group(2) or 0), minutes=int(m.group(3) or 0), seconds=int(m.group(4) or 0))
    return -d if m.group(1) else d


def escape_text(text: str) -> str:
    """Escape ``& < > " '`` for element text and attribute values alike.

    A raw carriage return would be turned into a line feed by any XML reader, so it travels as ``&#13;``.
    """
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
        .replace("\r", "&#13;")
    )


@dataclass(frozen=True)
class Ref:
    """A reference to a list record (``CustomerRef``, ``ItemRef`` …): its ListID and/or FullName."""

    list_id: str | None = None
    full_name: str | None = None

    def as_fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.list_id is not None:
            out["ListID"] = self.list_id
        if self.full_name is not None:
            out["FullName"] = self.full_name
        return out
