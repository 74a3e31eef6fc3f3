"""Credit memos and refunds on the contact/company tab, counted in the balance as QuickBooks counts it."""

from __future__ import annotations

import re

from .product import World, wait
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
