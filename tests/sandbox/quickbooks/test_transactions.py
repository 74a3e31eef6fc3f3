"""Invoices, lines, tax, payments and balances as QuickBooks computes them (§6, §11)."""

from __future__ import annotations

from .helpers import add_customer, doc, fresh, invoice, line, ok, run


def test_invoice_totals_tax_only_taxable_lines() -> None:
    qb = fresh()
    add_customer(qb, "Melton")
    inv = invoice(
        qb, "Melton", line("Labor", "3") + line("Cabinets", "2") + line("Cabinets", "1", amount="99.99")
    )
    assert [ln.findtext("Amount") for ln in inv.findall("InvoiceLineRet")] == ["165.00", "250.00", "99.99"]
    assert inv.findtext("Subtotal") == "514.99"
    assert inv.findtext("SalesTaxTotal") == "27.12"  # 7.75% of 349.99 = 27.124…
    assert inv.findtext("BalanceRemaining") == "542.11"
    assert inv.findtext("IsPaid") == "false"
    assert inv.findtext("RefNumber") == "1001"
    assert invoice(qb, "Melton", line("Labor", "1")).findtext("RefNumber") == "1002"


def test_payment_reduces_balance_links_both_ways_and_sets_is_paid() -> None:
    qb = fresh()
    add_customer(qb, "Nguyen")
    inv = invoice(qb, "Nguyen", line("Labor", "10"))  # 550.00, not taxable
    txn = inv.findtext("TxnID")
    pay = ok(
        run(
            qb,
            doc(
                "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Nguyen</FullName></CustomerRef>"
                "<TotalAmount>600.00</TotalAmount>"
                f"<AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>550.00</PaymentAmount></AppliedToTxnAdd>"
                "</ReceivePaymentAdd></ReceivePaymentAddRq>"
            ),
        )[0]
    )[0]
    assert pay.findtext("UnusedPayment") == "50.00"
    assert pay.findtext("AppliedToTxnRet/TxnID") == txn
    box = run(
        qb,
        doc(
            f"<InvoiceQueryRq><TxnID>{txn}</TxnID><IncludeLinkedTxns>true</IncludeLinkedTxns>"
            "</InvoiceQueryRq><CustomerQueryRq><FullName>Nguyen</FullName></CustomerQueryRq>"
        ),
    )
    again = box[0][0]
    assert again.findtext("BalanceRemaining") == "0.00" and again.findtext("IsPaid") == "true"
    assert again.findtext("LinkedTxn/TxnType") == "ReceivePayment"
    assert again.findtext("EditSequence") != inv.findtext("EditSequence")
    assert box[1][0].findtext("Balance") == "-50.00"  # the unused 50 is a credit


def test_over_applying_a_payment_is_refused() -> None:
    qb = fresh()
    add_customer(qb, "Quon")
    txn = invoice(qb, "Quon", line("Labor", "1")).findtext("TxnID")
    rs = run(
        qb,
        doc(
            "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Quon</FullName></CustomerRef>"
            "<TotalAmount>100.00</TotalAmount>"
            f"<AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>100.00</PaymentAmount></AppliedToTxnAdd>"
            "</ReceivePaymentAdd></ReceivePaymentAddRq>"
        ),
    )[0]
    assert rs.get("statusCode") == "3210"
    assert not list(qb.company.of_kind("ReceivePayment"))


def test_line_mod_keeps_sent_lines_adds_minus_one_and_drops_the_rest() -> None:
    qb = fresh()
    add_customer(qb, "Robson")
    inv = invoice(qb, "Robson", line("Labor", "1") + line("Cabinets", "1"))
    first, second = (ln.findtext("TxnLineID") for ln in inv.findall("InvoiceLineRet"))
    modded = ok(
        run(
            qb,
            doc(
                f"<InvoiceModRq><InvoiceMod><TxnID>{inv.findtext('TxnID')}</TxnID>"
                f"<EditSequence>{inv.findtext('EditSequence')}</EditSequence>"
                f"<InvoiceLineMod><TxnLineID>{first}</TxnLineID><Quantity>4</Quantity></InvoiceLineMod>"
                "<InvoiceLineMod><TxnLineID>-1</TxnLineID><ItemRef><FullName>Labor</FullName></ItemRef>"
                "<Quantity>1</Quantity></InvoiceLineMod></InvoiceMod></InvoiceModRq>"
            ),
        )[0]
    )[0]
    lines = modded.findall("InvoiceLineRet")
    assert [ln.findtext("TxnLineID") == first for ln in lines] == [True, False]
    assert second not in [ln.findtext("TxnLineID") for ln in lines]
    assert [ln.findtext("Amount") for ln in lines] == ["220.00", "55.00"]
    assert modded.findtext("Subtotal") == "275.00" and modded.findtext("SalesTaxTotal") == "0.00"


def test_a_mod_without_lines_keeps_every_line() -> None:
    qb = fresh()
    add_customer(qb, "Schneider")
    inv = invoice(qb, "Schneider", line("Labor", "1") + line("Cabinets", "1"))
    modded = ok(
        run(
            qb,
            doc(
                f"<InvoiceModRq><InvoiceMod><TxnID>{inv.findtext('TxnID')}</TxnID>"
                f"<EditSequence>{inv.findtext('EditSequence')}</EditSequence><Memo>Thanks</Memo>"
                "</InvoiceMod></InvoiceModRq>"
            ),
        )[0]
    )[0]
    assert len(modded.findall("InvoiceLineRet")) == 2 and modded.findtext("Memo") == "Thanks"


def test_estimates_have_a_total_and_their_own_numbers() -> None:
    qb = fresh()
    add_customer(qb, "Teschner")
    est = ok(
        run(
            qb,
            doc(
                "<EstimateAddRq><EstimateAdd><CustomerRef><FullName>Teschner</FullName></CustomerRef>"
                "<EstimateLineAdd><ItemRef><FullName>Cabinets</FullName></ItemRef><Quantity>4</Quantity>"
                "</EstimateLineAdd></EstimateAdd></EstimateAddRq>"
            ),
        )[0]
    )[0]
    assert est.findtext("TotalAmount") == "538.75" and est.findtext("RefNumber") == "1001"


def test_deleting_a_used_customer_is_refused_and_deletions_are_queryable() -> None:
    qb = fresh()
    used = add_customer(qb, "Uribe").findtext("ListID")
    invoice(qb, "Uribe", line("Labor", "1"))
    spare = add_customer(qb, "Spare").findtext("ListID")
    box = run(
        qb,
        doc(
            f"<ListDelRq><ListDelType>Customer</ListDelType><ListID>{used}</ListID></ListDelRq>"
            f"<ListDelRq><ListDelType>Customer</ListDelType><ListID>{spare}</ListID></ListDelRq>",
            on_error="continueOnError",
        ),
    )
    assert box[0].get("statusCode") == "3170"
    assert ok(box[1]).findtext("FullName") == "Spare"
    gone = run(qb, doc("<ListDeletedQueryRq><ListDelType>Customer</ListDelType></ListDeletedQueryRq>"))[0]
    assert [r.findtext("ListID") for r in gone.findall("ListDeletedRet")] == [spare]
