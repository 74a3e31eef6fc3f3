"""Voids and deletes, both ways, on the whole product: an invoice voided or deleted in QuickBooks reaches its
deal, the deal's tab, the smart invoice and the customer's tab; a deal deleted in Bitrix24 voids its invoice
only when the setting says so and no money was received on it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .product import World, a_deal, settled, wait

QB = (
    '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">{}'
    "</QBXMLMsgsRq></QBXML>"
)


def synced_deal(world: World, company: str, amount: str = "110.00") -> tuple[int, str]:
    deal = a_deal(world, company, [(1, "Labor", amount, "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    return deal, world.api("GET", f"/deals/{deal}/quickbooks").json()["document"]["txn_id"]


def changes_read(world: World) -> None:
    """A person's refresh, and the Web Connector's run that answers it, applied."""
    member = world.cloud.portal.member_id
    before = len(world.cloud.services.agents.jobs(member, purpose="qb-changes"))
    assert world.api("POST", "/deals/0/refresh").json() == {"queued": True}
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    jobs = world.cloud.services.agents.jobs

    def applied() -> bool:
        done = [j for j in jobs(member, purpose="qb-changes") if j.state == "done"]
        return len(done) > before

    assert wait(applied)
    assert wait(lambda: not world.cloud.services.agents.waiting(member, "qb-changes"))


def comments(world: World, deal: int) -> list[str]:
    return [c["COMMENT"] for c in world.cloud.portal.store.comments if c["ENTITY_ID"] in (deal, str(deal))]


def invoice(world: World, txn: str) -> dict[str, Any]:
    return world.qb_query(
        f"<InvoiceQueryRq><TxnID>{txn}</TxnID><IncludeLinkedTxns>true</IncludeLinkedTxns></InvoiceQueryRq>"
    )[0]


def test_an_invoice_voided_in_quickbooks_shows_voided_not_paid_on_the_deal_and_both_tabs(
    world: World,
) -> None:
    """A voided invoice keeps its record with zero amounts and ``VOID:`` before its memo (Intuit's TxnVoid
    reference; QuickBooks then reports it IsPaid, nothing being owed) — the deal must not say paid."""
    assert world.api("POST", "/settings", json={"paid_stages": {"0": "WON"}}).status_code == 200
    deal, txn = synced_deal(world, "Voided Works LLC")
    world.qb.process(
        QB.format(f"<TxnVoidRq><TxnVoidType>Invoice</TxnVoidType><TxnID>{txn}</TxnID></TxnVoidRq>")
    )
    changes_read(world)
    client = world.cloud.client()
    fields = client.call("crm.deal.get", {"id": deal})
    assert fields["UF_CRM_QB_STATUS"] == "voided" and fields["UF_CRM_QB_BALANCE"] == "0.00|USD"
    assert fields["STAGE_ID"] != "WON"  # voided is not paid: the paid stage is not used
    tab = world.api("GET", f"/deals/{deal}/quickbooks").json()
    assert tab["document"]["status"] == "voided" and tab["document"]["total"] == "0.00"
    assert comments(world, deal)[-1].endswith("was voided in QuickBooks: it no longer asks for payment.")
    said = len(comments(world, deal))
    changes_read(world)  # read again (the overlap window): said once
    assert len(comments(world, deal)) == said

    company = int(fields["COMPANY_ID"])
    world.api("POST", f"/parties/company/{company}/refresh")
    world.web_connector_runs()
    url = f"/parties/company/{company}/quickbooks"
    assert wait(lambda: (world.api("GET", url).json()["statement"] or {}).get("customer") is not None)
    statement = world.api("GET", url).json()["statement"]
    assert [i["txn_id"] for i in statement["open_invoices"]] == []  # no longer open
    assert statement["customer"]["balance"] == "0.00"


def test_an_invoice_deleted_in_quickbooks_says_so_on_its_deal(world: World) -> None:
    deal, txn = synced_deal(world, "Deleted Works LLC")
    number = invoice(world, txn)["RefNumber"]
    world.qb.process(QB.format(f"<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{txn}</TxnID></TxnDelRq>"))
    changes_read(world)
    client = world.cloud.client()
    fields = client.call("crm.deal.get", {"id": deal})
    assert fields["UF_CRM_QB_STATUS"] == "deleted" and fields["UF_CRM_QB_TXN_ID"] == txn
    tab = world.api("GET", f"/deals/{deal}/quickbooks").json()
    assert tab["document"]["status"] == "deleted"
    assert tab["documents"][0]["status"] == "deleted"
    assert comments(world, deal)[-1] == f"Invoice {number} was deleted in QuickBooks."
    said = len(comments(world, deal))
    changes_read(world)  # the deleted query's overlap brings it again: nothing written twice
    assert len(comments(world, deal)) == said


def test_a_smart_invoice_of_a_voided_or_deleted_quickbooks_invoice_moves_to_the_failure_stage(
    world: World,
) -> None:
    synced_deal(world, "Smart Void Inc")  # the customer, linked
    customer = world.qb_query("<CustomerQueryRq><FullName>Smart Void Inc</FullName></CustomerQueryRq>")[0]
    made = []
    for _ in range(2):  # two invoices made in QuickBooks itself: they become smart invoices
        world.qb.process(QB.format(
            f"<InvoiceAddRq><InvoiceAdd><CustomerRef><ListID>{customer['ListID']}</ListID></CustomerRef>"
            "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>1</Quantity>"
            "<Rate>40.00</Rate></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"))  # fmt: skip
        made.append(
            world.qb_query("<InvoiceQueryRq><MaxReturned>1000</MaxReturned></InvoiceQueryRq>")[-1]["TxnID"]
        )
    changes_read(world)
    client = world.cloud.client()

    def smart(txn_id: str) -> dict[str, Any]:
        found = client.call("crm.item.list", {"entityTypeId": 31, "filter": {"xmlId": f"QB:{txn_id}"}})[
            "items"
        ]
        assert len(found) == 1, found
        return dict(found[0])

    assert smart(made[0])["stageId"] == "DT31_0:S" and Decimal(str(smart(made[0])["opportunity"])) == Decimal(
        40
    )
    world.qb.process(
        QB.format(f"<TxnVoidRq><TxnVoidType>Invoice</TxnVoidType><TxnID>{made[0]}</TxnID></TxnVoidRq>")
    )
    world.qb.process(
        QB.format(f"<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{made[1]}</TxnID></TxnDelRq>")
    )
    changes_read(world)
    voided, deleted = smart(made[0]), smart(made[1])
    assert voided["stageId"] == "DT31_0:D" and Decimal(str(voided["opportunity"])) == 0
    assert deleted["stageId"] == "DT31_0:D" and "deleted in QuickBooks" in deleted["title"]


def test_a_customer_deleted_in_quickbooks_is_unlinked_and_its_company_says_so(world: World) -> None:
    deal, txn = synced_deal(world, "Gone Customer Co")
    customer = world.qb_query("<CustomerQueryRq><FullName>Gone Customer Co</FullName></CustomerQueryRq>")[0]
    world.qb.process(QB.format(f"<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{txn}</TxnID></TxnDelRq>"))
    world.qb.process(
        QB.format(
            f"<ListDelRq><ListDelType>Customer</ListDelType><ListID>{customer['ListID']}</ListID></ListDelRq>"
        )
    )
    changes_read(world)
    client = world.cloud.client()
    company = int(client.call("crm.deal.get", {"id": deal})["COMPANY_ID"])
    assert client.call("crm.company.get", {"id": company})["UF_CRM_QB_LIST_ID"] in ("", None)
    assert world.api("GET", f"/parties/company/{company}/quickbooks").json()["linked"] is None
    assert any("was deleted in QuickBooks" in c for c in comments(world, company))


def deleted_in_bitrix24(world: World, deal: int) -> None:
    world.cloud.client().call("crm.deal.delete", {"id": deal})
    world.cloud.emu.wait_events()
    assert world.cloud.services.worker.idle.wait(15)


def test_a_deal_deleted_in_bitrix24_leaves_its_invoice_by_default(world: World) -> None:
    deal, txn = synced_deal(world, "Keep It LLC")
    assert world.api("GET", "/settings").json()["settings"]["deal_deleted"] == "nothing"
    deleted_in_bitrix24(world, deal)
    assert world.cloud.services.agents.counts(world.cloud.portal.member_id).get("queued", 0) == 0
    assert invoice(world, txn)["Subtotal"] == Decimal("110.00")
    history = world.api("GET", "/settings").json()["deleted_deals"]
    assert history[0]["deal_id"] == str(deal) and history[0]["outcome"] == "kept"


def test_a_deal_deleted_in_bitrix24_voids_its_unpaid_invoice_when_set_and_keeps_a_paid_one(
    world: World,
) -> None:
    assert world.api("POST", "/settings", json={"deal_deleted": "void"}).status_code == 200
    assert world.api("POST", "/settings", json={"deal_deleted": "delete"}).status_code == 400
    unpaid, unpaid_txn = synced_deal(world, "Void It LLC")
    paid, paid_txn = synced_deal(world, "Paid Up LLC")
    world.qb.process(
        QB.format(
            "<ReceivePaymentAddRq><ReceivePaymentAdd>"
            "<CustomerRef><FullName>Paid Up LLC</FullName></CustomerRef>"
            f"<TotalAmount>50.00</TotalAmount><AppliedToTxnAdd><TxnID>{paid_txn}</TxnID>"
            "<PaymentAmount>50.00</PaymentAmount></AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>"
        )
    )
    deleted_in_bitrix24(world, unpaid)
    deleted_in_bitrix24(world, paid)
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()  # the reads, then the one void
    member = world.cloud.portal.member_id

    def outcomes() -> dict[str, str]:
        rows = world.api("GET", "/settings").json()["deleted_deals"]
        return {r["deal_id"]: r["outcome"] for r in rows}

    assert wait(lambda: outcomes().get(str(paid)) == "paid")
    if outcomes().get(str(unpaid)) != "voided":
        assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
        world.web_connector_runs()
    assert wait(lambda: outcomes().get(str(unpaid)) == "voided")
    voided = invoice(world, unpaid_txn)
    assert voided["Subtotal"] == Decimal("0.00") and str(voided["Memo"]).startswith("VOID:")
    assert invoice(world, paid_txn)["Subtotal"] == Decimal("110.00")  # money received: left alone
    jobs = world.cloud.services.agents.jobs
    assert len(jobs(member, purpose=f"deal-void:{unpaid}:{unpaid_txn}")) == 1  # one intent, one void
    assert jobs(member, purpose=f"deal-void:{paid}:{paid_txn}") == []
