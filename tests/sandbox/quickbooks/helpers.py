"""Raw qbXML for the simulator tests — written by hand, never by the product's builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxml import etree

from sandbox.quickbooks import Company, SimulatedQuickBooks
from shared.qbxml.schema import load

from ...shared.qbxml.conformance import problems


class Clock:
    def __init__(self, start: datetime = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: int = 1) -> None:
        self.now += timedelta(seconds=seconds)


def doc(body: str, *, version: str = "13.0", on_error: str = "stopOnError", attrs: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{version}"?>\n<QBXML>'
        f'<QBXMLMsgsRq onError="{on_error}"{attrs}>{body}</QBXMLMsgsRq></QBXML>'
    )


def fresh(clock: Clock | None = None) -> SimulatedQuickBooks:
    """An empty company with the lists a contractor always has: tax codes, a tax item, an income account."""
    qb = SimulatedQuickBooks(Company(clock=clock or Clock()))
    setup = [
        "<SalesTaxCodeAddRq><SalesTaxCodeAdd><Name>Tax</Name><IsTaxable>true</IsTaxable>"
        "</SalesTaxCodeAdd></SalesTaxCodeAddRq>",
        "<SalesTaxCodeAddRq><SalesTaxCodeAdd><Name>Non</Name><IsTaxable>false</IsTaxable>"
        "</SalesTaxCodeAdd></SalesTaxCodeAddRq>",
        "<ItemSalesTaxAddRq><ItemSalesTaxAdd><Name>San Tomas</Name><TaxRate>7.75</TaxRate>"
        "</ItemSalesTaxAdd></ItemSalesTaxAddRq>",
        "<AccountAddRq><AccountAdd><Name>Income</Name><AccountType>Income</AccountType>"
        "</AccountAdd></AccountAddRq>",
        item("ItemService", "Labor", "Non", "Labor hour", "55.00"),
        item("ItemNonInventory", "Cabinets", "Tax", "Cabinet set", "125.00"),
    ]
    run(qb, doc("".join(setup)))
    qb.company.default_tax_item = "San Tomas"
    return qb


def item(kind: str, name: str, tax: str, desc: str, price: str) -> str:
    return (
        f"<{kind}AddRq><{kind}Add><Name>{name}</Name><SalesTaxCodeRef><FullName>{tax}</FullName>"
        f"</SalesTaxCodeRef><SalesOrPurchase><Desc>{desc}</Desc><Price>{price}</Price><AccountRef>"
        f"<FullName>Income</FullName></AccountRef></SalesOrPurchase></{kind}Add></{kind}AddRq>"
    )


def run(qb: SimulatedQuickBooks, xml: str, state: object = None, *, conform: bool = True) -> etree._Element:
    """Process and return the QBXMLMsgsRs element, after checking every answer against the catalogue."""
    out = qb.process(xml, state) if state is not None else qb.process(xml)  # type: ignore[arg-type]
    root = etree.fromstring(out.encode())
    box = root.find("QBXMLMsgsRs")
    assert box is not None
    schema = load()
    for rs in box if conform else []:
        found = problems(rs, schema.message(rs.tag))
        assert not found, found
    return box


def ok(rs: etree._Element) -> etree._Element:
    assert rs.get("statusCode") == "0", (rs.get("statusCode"), rs.get("statusMessage"))
    return rs


def add_customer(qb: SimulatedQuickBooks, name: str, extra: str = "") -> etree._Element:
    box = run(
        qb, doc(f"<CustomerAddRq><CustomerAdd><Name>{name}</Name>{extra}</CustomerAdd></CustomerAddRq>")
    )
    return ok(box[0])[0]


def invoice(qb: SimulatedQuickBooks, customer: str, lines: str, extra: str = "") -> etree._Element:
    box = run(
        qb,
        doc(
            f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef>"
            f"{extra}{lines}</InvoiceAdd></InvoiceAddRq>"
        ),
    )
    return ok(box[0])[0]


def line(item: str, qty: str | None = None, rate: str | None = None, amount: str | None = None) -> str:
    parts = f"<ItemRef><FullName>{item}</FullName></ItemRef>"
    if qty is not None:
        parts += f"<Quantity>{qty}</Quantity>"
    if rate is not None:
        parts += f"<Rate>{rate}</Rate>"
    if amount is not None:
        parts += f"<Amount>{amount}</Amount>"
    return f"<InvoiceLineAdd>{parts}</InvoiceLineAdd>"
