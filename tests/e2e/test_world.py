"""The property test's machinery on one fixed scenario: restarts and a dropped link in the middle of a
deal's sync leave one invoice on the right customer, and the truth read back says so."""

from __future__ import annotations

from pathlib import Path

from .invariants import check
from .steps import (
    Click,
    Confirm,
    DropLink,
    RestartAgent,
    RestartCloud,
    Run,
    RunWebConnector,
    Setup,
    settle,
)
from .truth import Scenario, read, snapshot_seed
from .world import sandbox


def test_a_sync_survives_cloud_and_agent_restarts_and_a_dropped_link(tmp_path: Path) -> None:
    with sandbox(tmp_path) as box:
        customers, records = snapshot_seed(box)
        run = Run(box, Scenario(seed_customers=customers, seed_records=records))
        Setup(Setup.PAIRS[0], (False, False)).run(run)
        assert Click(0, preview=True).run(run).startswith("202 ")
        assert RestartCloud().run(run) == "online"
        assert RunWebConnector().run(run) == "ok: 1 request, 0 errors"  # the lookup, by the new cloud
        assert Confirm(0, times=1, at_once=False).run(run).endswith("[202]")
        assert DropLink().run(run) == "back online"
        assert RestartAgent().run(run) == "online"
        assert RunWebConnector().run(run) == "ok: 1 request, 0 errors"  # the write
        settle(run)
        truth = read(box, run.scenario)
        deal = run.scenario.deals[0]
        invoices = [d for d in truth.documents if d.deal_id == deal.deal_id]
        assert len(invoices) == 1 and invoices[0].live
        (sync,) = [s for s in truth.syncs if s.deal_id == deal.deal_id]
        assert sync.state == "done" and sync.txn_id == invoices[0].txn_id and sync.customer == "Umbrella Corp"
        made = [c for c in truth.customers if c.made_for_deal == deal.deal_id]
        assert [c.name for c in made] == ["Umbrella Corp"] and made[0].origin == "app"
        assert (deal.client, made[0].list_id) in truth.links
        assert check(truth) == []
