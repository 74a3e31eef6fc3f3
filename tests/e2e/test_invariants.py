"""The invariant checker on hand-built states: a clean one passes, each kind of damage is named in words."""

from __future__ import annotations

from dataclasses import replace

from .invariants import (
    APP,
    BITRIX24,
    PERSON,
    PHONE,
    QUICKBOOKS,
    SEED,
    TITLE,
    Customer,
    Deal,
    Document,
    Edit,
    Record,
    Sync,
    Truth,
    check,
)

UMBRELLA = ("company", "7")
INITECH = ("company", "8")


def clean() -> Truth:
    """Two companies, each with a deal synced once: its customer made with the invoice, linked both ways."""
    return Truth(
        customers=(
            Customer("80000001-1", "Umbrella Corp", "Umbrella Corp", "650-555-0100", APP, made_for_deal="3"),
            Customer("80000002-1", "Initech", "Initech", "", APP, made_for_deal="4"),
            Customer("80000003-1", "Seed Customer", "", "", SEED),
        ),
        documents=(
            Document("Invoice", "1A-1", "1043", "3", "80000001-1"),
            Document("Invoice", "1B-1", "1044", "4", "80000002-1"),
            Document("Invoice", "1C-1", "71", None, "80000003-1"),  # the seed's own
        ),
        records=(
            Record(UMBRELLA, "Umbrella Corp", ("650-555-0100",), "80000001-1", PERSON),
            Record(INITECH, "Initech", (), "80000002-1", PERSON),
        ),
        deals=(Deal("3", UMBRELLA), Deal("4", INITECH)),
        syncs=(
            Sync("s1", "3", "done", "Umbrella Corp", "1A-1"),
            Sync("s2", "4", "done", "Initech", "1B-1"),
            Sync("s3", "4", "failed", "Initech"),
        ),
        links=((UMBRELLA, "80000001-1"), (INITECH, "80000002-1")),
        edits=(Edit(BITRIX24, "company:7", PHONE, "650-555-0100"),),
    )


def texts(truth: Truth) -> list[str]:
    return [str(v) for v in check(truth)]


def test_a_clean_state_has_no_violations() -> None:
    assert check(clean()) == []


def test_two_live_documents_for_one_deal_are_named_with_both() -> None:
    truth = clean()
    truth = replace(
        truth, documents=(*truth.documents, Document("Invoice", "1D-1", "1045", "3", "80000001-1"))
    )
    assert texts(truth) == [
        "(a) deal 3 has 2 live QuickBooks documents (Invoice 1043, Invoice 1045); one was asked for"
    ]
    assert check(replace(truth, another={"3": 1})) == []  # the person asked for another one
    void = Document("Invoice", "1D-1", "1045", "3", "80000001-1", live=False)
    voided = replace(truth, documents=(*clean().documents, void))
    assert check(voided) == []


def test_a_document_on_another_customer_than_the_preview_showed() -> None:
    truth = clean()
    wrong = Document("Invoice", "1B-1", "1044", "4", "80000001-1")  # Initech's deal, Umbrella's account
    truth = replace(truth, documents=(truth.documents[0], wrong, truth.documents[2]))
    found = texts(truth)
    assert (
        "(b) deal 4: Invoice 1044 is on QuickBooks customer “Umbrella Corp”, but the preview showed “Initech”"
        in found
    )
    assert (
        "(b) deal 4: Invoice 1044 is on QuickBooks customer “Umbrella Corp” (which belongs to company 7 "
        "“Umbrella Corp”), but the deal's client company 8 “Initech” "
        "is linked to QuickBooks customer “Initech”"
    ) in found


def test_a_renamed_customer_still_counts_as_the_one_the_preview_showed() -> None:
    truth = clean()
    renamed = replace(truth.customers[0], name="Umbrella Corporation", names=frozenset({"Umbrella Corp"}))
    assert check(replace(truth, customers=(renamed, *truth.customers[1:]))) == []


