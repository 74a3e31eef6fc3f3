"""The synced-fields hash changes exactly when content changes."""

from datetime import date
from decimal import Decimal

from cloud_app.sync.fingerprint import fingerprint


def test_order_scale_and_empty_fields_do_not_matter() -> None:
    a = fingerprint({"Name": "Acme", "CreditLimit": Decimal("1500.00"), "Fax": None, "Notes": ""})
    b = fingerprint({"CreditLimit": Decimal("1500"), "Name": " Acme "})
    assert a == b


def test_content_changes_change_the_hash() -> None:
    base = {"Name": "Acme", "Since": date(2026, 1, 1), "Lines": [{"Qty": Decimal("1")}]}
    assert fingerprint(base) != fingerprint({**base, "Name": "Acme Co"})
    assert fingerprint(base) != fingerprint({**base, "Lines": [{"Qty": Decimal("2")}]})
