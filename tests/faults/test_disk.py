"""The disk under the cloud's database full, then space again (issue 18, case 5): clear answers instead of
HTTP 500 pages, ``/healthz`` not OK while it lasts, nothing lost, and processing going on by itself once
space returns — no restart.

The disk is the cloud process's file-size limit (``RLIMIT_FSIZE``) lowered under the database's size: a write
past it fails as on a full disk (SQLite: ``SQLITE_FULL`` or "disk I/O error"); at 0 every write fails, as on
a disk remounted read-only. Reads go on.
"""

from __future__ import annotations

import pytest
import requests

from ..e2e.invariants import BITRIX24, TITLE, Edit
from .checks import assert_whole, scenario_at_start
from .harness import Product, wait
from .scenario import click_sync, new_deal, queued_in_agent

DISKS = {"full": 4096, "read-only": 0}  # bytes a file may reach: the first page of each, or nothing


def renamed(world: Product, title: str) -> bool:
    qb = world.quickbooks_now()
    return any(r.el.findtext("CompanyName") == title for r in qb.company.of_kind("Customer"))


@pytest.mark.parametrize("disk", list(DISKS))
def test_disk_full_under_the_cloud_then_space_again(world: Product, disk: str) -> None:
    scenario = scenario_at_start(world)
    deal = new_deal(world, scenario)
    later = new_deal(world, scenario, "Initech LLC")  # clicked while the disk is full: refused, nothing made
    scenario.deals.remove(later)
    click_sync(world, deal)
    queued_in_agent(world)
    world.cloud.file_size_limit(DISKS[disk])
    try:
        # an orchestrator sees it (within the storage watch's interval: /healthz probes a write that often)
        healthz = world.url + "/healthz"
        wait(lambda: requests.get(healthz, timeout=30).status_code != 200, 30, "/healthz not OK")
        again = world.api("POST", f"/deals/{later.deal_id}/sync", json={})
        kind = again.headers.get("Content-Type", "")
        assert again.status_code != 500 and kind.startswith("application/json"), again.text
        assert again.json().get("message"), again.text  # a clear error, in words
        # A person renames the company meanwhile (its event reaches a cloud that cannot write) …
        company = deal.client[1]
        world.rest("crm.company.update", {"id": company, "fields": {"TITLE": "Umbrella Corporation"}})
        scenario.edits.append(Edit(BITRIX24, f"company:{company}", TITLE, "Umbrella Corporation"))
        world.web_connector()  # … and QuickBooks makes the invoice; the cloud cannot store the answer yet
        wait(lambda: world.agent_queue().get("results") or world.jobs().get("done"), 60, "the answer sent")
    finally:
        world.cloud.file_size_limit(-1)  # space again
    wait(lambda: requests.get(world.url + "/healthz", timeout=30).status_code == 200, 60, "/healthz OK again")
    # The rename was held in the cloud's memory (nothing durable shows it waiting): it reaches QuickBooks.
    world.drive(lambda: renamed(world, "Umbrella Corporation"), 120, "the rename reaching QuickBooks")
    world.settle()
    assert world.cloud.alive()  # not restarted
    assert_whole(world, scenario)