def test_a_cut_name_matching_another_companys_customer_is_caught_by_identity() -> None:
    """Case 2 of the issue: the preview said “already in QuickBooks” under the shared 41-character name; the
    invoice went to the other company's customer, and that link moved."""
    long_a, long_b = ("company", "20"), ("company", "21")
    prefix = "Northern California Heating and Plumbing "[:41]
    truth = Truth(
        customers=(Customer("80000009-1", prefix, prefix, "", APP, made_for_deal="30"),),
        documents=(
            Document("Invoice", "2A-1", "1050", "30", "80000009-1"),
            Document("Invoice", "2B-1", "1051", "31", "80000009-1"),
        ),
        records=(
            Record(long_a, prefix + "West", (), "80000009-1"),
            Record(long_b, prefix + "East", (), "80000009-1"),
        ),
        deals=(Deal("30", long_a), Deal("31", long_b)),
        syncs=(Sync("s1", "30", "done", prefix, "2A-1"), Sync("s2", "31", "done", prefix, "2B-1")),
        links=((long_b, "80000009-1"),),
    )
    found = texts(truth)
    assert any(
        t.startswith("(b) deal 30: Invoice 1050 is on QuickBooks customer")
        and "belongs to company 21" in t
        and "client company 20" in t
        and "linked to no QuickBooks customer" in t
        for t in found
    ), found
    assert any(t.startswith("(c) QuickBooks customer") and "linked to 2 Bitrix24 records" in t for t in found)
    assert any("was made for deal 30 of company 20" in t and "linked to company 21" in t for t in found)


def test_a_sync_that_claims_a_document_quickbooks_does_not_have() -> None:
    truth = clean()
    truth = replace(truth, syncs=(*truth.syncs, Sync("s9", "3", "done", "Umbrella Corp", "9Z-1")))
    assert texts(truth) == ["(b) deal 3: sync s9 says it made document 9Z-1, QuickBooks has none"]


def test_a_record_linked_twice_and_a_customer_on_two_cards() -> None:
    truth = clean()
    extra = Customer("80000004-1", "Umbrella Corp 2", "Umbrella Corp", "", PERSON)
    truth = replace(
        truth, customers=(*truth.customers, extra), links=(*truth.links, (UMBRELLA, "80000004-1"))
    )
    found = texts(truth)
    assert any(t.startswith("(c) company 7 “Umbrella Corp” is linked to 2 customers") for t in found), found
    card = replace(
        clean(), records=(clean().records[0], replace(clean().records[1], qb_list_id="80000001-1"))
    )
    found = texts(card)
    assert (
        "(c) company 8 “Initech” shows QuickBooks customer “Umbrella Corp” on its card, "
        "but is linked to QuickBooks customer “Initech”"
    ) in found
    assert any("“Umbrella Corp” is linked to 2 Bitrix24 records: company 7" in t for t in found)


def test_two_customers_made_for_one_company_and_an_orphan() -> None:
    """Case 3: the lost answer's customer, then Retry's second one; and one the app made and never linked."""
    truth = clean()
    again = Customer("80000005-1", "Umbrella Corp (Customer)", "Umbrella Corp", "", APP, made_for_deal="3")
    orphan = Customer("80000006-1", "Nobody's", "", "", APP)
    truth = replace(truth, customers=(*truth.customers, again, orphan))
    found = texts(truth)
    assert "(c) the app made 2 QuickBooks customers for company 7 “Umbrella Corp”: “Umbrella Corp”, " \
           "“Umbrella Corp (Customer)”" in found  # fmt: skip
    assert "(c) the app created QuickBooks customer “Nobody's”, which belongs to no Bitrix24 record" in found


def test_a_duplicate_company_made_in_bitrix24_for_a_customer_made_for_another() -> None:
    truth = clean()
    twin = Record(("company", "15"), "Umbrella Corp", (), "80000001-1", APP)
    found = texts(replace(truth, records=(*truth.records, twin)))
    assert (
        "(c) the app created company 15 “Umbrella Corp” in Bitrix24 for QuickBooks customer “Umbrella Corp”, "
        "which it had made for company 7 “Umbrella Corp”: one client, two records on each side"
    ) in found
    lone = Record(("company", "16"), "Stray", (), "", APP)
    assert "(c) the app created company 16 “Stray” in Bitrix24, linked to no customer" in texts(
        replace(truth, records=(*truth.records, lone))
    )


