"""Links between QuickBooks and Bitrix24 records: a match never moves a link, a name never guesses."""

from __future__ import annotations

from cloud_app.crypto import Vault
from cloud_app.links import Link, Links
from cloud_app.portals import PortalStore


def _links() -> Links:
    return Links(PortalStore(":memory:", Vault("test key")))


def test_claim_links_a_free_record_and_never_moves_one_linked_to_another() -> None:
    links = _links()
    assert links.claim("m1", "f", Link("customer", "80-1", "Acme", "company", "4")) is None
    assert links.claim("m1", "f", Link("customer", "80-1", "Acme", "company", "4")) is None  # again: fine
    holder = links.claim("m1", "f", Link("customer", "80-1", "Acme", "company", "9"))
    assert holder is not None and holder.b24_id == "4"
    assert links.by_b24("m1", "f", "company", "9") is None
    assert links.by_qb("m1", "f", "customer", "80-1").b24_id == "4"  # type: ignore[union-attr]
    assert links.claim("m2", "f", Link("customer", "80-1", "Acme", "company", "9")) is None  # other portal


def test_a_name_two_links_share_finds_neither() -> None:
    links = _links()
    links.link("m1", "f", Link("customer", "80-1", "Acme", "company", "4"))
    assert links.by_qb_name("m1", "f", "customer", "Acme").qb_id == "80-1"  # type: ignore[union-attr]
    # a name kept from before a rename in QuickBooks: the same name on two links is no answer
    links.link("m1", "f", Link("customer", "80-2", "Acme", "company", "5"))
    assert links.by_qb_name("m1", "f", "customer", "Acme") is None
