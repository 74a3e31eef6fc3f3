"""One-sided changes flow across; two-sided ones follow the configured winner and are logged."""

from decimal import Decimal

from cloud_app.sync.conflicts import merge

BASE = {"Phone": "775-555-0100", "Email": "a@x.com", "CreditLimit": Decimal("1000.00")}


def test_one_sided_changes_flow_to_the_other_side() -> None:
    m = merge(BASE, qb={**BASE, "CreditLimit": Decimal("2000.00")}, b24={**BASE, "Phone": "775-555-0111"},
              winners={})
    assert m.to_b24 == {"CreditLimit": Decimal("2000.00")}
    assert m.to_qb == {"Phone": "775-555-0111"}
    assert m.conflicts == []


def test_both_changed_the_configured_winner_applies_and_the_loser_is_logged() -> None:
    m = merge(BASE, qb={**BASE, "Email": "qb@x.com"}, b24={**BASE, "Email": "b24@x.com"},
              winners={"Email": "b24"})
    assert m.to_qb == {"Email": "b24@x.com"} and m.to_b24 == {}
    (c,) = m.conflicts
    assert (c.field, c.qb_value, c.winner, c.initial) == ("Email", "qb@x.com", "b24", False)


def test_nothing_changed_is_a_noop_and_first_sync_differences_are_marked_initial() -> None:
    assert merge(BASE, qb=dict(BASE), b24=dict(BASE), winners={}).is_noop
    m = merge(None, qb={"Phone": "1"}, b24={"Phone": "2"}, winners={})
    assert m.to_b24 == {"Phone": "1"} and m.conflicts[0].initial