def test_a_bitrix24_edit_reverted_or_never_carried_over() -> None:
    """Case 5: the title changed in Bitrix24 only, then QuickBooks' old value came back over it."""
    truth = clean()
    truth = replace(truth, edits=(*truth.edits, Edit(BITRIX24, "company:7", TITLE, "Umbrella Corporation")))
    assert texts(truth) == [
        "(d) company 7 “Umbrella Corp”: its title was changed in Bitrix24 to “Umbrella Corporation” "
        "and not on the other side, but in Bitrix24 it is now “Umbrella Corp”"
    ]
    kept = replace(truth, records=(replace(truth.records[0], title="Umbrella Corporation"), truth.records[1]))
    assert texts(kept) == [
        "(d) company 7 “Umbrella Corporation”: its title was changed in Bitrix24 to “Umbrella Corporation”, "
        "but QuickBooks still shows “Umbrella Corp”"
    ]
    both = replace(kept, customers=(replace(kept.customers[0], company_name="Umbrella Corporation"),
                                    *kept.customers[1:]))  # fmt: skip
    assert check(both) == []


def test_a_quickbooks_edit_overwritten_and_a_conflict_left_to_the_winner() -> None:
    truth = clean()
    truth = replace(truth, edits=(Edit(QUICKBOOKS, "80000002-1", PHONE, "(415) 555-0199"),))
    assert texts(truth) == [
        "(d) company 8 “Initech”: its phone was changed in QuickBooks to “(415) 555-0199” "
        "and not on the other side, but in QuickBooks it is now empty"
    ]
    arrived = replace(
        truth,
        customers=(truth.customers[0], replace(truth.customers[1], phone="415-555-0199"), truth.customers[2]),
        records=(truth.records[0], replace(truth.records[1], phones=("+1 415 555 0199",))),
    )
    assert check(arrived) == []  # the same number, written as each side writes it
    conflict = replace(truth, edits=(*truth.edits, Edit(BITRIX24, "company:8", PHONE, "111")))
    assert check(conflict) == []  # both sides changed it: the configured winner decides, not this rule


def test_a_long_title_cut_to_41_in_quickbooks_is_kept_but_cut_in_bitrix24_is_lost() -> None:
    """QuickBooks keeps 41 characters of a company name; the same cut written back over the Bitrix24 title
    is a person's title lost."""
    long_title = "Northern California Heating and Plumbing East"
    cut = long_title[:41].strip()
    truth = replace(
        clean(),
        customers=(replace(clean().customers[0], company_name=cut), *clean().customers[1:]),
        records=(replace(clean().records[0], title=long_title), clean().records[1]),
        edits=(Edit(BITRIX24, "company:7", TITLE, long_title),),
    )
    assert check(truth) == []
    overwritten = replace(truth, records=(replace(truth.records[0], title=cut), truth.records[1]))
    assert texts(overwritten) == [
        f"(d) company 7 “{cut}”: its title was changed in Bitrix24 to “{long_title}” "
        f"and not on the other side, but in Bitrix24 it is now “{cut}”"
    ]


def test_a_supplier_contact_linked_to_a_vendor_is_not_an_orphan() -> None:
    supplier = Record(("contact", "40"), "Bayshore Electric", (), "", APP)
    truth = replace(clean(), records=(*clean().records, supplier))
    assert texts(truth) == [
        "(c) the app created contact 40 “Bayshore Electric” in Bitrix24, linked to no customer"
    ]
    assert check(replace(truth, other_links=frozenset({("contact", "40")}))) == []


def test_the_newest_sync_of_a_document_says_which_customer_it_should_be_on() -> None:
    """A later sync updating the document (its customer changed with the deal) is what counts."""
    truth = clean()
    moved = Document("Invoice", "1A-1", "1043", "3", "80000002-1")
    truth = replace(
        truth,
        documents=(moved, *truth.documents[1:]),
        syncs=(*truth.syncs, Sync("s4", "3", "done", "Initech", "1A-1")),
        deals=(Deal("3", INITECH), truth.deals[1]),
    )
    assert [v for v in check(truth) if v.rule == "b"] == []
