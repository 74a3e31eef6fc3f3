"""A deal to sync and the first sync, done the way people do them (the page API, a webhook for the CRM)."""

from __future__ import annotations

from typing import Any

from ..e2e.invariants import BITRIX24, TITLE, Deal, Edit
from ..e2e.truth import Scenario
from .harness import Product, wait

ROWS: list[dict[str, Any]] = [
    {"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "55.00", "QUANTITY": 2},
    {"PRODUCT_ID": 7, "PRODUCT_NAME": "Concrete Slab", "PRICE": "25.00", "QUANTITY": 3},
]


def new_deal(p: Product, scenario: Scenario, title: str = "Umbrella Corp") -> Deal:
    """A person makes a company and a deal with products in Bitrix24."""
    company = str(p.rest("crm.company.add", {"fields": {"TITLE": title}}))
    deal_id = str(
        p.rest(
            "crm.deal.add", {"fields": {"TITLE": f"{title} job", "COMPANY_ID": company, "CURRENCY_ID": "USD"}}
        )
    )
    p.rest("crm.deal.productrows.set", {"id": deal_id, "rows": ROWS})
    deal = Deal(deal_id, ("company", company))
    scenario.person_records.add(deal.client)
    scenario.edits.append(Edit(BITRIX24, f"company:{company}", TITLE, title))
    scenario.deals.append(deal)
    return deal


def click_sync(p: Product, deal: Deal) -> str:
    """ "Sync to QuickBooks" on the deal; the sync's id."""
    answer = p.api("POST", f"/deals/{deal.deal_id}/sync", json={})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["sync_id"])


def sync_state(p: Product, sync_id: str) -> str:
    return str(p.api("GET", f"/syncs/{sync_id}").json()["state"])


def start_first_sync(p: Product) -> None:
    answer = p.api("POST", "/initial-sync")
    assert answer.status_code == 202, answer.text


def first_sync_done(p: Product) -> bool:
    state = p.api("GET", "/initial-sync").json()
    return all((state.get(k) or {}).get("state") == "done" for k in ("state", "items", "documents"))


def queued_in_agent(p: Product) -> None:
    """The relay handed the job to the agent, which stored it: the Web Connector will find it."""
    wait(lambda: p.agent_queue().get("pending"), 60, "a job stored in the agent's queue")
