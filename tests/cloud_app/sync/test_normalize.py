"""Normal forms make the same person or company match across the two systems."""

from cloud_app.sync import normalize


def test_email() -> None:
    assert normalize.email("  Mike@Example.COM ") == "mike@example.com"
    assert normalize.email("not an email") is None


def test_phone_ignores_formatting_country_code_and_extension() -> None:
    assert normalize.phone("+1 (775) 555-0100") == normalize.phone("775.555.0100 ext. 12") == "7755550100"
    assert normalize.phone("12") is None


def test_name_ignores_case_accents_punctuation_and_legal_form() -> None:
    assert normalize.name("Kowalski & Sons, Inc.") == "kowalski and sons"
    assert normalize.name("KOWALSKI AND SONS") == "kowalski and sons"
    assert normalize.name("Café Ltd") == "cafe"
    assert normalize.name("   ") is None
