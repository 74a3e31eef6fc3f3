"""A QuickBooks change applied to Bitrix24 more than once writes each timeline line once, and what Bitrix24
refused is not recorded as done (issue 18): a change query's answer applied again after the cloud died in
the middle, or asked again because Bitrix24 refused a write for now, says its payment or "deleted" line
once; a deal whose update Bitrix24 refused for now is not shown "deleted" on its tab without its fields
saying so — it gets the update at the next poll."""

from __future__ import annotations

import pytest

from cloud_app import qb_changes

from .product import World, wait
from .test_voids import QB, changes_read, comments, invoice, synced_deal


class Killed(Exception):
    """The cloud process dying at this point."""


def test_a_change_applied_again_after_the_cloud_died_says_its_payment_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    deal, txn = synced_deal(world, "Gringotts Bank", "220.00")
    world.qb.process(QB.format(
        "<ReceivePaymentAddRq><ReceivePaymentAdd>"
        "<CustomerRef><FullName>Gringotts Bank</FullName></CustomerRef>"
        "<RefNumber>7731</RefNumber><TotalAmount>220.00</TotalAmount>"
        f"<AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>220.00</PaymentAmount></AppliedToTxnAdd>"
        "</ReceivePaymentAdd></ReceivePaymentAddRq>"))  # fmt: skip
    real, died = qb_changes._save, []

    def dies(*args: object) -> None:  # Bitrix24 has the writes; the watermarks are not stored yet
        died.append(args)
        raise Killed("the cloud process is killed here")

    monkeypatch.setattr(qb_changes, "_save", dies)
    member = world.cloud.portal.member_id
    assert world.api("POST", "/deals/0/refresh").json() == {"queued": True}
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    assert wait(lambda: died)
    paid = [c for c in comments(world, deal) if c.startswith("Payment of 220.00 USD")]
    assert len(paid) == 1
    monkeypatch.setattr(qb_changes, "_save", real)
    world.cloud.restart()  # the next process applies the stored answer again, from the start
    assert wait(lambda: world.cloud.services.relay.online(member), timeout=30)  # type: ignore[union-attr]
    job = world.cloud.services.agents.jobs(member, purpose="qb-changes")[-1].job_id
    assert wait(lambda: world.cloud.services.agents.is_applied(member, job), timeout=30)
    changes_read(world)  # and the next poll
    paid = [c for c in comments(world, deal) if c.startswith("Payment of 220.00 USD")]
    assert len(paid) == 1, paid  # said once
    assert world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_STATUS"] == "paid"


def test_a_deal_update_refused_for_now_is_not_recorded_and_the_deletion_is_said_once(world: World) -> None:
    deal, txn = synced_deal(world, "Ollivanders Ltd")
    number = invoice(world, txn)["RefNumber"]
    world.qb.process(QB.format(f"<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{txn}</TxnID></TxnDelRq>"))
    emu = world.cloud.emu
    emu.limits.costs["crm.deal.update"] = 10_000.0  # past the method's 10-minute budget after one call
    client = world.cloud.client()
    client.call("crm.deal.update", {"id": deal, "fields": {"COMMENTS": "called once"}})  # now blocked
    changes_read(world)  # the deal's update refused (OPERATION_TIME_LIMIT), its line said
    fields = client.call("crm.deal.get", {"id": deal})
    assert fields["UF_CRM_QB_STATUS"] != "deleted"
    tab = world.api("GET", f"/deals/{deal}/quickbooks").json()
    assert tab["document"]["status"] != "deleted"  # the tab does not say what the deal does not
    said = f"Invoice {number} was deleted in QuickBooks."
    assert comments(world, deal).count(said) == 1
    del emu.limits.costs["crm.deal.update"]
    emu.limits.operating.clear()  # ten minutes later: the method's budget is back
    changes_read(world)  # the next poll brings the deletion again
    fields = client.call("crm.deal.get", {"id": deal})
    assert fields["UF_CRM_QB_STATUS"] == "deleted"
    assert world.api("GET", f"/deals/{deal}/quickbooks").json()["document"]["status"] == "deleted"
    assert comments(world, deal).count(said) == 1  # said once, though the change was applied twice
    changes_read(world)
    assert comments(world, deal).count(said) == 1
