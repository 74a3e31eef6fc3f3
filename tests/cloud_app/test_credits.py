"""Credit memos and refunds on the contact/company tab, counted in the balance as QuickBooks counts it."""

from __future__ import annotations

import re
from decimal import Decimal

from .product import World, a_deal, settled, wait
from .test_voids import QB, synced_deal


def statement(world: World, company: int) -> dict[str, object]:
    world.api("POST", f"/parties/company/{company}/refresh")
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    url = f"/parties/company/{company}/quickbooks"
    assert wait(lambda: not world.api("GET", url).json()["refreshing"])
    return dict(world.api("GET", url).json()["statement"])


def test_credit_memos_and_refunds_are_listed_and_the_balance_adds_up_from_the_documents(world: World) -> None:
    deal, _ = synced_deal(world, "Credited Builders")
    company = int(world.cloud.client().call("crm.deal.get", {"id": deal})["COMPANY_ID"])
    made = world.qb.process(QB.format(
        "<CreditMemoAddRq><CreditMemoAdd><CustomerRef><FullName>Credited Builders</FullName></CustomerRef>"
        "<CreditMemoLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Desc>Returned hours</Desc>"
        "<Amount>30.00</Amount></CreditMemoLineAdd></CreditMemoAdd></CreditMemoAddRq>"))  # fmt: skip
    txn = re.search(r"<CreditMemoRet><TxnID>([^<]+)</TxnID>", made).group(1)  # type: ignore[union-attr]
    number = world.qb_query(f"<CreditMemoQueryRq><TxnID>{txn}</TxnID></CreditMemoQueryRq>")[0]["RefNumber"]
    world.qb.process(QB.format(
        "<ARRefundCreditCardAddRq><ARRefundCreditCardAdd><CustomerRef><FullName>Credited Builders</FullName>"
        f"</CustomerRef><RefNumber>R-7</RefNumber><RefundAppliedToTxnAdd><TxnID>{txn}</TxnID>"
        "<RefundAmount>10.00</RefundAmount></RefundAppliedToTxnAdd></ARRefundCreditCardAdd>"
        "</ARRefundCreditCardAddRq>"))  # fmt: skip

    st = statement(world, company)
    customer = st["customer"]
    assert isinstance(customer, dict) and customer["balance"] == "90.00"  # 110.00 owed, 20.00 credit left
    credits = st["credits"]
    assert isinstance(credits, list)
    assert [(c["total"], c["remaining"], c["status"]) for c in credits] == [("30.00", "20.00", "open")]
    refunds = st["refunds"]
    assert isinstance(refunds, list)
    assert [(r["number"], r["amount"], r["credits"]) for r in refunds] == [("R-7", "10.00", [number])]
    assert st["balance_check"] == {
        "open_invoices": "110.00", "open_credits": "20.00", "unused_payments": "0.00",
        "listed": "90.00", "not_listed": "0.00",
    }  # fmt: skip


def test_a_deal_becomes_a_credit_memo_only_when_chosen_in_the_preview(world: World) -> None:
    deal = a_deal(world, "Refunded Roofing", [(1, "Labor", "55.00", "2")])
    direct = world.api("POST", f"/deals/{deal}/sync", json={"kind": "CreditMemo"})
    assert direct.status_code == 400 and "only from the preview" in direct.json()["message"]
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    world.web_connector_runs()  # the lookup only
    assert wait(lambda: world.api("GET", f"/syncs/{sync_id}").json()["state"] == "preview")
    assert world.api("POST", f"/syncs/{sync_id}/confirm", json={"kind": "CreditMemo"}).status_code == 202
    world.web_connector_runs()
    done = settled(world, sync_id)
    assert done["state"] == "done" and done["kind"] == "CreditMemo", done
    assert re.fullmatch(r"Credit memo \d+ created in QuickBooks, 110\.00 USD", done["outcome"])
    memos = world.qb_query(
        "<CreditMemoQueryRq><EntityFilter><FullName>Refunded Roofing</FullName></EntityFilter>"
        "</CreditMemoQueryRq>"
    )
    assert len(memos) == 1 and memos[0]["CreditRemaining"] == Decimal("110.00")
    assert world.qb_query(
        "<InvoiceQueryRq><EntityFilter><FullName>Refunded Roofing</FullName></EntityFilter></InvoiceQueryRq>"
    ) == []  # fmt: skip
    fields = world.cloud.client().call("crm.deal.get", {"id": deal})
    assert fields["UF_CRM_QB_STATUS"] == "credit" and fields["UF_CRM_QB_BALANCE"] == "-110.00|USD"
    assert fields["UF_CRM_QB_DOC"] == f"Credit memo {memos[0]['RefNumber']}"
    tab = world.api("GET", f"/deals/{deal}/quickbooks").json()
    assert tab["document"]["kind"] == "CreditMemo" and tab["document"]["remaining"] == "110.00"


def test_a_credit_memo_whose_credit_was_refunded_is_not_changed_from_bitrix24(world: World) -> None:
    """Only ReceivePayment and CreditMemo links counted as payments, so a re-sync modified a credit memo
    whose credit had been paid back (an ARRefundCreditCard link, refunds.py): its used credit counts too."""
    deal = a_deal(world, "Refunded Gutters", [(1, "Labor", "55.00", "2")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    world.web_connector_runs()
    assert wait(lambda: world.api("GET", f"/syncs/{sync_id}").json()["state"] == "preview")
    assert world.api("POST", f"/syncs/{sync_id}/confirm", json={"kind": "CreditMemo"}).status_code == 202
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    memos = (
        "<CreditMemoQueryRq><EntityFilter><FullName>Refunded Gutters</FullName></EntityFilter>"
        "</CreditMemoQueryRq>"
    )
    [memo] = world.qb_query(memos)
    world.qb.process(QB.format(
        "<ARRefundCreditCardAddRq><ARRefundCreditCardAdd><CustomerRef><FullName>Refunded Gutters</FullName>"
        f"</CustomerRef><RefNumber>R-9</RefNumber><RefundAppliedToTxnAdd><TxnID>{memo['TxnID']}</TxnID>"
        "<RefundAmount>10.00</RefundAmount></RefundAppliedToTxnAdd></ARRefundCreditCardAdd>"
        "</ARRefundCreditCardAddRq>"))  # fmt: skip
    [refunded] = world.qb_query(memos)
    assert refunded["CreditRemaining"] == Decimal("100.00")
    world.cloud.client().call(
        "crm.deal.productrows.set",
        {"id": deal, "rows": [{"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "55.00", "QUANTITY": "3"}]},
    )
    again = world.api("POST", f"/deals/{deal}/sync", json={"preview": True, "kind": "CreditMemo"}).json()
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    shown: dict[str, object] = {}
    assert wait(lambda: shown.update(world.api("GET", f"/syncs/{again['sync_id']}").json())
                or shown["state"] == "preview")  # fmt: skip
    detail = shown["detail"]
    assert isinstance(detail, dict) and detail["can_send"] is False, detail
    assert any("already has payments" in p for p in detail["problems"]), detail
    [now] = world.qb_query(memos)
    confirmed = world.api("POST", f"/syncs/{again['sync_id']}/confirm", json={"kind": "CreditMemo"})
    assert confirmed.status_code == 202, confirmed.text
    assert settled(world, again["sync_id"])["state"] == "failed"  # not sent: it says why
    [now] = world.qb_query(memos)
    assert (now["TotalAmount"], now["EditSequence"]) == (Decimal("110.00"), refunded["EditSequence"])
