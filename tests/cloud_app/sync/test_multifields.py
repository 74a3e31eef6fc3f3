"""Phones and e-mails are set exactly, never appended twice (Bitrix24's multifield update trap)."""

from cloud_app.sync import normalize
from cloud_app.sync.multifields import operations

EXISTING = [
    {"ID": "11", "VALUE_TYPE": "WORK", "VALUE": "+1 (775) 555-0100"},
    {"ID": "12", "VALUE_TYPE": "MOBILE", "VALUE": "775-555-0199"},
]


def test_values_already_there_need_no_operation() -> None:
    assert operations(EXISTING, [("WORK", "7755550100"), ("MOBILE", "775 555 0199")], normalize.phone) == []


def test_a_changed_value_reuses_the_old_item_instead_of_appending() -> None:
    ops = operations(EXISTING, [("WORK", "775-555-0100"), ("MOBILE", "775-555-0142")], normalize.phone)
    assert ops == [{"ID": "12", "VALUE": "775-555-0142", "VALUE_TYPE": "MOBILE"}]


def test_extra_items_are_deleted_and_new_ones_appended_only_when_needed() -> None:
    assert operations(EXISTING, [("WORK", "775-555-0100")], normalize.phone) == [{"ID": "12", "DELETE": "Y"}]
    ops = operations([], [("WORK", "a@x.com")])
    assert ops == [{"VALUE": "a@x.com", "VALUE_TYPE": "WORK"}]


def test_only_the_type_changed() -> None:
    ops = operations(EXISTING[:1], [("OTHER", "7755550100")], normalize.phone)
    assert ops == [{"ID": "11", "VALUE": "+1 (775) 555-0100", "VALUE_TYPE": "OTHER"}]
