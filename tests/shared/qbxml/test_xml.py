"""The hardened parser refuses what could hurt and says where malformed input broke."""

import io

import pytest

from shared.qbxml.errors import ParseError
from shared.qbxml.xml import iterparse, parse_xml


def test_entities_and_doctypes_are_refused() -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    with pytest.raises(ParseError, match="DOCTYPE"):
        parse_xml(evil)
    with pytest.raises(ParseError, match="DOCTYPE"):
        list(iterparse(io.BytesIO(evil)))


def test_malformed_input_error_carries_an_excerpt() -> None:
    with pytest.raises(ParseError) as err:
        parse_xml("<QBXML><QBXMLMsgsRs><CustomerQueryRs></QBXMLMsgsRs></QBXML>")
    assert "CustomerQueryRs" in str(err.value) or "QBXMLMsgsRs" in str(err.value)


def test_size_is_bounded() -> None:
    with pytest.raises(ParseError, match="exceeds"):
        parse_xml(b"<a>" + b"x" * 200 + b"</a>", max_bytes=100)
    with pytest.raises(ParseError, match="exceeds"):
        list(iterparse(io.BytesIO(b"<a>" + b"x" * 200_000 + b"</a>"), max_bytes=100_000))


def test_text_declared_in_another_encoding_parses() -> None:
    root = parse_xml('<?xml version="1.0" encoding="windows-1252"?><a>Caf\u00e9</a>')
    assert root.text == "Caf\u00e9"


def test_bytes_honour_their_declared_encoding() -> None:
    root = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><a>Caf\u00e9</a>'.encode("latin-1"))
    assert root.text == "Caf\u00e9"


def test_empty_input_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_xml("   ")
