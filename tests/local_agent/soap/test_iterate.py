"""Iterator pages merged into one answer: every record once, in order, with the iterator's last state."""

from __future__ import annotations

from lxml import etree

from local_agent.soap import iterate


def _page(customers: list[str], invoices: list[str], *, left: tuple[int, int], first: bool) -> str:
    def rs(tag: str, records: list[str], remaining: int, rid: str) -> str:
        if not first and not records and remaining == 0:
            return ""
        return (
            f'<{tag}QueryRs requestID="{rid}" statusCode="0" statusSeverity="Info" statusMessage="Status OK" '
            f'retCount="{len(records)}" iteratorRemainingCount="{remaining}" iteratorID="it-{rid}">'
            + "".join(records)
            + f"</{tag}QueryRs>"
        )

    body = rs("Customer", customers, left[0], "c") + rs("Invoice", invoices, left[1], "i")
    return f'<?xml version="1.0"?><QBXML><QBXMLMsgsRs>{body}</QBXMLMsgsRs></QBXML>'


def customer(n: int) -> str:
    return (
        f"<CustomerRet><ListID>C{n}</ListID><Name>Kowalski &amp; Sons {n} — Łódź \ue000</Name></CustomerRet>"
    )


def invoice(n: int) -> str:
    return f"<InvoiceRet><TxnID>I{n}</TxnID><Memo>&lt;tag&gt; {n}</Memo></InvoiceRet>"


def test_two_iterators_of_different_lengths_become_one_complete_answer() -> None:
    first = _page([customer(0), customer(1)], [invoice(0)], left=(3, 1), first=True)
    pages = iterate.Pages(first)
    waiting = iterate.pending(first)
    assert [(w.index, w.remaining) for w in waiting] == [(0, 3), (1, 1)]
    second = (
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs>'
        '<CustomerQueryRs requestID="c" statusCode="0" statusSeverity="Info" statusMessage="Status OK" '
        f'retCount="2" iteratorRemainingCount="1" iteratorID="it-c">{customer(2)}{customer(3)}'
        "</CustomerQueryRs>"
        '<InvoiceQueryRs requestID="i" statusCode="0" statusSeverity="Info" statusMessage="Status OK" '
        f'retCount="1" iteratorRemainingCount="0" iteratorID="it-i">{invoice(1)}</InvoiceQueryRs>'
        "</QBXMLMsgsRs></QBXML>"
    )
    pages.add(second, waiting)
    waiting = iterate.pending(second)
    assert [(w.index, w.remaining) for w in waiting] == [(0, 1)]
    third = (
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs>'
        '<CustomerQueryRs requestID="c" statusCode="0" statusSeverity="Info" statusMessage="Status OK" '
        f'retCount="1" iteratorRemainingCount="0" iteratorID="it-c">{customer(4)}</CustomerQueryRs>'
        "</QBXMLMsgsRs></QBXML>"
    )
    pages.add(third, waiting)

    merged = etree.fromstring(pages.text().encode())
    customers, invoices = list(merged.find("QBXMLMsgsRs"))
    assert [c.findtext("ListID") for c in customers] == ["C0", "C1", "C2", "C3", "C4"]
    assert customers[4].findtext("Name") == "Kowalski & Sons 4 — Łódź \ue000"  # text kept exactly
    assert customers.get("retCount") == "5" and customers.get("iteratorRemainingCount") == "0"
    assert [i.findtext("TxnID") for i in invoices] == ["I0", "I1"] and invoices.get("retCount") == "2"
    assert invoices[1].findtext("Memo") == "<tag> 1"


def test_a_first_page_with_nothing_left_comes_back_as_it_was() -> None:
    first = _page([customer(0)], [], left=(0, 0), first=True)
    assert iterate.pending(first) == []
    merged = etree.fromstring(iterate.Pages(first).text().encode())
    assert [c.findtext("ListID") for c in merged.iter("CustomerRet")] == ["C0"]
    assert merged.find("QBXMLMsgsRs/CustomerQueryRs").get("retCount") == "1"


def test_pending_reads_only_the_responses_and_refuses_what_is_not_qbxml() -> None:
    import pytest

    from shared.qbxml.errors import QbxmlError

    done = _page([customer(0)], [invoice(0)], left=(0, 0), first=True)
    assert iterate.pending(done) == []
    with pytest.raises(ValueError, match="root element is <html>"):
        iterate.pending("<html><body>proxy error</body></html>")
    with pytest.raises(QbxmlError):
        iterate.pending('<?xml version="1.0"?><QBXML><QBXMLMsgsRs><CustomerQueryRs')
