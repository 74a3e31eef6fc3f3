"""Random valid requests: every answer parses, conforms to the catalogue's Ret shapes, and keeps the books."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import doc, fresh, run

# Letters QuickBooks stores, ones it escapes on output, and ones outside its code page ('?').
ALPHABET = "abcXYZ019 &<>'\"éü-.,中ж"
names = st.text(ALPHABET, min_size=1, max_size=41).map(str.strip).filter(bool)
CENT = Decimal("0.01")
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
qty = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("40"), places=1)


def customer_add(name: str, company: str | None, phone: str | None, city: str | None) -> str:
    body = f"<Name>{escape(name)}</Name>"
    if company:
        body += f"<CompanyName>{escape(company)}</CompanyName>"
    if city:
        body += f"<BillAddress><Addr1>1 Main St</Addr1><City>{escape(city[:31])}</City></BillAddress>"
    if phone:
        body += f"<Phone>{escape(phone[:21])}</Phone>"
    return f"<CustomerAddRq><CustomerAdd>{body}</CustomerAdd></CustomerAddRq>"


def invoice_add(customer_list_id: str, lines: list[tuple[str, Decimal, Decimal]]) -> str:
    body = "".join(
        f"<InvoiceLineAdd><ItemRef><FullName>{item}</FullName></ItemRef><Quantity>{q}</Quantity>"
        f"<Rate>{rate}</Rate></InvoiceLineAdd>"
        for item, q, rate in lines
    )
    return (
        f"<InvoiceAddRq><InvoiceAdd><CustomerRef><ListID>{customer_list_id}</ListID></CustomerRef>"
        f"{body}</InvoiceAdd></InvoiceAddRq>"
    )


def _in_code_page(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


customers = st.lists(
    st.tuples(
        names, st.none() | names, st.none() | st.text("0123456789-() ", max_size=21), st.none() | names
    ),
    min_size=1,
    max_size=6,
)
invoice_lines = st.lists(
    st.tuples(st.sampled_from(["Labor", "Cabinets"]), qty, money), min_size=1, max_size=5
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers, st.lists(invoice_lines, max_size=4), st.sampled_from(["stopOnError", "continueOnError"]))
def test_random_valid_requests_conform_and_keep_the_books(
    people: list[tuple[str, str | None, str | None, str | None]],
    invoices: list[list[tuple[str, Decimal, Decimal]]],
    on_error: str,
) -> None:
    qb = fresh()
    adds = "".join(customer_add(*p) for p in people)
    box = run(qb, doc(adds, on_error=on_error))  # run() checks every answer against the catalogue
    codes = [rs.get("statusCode") for rs in box]
    assert set(codes) <= {"0", "3100", "3231"}, codes
    if on_error == "continueOnError":
        assert "3231" not in codes
    made = [rs[0] for rs in box if rs.get("statusCode") == "0"]
    assert made, "the first customer of a fresh company always goes in"
    for (name, *_), rs in zip(people, box, strict=True):
        if rs.get("statusCode") != "0":
            continue
        stored = rs[0].findtext("Name", "")
        assert len(stored) == len(name)
        for sent, kept in zip(name, stored, strict=True):
            assert kept == sent or (kept == "?" and not _in_code_page(sent)), (name, stored)
    owed = Decimal(0)
    for n, lines in enumerate(invoices):
        who = made[n % len(made)].findtext("ListID", "")
        rs = run(qb, doc(invoice_add(who, lines)))[0]
        assert rs.get("statusCode") == "0", rs.get("statusMessage")
        inv = rs[0]
        amounts = [Decimal(x.text or "0") for x in inv.iter("Amount")]
        subtotal = Decimal(inv.findtext("Subtotal", "0"))
        assert sum(amounts) == subtotal
        assert subtotal == sum((q * r).quantize(CENT, ROUND_HALF_UP) for _, q, r in lines)
        total = subtotal + Decimal(inv.findtext("SalesTaxTotal", "0"))
        assert Decimal(inv.findtext("BalanceRemaining", "0")) == total
        owed += total
    listed = run(
        qb,
        doc(
            "<CustomerQueryRq><ActiveStatus>All</ActiveStatus></CustomerQueryRq>"
            "<InvoiceQueryRq><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
        ),
    )
    balances = sum(Decimal(c.findtext("TotalBalance", "0")) for c in listed[0])
    assert balances == owed
    assert len(listed[0]) == len(made)
    assert len(listed[1]) == len(invoices) or (not invoices and listed[1].get("statusCode") == "1")
