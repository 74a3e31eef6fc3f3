"""A portal like the seed's: 560 contacts, 81 companies with requisite addresses, 716 leads, 74 deals over
three pipelines with product rows and activities, 4 smart invoices, 8 catalog products, 41 users —
deterministic from a seed number, ×``scale`` for benchmarks. Written through the store, so it fires no
events (nothing is installed yet when a portal is seeded)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from .emulator import Bitrix24, Portal
from .store import Origin, Store

FIRST = [
    "Olga",
    "Ivan",
    "Maria",
    "John",
    "Anna",
    "Peter",
    "Elena",
    "David",
    "Sara",
    "Mark",
    "Nina",
    "Paul",
    "Irina",
    "Tom",
    "Kate",
    "Alex",
    "Lena",
    "Sam",
    "Vera",
    "Mike",
    "Зоя",
    "José",
    "Chloé",
    "Søren",
]
LAST = [
    "Abercrombie",
    "Baker",
    "Cook",
    "Dunn",
    "Ellis",
    "Fisher",
    "Gray",
    "Hill",
    "Irwin",
    "Jones",
    "Kim",
    "Lopez",
    "Miller",
    "Novak",
    "Olsen",
    "Price",
    "Quinn",
    "Reyes",
    "Smith",
    "Turner",
    "Иванова",
    "O'Brien",
]
TRADES = [
    "Construction",
    "Plumbing",
    "Roofing",
    "Electric",
    "Cabinets",
    "Remodeling",
    "Landscaping",
    "Glass",
    "Tile & Stone",
    "Painting",
    "HVAC",
]
CITIES = [
    ("Bayshore", "CA", "94326"),
    ("Middlefield", "CA", "94482"),
    ("Menlo Park", "CA", "94025"),
    ("Half Moon Bay", "CA", "94019"),
    ("Sunnyvale", "CA", "94086"),
]
PRODUCTS = [
    ("Labor", "55.00"),
    ("Cabinets", "125.00"),
    ("Door Frame", "12.00"),
    ("Hardware: Lk Doorknobs", "38.00"),
    ("Interior Door", "70.00"),
    ("Lumber: Trim", "2.50"),
    ("Concrete Slab", "25.00"),
    ("Design", "75.00"),
]
PIPELINES = [
    (
        0,
        "General",
        [
            "NEW:New",
            "PREPARATION:Preparing documents",
            "PREPAYMENT_INVOICE:Invoice",
            "EXECUTING:In progress",
            "FINAL_INVOICE:Final invoice",
        ],
    ),
    (1, "Work Orders", ["NEW:New", "PREPARATION:Scheduled", "EXECUTING:On site"]),
    (2, "Subcontractor Projects", ["NEW:New", "PREPARATION:Bid", "EXECUTING:Contracted"]),
]


# The directories every new portal has (docs: api-reference/crm/status/crm-status-entity-types.md names
# them; the items are typical of a fresh portal — exact lists vary by version and region, UNCONFIRMED).
# With the pipelines they make crm.status.list longer than one page of 50, as on a real portal.
DICTIONARIES = {
    "SOURCE": ["CALL", "EMAIL", "WEB", "ADVERTISING", "PARTNER", "RECOMMENDATION", "TRADE_SHOW",
               "WEBFORM", "CALLBACK", "RC_GENERATOR", "STORE", "OTHER"],
    "EMPLOYEES": ["EMPLOYEES_1", "EMPLOYEES_2", "EMPLOYEES_3", "EMPLOYEES_4"],
    "INDUSTRY": ["IT", "TELECOM", "MANUFACTURING", "BANKING", "CONSULTING", "FINANCE", "GOVERNMENT",
                 "DELIVERY", "ENTERTAINMENT", "NOTPROFIT", "OTHER"],
    "DEAL_TYPE": ["SALE", "COMPLEX", "GOODS", "SERVICES", "SERVICE"],
    "HONORIFIC": ["HNR_EN_1", "HNR_EN_2", "HNR_EN_3", "HNR_EN_4"],
}  # fmt: skip


def add_dictionaries(store: Store) -> None:
    for entity, ids in DICTIONARIES.items():
        for i, sid in enumerate(ids):
            store.add_status(entity, sid, sid.replace("_", " ").title(), (i + 1) * 10)


def add_pipelines(store: Store) -> None:
    from .store import Category

    store.categories = []
    for cid, name, stages in PIPELINES:
        store.categories.append(Category(cid, 2, name, (cid + 1) * 100, cid == 0))
        prefix = "" if cid == 0 else f"C{cid}:"
        entity = store.stage_entity(2, cid)
        for i, spec in enumerate(stages):
            sid, label = spec.split(":", 1)
            store.add_status(entity, prefix + sid, label, (i + 1) * 10, None, cid)
        store.add_status(entity, prefix + "WON", "Deal won", 60 + len(stages), "S", cid)
        store.add_status(entity, prefix + "LOSE", "Deal lost", 70 + len(stages), "F", cid)
    store.categories.append(Category(0, 31, "Invoices", 100, True))
    for i, (sid, label, sem) in enumerate(
        [("N", "New", None), ("S", "Sent", None), ("P", "Paid", "S"), ("D", "Unpaid", "F")]
    ):
        store.add_status("SMART_INVOICE_STAGE_0", f"DT31_0:{sid}", label, (i + 1) * 10, sem, 0)
    store.categories.append(Category(0, 7, "Quotes", 100, True))
    for i, (sid, label) in enumerate([("DRAFT", "New"), ("SENT", "Sent"), ("APPROVED", "Approved")]):
        store.add_status("QUOTE_STATUS", sid, label, (i + 1) * 10, "S" if sid == "APPROVED" else None)
    for i, (sid, label) in enumerate(
        [("CLIENT", "Client"), ("SUPPLIER", "Supplier"), ("PARTNER", "Partner")]
    ):
        store.add_status("CONTACT_TYPE", sid, label, (i + 1) * 10)
        store.add_status("COMPANY_TYPE", sid, label, (i + 1) * 10)
    for i, sid in enumerate(["NEW", "IN_PROCESS", "CONVERTED", "JUNK"]):
        store.add_status(
            "STATUS",
            sid,
            sid.replace("_", " ").title(),
            (i + 1) * 10,
            {"CONVERTED": "S", "JUNK": "F"}.get(sid),
        )


def seed_portal(
    emu: Bitrix24, domain: str = "acme.bitrix24.com", *, seed: int = 1, scale: int = 1, plan: str = "standard"
) -> Portal:
    rnd = random.Random(seed)
    portal = emu.add_portal(domain, plan=plan)
    store = portal.store
    admin = portal.add_user("Admin", "Owner", f"admin@{domain}", admin=True, position="Owner")
    for i in range(40):
        portal.add_user(rnd.choice(FIRST), rnd.choice(LAST), f"user{i + 2}@{domain}", position="Sales")
    add_dictionaries(store)
    add_pipelines(store)
    me = Origin(admin.id)
    for i, (name, price) in enumerate(PRODUCTS):
        portal.products[i + 1] = {
            "id": i + 1,
            "iblockId": portal.catalog_iblock,
            "name": name,
            "active": "Y",
            "code": name.lower().replace(" ", "-"),
            "xmlId": str(i + 1),
            "measure": 5,
            "vatId": 1,
            "vatIncluded": "N",
            "purchasingPrice": float(price),
            "purchasingCurrency": "USD",
            "quantity": 10,
            "type": 1,
            "detailText": "",
            "sectionId": None,
            "dateCreate": portal.now().isoformat(),
            "timestampX": portal.now().isoformat(),
        }
    users = list(portal.users)
    companies = []
    for i in range(81 * scale):
        trade = TRADES[i % len(TRADES)]
        title = f"{rnd.choice(LAST)} {trade}" + (f" {i // len(TRADES)}" if i >= len(TRADES) else "")
        city, state, zip_code = rnd.choice(CITIES)
        c = store.add(
            4,
            {
                "TITLE": title,
                "COMPANY_TYPE": "CLIENT",
                "ASSIGNED_BY_ID": rnd.choice(users),
                "PHONE": [{"VALUE": f"+1 650-555-{1000 + i:04}", "VALUE_TYPE": "WORK"}],
                "EMAIL": [
                    {
                        "VALUE": f"office{i}@{trade.lower().replace(' & ', '')}.example.com",
                        "VALUE_TYPE": "WORK",
                    }
                ],
            },
            me,
        )
        companies.append(c["ID"])
        rid = max(portal.requisites, default=0) + 1
        portal.requisites[rid] = {
            "ID": rid,
            "ENTITY_TYPE_ID": 4,
            "ENTITY_ID": c["ID"],
            "PRESET_ID": 1,
            "NAME": title,
            "ACTIVE": "Y",
        }
        portal.addresses[(6, 8, rid)] = {
            "TYPE_ID": "6",
            "ENTITY_TYPE_ID": "8",
            "ENTITY_ID": str(rid),
            "ADDRESS_1": f"{rnd.randint(100, 9999)} Main St.",
            "CITY": city,
            "PROVINCE": state,
            "POSTAL_CODE": zip_code,
            "COUNTRY": "USA",
            "COUNTRY_CODE": "US",
        }
    contacts = []
    for i in range(560 * scale):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        fields = {
            "NAME": first,
            "LAST_NAME": last,
            "TYPE_ID": "SUPPLIER" if i % 23 == 0 else "CLIENT",
            "ASSIGNED_BY_ID": rnd.choice(users),
            "EMAIL": [{"VALUE": f"{first.lower()}.{last.lower()}{i}@example.com", "VALUE_TYPE": "WORK"}]
            if first.isascii() and last.replace("'", "").isascii()
            else [],
            "PHONE": [{"VALUE": f"+1 415-555-{i % 10000:04}", "VALUE_TYPE": "MOBILE"}],
        }
        if i % 3 == 0:
            fields["COMPANY_ID"] = rnd.choice(companies)
        contacts.append(store.add(3, fields, me)["ID"])
    for i in range(716 * scale):
        store.add(
            1,
            {
                "TITLE": f"Lead {i + 1}: {rnd.choice(TRADES)} enquiry",
                "NAME": rnd.choice(FIRST),
                "LAST_NAME": rnd.choice(LAST),
                "STATUS_ID": rnd.choice(["NEW", "IN_PROCESS", "JUNK"]),
                "OPPORTUNITY": str(rnd.randint(5, 500) * 10),
            },
            me,
        )
    deals: list[tuple[int, int]] = []
    for i in range(74 * scale):
        cid, _, stages = PIPELINES[i % 3]
        prefix = "" if cid == 0 else f"C{cid}:"
        stage = rnd.choice([s.split(":")[0] for s in stages] + ["WON"])
        deal = store.add(
            2,
            {
                "TITLE": f"{rnd.choice(['Kitchen', 'Bathroom', 'Deck', 'Roof', 'Garage'])} job #{1000 + i}",
                "CATEGORY_ID": cid,
                "STAGE_ID": prefix + stage,
                "COMPANY_ID": rnd.choice(companies),
                "CONTACT_IDS": [rnd.choice(contacts)],
                "ASSIGNED_BY_ID": rnd.choice(users),
                "CURRENCY_ID": "USD",
            },
            me,
        )
        rows = []
        for j in range(rnd.randint(1, 4)):
            pid = rnd.randint(1, len(PRODUCTS))
            name, price = PRODUCTS[pid - 1]
            rows.append(
                {
                    "PRODUCT_ID": pid,
                    "PRODUCT_NAME": name,
                    "PRICE": price,
                    "QUANTITY": str(rnd.randint(1, 12)),
                    "TAX_RATE": "7.75" if j % 2 else None,
                }
            )
        store.set_rows("D", deal["ID"], rows, me)
        deals.append((deal["ID"], deal["ASSIGNED_BY_ID"]))
    for i in range(4 * scale):
        store.add(
            31,
            {
                "TITLE": f"Invoice {i + 1}",
                "STAGE_ID": "DT31_0:N",
                "COMPANY_ID": companies[i],
                "OPPORTUNITY": str(Decimal(rnd.randint(100, 5000))),
                "IS_MANUAL_OPPORTUNITY": "Y",
                "PARENT_ID_2": i + 1,
            },
            me,
        )
    _activities(store, deals, random.Random(seed + 7919), portal.now())
    return portal


def _activities(store: Store, deals: list[tuple[int, int]], rnd: random.Random, now: datetime) -> None:
    """Calls, meetings and e-mails on the deals (its own random stream: the rest of the seed is unchanged)."""
    subjects = {1: "Site visit", 2: "Call about the estimate", 4: "Sent the quote"}
    for deal_id, owner in deals:
        for _ in range(rnd.randint(0, 3)):
            kind = rnd.choice(list(subjects))
            aid = len(store.activities) + 1
            created = now - timedelta(days=rnd.randint(1, 120))
            store.activities[aid] = {
                "ID": aid,
                "OWNER_TYPE_ID": 2,
                "OWNER_ID": deal_id,
                "TYPE_ID": kind,
                "SUBJECT": subjects[kind],
                "DESCRIPTION": "",
                "COMPLETED": rnd.random() < 0.7,
                "RESPONSIBLE_ID": owner,
                "CREATED": created,
                "DEADLINE": created + timedelta(days=2),
            }
