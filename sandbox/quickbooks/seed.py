"""A contractor company like QuickBooks' Rock Castle Construction sample, deterministic from a seed.

Built the way a bookkeeper builds one — through QuickBooks' own rules (the processor), not by writing
records directly — so seeded data has the same ids, totals, balances and links as anything added later.
``scale`` multiplies customers, documents and payments (×10, ×100 for benchmarks).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree

from .company import Company
from .processor import Processor, SessionState
from .validate import SUPPORTED_VERSIONS

FIRST = [
    "Anna",
    "Brian",
    "Carlos",
    "Dana",
    "Elena",
    "Frank",
    "Grace",
    "Hiro",
    "Irina",
    "Jamal",
    "Kate",
    "Luis",
    "Maya",
    "Nikolai",
    "Olga",
    "Pete",
    "Quinn",
    "Rosa",
    "Sam",
    "Tanya",
    "Umar",
    "Vera",
    "Will",
    "Yuki",
]
LAST = [
    "Abercrombie",
    "Baker",
    "Cook",
    "Duarte",
    "Ecker",
    "Fisher",
    "Gomez",
    "Hendricks",
    "Ivanova",
    "Jacobs",
    "Kowalski",
    "Lew",
    "Melton",
    "Nguyen",
    "Orloff",
    "Pretell",
    "Quon",
    "Robson",
    "Schneider",
    "Teschner",
    "Uribe",
    "Vitale",
    "Wu",
    "Yilmaz",
]
COMPANY_WORDS = ["Bayshore", "Cedar", "Granite", "Harbor", "Lakeside", "Summit", "Redwood", "Mesa", "Pioneer"]
COMPANY_KINDS = [
    "Builders",
    "Properties",
    "Realty",
    "Dental",
    "Cafe",
    "Homes",
    "Storage",
    "Clinic",
    "Offices",
]
JOBS = ["Kitchen", "Remodel Bathroom", "Family Room", "Deck", "Garage Repair", "Roof", "Office Repairs"]
CITIES = [("Bayshore", "CA", "94326"), ("Middlefield", "CA", "94482"), ("Menlo Park", "CA", "94025")]
SERVICES = [
    ("Labor", "Construction labor", "55.00"),
    ("Framing", "Framing labor", "55.00"),
    ("Installation", "Installation labor", "35.00"),
    ("Removal", "Removal labor", "35.00"),
    ("Repairs", "Repair work", "35.00"),
    ("Design", "Custom design", "75.00"),
]
INVENTORY = [
    ("Cabinets", "Cabinet set", "125.00"),
    ("Door Frame", "Standard interior door frame", "25.00"),
    ("Hardware", "Door hardware kit", "45.00"),
    ("Lumber", "Lumber, per board foot", "2.50"),
    ("Tile", "Ceramic tile, per sq ft", "6.75"),
]


@dataclass(frozen=True)
class SeedSize:
    customers: int
    invoices: int
    estimates: int
    payments: int
    materials: int = 0  # extra non-inventory items ("Materials:M0001"…), for item-heavy benchmarks


def size(scale: int = 1) -> SeedSize:
    return SeedSize(customers=40 * scale, invoices=30 * scale, estimates=8 * scale, payments=15 * scale)


def _el(tag: str, value: Any) -> etree._Element:
    el = etree.Element(tag)
    if isinstance(value, dict):
        for k, v in value.items():
            for item in v if isinstance(v, list) else [v]:
                el.append(_el(k, item))
    else:
        el.text = value if isinstance(value, str) else str(value)
    return el


class _Bookkeeper:
    def __init__(self, company: Company) -> None:
        self.processor = Processor(company, versions=SUPPORTED_VERSIONS)
        self.processor.defer_balances = True  # once, in done()
        self.state = SessionState()

    def done(self) -> None:
        self.processor.defer_balances = False
        self.processor.refresh_balances()

    def add(self, kind: str, fields: dict[str, Any]) -> etree._Element:
        rq = etree.Element(f"{kind}AddRq")
        rq.append(_el(f"{kind}Add", fields))
        out = self.processor.one(rq, None, self.state)  # type: ignore[arg-type]
        if out.failed:
            raise RuntimeError(f"seed: {kind} {fields}: {out.element.get('statusMessage')}")
        ret = out.element[0]
        return ret


def seed_company(
    seed: int = 1,
    scale: int = 1,
    *,
    clock: Callable[[], datetime] | None = None,
    sized: SeedSize | None = None,
) -> Company:
    """The sample company; the same seed always gives the same names, amounts and documents.
    ``sized`` overrides ``scale`` with exact counts."""
    rnd = random.Random(seed)
    company = Company(clock=clock)
    bk = _Bookkeeper(company)
    n = sized or size(scale)
    for name, kind in (
        ("Accounts Receivable", "AccountsReceivable"),
        ("Checking", "Bank"),
        ("Undeposited Funds", "OtherCurrentAsset"),
        ("Inventory Asset", "OtherCurrentAsset"),
        ("Construction Income", "Income"),
        ("Cost of Goods Sold", "CostOfGoodsSold"),
        ("Sales Tax Payable", "OtherCurrentLiability"),
    ):
        bk.add("Account", {"Name": name, "AccountType": kind})
    bk.add("SalesTaxCode", {"Name": "Tax", "IsTaxable": "true", "Desc": "Taxable sales"})
    bk.add("SalesTaxCode", {"Name": "Non", "IsTaxable": "false", "Desc": "Non-taxable sales"})
    bk.add("Vendor", {"Name": "State Board of Equalization", "CompanyName": "State Board of Equalization"})
    bk.add(
        "ItemSalesTax",
        {
            "Name": "San Tomas",
            "ItemDesc": "Sales tax, San Tomas County",
            "TaxRate": "7.75",
            "TaxVendorRef": {"FullName": "State Board of Equalization"},
        },
    )
    bk.add(
        "ItemSalesTax",
        {
            "Name": "East Bayshore",
            "ItemDesc": "Sales tax, East Bayshore",
            "TaxRate": "8.25",
            "TaxVendorRef": {"FullName": "State Board of Equalization"},
        },
    )
    company.default_tax_item = "San Tomas"
    for name, days in (("Net 30", 30), ("Net 15", 15), ("Due on receipt", 0)):
        bk.add("StandardTerms", {"Name": name, "StdDueDays": days})
    for method in ("Check", "Cash", "Visa", "MasterCard"):
        bk.add("PaymentMethod", {"Name": method})
    for ship in ("UPS", "Federal Express", "Our truck"):
        bk.add("ShipMethod", {"Name": ship})
    for cls in ("New Construction", "Remodel", "Repairs"):
        bk.add("Class", {"Name": cls})
    for ctype in ("Commercial", "Residential", "Referral"):
        bk.add("CustomerType", {"Name": ctype})
    for first, last, initial in (
        ("Elizabeth", "Mason", "EM"),
        ("Gregg", "Schneider", "GS"),
        ("Dan", "Miller", "DM"),
    ):
        bk.add("Employee", {"FirstName": first, "LastName": last})
        bk.add("SalesRep", {"Initial": initial, "SalesRepEntityRef": {"FullName": f"{first} {last}"}})
    for i in range(8):
        name = (
            f"{rnd.choice(COMPANY_WORDS)} {rnd.choice(['Lumber', 'Supply', 'Plumbing', 'Electric'])} {i + 1}"
        )
        bk.add("Vendor", {"Name": name, "CompanyName": name, "Phone": f"415-555-{1000 + i:04d}"})
    for name, desc, price in SERVICES:
        bk.add(
            "ItemService",
            {
                "Name": name,
                "SalesTaxCodeRef": {"FullName": "Non"},
                "SalesOrPurchase": {
                    "Desc": desc,
                    "Price": price,
                    "AccountRef": {"FullName": "Construction Income"},
                },
            },
        )
    for name, desc, price in INVENTORY:
        bk.add(
            "ItemInventory",
            {
                "Name": name,
                "SalesTaxCodeRef": {"FullName": "Tax"},
                "SalesDesc": desc,
                "SalesPrice": price,
                "IncomeAccountRef": {"FullName": "Construction Income"},
                "COGSAccountRef": {"FullName": "Cost of Goods Sold"},
                "AssetAccountRef": {"FullName": "Inventory Asset"},
            },
        )
    bk.add(
        "ItemNonInventory",
        {
            "Name": "Permit",
            "SalesTaxCodeRef": {"FullName": "Non"},
            "SalesOrPurchase": {
                "Desc": "Building permit",
                "Price": "150.00",
                "AccountRef": {"FullName": "Construction Income"},
            },
        },
    )
    bk.add(
        "ItemOtherCharge",
        {
            "Name": "Delivery",
            "SalesTaxCodeRef": {"FullName": "Non"},
            "SalesOrPurchase": {
                "Desc": "Delivery charge",
                "Price": "40.00",
                "AccountRef": {"FullName": "Construction Income"},
            },
        },
    )
    materials = [f"M{i + 1:04d}" for i in range(n.materials)]
    if materials:
        bk.add("ItemNonInventory", {"Name": "Materials", "SalesOrPurchase": {
            "Desc": "Materials", "AccountRef": {"FullName": "Construction Income"}}})  # fmt: skip
    for i, name in enumerate(materials):
        bk.add(
            "ItemNonInventory",
            {
                "Name": name,
                "ParentRef": {"FullName": "Materials"},
                "SalesTaxCodeRef": {"FullName": "Tax"},
                "SalesOrPurchase": {
                    "Desc": f"{rnd.choice(['Copper', 'Steel', 'Oak', 'PVC'])} stock #{i + 1}",
                    "Price": f"{rnd.randint(1, 400)}.{rnd.randint(0, 99):02d}",
                    "AccountRef": {"FullName": "Construction Income"},
                },
            },
        )
    bk.add("ItemSubtotal", {"Name": "Subtotal", "ItemDesc": "Subtotal"})
    bk.add(
        "ItemDiscount",
        {
            "Name": "Discount",
            "ItemDesc": "10% discount",
            "DiscountRatePercent": "10.0",
            "AccountRef": {"FullName": "Construction Income"},
        },
    )

    customers: list[str] = []
    used: set[str] = set()
    for i in range(n.customers):
        city, state, zip_code = rnd.choice(CITIES)
        if i % 3 == 0:
            name = f"{rnd.choice(COMPANY_WORDS)} {rnd.choice(COMPANY_KINDS)}"
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            fields: dict[str, Any] = {"CompanyName": name}
        else:
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            name = f"{last}, {first}"
            fields = {}
        base, k = name, 2
        while name.casefold() in used:
            name = f"{base} {k}"
            k += 1
        used.add(name.casefold())
        fields.update(
            {
                "Name": name,
                "FirstName": first,
                "LastName": last,
                "BillAddress": {
                    "Addr1": f"{rnd.randint(10, 9999)} {rnd.choice(['Oak', 'Pine', 'Main', 'Bay'])} St.",
                    "City": city,
                    "State": state,
                    "PostalCode": zip_code,
                },
                "Phone": f"650-555-{rnd.randint(1000, 9999)}",
                "Email": f"{first.lower()}.{last.lower()}{i}@example.com",
                "CustomerTypeRef": {"FullName": rnd.choice(["Commercial", "Residential", "Referral"])},
                "TermsRef": {"FullName": rnd.choice(["Net 30", "Net 15", "Due on receipt"])},
                "SalesRepRef": {"FullName": rnd.choice(["EM", "GS", "DM"])},
                "SalesTaxCodeRef": {"FullName": "Tax"},
                "ItemSalesTaxRef": {"FullName": rnd.choice(["San Tomas", "San Tomas", "East Bayshore"])},
                "CreditLimit": f"{rnd.choice([5000, 10000, 25000])}.00",
            }
        )
        bk.add("Customer", fields)
        customers.append(name)
        if rnd.random() < 0.4:
            job = rnd.choice(JOBS)
            bk.add(
                "Customer",
                {
                    "Name": job,
                    "ParentRef": {"FullName": name},
                    "JobStatus": "InProgress",
                    "JobDesc": f"{job} for {name}",
                },
            )
            customers.append(f"{name}:{job}")

    all_items = [s[0] for s in SERVICES] + [s[0] for s in INVENTORY] + ["Permit", "Delivery"]
    all_items += [f"Materials:{m}" for m in materials]
    start = date(2026, 1, 5)
    invoices: list[etree._Element] = []
    for i in range(n.invoices):
        lines = [
            {"ItemRef": {"FullName": rnd.choice(all_items)}, "Quantity": str(rnd.randint(1, 40))}
            for _ in range(rnd.randint(1, 5))
        ]
        txn_date = start + timedelta(days=rnd.randint(0, 300))
        invoices.append(
            bk.add(
                "Invoice",
                {
                    "CustomerRef": {"FullName": rnd.choice(customers)},
                    "TxnDate": txn_date.isoformat(),
                    "InvoiceLineAdd": lines,
                    "PONumber": f"PO-{7000 + i}",
                },
            )
        )
    for _ in range(n.estimates):
        lines = [
            {"ItemRef": {"FullName": rnd.choice(all_items)}, "Quantity": str(rnd.randint(1, 30))}
            for _ in range(rnd.randint(1, 4))
        ]
        bk.add(
            "Estimate",
            {
                "CustomerRef": {"FullName": rnd.choice(customers)},
                "TxnDate": (start + timedelta(days=rnd.randint(0, 300))).isoformat(),
                "EstimateLineAdd": lines,
            },
        )
    for inv in rnd.sample(invoices, min(n.payments, len(invoices))):
        balance = Decimal(inv.findtext("BalanceRemaining") or "0")
        if balance <= 0:
            continue
        amount = balance if rnd.random() < 0.7 else (balance / 2).quantize(Decimal("0.01"))
        bk.add(
            "ReceivePayment",
            {
                "CustomerRef": {"ListID": inv.findtext("CustomerRef/ListID")},
                "TxnDate": inv.findtext("TxnDate"),
                "TotalAmount": f"{amount:.2f}",
                "PaymentMethodRef": {"FullName": rnd.choice(["Check", "Visa", "Cash"])},
                "AppliedToTxnAdd": {"TxnID": inv.findtext("TxnID"), "PaymentAmount": f"{amount:.2f}"},
            },
        )
    bk.done()
    return company
