"""Values are written exactly as qbXML wants and read back as the same Python values."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from shared.qbxml.values import ValueProblem, escape_text, format_value, parse_value


@pytest.mark.parametrize(
    ("qb_type", "value", "text"),
    [
        ("AMTTYPE", Decimal("-1234.5"), "-1234.50"),
        ("AMTTYPE", 7, "7.00"),
        ("AMTTYPE", Decimal("1.230"), "1.23"),
        ("PRICETYPE", Decimal("19.99999"), "19.99999"),
        ("QUANTYPE", Decimal("3"), "3"),
        ("PERCENTTYPE", Decimal("12.5"), "12.5"),
        ("BOOLTYPE", False, "false"),
        ("DATETYPE", date(2026, 2, 28), "2026-02-28"),
        ("DATETIMETYPE", datetime(2026, 3, 8, 3, 0, 1, 999, tzinfo=timezone(timedelta(hours=-7))),
         "2026-03-08T03:00:01-07:00"),
        ("TIMEINTERVALTYPE", timedelta(hours=8, minutes=30), "PT8H30M0S"),
        ("GUIDTYPE", "0", "0"),
        ("INTTYPE", 42, "42"),
    ],
)
def test_formats(qb_type: str, value: object, text: str) -> None:
    assert format_value(qb_type, value) == text


@pytest.mark.parametrize(
    ("qb_type", "value"),
    [
        ("AMTTYPE", 1.5),
        ("AMTTYPE", Decimal("0.001")),
        ("AMTTYPE", Decimal("Infinity")),
        ("PRICETYPE", Decimal("0.000001")),
        ("INTTYPE", True),
        ("BOOLTYPE", 1),
        ("DATETYPE", datetime(2026, 1, 1)),
        ("DATETIMETYPE", datetime(2026, 1, 1)),
        ("GUIDTYPE", "6B063959-81B0-4622-9B33-2D7FE9E0E2B0"),
        ("STRTYPE", 5),
        ("STRTYPE", "nul\x00"),
    ],
)
def test_refuses_what_quickbooks_would_misread(qb_type: str, value: object) -> None:
    with pytest.raises(ValueProblem):
        format_value(qb_type, value)


def test_parses_back() -> None:
    assert parse_value("AMTTYPE", "-0.50") == Decimal("-0.50")
    assert parse_value("BOOLTYPE", "1") is True
    assert parse_value("TIMEINTERVALTYPE", "PT1H0M5S") == timedelta(hours=1, seconds=5)
    moment = parse_value("DATETIMETYPE", "2026-11-01T01:30:00-08:00")
    assert isinstance(moment, datetime) and moment.utcoffset() == timedelta(hours=-8)
    with pytest.raises(ValueProblem):
        parse_value("DATETYPE", "31/12/2026")
    with pytest.raises(ValueProblem):
        parse_value("TIMEINTERVALTYPE", "8 hours")


def test_escapes_all_five() -> None:
    assert escape_text("""a&b<c>d"e'f""") == "a&amp;b&lt;c&gt;d&quot;e&apos;f"
