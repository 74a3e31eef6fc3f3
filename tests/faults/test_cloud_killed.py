"""kill -9 of the cloud (``python -m cloud_app serve``) in every window of a deal's write and of the first
sync, then the cloud started again on its database: everything exactly once, every deal updated, the first
sync finished — without anybody pressing start again (issue 18, case 2)."""

from __future__ import annotations

import pytest

from .checks import assert_whole, scenario_at_start
from .harness import Product, wait
from .scenario import click_sync, first_sync_done, new_deal, queued_in_agent, start_first_sync

# -- a deal's write ----------------------------------------------------------------------------------------


@pytest.mark.faults_fast
def test_killed_with_the_job_queued_before_the_agent_took_it(world: Product) -> None:
    scenario = scenario_at_start(world)
    world.agent.pause()  # the relay cannot hand the job over
    try:
        click_sync(world, new_deal(world, scenario))
        wait(lambda: world.jobs().get("queued") or world.jobs().get("offered"), 60, "the job in the database")
        world.cloud.kill()
    finally:
        world.agent.resume()
    world.start_cloud()
    world.settle()
    assert_whole(world, scenario)


def test_killed_with_the_answer_from_quickbooks_stored_before_the_deal_was_written(world: Product) -> None:
    scenario = scenario_at_start(world)
    click_sync(world, new_deal(world, scenario))
    queued_in_agent(world)
    world.hold("user.get")  # the first call applying the answer (who the deal's writer is); nothing written
    world.web_connector()
    wait(world.held, 60, "the cloud applying QuickBooks' answer to the deal")
    assert world.jobs().get("done")  # the answer is in the cloud's database
    world.cloud.kill()
    world.release()
    world.start_cloud()
    world.settle()
    assert_whole(world, scenario)


def test_killed_after_bitrix24_wrote_the_deal_before_the_cloud_read_the_answer(world: Product) -> None:
    scenario = scenario_at_start(world)
    click_sync(world, new_deal(world, scenario))
    queued_in_agent(world)
    world.hold("crm.timeline.comment.add")  # the deal's fields and its timeline comment: one batch
    world.web_connector()
    wait(world.held, 60, "the deal written in Bitrix24")
    world.cloud.kill()  # Bitrix24 wrote both; the cloud never learnt it
    world.release()
    world.start_cloud()
    world.settle()
    assert_whole(world, scenario)


# -- the first sync ------------------------------------------------------------------------------------------


def first_sync_after_restart(world: Product) -> None:
    world.start_cloud()
    world.drive(lambda: first_sync_done(world) and not world.waiting(), 180, "the first sync resumed")
    world.settle()


def test_killed_while_the_first_sync_waits_for_quickbooks(world: Product) -> None:
    scenario = scenario_at_start(world)
    start_first_sync(world)
    queued_in_agent(world)  # "reading QuickBooks": the read is with the agent, nothing answered yet
    world.cloud.kill()
    first_sync_after_restart(world)
    assert_whole(world, scenario, first_sync=True)


def test_killed_while_the_first_sync_reads_bitrix24_to_match(world: Product) -> None:
    scenario = scenario_at_start(world)
    world.hold("crm.company.list")  # QuickBooks' customers are in; the cloud reads the companies to match
    start_first_sync(world)
    world.drive(world.held, 120, "the first sync reading Bitrix24's companies")
    world.cloud.kill()
    world.release()
    first_sync_after_restart(world)
    assert_whole(world, scenario, first_sync=True)


def test_killed_during_the_smart_invoice_batches(world: Product) -> None:
    scenario = scenario_at_start(world)
    world.hold("crm.item.add")  # the first batch of smart invoices and quotes: made, the answer held
    start_first_sync(world)
    world.drive(world.held, 180, "the first sync writing smart invoices")
    world.cloud.kill()
    world.release()
    first_sync_after_restart(world)
    assert_whole(world, scenario, first_sync=True)


def test_killed_while_stamping_the_linked_records(world: Product) -> None:
    scenario = scenario_at_start(world)
    world.hold("crm.company.update")  # QuickBooks fields onto linked companies: a batch done, answer held
    start_first_sync(world)
    world.drive(world.held, 180, "the first sync stamping linked records")
    world.cloud.kill()
    world.release()
    first_sync_after_restart(world)
    assert_whole(world, scenario, first_sync=True)
